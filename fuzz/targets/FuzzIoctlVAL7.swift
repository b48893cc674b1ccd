// libFuzzer target `ioctl-val7`: SimKernel's system calls in the VAL-7.0 dialect —
// `/dev/veeamblksnap`, `/dev/bdevfilter` and the block devices' queries, with device and
// storage paths passed as user pointers (IoctlFuzzEngine.swift is the body).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIoctlVAL7(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzIoctl(data, size, dialect: .val7, profile: .val7)
}
