#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A simulated block device: a gendisk with a capacity, block sizes and a `dev_t`,
/// whose bytes live in memory (sparse) or in a host file (sparse where the host
/// filesystem allows).
///
/// The `raw` I/O calls are the device's media: they bypass any filter, like bios
/// that blksnap marks as already filtered (COW loads, difference-storage writes,
/// redirected image I/O). Writes that a user submits go through the tracker
/// attached to the device instead (see `SimKernel.pwrite`).
public final class SimBlockDevice: @unchecked Sendable {
    /// Where the bytes live.
    public enum Backing: Sendable, Equatable {
        /// In this process's memory, allocated in 64 KiB pages on first write.
        case memory
        /// In a host file (created if missing, never shrunk below the capacity).
        case file(path: String)
    }

    /// Name without `/dev/` (`sda`, `vdb`, ...).
    public let name: String
    /// Major number.
    public let major: UInt32
    /// Minor number.
    public let minor: UInt32
    /// Logical block size in bytes (512, 4096, ...).
    public let logicalBlockSize: UInt32
    /// Physical block size in bytes.
    public let physicalBlockSize: UInt32
    /// Minimum I/O size in bytes (`io_min`), used by the chunk-size rule (§4.1).
    public let ioMin: UInt32
    /// The backing.
    public let backing: Backing

    // A pthread mutex, not Synchronization.Mutex: ThreadSanitizer on Linux reports
    // false races on state guarded by Synchronization.Mutex (found under
    // scripts/sanitize.sh, as for DiffStorage).
    private let lock = WaitQueue()
    private var state: State
    private let fd: Int32
    private let faultPlan = SimFaultPlan()

    private struct State {
        var capacitySectors: UInt64
        var pages: [UInt64: [UInt8]] = [:]
    }

    private static let pageSize = 65_536

    /// Creates a device.
    ///
    /// - Throws: `SimErrno` if the backing file cannot be opened or sized.
    public init(name: String, major: UInt32, minor: UInt32, capacitySectors: UInt64,
                logicalBlockSize: UInt32 = 512, physicalBlockSize: UInt32 = 4096,
                ioMin: UInt32 = 512, backing: Backing = .memory) throws(SimErrno) {
        self.name = name
        self.major = major
        self.minor = minor
        self.logicalBlockSize = logicalBlockSize
        self.physicalBlockSize = physicalBlockSize
        self.ioMin = ioMin
        self.backing = backing
        self.state = State(capacitySectors: capacitySectors)
        switch backing {
        case .memory:
            fd = -1
        case .file(let path):
            let opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            if opened < 0 { throw SimErrno(errno) }
            var st = stat()
            if fstat(opened, &st) != 0 { let e = errno; Glibc.close(opened); throw SimErrno(e) }
            let wanted = off_t(capacitySectors * 512)
            if st.st_size < wanted, ftruncate(opened, wanted) != 0 {
                let e = errno; Glibc.close(opened); throw SimErrno(e)
            }
            fd = opened
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Capacity in 512-byte sectors.
    public var capacitySectors: UInt64 { lock.withLock { state.capacitySectors } }

    /// Capacity in bytes.
    public var capacityBytes: UInt64 { capacitySectors * 512 }

    /// Changes the capacity (a resized disk). Growing a file backing extends it.
    public func resize(capacitySectors: UInt64) throws(SimErrno) {
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) != 0 { throw SimErrno(errno) }
            let wanted = off_t(capacitySectors * 512)
            if st.st_size < wanted, ftruncate(fd, wanted) != 0 { throw SimErrno(errno) }
        }
        lock.withLock { state.capacitySectors = capacitySectors }
    }

    /// Reads media bytes at a byte offset; bytes past the capacity are not read.
    ///
    /// - Returns: bytes read, or `-EIO`-style negative errno from the host file.
    public func readRaw(into buffer: UnsafeMutableRawBufferPointer, atByte offset: UInt64) -> Int {
        let capacity = capacityBytes
        guard offset < capacity else { return 0 }
        let count = Int(min(UInt64(buffer.count), capacity - offset))
        if faultPlan.isArmed {
            let injected = faultPlan.check(.read, offset: offset, byteCount: count)
            if injected != 0 { return injected }
        }
        if fd >= 0 {
            var done = 0
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 { if errno == EINTR { continue }; return -Int(EIO) }
                if n == 0 {  // hole past EOF of a sparse file: zeros
                    UnsafeMutableRawBufferPointer(rebasing: buffer[done..<count]).initializeMemory(as: UInt8.self, repeating: 0)
                    break
                }
                done += n
            }
            return count
        }
        lock.withLock {
            var position = offset
            var done = 0
            while done < count {
                let page = position / UInt64(Self.pageSize)
                let within = Int(position % UInt64(Self.pageSize))
                let n = min(Self.pageSize - within, count - done)
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + n])
                if let bytes = state.pages[page] {
                    bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[within..<within + n])) }
                } else {
                    target.initializeMemory(as: UInt8.self, repeating: 0)
                }
                done += n
                position += UInt64(n)
            }
        }
        return count
    }

    /// Writes media bytes at a byte offset; bytes past the capacity are dropped.
    ///
    /// - Returns: bytes written, or a negative errno (`-EIO`) from the host file.
    public func writeRaw(_ buffer: UnsafeRawBufferPointer, atByte offset: UInt64) -> Int {
        let capacity = capacityBytes
        guard offset < capacity else { return 0 }
        let count = Int(min(UInt64(buffer.count), capacity - offset))
        if faultPlan.isArmed {
            let injected = faultPlan.check(.write, offset: offset, byteCount: count)
            if injected != 0 { return injected }
        }
        if fd >= 0 {
            var done = 0
            while done < count {
                let n = pwrite(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 { if errno == EINTR { continue }; return -Int(EIO) }
                done += n
            }
            return count
        }
        lock.withLock {
            var position = offset
            var done = 0
            while done < count {
                let page = position / UInt64(Self.pageSize)
                let within = Int(position % UInt64(Self.pageSize))
                let n = min(Self.pageSize - within, count - done)
                let source = UnsafeRawBufferPointer(rebasing: buffer[done..<done + n])
                if state.pages[page] == nil { state.pages[page] = [UInt8](repeating: 0, count: Self.pageSize) }
                state.pages[page]!.withUnsafeMutableBytes {
                    UnsafeMutableRawBufferPointer(rebasing: $0[within..<within + n]).copyMemory(from: source)
                }
                done += n
                position += UInt64(n)
            }
        }
        return count
    }

    /// Arms media faults (replacing any set before; an empty list disarms). See ``SimFault``.
    public func setFaults(_ faults: [SimFault]) { faultPlan.set(faults) }

    /// How many raw operations failed because of the faults set last.
    public var faultsFired: Int { faultPlan.firedCount }

    /// `fsync` of a file backing; nothing for memory.
    public func flush() { if fd >= 0 { fsync(fd) } }
}
