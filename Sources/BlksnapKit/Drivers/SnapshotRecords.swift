#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What a driver must remember about snapshots and its module cannot be asked (the
/// storage appended to a VAL-6.x snapshot before its take, the device holding a VAL-7.0
/// snapshot's storage), and the locks its guards hold across a check and a request.
///
/// The hazards these serve are module-wide, so the records are shared by every process
/// that uses this library on the same kernel (``for(_:on:)``): one small text file per
/// snapshot and key under the kernel's ``KernelInterface/sharedStateDirectory`` (the real
/// kernel: `/run/blksnap/ABI/`, root only, gone at reboot; a simulator served on a socket:
/// a directory beside the socket), read and written under `flock(2)`, which the kernel
/// drops when a process dies. A separate `blksnapctl` run thus sees what earlier runs
/// did. A kernel only this process uses (an in-process simulator) keeps them in the
/// process (``processOnly(_:)``). Clients that do not use this library are not seen. If
/// the directory cannot be made (not root) the records and locks fall back to this process.
public final class SnapshotRecords: Sendable {
    /// The shared directory, or nil for records of this process only.
    public let directory: String?
    private let values = Mutex<[String: [String]]>([:])
    private let heldLocks = Mutex<Set<String>>([])
    private let processLocks = Mutex<[String: ProcessLock]>([:])

    private static let sharedRecords = Mutex<[String: SnapshotRecords]>([:])
    private static let processOnlyRecords = Mutex<[BlksnapABI: SnapshotRecords]>([:])

    /// Records in `directory` (shared between processes), or in this process when nil.
    public init(directory: String?) { self.directory = directory }

    /// The records of `abi`'s drivers shared through `directory/ABI` (one value per path
    /// in this process).
    public static func shared(_ abi: BlksnapABI, in directory: String) -> SnapshotRecords {
        let path = "\(directory)/\(abi.rawValue)"
        return sharedRecords.withLock { records in
            if let existing = records[path] { return existing }
            let made = SnapshotRecords(directory: path)
            records[path] = made
            return made
        }
    }

    /// The records of `abi`'s drivers in this process (every driver value shares them).
    public static func processOnly(_ abi: BlksnapABI) -> SnapshotRecords {
        processOnlyRecords.withLock { records in
            if let existing = records[abi] { return existing }
            let made = SnapshotRecords(directory: nil)
            records[abi] = made
            return made
        }
    }

    /// ``shared(_:in:)`` in the kernel's shared-state directory, else ``processOnly(_:)``.
    public static func `for`(_ abi: BlksnapABI, on kernel: any KernelInterface) -> SnapshotRecords {
        kernel.sharedStateDirectory.map { shared(abi, in: $0) } ?? processOnly(abi)
    }

    // MARK: - Values

    /// The lines recorded for `key` of `id`, or nil when none were.
    public func lines(_ key: String, of id: SnapshotID) -> [String]? {
        let name = "\(id).\(key)"
        guard let directory else { return values.withLock { $0[name] } }
        let fd = open("\(directory)/\(name)", O_RDONLY | O_CLOEXEC)
        // No file: not recorded, or the directory is unusable and the records live here.
        guard fd >= 0 else { return values.withLock { $0[name] } }
        defer { close(fd) }
        Self.lock(fd, wait: true, shared: true)
        return Self.readLines(fd)
    }

    /// Replaces the lines of `key` of `id` by `change(old)`, atomically for every process
    /// sharing the records; nil removes them.
    public func update(_ key: String, of id: SnapshotID, _ change: ([String]?) -> [String]?) {
        let name = "\(id).\(key)"
        guard let directory, let fd = openShared(name) else {
            values.withLock { $0[name] = change($0[name]) }
            return
        }
        defer { close(fd) }
        Self.lock(fd, wait: true)
        guard let new = change(Self.readLines(fd)) else {
            unlink("\(directory)/\(name)")
            return
        }
        let bytes = Array(new.map { $0 + "\n" }.joined().utf8)
        _ = ftruncate(fd, 0)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(written)) }
            if count <= 0 { break }
            written += count
        }
    }

    /// Removes every key of `id` in `keys`, and its lock named `id.LOCK` for each of `locks`.
    public func forget(_ id: SnapshotID, keys: [String], locks: [String] = []) {
        for key in keys { update(key, of: id) { _ in nil } }
        if let directory {
            for lock in locks { unlink("\(directory)/\(id).\(lock).lock") }
        }
    }

    // MARK: - Locks

    /// Runs `body` holding the lock `name`: a mutex of this process, then (shared) an
    /// exclusive `flock` on `NAME.lock`, waiting for another process that holds it.
    public func withLock<Value: Sendable>(_ name: String,
                                          _ body: () throws(BlksnapError) -> Value) throws(BlksnapError) -> Value {
        let mutex = processLocks.withLock { locks in
            if let existing = locks[name] { return existing }
            let made = ProcessLock()
            locks[name] = made
            return made
        }
        let result = mutex.lock.withLock { _ -> Result<Value, BlksnapError> in
            let fd = openShared("\(name).lock")
            if let fd { Self.lock(fd, wait: true) }
            defer { if let fd { close(fd) } }
            do throws(BlksnapError) {
                return .success(try body())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// One named mutex of this process.
    private final class ProcessLock: Sendable {
        let lock = Mutex<Void>(())
    }

    /// A lock held until ``release(_:)``.
    public struct HeldLock: Sendable {
        let name: String
        let fd: CInt?
    }

    /// Takes the lock `name` without waiting; nil when another thread or (shared)
    /// another process holds it.
    public func tryLock(_ name: String) -> HeldLock? {
        guard heldLocks.withLock({ $0.insert(name).inserted }) else { return nil }
        guard let fd = openShared("\(name).lock") else { return HeldLock(name: name, fd: nil) }
        guard Self.lock(fd, wait: false) else {
            close(fd)
            _ = heldLocks.withLock { $0.remove(name) }
            return nil
        }
        return HeldLock(name: name, fd: fd)
    }

    /// Releases a lock of ``tryLock(_:)``.
    public func release(_ lock: HeldLock) {
        if let fd = lock.fd { close(fd) }
        _ = heldLocks.withLock { $0.remove(lock.name) }
    }

    // MARK: - Files

    /// Opens (creating) `name` in the shared directory, making the directory (mode 0700);
    /// nil for records of this process or when that fails.
    private func openShared(_ name: String) -> CInt? {
        guard let directory else { return nil }
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && errno != EEXIST { return nil }
        }
        let fd = open("\(directory)/\(name)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        return fd >= 0 ? fd : nil
    }

    /// The lines of the file open on `fd`, nil when it is empty.
    private static func readLines(_ fd: CInt) -> [String]? {
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(text.count)) }
            if count <= 0 { break }
            text += buffer[..<count]
        }
        return text.isEmpty ? nil : String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// `flock(LOCK_EX)` (`LOCK_SH` when `shared`), retried on `EINTR`; without `wait`,
    /// false when another holds it.
    @discardableResult
    private static func lock(_ fd: CInt, wait: Bool, shared: Bool = false) -> Bool {
        while true {
            if flock(fd, (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)) == 0 { return true }
            if errno != EINTR { return false }
        }
    }
}
