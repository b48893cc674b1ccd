import BlksnapKit
import CBlksnapUAPI
import Synchronization
import SystemPackage

/// A ``KernelInterface`` fake for byte-exact tests: it records every call — the
/// descriptor, the request number, the exact bytes of the argument and the bytes
/// behind the user pointers embedded in it — and answers with scripted replies
/// (a result or an errno, plus bytes to write back like the kernel would).
final class RecordingKernel: KernelInterface {
    /// One recorded ioctl.
    struct Call: Sendable {
        /// The descriptor the call was made on.
        var fd: CInt
        /// The request number, exactly as passed.
        var request: UInt
        /// The argument's bytes when the call was made (before any reply was written).
        var argument: [UInt8]
        /// Bytes behind embedded user pointers, by UAPI field name: `bdev_path`, `ranges`
        /// (APPEND_STORAGE), `opt` and `opt.dirty_sectors` (BLKFILTER_CTL).
        var pointees: [String: [UInt8]]

        /// A little-endian integer of the argument.
        func field<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
            argument.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        }
    }

    /// Something the fake writes into user memory before returning, as the kernel would.
    enum Write: Sendable {
        /// Bytes at `offset` of the argument struct.
        case argument(offset: Int, bytes: [UInt8])
        /// Bytes at `offset` behind a chain of user pointers: the `__u64` at
        /// `pointers[0]` of the argument, then the `__u64` at `pointers[1]` of that, ...
        case behind(pointers: [Int], offset: Int, bytes: [UInt8])
    }

    /// A scripted answer to one ioctl.
    struct Reply: Sendable {
        var result: Result<CInt, Errno>
        var writes: [Write]

        /// Success (0) after writing `writes`.
        static func ok(_ writes: Write...) -> Reply { Reply(result: .success(0), writes: writes) }
        /// Failure with `errno` after writing `writes` (the kernel sometimes writes and fails).
        static func fail(_ errno: Errno, _ writes: Write...) -> Reply { Reply(result: .failure(errno), writes: writes) }
    }

    private struct State {
        var calls: [Call] = []
        var replies: [Reply] = []
        var opens: [(path: String, flags: Int32)] = []
        var closes: [CInt] = []
        var openErrors: [String: Errno] = [:]
        var stats: [String: KernelFileStatus] = [:]
        var nextFD: CInt = 3
    }

    private let state = Mutex(State())

    /// Queues replies, consumed in order by the following ioctls. An ioctl without a
    /// queued reply fails with `ENOSYS`.
    func script(_ replies: Reply...) { state.withLock { $0.replies += replies } }
    /// Makes `open(path)` fail with `errno`.
    func failOpen(_ path: String, with errno: Errno) { state.withLock { $0.openErrors[path] = errno } }
    /// Answers `stat(path)`.
    func setStat(_ path: String, _ status: KernelFileStatus) { state.withLock { $0.stats[path] = status } }

    /// Every ioctl so far, in order.
    var calls: [Call] { state.withLock { $0.calls } }
    /// Every open so far.
    var opens: [(path: String, flags: Int32)] { state.withLock { $0.opens } }
    /// Every closed descriptor so far.
    var closes: [CInt] { state.withLock { $0.closes } }
    /// Replies not consumed yet.
    var pendingReplies: Int { state.withLock { $0.replies.count } }

    // MARK: KernelInterface

    func open(_ path: String, flags: Int32) throws(Errno) -> CInt {
        let result: Result<CInt, Errno> = state.withLock { state in
            state.opens.append((path, flags))
            if let error = state.openErrors[path] { return .failure(error) }
            defer { state.nextFD += 1 }
            return .success(state.nextFD)
        }
        return try result.get()
    }

    func close(_ fd: CInt) throws(Errno) {
        state.withLock { $0.closes.append(fd) }
    }

    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt {
        let size = Self.argumentSize(request)
        let bytes = Array(UnsafeRawBufferPointer(start: argument, count: size))
        let call = Call(fd: fd, request: request, argument: bytes, pointees: Self.pointees(request, argument))
        let reply: Reply? = state.withLock { state in
            state.calls.append(call)
            return state.replies.isEmpty ? nil : state.replies.removeFirst()
        }
        guard let reply else { throw .noFunction }
        for write in reply.writes { Self.apply(write, to: argument) }
        return try reply.result.get()
    }

    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        throw .noFunction
    }

    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        throw .noFunction
    }

    func stat(_ path: String) throws(Errno) -> KernelFileStatus {
        guard let status = state.withLock({ $0.stats[path] }) else { throw .noSuchFileOrDirectory }
        return status
    }

    // MARK: Decoding the UAPI

    /// Bytes of the argument struct: `_IOC_SIZE`, or 4 for `BLKSSZGET` (an `int`).
    static func argumentSize(_ request: UInt) -> Int {
        if request == BLKSNAP_REQ_BLKSSZGET { return 4 }
        return Int(blksnap_ioc_size(request))
    }

    private static func u64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    private static func u32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    private static func bytes(at address: UInt64, count: Int) -> [UInt8]? {
        guard address != 0, let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private static func pointees(_ request: UInt, _ argument: UnsafeRawPointer) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        switch request {
        case BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE:
            result["bdev_path"] = bytes(at: u64(argument, 16), count: Int(u32(argument, 24)))
            result["ranges"] = bytes(at: u64(argument, 32), count: Int(u32(argument, 28)) * 16)
        case BLKSNAP_REQ_BLKFILTER_CTL:
            let optAddress = u64(argument, 40)
            guard let opt = bytes(at: optAddress, count: Int(u32(argument, 36))) else { break }
            result["opt"] = opt
            if u32(argument, 32) == blkfilter_ctl_blksnap_cbtdirty.rawValue, opt.count >= 16 {
                let count = opt.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) }
                let address = opt.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
                result["opt.dirty_sectors"] = bytes(at: address, count: Int(count) * 16)
            }
        default:
            break
        }
        return result
    }

    private static func apply(_ write: Write, to argument: UnsafeMutableRawPointer) {
        switch write {
        case .argument(let offset, let bytes):
            UnsafeMutableRawBufferPointer(start: argument + offset, count: bytes.count).copyBytes(from: bytes)
        case .behind(let pointers, let offset, let bytes):
            var base = argument
            for pointerOffset in pointers {
                base = UnsafeMutableRawPointer(bitPattern: UInt(u64(base, pointerOffset)))!
            }
            UnsafeMutableRawBufferPointer(start: base + offset, count: bytes.count).copyBytes(from: bytes)
        }
    }
}

/// Little-endian bytes of an integer.
func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// `text` as bytes, NUL-padded to `length`.
func padded(_ text: String, to length: Int) -> [UInt8] {
    Array(text.utf8) + [UInt8](repeating: 0, count: length - text.utf8.count)
}

/// The 32-byte filter name field every BLKFILTER_* request must carry.
let blksnapFilterName = padded("blksnap", to: 32)

/// A fixed snapshot id for tests: bytes 0x10...0x1f.
let testID = SnapshotID(rawValue: Array(0x10...0x1f))!
/// Another fixed snapshot id: bytes 0xa0...0xaf.
let otherID = SnapshotID(rawValue: Array(0xa0...0xaf))!
