#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import Dispatch
import Foundation
import SimKernel
import Synchronization

/// The FUSE export of one ``SimKernel``: `MOUNTPOINT/dev/NAME` is a regular file for
/// every simulated device and live snapshot image (see `SimFuseOperations.swift`).
///
/// Writes to a device file are writes through the device's filter (CBT marking and
/// copy-on-write); image files follow the image rules (§4.4, `EIO` once corrupted).
/// Every file is opened with FUSE direct I/O, so no page cache in front of the file
/// hides a write from the simulator; `fsync` flushes the host files backing the devices.
/// Requests are served by libfuse's multithreaded loop.
///
/// - Important: this process must never perform I/O on a loop device bound to one of
///   its own files. Such I/O becomes a FUSE request that only this process can answer;
///   if the thread (or, worse, memory reclaim waiting on the loop device's writeback)
///   that issued it is what the answer needs, neither ever completes — a deadlock that
///   no signal ends (the request sits in an uninterruptible wait in the block layer).
///   Loop devices are therefore attached and detached by other processes (`losetup`,
///   `blksnapctl sim loop`), the simulator's own backing files must not live on a
///   filesystem above such a loop device, and the process marks itself
///   `PR_SET_IO_FLUSHER` so reclaim does not wait on that writeback.
public final class SimFuseMount: @unchecked Sendable {
    /// The canonical mount point.
    public let mountPoint: String
    /// The FUSE `fsname` (the mount source in `/proc/self/mountinfo`).
    public let sourceName: String

    private let fuse: OpaquePointer
    private let context: Unmanaged<SimFuseContext>
    private let finished = DispatchSemaphore(value: 0)
    private let state = Mutex((started: false, stopped: false))

    /// The mount source naming the simulator that listens on `socketPath` (canonical):
    /// how `blksnapctl sim loop` finds the mount point of a simulator.
    public static func sourceName(socketPath: String) -> String { "blksnapsim:" + socketPath }

    /// Mounts the export at `mountPoint` (created if missing). Call ``start()`` to serve.
    ///
    /// - Throws: ``SimFuseError/staleMount(path:)`` over a dead FUSE mount,
    ///   ``SimFuseError/alreadyMounted(path:type:source:)`` over a live mount, or
    ///   why libfuse failed.
    public init(kernel: SimKernel, mountPoint requested: String, sourceName: String) throws(SimFuseError) {
        var status = stat()
        if stat(requested, &status) != 0 {
            let code = errno
            if code == ENOTCONN { throw .staleMount(path: requested) }
            guard code == ENOENT, mkdir(requested, 0o755) == 0 else { throw .mountPoint(path: requested, errno: code) }
        }
        guard let canonical = canonicalPath(requested) else { throw .mountPoint(path: requested, errno: errno) }
        guard stat(canonical, &status) == 0 else { throw .mountPoint(path: canonical, errno: errno) }
        guard status.st_mode & Glibc.S_IFMT == Glibc.S_IFDIR else { throw .mountPoint(path: canonical, errno: ENOTDIR) }
        if let mounted = MountTable.entries().last(where: { $0.mountPoint == canonical }) {
            throw .alreadyMounted(path: canonical, type: mounted.fileSystemType, source: mounted.source)
        }
        mountPoint = canonical
        self.sourceName = sourceName
        // Option values escape ',' and '\' for libfuse's option parser.
        var escaped = ""
        for character in sourceName {
            if character == "," || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        var options = "fsname=\(escaped),subtype=blksnapsim,default_permissions"
        if geteuid() == 0 { options += ",allow_other" }
        var arguments = fuse_args(argc: 0, argv: nil, allocated: 0)
        defer { fuse_opt_free_args(&arguments) }
        for argument in ["blksnapsim", "-o", options] { _ = fuse_opt_add_arg(&arguments, argument) }
        let context = Unmanaged.passRetained(SimFuseContext(kernel: kernel))
        var operations = simFuseOperations()
        guard let fuse = cfuse_new(&arguments, &operations, context.toOpaque()) else {
            context.release()
            throw .fuse(path: canonical, step: "fuse_new")
        }
        guard fuse_mount(fuse, canonical) == 0 else {
            fuse_destroy(fuse)
            context.release()
            throw .fuse(path: canonical, step: "fuse_mount")
        }
        self.fuse = fuse
        self.context = context
        _ = cfuse_set_io_flusher()
    }

    /// Starts the multithreaded request loop on its own thread (once).
    public func start() {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started && !state.stopped
        }
        guard first else { return }
        Thread.detachNewThread { [self] in
            _ = cfuse_loop_mt(fuse, 16)
            finished.signal()
        }
    }

    /// Ends the export: detaches (with `losetup -d`, a separate process, while this
    /// one still answers the flush it causes) every loop device bound to one of its
    /// files — one still carrying a mounted filesystem is only marked autoclear by the
    /// kernel — then lazily unmounts and waits up to `timeoutSeconds` for the loop to
    /// end. Safe to call more than once.
    ///
    /// - Returns: false when the request loop did not end in time (a file is still
    ///   open, e.g. by a loop device under a mounted filesystem); exiting the process
    ///   then aborts the connection and further I/O on such files fails.
    @discardableResult
    public func stop(timeoutSeconds: Double = 5) -> Bool {
        let wasStarted = state.withLock { state -> Bool? in
            if state.stopped { return nil }
            state.stopped = true
            return state.started
        }
        guard let wasStarted else { return true }
        for loop in LoopBacking.bound(under: mountPoint) {
            _ = runProgram(["losetup", "-d", loop.device])
        }
        if umount2(mountPoint, 2 /* MNT_DETACH */) != 0 {
            _ = runProgram(["fusermount3", "-u", "-z", mountPoint])
        }
        fuse_exit(fuse)
        guard !wasStarted || finished.wait(timeout: .now() + timeoutSeconds) == .success else { return false }
        if MountTable.isMountPoint(mountPoint) { fuse_unmount(fuse) }
        fuse_destroy(fuse)
        context.release()
        return true
    }
}
