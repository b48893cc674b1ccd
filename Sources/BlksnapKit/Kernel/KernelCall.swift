import SystemPackage

/// Helpers that make an ioctl on the bytes of a local value and hand back a
/// `Result`, so that the call can happen inside `withUnsafe…` closures (where the
/// embedded user pointers are valid) without relying on typed rethrows.
extension KernelInterface {
    /// `ioctl(fd, request, &value)`.
    package func ioctlResult<T>(_ fd: CInt, _ request: UInt, on value: inout T) -> Result<CInt, Errno> {
        withUnsafeMutableBytes(of: &value) { bytes in
            ioctlResult(fd, request, bytes.baseAddress!)
        }
    }

    /// `ioctl(fd, request, argument)`.
    package func ioctlResult(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) -> Result<CInt, Errno> {
        Result { () throws(Errno) -> CInt in try ioctl(fd, request, argument) }
    }
}

/// The user address of a pointer, as a UAPI `__u64` field carries it (0 for nil).
@inline(__always)
package func userAddress(_ pointer: UnsafeRawPointer?) -> UInt64 {
    UInt64(UInt(bitPattern: pointer))
}
