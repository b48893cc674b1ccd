// libFuzzer target `ioctl`: SimKernel's system calls in the v5 dialect
// (IoctlFuzzEngine.swift is the body; its input format is documented there).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIoctlV5(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzIoctl(data, size, dialect: .v5, profile: .v5)
}
