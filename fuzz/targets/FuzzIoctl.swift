// libFuzzer target (a): SimKernel's system-call entry — arbitrary request numbers,
// struct bytes and user-memory maps, in sequences that can reach deep states.
// Compiled by scripts/fuzz.sh together with Sources/SimKernel (one module).
#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI

/// Reads the fuzzer's bytes front to back; runs dry as zeros.
private struct FuzzBytes {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var isEmpty: Bool { position >= bytes.count }
    mutating func u8() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u64() -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(u8()) << (8 * UInt64($1)) } }
    mutating func take(_ count: Int) -> [UInt8] {
        let n = min(count, bytes.count - position)
        defer { position += n }
        return Array(bytes[position..<position + n])
    }
}

/// Requests a driver would send, so most calls pass the dispatch.
private let knownRequests: [UInt] = [
    BLKSNAP_REQ_VERSION, BLKSNAP_REQ_SNAPSHOT_CREATE, BLKSNAP_REQ_SNAPSHOT_DESTROY,
    BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, BLKSNAP_REQ_SNAPSHOT_TAKE, BLKSNAP_REQ_SNAPSHOT_COLLECT,
    BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, BLKSNAP_REQ_BLKFILTER_ATTACH, BLKSNAP_REQ_BLKFILTER_DETACH,
    BLKSNAP_REQ_BLKFILTER_CTL, BLKSNAP_REQ_BLKSSZGET, BLKSNAP_REQ_BLKGETSIZE64, BLKSNAP_REQ_BLKIOMIN,
    BLKSNAP_REQ_BLKPBSZGET,
]

/// User regions live at fixed addresses so that inputs can point into them.
private let regionBase: UInt64 = 0x10000

private func monotonicMilliseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
}

/// Input: a sequence of operations, each an op byte then its fields:
/// - op % 4 == 0..2: ioctl on fd (control, device `fa`, the image of `fa` or storage `fb`
///   by the next byte's low bits), request (index into the known list or a raw u64),
///   up to 3 regions at 0x10000·k (u16 length ≤ 4096, bytes, writable flag), the
///   argument address (region start + u8, or a raw u64), and a flag that patches the
///   last created snapshot id into region 1 at offset 0.
/// - op % 4 == 3: pwrite of 1..8 KiB to the device (COW) or the image, at a u16·512 offset.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIoctl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(bytes: UnsafeBufferPointer(start: data, count: size))
    var params = Params()
    params.chunkMinimumShift = 12
    params.diffStorageMinimum = 64
    let kernel = SimKernel(params: params)
    _ = try? kernel.addDevice(name: "fa", capacitySectors: 2048)
    _ = try? kernel.addDevice(name: "fb", capacitySectors: 4096)
    let control = kernel.open("/dev/blksnap-control", flags: O_RDWR)
    let device = kernel.open("/dev/fa", flags: O_RDWR)
    let storage = kernel.open("/dev/fb", flags: O_RDWR)
    var lastID: [UInt8]? = nil
    var operations = 0
    while !input.isEmpty && operations < 32 {
        operations += 1
        let op = input.u8()
        if op % 4 == 3 {
            let toImage = op & 0x10 != 0
            var fd = device
            if toImage {
                let info = kernel.listDevices().first { $0.name == "fa" }
                fd = info.map { kernel.open("/dev/blksnap-image_\($0.major):\($0.minor)", flags: O_RDWR) } ?? -1
            }
            let offset = UInt64(input.u16()) * 512
            let count = 512 * (Int(input.u8() % 16) + 1)
            let bytes = [UInt8](repeating: op, count: count)
            if fd >= 0 {
                _ = bytes.withUnsafeBytes { kernel.pwrite(fd, from: $0, at: offset, nowait: op & 0x20 != 0) }
                var back = [UInt8](repeating: 0, count: count)
                _ = back.withUnsafeMutableBytes { kernel.pread(fd, into: $0, at: offset) }
                if toImage { _ = kernel.close(fd) }
            }
            continue
        }
        let target = input.u8()
        var fd: Int32
        switch target % 4 {
        case 0: fd = control
        case 1: fd = device
        case 2:
            let info = kernel.listDevices().first { $0.name == "fa" }
            fd = info.map { kernel.open("/dev/blksnap-image_\($0.major):\($0.minor)", flags: O_RDWR) } ?? -1
            if fd < 0 { fd = device }
        default: fd = target & 0x80 != 0 ? Int32(target & 0x3f) : storage
        }
        let selector = input.u8()
        let request: UInt = Int(selector) < knownRequests.count ? knownRequests[Int(selector)] : UInt(input.u64())
        let memory = MappedUserMemory()
        let regionCount = Int(op >> 2 & 3)
        for index in 0..<max(1, regionCount) {
            let length = Int(input.u16() % 4097)
            var bytes = input.take(length)
            if index == 0, op & 0x40 != 0, let id = lastID {
                if bytes.count < 16 { bytes += [UInt8](repeating: 0, count: 16 - bytes.count) }
                bytes.replaceSubrange(0..<16, with: id)
            }
            memory.map(.init(address: regionBase * UInt64(index + 1), bytes: bytes, writable: input.u8() & 1 == 0))
        }
        let argument = op & 0x80 != 0 ? input.u64() : regionBase + UInt64(input.u8())
        // A sleeping WAIT_EVENT acts as signalled after 20 ms, so no input can hang.
        let start = monotonicMilliseconds()
        let result = kernel.ioctl(fd, request, argument, memory: memory,
                                  interrupted: { monotonicMilliseconds() - start > 20 })
        if request == BLKSNAP_REQ_SNAPSHOT_CREATE, result == 0, argument >= regionBase {
            var id = [UInt8](repeating: 0, count: 16)
            if id.withUnsafeMutableBytes({ memory.copyFromUser($0, from: argument) }) { lastID = id }
        }
        if target % 4 == 2, fd != device { _ = kernel.close(fd) }
    }
    // Tear down: every snapshot destroyed, then the kernel goes away.
    for id in kernel.snapshotIDs {
        let memory = MappedUserMemory(regions: [.init(address: regionBase, bytes: id.bytes)])
        _ = kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_DESTROY, regionBase, memory: memory)
    }
    return 0
}
