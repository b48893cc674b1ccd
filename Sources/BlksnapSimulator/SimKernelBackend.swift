import BlksnapKit
import SimKernel
import SystemPackage

/// The in-process simulator as a ``KernelInterface``.
///
/// SimKernel answers like the kernel does (a non-negative result or a negative
/// errno); this backend throws those errnos as `Errno`. User pointers are real
/// pointers of this process: the argument's address is passed as the user address
/// and the simulator reads and writes it through ``ProcessUserMemory``, so an
/// embedded `__u64` pointer works exactly as it would with `ioctl(2)`.
public struct SimKernelBackend: KernelInterface {
    /// The simulated kernel.
    public let kernel: SimKernel
    /// Polled by sleeping calls (WAIT_EVENT); returning true acts as a signal.
    public let interrupted: @Sendable () -> Bool

    /// Wraps a simulator.
    ///
    /// - Parameter interrupted: returns true when a sleeping call should end with
    ///   `EINTR`, as a signal would end it.
    public init(_ kernel: SimKernel, interrupted: @escaping @Sendable () -> Bool = { false }) {
        self.kernel = kernel
        self.interrupted = interrupted
    }

    /// Opens a node in the simulator's namespace; returns a simulator descriptor.
    public func open(_ path: String, flags: Int32) throws(Errno) -> CInt {
        let result = kernel.open(path, flags: flags)
        if result < 0 { throw Errno(rawValue: -result) }
        return result
    }

    /// Closes a simulator descriptor.
    public func close(_ fd: CInt) throws(Errno) {
        let result = kernel.close(fd)
        if result < 0 { throw Errno(rawValue: -result) }
    }

    /// Sends the request to the simulator with `argument` as the user address.
    public func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        let result = kernel.ioctl(fd, request, UInt64(UInt(bitPattern: argument)),
                                  memory: ProcessUserMemory(), interrupted: interrupted)
        if result < 0 { throw Errno(rawValue: -result) }
        return result
    }

    /// Reads a simulated device or image.
    public func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        let result = kernel.pread(fd, into: buffer, at: offsetBytes)
        if result < 0 { throw Errno(rawValue: CInt(truncatingIfNeeded: -result)) }
        return result
    }

    /// Writes a simulated device (through its filter) or image.
    public func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        let result = kernel.pwrite(fd, from: buffer, at: offsetBytes)
        if result < 0 { throw Errno(rawValue: CInt(truncatingIfNeeded: -result)) }
        return result
    }

    /// `stat` in the simulator's namespace.
    public func stat(_ path: String) throws(Errno) -> KernelFileStatus {
        switch kernel.stat(path) {
        case .success(let status):
            return KernelFileStatus(mode: status.mode,
                                    deviceNumber: DeviceNumber(major: status.major, minor: status.minor),
                                    sizeBytes: status.sizeBytes)
        case .failure(let error):
            throw Errno(rawValue: error.code)
        }
    }
}

extension SimKernel {
    /// This simulator as a ``KernelInterface`` for ``Control`` and ``BlockDevice``.
    public var kernelInterface: SimKernelBackend { SimKernelBackend(self) }
}
