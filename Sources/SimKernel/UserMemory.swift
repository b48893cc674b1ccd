#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The caller's address space, as the simulated kernel sees it.
///
/// SimKernel touches user memory only through these two calls, the way the kernel
/// uses `copy_from_user`/`copy_to_user`: an address that does not map to readable
/// (or writable) memory makes the copy fail, and the ioctl then returns the errno
/// the spec gives for a fault on that path.
public protocol UserMemory {
    /// Copies `destination.count` bytes from user address `source`. False on a fault.
    func copyFromUser(_ destination: UnsafeMutableRawBufferPointer, from source: UInt64) -> Bool
    /// Copies `source` to user address `destination`. False on a fault.
    func copyToUser(_ destination: UInt64, from source: UnsafeRawBufferPointer) -> Bool
}

extension UserMemory {
    /// Reads a plain C value (a UAPI struct) from user memory; nil on a fault.
    func read<T>(_ type: T.Type, at address: UInt64) -> T? {
        let storage = UnsafeMutableRawBufferPointer.allocate(
            byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { storage.deallocate() }
        guard copyFromUser(storage, from: address) else { return nil }
        return storage.load(as: T.self)
    }

    /// Reads `count` bytes from user memory; nil on a fault.
    func readBytes(at address: UInt64, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { copyFromUser($0, from: address) }
        return ok ? bytes : nil
    }

    /// Writes a plain C value (a UAPI struct) to user memory; false on a fault.
    func write<T>(_ value: T, at address: UInt64) -> Bool {
        withUnsafeBytes(of: value) { copyToUser(address, from: $0) }
    }

    /// The kernel's `strndup_user(address, limit)`: the NUL-terminated string at
    /// `address`, looked for within `limit` bytes.
    ///
    /// - Returns: the string's bytes without the NUL, or the negative errno:
    ///   `-EFAULT` for a zero limit or a fault before the NUL, `-EINVAL` when no
    ///   NUL lies within `limit` bytes.
    func stringFromUser(at address: UInt64, limit: Int) -> Result<[UInt8], SimErrno> {
        guard limit > 0 else { return .failure(SimErrno(EFAULT)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        for index in 0..<limit {
            let (next, overflow) = address.addingReportingOverflow(UInt64(index))
            if overflow { return .failure(SimErrno(EFAULT)) }
            let ok = withUnsafeMutableBytes(of: &byte) { copyFromUser($0, from: next) }
            if !ok { return .failure(SimErrno(EFAULT)) }
            if byte == 0 { return .success(bytes) }
            bytes.append(byte)
        }
        return .failure(SimErrno(EINVAL))
    }
}

/// `process_vm_readv`/`process_vm_writev` (glibc declares them only under
/// `_GNU_SOURCE`, which Swift's Glibc module does not set): looked up once; nil when
/// the C library lacks them.
private typealias ProcessVMFunction = @convention(c) (
    pid_t, UnsafePointer<iovec>?, UInt, UnsafePointer<iovec>?, UInt, UInt) -> Int
private let processVMReadv: ProcessVMFunction? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "process_vm_readv").map { unsafeBitCast($0, to: ProcessVMFunction.self) }
private let processVMWritev: ProcessVMFunction? =
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), "process_vm_writev").map { unsafeBitCast($0, to: ProcessVMFunction.self) }

/// Set once `process_vm_readv`/`process_vm_writev` answered ENOSYS (a kernel without
/// `CONFIG_CROSS_MEMORY_ATTACH`) or EPERM (a seccomp filter): from then on every copy
/// takes the pipe path.
private let crossMemoryAttachUnavailable = Atomic<Bool>(false)

/// This process's own memory: user pointers are real pointers.
///
/// Copies go through `process_vm_readv`/`process_vm_writev` on the calling process,
/// so an unmapped or protected address fails with a fault instead of crashing,
/// exactly as `copy_from_user` would. Address 0 is always a fault.
///
/// Kernels built without `CONFIG_CROSS_MEMORY_ATTACH` answer those calls with ENOSYS
/// (and seccomp profiles may answer EPERM). Then, and from then on, each copy goes
/// through a pipe instead: `write(2)` of the source into the pipe and `read(2)` of it
/// into the destination, at most one page at a time. The kernel's pipe code copies
/// with its own `copy_from_user`/`copy_to_user`, so a bad address still fails the copy
/// (EFAULT) instead of crashing, and a read-only destination is still a fault — the
/// same semantics at a few more system calls per copy.
public struct ProcessUserMemory: UserMemory, Sendable {
    /// How the copies reach memory (tests choose; ``init()`` means automatic).
    enum Path: Sendable {
        /// `process_vm_readv`/`process_vm_writev`, the pipe when they are unavailable.
        case automatic
        /// As if `process_vm_*` failed with this errno, then the automatic fallback
        /// (without remembering it for other copies).
        case processVMFailing(Int32)
        /// The pipe only.
        case pipe
    }

    let path: Path

    /// Creates a view of the calling process's memory.
    public init() { path = .automatic }

    /// A view with a chosen copy path (tests).
    init(path: Path) { self.path = path }

    /// True once the process found `process_vm_readv`/`process_vm_writev` unavailable
    /// (ENOSYS: no `CONFIG_CROSS_MEMORY_ATTACH`; EPERM: seccomp) and copies through a pipe.
    public static var usesPipeFallback: Bool { crossMemoryAttachUnavailable.load(ordering: .relaxed) }

    public func copyFromUser(_ destination: UnsafeMutableRawBufferPointer, from source: UInt64) -> Bool {
        if destination.isEmpty { return true }
        guard source != 0, let base = destination.baseAddress,
              let remote = UnsafeMutableRawPointer(bitPattern: UInt(source)) else { return false }
        return copy(to: base, from: UnsafeRawPointer(remote), count: destination.count, remoteIsSource: true)
    }

    public func copyToUser(_ destination: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        if source.isEmpty { return true }
        guard destination != 0, let base = source.baseAddress,
              let remote = UnsafeMutableRawPointer(bitPattern: UInt(destination)) else { return false }
        return copy(to: remote, from: base, count: source.count, remoteIsSource: false)
    }

    /// One copy of `count` bytes; the user side is `from` when `remoteIsSource`, else `to`.
    private func copy(to destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int,
                      remoteIsSource: Bool) -> Bool {
        let failure: Int32
        switch path {
        case .pipe:
            return Self.pipeCopy(to: destination, from: source, count: count)
        case .processVMFailing(let errno):
            failure = errno
        case .automatic:
            let function = remoteIsSource ? processVMReadv : processVMWritev
            guard let function, !crossMemoryAttachUnavailable.load(ordering: .relaxed) else {
                return Self.pipeCopy(to: destination, from: source, count: count)
            }
            let writable = destination, readable = UnsafeMutableRawPointer(mutating: source)
            var local = iovec(iov_base: remoteIsSource ? writable : readable, iov_len: count)
            var remote = iovec(iov_base: remoteIsSource ? readable : writable, iov_len: count)
            let n = function(getpid(), &local, 1, &remote, 1, 0)
            if n == count { return true }
            guard n < 0 else { return false }
            failure = errno
            if failure == ENOSYS || failure == EPERM { crossMemoryAttachUnavailable.store(true, ordering: .relaxed) }
        }
        guard failure == ENOSYS || failure == EPERM else { return false }
        return Self.pipeCopy(to: destination, from: source, count: count)
    }

    /// The fallback: `count` bytes through a fresh pipe, one page at a time (a page
    /// always fits an empty pipe, so the same thread can write then read). Any
    /// failure — EFAULT on either side, or no descriptors left — is a fault.
    static func pipeCopy(to destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) -> Bool {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return false }
        defer {
            Glibc.close(ends[0])
            Glibc.close(ends[1])
        }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        var done = 0
        while done < count {
            let length = min(count - done, 4096)
            let written = Glibc.write(ends[1], source + done, length)
            guard written > 0 else { return false }
            var drained = 0
            while drained < written {
                let n = Glibc.read(ends[0], destination + done + drained, written - drained)
                guard n > 0 else { return false }
                drained += n
            }
            guard written == length else { return false }  // a fault inside this page
            done += written
        }
        return true
    }
}

/// An address space made of explicit regions: what a client shipped over the
/// simulator socket, or what a test lays out by hand.
///
/// Any byte outside every region is unmapped; a region can be read-only. After the
/// call, ``regions`` holds what the kernel wrote back.
public final class MappedUserMemory: UserMemory {
    /// One mapped range of user addresses.
    public struct Region: Sendable {
        /// First user address of the region.
        public var address: UInt64
        /// The bytes of the region.
        public var bytes: [UInt8]
        /// Whether the kernel may write it.
        public var writable: Bool

        /// Creates a region.
        public init(address: UInt64, bytes: [UInt8], writable: Bool = true) {
            self.address = address
            self.bytes = bytes
            self.writable = writable
        }
    }

    /// The regions, in the order they were added.
    public private(set) var regions: [Region]

    /// Creates an address space from regions (they must not overlap).
    public init(regions: [Region] = []) { self.regions = regions }

    /// Maps another region (it must not overlap an existing one).
    public func map(_ region: Region) { regions.append(region) }

    /// The region holding `[address, address + count)`, if one holds it all.
    private func regionIndex(covering address: UInt64, count: Int) -> (Int, Int)? {
        for (index, region) in regions.enumerated() where address >= region.address {
            let start = address - region.address
            guard start <= UInt64(region.bytes.count),
                  UInt64(count) <= UInt64(region.bytes.count) - start else { continue }
            return (index, Int(start))
        }
        return nil
    }

    public func copyFromUser(_ destination: UnsafeMutableRawBufferPointer, from source: UInt64) -> Bool {
        if destination.isEmpty { return true }
        guard let (index, start) = regionIndex(covering: source, count: destination.count) else { return false }
        regions[index].bytes.withUnsafeBytes { bytes in
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<start + destination.count]))
        }
        return true
    }

    public func copyToUser(_ destination: UInt64, from source: UnsafeRawBufferPointer) -> Bool {
        if source.isEmpty { return true }
        guard let (index, start) = regionIndex(covering: destination, count: source.count),
              regions[index].writable else { return false }
        regions[index].bytes.withUnsafeMutableBytes { bytes in
            UnsafeMutableRawBufferPointer(rebasing: bytes[start..<start + source.count]).copyMemory(from: source)
        }
        return true
    }
}
