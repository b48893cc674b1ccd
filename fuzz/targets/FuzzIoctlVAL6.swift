// libFuzzer target `ioctl-val6`: SimKernel's system calls in the VAL-6.3.1 dialect —
// `/dev/veeamblksnap` dispatching on the nr alone, devices named `{major, minor}` inside
// the structs, raw C pointers to id, range and info arrays (IoctlFuzzEngine.swift is the body).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIoctlVAL6(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzIoctl(data, size, dialect: .val6, profile: .val6)
}
