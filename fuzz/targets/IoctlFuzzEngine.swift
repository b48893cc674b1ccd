// The body of the libFuzzer targets `ioctl` (v5), `ioctl-val7` and `ioctl-val6`: SimKernel's
// system-call entry in one dialect — arbitrary request numbers, struct bytes and
// user-memory maps, in sequences that can reach deep states. Each target's entry file
// (FuzzIoctl*.swift) names the dialect; scripts/fuzz.sh compiles the two files together
// with Sources/SimKernel (one module).
#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import CVeeamBlkSnapV1UAPI
import CVeeamBlksnapUAPI

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

/// What the engine needs to know of a dialect's control surface.
struct IoctlFuzzProfile {
    /// Requests a driver would send, so most calls pass the dispatch (a selector byte
    /// below the count picks one; v5's order is fixed by its committed corpus).
    let knownRequests: [UInt]
    let createRequest: UInt
    let destroyRequest: UInt
    /// Where CREATE's struct carries the new id.
    let createIDOffset: UInt64
    /// Whether the "last id" flag patches region 1 (at 0x20000) instead of region 0 when a
    /// call maps two regions or more (VAL-7.0's filter sub-commands carry the id there).
    let secondaryIDPatch: Bool
    /// NUL-terminated strings mapped at ``pathRegionBase`` in every call (VAL-7.0 names
    /// devices and storage by user pointers to paths).
    let paths: [String]

    static let v5 = IoctlFuzzProfile(
        knownRequests: [
            BLKSNAP_REQ_VERSION, BLKSNAP_REQ_SNAPSHOT_CREATE, BLKSNAP_REQ_SNAPSHOT_DESTROY,
            BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, BLKSNAP_REQ_SNAPSHOT_TAKE, BLKSNAP_REQ_SNAPSHOT_COLLECT,
            BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, BLKSNAP_REQ_BLKFILTER_ATTACH, BLKSNAP_REQ_BLKFILTER_DETACH,
            BLKSNAP_REQ_BLKFILTER_CTL, BLKSNAP_REQ_BLKSSZGET, BLKSNAP_REQ_BLKGETSIZE64, BLKSNAP_REQ_BLKIOMIN,
            BLKSNAP_REQ_BLKPBSZGET,
        ],
        createRequest: BLKSNAP_REQ_SNAPSHOT_CREATE, destroyRequest: BLKSNAP_REQ_SNAPSHOT_DESTROY,
        createIDOffset: 0, secondaryIDPatch: false, paths: [])

    static let val7 = IoctlFuzzProfile(
        knownRequests: [
            VEEAMBLKSNAP_REQ_VERSION, VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY,
            VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE,
            VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT, VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, BDEVFILTER_REQ_ATTACH,
            BDEVFILTER_REQ_DETACH, BDEVFILTER_REQ_CTL, BLKSNAP_REQ_BLKSSZGET, BLKSNAP_REQ_BLKGETSIZE64,
            BLKSNAP_REQ_BLKIOMIN, BLKSNAP_REQ_BLKPBSZGET, VEEAMBLKSNAP_REQ_MOD, VEEAMBLKSNAP_REQ_SETLOG,
        ],
        createRequest: VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE, destroyRequest: VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY,
        createIDOffset: 16, secondaryIDPatch: true,
        // 0x80000 /dev/fa, 0x80008 /dev/fb, 0x80010 /dev/veeamblksnap, 0x80028 /dev/bdevfilter,
        // 0x80038 blksnap (the filter's name), 0x80040 an unterminated run to the region's end.
        paths: ["/dev/fa", "/dev/fb", "/dev/veeamblksnap", "/dev/bdevfilter", "blksnap"])

    /// VAL-6.x: every nr of the main and modification tables (devices are `{major,
    /// minor}` in the structs: `fa` is 240:0, `fb` 240:1, the image of `fa` 252:0).
    static let val6 = IoctlFuzzProfile(
        knownRequests: [
            BLK_SNAP_REQ_VERSION, BLK_SNAP_REQ_SNAPSHOT_CREATE, BLK_SNAP_REQ_SNAPSHOT_DESTROY,
            BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE, BLK_SNAP_REQ_SNAPSHOT_TAKE, BLK_SNAP_REQ_SNAPSHOT_COLLECT,
            BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT, BLK_SNAP_REQ_TRACKER_REMOVE, BLK_SNAP_REQ_TRACKER_COLLECT,
            BLK_SNAP_REQ_TRACKER_READ_CBT_MAP, BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS,
            BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES, BLK_SNAP_REQ_MOD, BLK_SNAP_REQ_SETLOG,
            BLK_SNAP_REQ_GET_SECTOR_STATE, BLKSNAP_REQ_BLKSSZGET, BLKSNAP_REQ_BLKGETSIZE64,
        ],
        createRequest: BLK_SNAP_REQ_SNAPSHOT_CREATE, destroyRequest: BLK_SNAP_REQ_SNAPSHOT_DESTROY,
        createIDOffset: 16, secondaryIDPatch: false, paths: [])
}

/// Where ``IoctlFuzzProfile/paths`` are mapped: each string starts on an 8-byte boundary.
private let pathRegionBase: UInt64 = 0x80000

/// The path region's bytes: the strings, each NUL-padded to a multiple of 8, then 64
/// bytes without a NUL.
private func pathRegionBytes(_ paths: [String]) -> [UInt8] {
    var bytes: [UInt8] = []
    for path in paths {
        bytes += Array(path.utf8) + [0]
        while bytes.count % 8 != 0 { bytes.append(0) }
    }
    return paths.isEmpty ? [] : bytes + [UInt8](repeating: 0x41, count: 64)
}

/// User regions live at fixed addresses so that inputs can point into them.
private let regionBase: UInt64 = 0x10000

private func monotonicMilliseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
}

/// Input: a sequence of operations, each an op byte then its fields:
/// - op % 4 == 0..2: ioctl on fd (control, device `fa`, the image of `fa` or storage `fb`
///   by the next byte's low bits; with those bits 3 and bit 0x40 set, VAL-7.0's
///   `/dev/bdevfilter`), request (index into the known list or a raw u64),
///   up to 3 regions at 0x10000·k (u16 length ≤ 4096, bytes, writable flag), the
///   argument address (region start + u8, or a raw u64), and a flag that patches the
///   last created snapshot id at offset 0 of region 0 (on VAL-7.0, of region 1 when
///   there are two or more).
/// - op % 4 == 3: pwrite of 1..8 KiB to the device (COW) or the image, at a u16·512 offset.
func fuzzIoctl(_ data: UnsafePointer<UInt8>, _ size: Int, dialect: SimDialect, profile: IoctlFuzzProfile) -> CInt {
    var input = FuzzBytes(bytes: UnsafeBufferPointer(start: data, count: size))
    var params = Params()
    params.chunkMinimumShift = 12
    params.diffStorageMinimum = 64
    let kernel = SimKernel(params: params, dialect: dialect)
    let pathBytes = pathRegionBytes(profile.paths)
    // VAL-6.x: the first image made has minor 0 (`fa` is the first device the seeds name).
    func imagePath(_ info: SimDeviceInfo) -> String {
        "/dev/" + dialect.imageName(originalMajor: info.major, originalMinor: info.minor, imageMinor: 0)
    }
    _ = try? kernel.addDevice(name: "fa", capacitySectors: 2048)
    _ = try? kernel.addDevice(name: "fb", capacitySectors: 4096)
    let control = kernel.open("/dev/" + dialect.controlName, flags: O_RDWR)
    let filterControl = dialect.filterControlName.map { kernel.open("/dev/" + $0, flags: O_RDWR) }
    let device = kernel.open("/dev/fa", flags: O_RDWR)
    let storage = kernel.open("/dev/fb", flags: O_RDWR)
    var lastID: [UInt8]? = nil
    // FUZZ_TRACE=1 prints each ioctl's result (for writing seeds: run the binary on one file).
    let trace = getenv("FUZZ_TRACE") != nil
    var operations = 0
    while !input.isEmpty && operations < 32 {
        operations += 1
        let op = input.u8()
        if op % 4 == 3 {
            let toImage = op & 0x10 != 0
            var fd = device
            if toImage {
                let info = kernel.listDevices().first { $0.name == "fa" }
                fd = info.map { kernel.open(imagePath($0), flags: O_RDWR) } ?? -1
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
            fd = info.map { kernel.open(imagePath($0), flags: O_RDWR) } ?? -1
            if fd < 0 { fd = device }
        default:
            if let filterControl, target & 0xc0 == 0x40 {
                fd = filterControl
            } else {
                fd = target & 0x80 != 0 ? Int32(target & 0x3f) : storage
            }
        }
        let selector = input.u8()
        let request: UInt = Int(selector) < profile.knownRequests.count
            ? profile.knownRequests[Int(selector)] : UInt(input.u64())
        let memory = MappedUserMemory()
        let regionCount = Int(op >> 2 & 3)
        // VAL-7.0's filter sub-commands and APPEND_STORAGE's ranges point to a second region.
        let patchedRegion = profile.secondaryIDPatch && regionCount >= 2 ? 1 : 0
        for index in 0..<max(1, regionCount) {
            let length = Int(input.u16() % 4097)
            var bytes = input.take(length)
            if index == patchedRegion, op & 0x40 != 0, let id = lastID {
                if bytes.count < 16 { bytes += [UInt8](repeating: 0, count: 16 - bytes.count) }
                bytes.replaceSubrange(0..<16, with: id)
            }
            memory.map(.init(address: regionBase * UInt64(index + 1), bytes: bytes, writable: input.u8() & 1 == 0))
        }
        if !pathBytes.isEmpty { memory.map(.init(address: pathRegionBase, bytes: pathBytes, writable: false)) }
        let argument = op & 0x80 != 0 ? input.u64() : regionBase + UInt64(input.u8())
        // A sleeping WAIT_EVENT acts as signalled after 20 ms, so no input can hang.
        let start = monotonicMilliseconds()
        let result = kernel.ioctl(fd, request, argument, memory: memory,
                                  interrupted: { monotonicMilliseconds() - start > 20 })
        if trace { print("ioctl fd \(fd) request 0x\(String(request, radix: 16)) argument 0x\(String(argument, radix: 16)) -> \(result)") }
        if request == profile.createRequest, result == 0, argument >= regionBase {
            var id = [UInt8](repeating: 0, count: 16)
            if id.withUnsafeMutableBytes({ memory.copyFromUser($0, from: argument + profile.createIDOffset) }) { lastID = id }
        }
        if target % 4 == 2, fd != device { _ = kernel.close(fd) }
    }
    // Tear down: every snapshot destroyed, then the kernel goes away.
    for id in kernel.snapshotIDs {
        let memory = MappedUserMemory(regions: [.init(address: regionBase, bytes: id.bytes)])
        _ = kernel.ioctl(control, profile.destroyRequest, regionBase, memory: memory)
    }
    return 0
}
