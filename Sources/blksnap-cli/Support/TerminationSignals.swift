import BlksnapKit
import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The write end of the pipe the SIGINT/SIGTERM handler writes to: set before the handler
/// is installed, never closed (a handler running on another thread may still hold it).
nonisolated(unsafe) private var terminationPipeWriteEnd: Int32 = -1

/// SIGINT and SIGTERM, taken the one way every long-running command takes them
/// (`session`, `snapshot watch`, `backup create`, `nbd serve`, `backup serve`, `sim serve`).
///
/// The handler only writes the signal's number to a pipe (async-signal-safe); the command
/// reads the pipe, on its main thread (``wait()``) or on a thread of its own (``handle(_:)``),
/// and decides what the signal means there. Handlers, not `SIG_IGN`: a child the command
/// starts gets the default dispositions back at `exec`. The command installs them before
/// it prints that it is ready, so a signal sent as soon as that line appears is not lost.
final class TerminationSignals: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    private init(readEnd: Int32, writeEnd: Int32) {
        self.readEnd = readEnd
        self.writeEnd = writeEnd
    }

    /// Installs the handlers for the process (one command per process installs them).
    ///
    /// - Parameter command: names the command in the error.
    static func install(_ command: String) throws(CommandFailure) -> TerminationSignals {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            let failure = Errno(rawValue: errno)
            throw CommandFailure("\(command): cannot create the signal pipe: \(failure.description) (\(ErrnoName.name(of: failure)))")
        }
        // Not inherited by the hooks and commands the command starts.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        terminationPipeWriteEnd = ends[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(terminationPipeWriteEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        // A parent may have started us with these signals blocked (a thread of a test
        // runner, for example): unblock them, or a SIGTERM would stay pending forever.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        return TerminationSignals(readEnd: ends[0], writeEnd: ends[1])
    }

    /// Blocks until a signal arrives; returns its number (0 after ``cancel()``).
    func wait() -> Int32 {
        var number: UInt8 = 0
        while read(readEnd, &number, 1) != 1 {
            if errno != EINTR { return 0 }
        }
        return Int32(number)
    }

    /// Calls `body` with each signal's number, on a thread of its own, until ``cancel()``.
    func handle(_ body: @escaping @Sendable (Int32) -> Void) {
        Thread.detachNewThread { [self] in
            while true {
                let number = wait()
                if number == 0 { return }
                body(number)
            }
        }
    }

    /// Puts the default dispositions back and ends ``handle(_:)``'s thread.
    func cancel() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        var stop: UInt8 = 0
        _ = write(writeEnd, &stop, 1)
    }
}

extension TerminationSignals {
    /// A signal stops `session` (``SessionEndReason/stopped(signal:)``), or, while `child`
    /// returns a process id, goes to that process instead: the child decides, and its exit
    /// ends the session.
    func stopping(_ session: SessionStopHandle, child: @escaping @Sendable () -> pid_t = { 0 }) {
        handle { number in
            let pid = child()
            if pid > 0 {
                kill(pid, number)
            } else {
                session.requestStop(.stopped(signal: number))
            }
        }
    }
}
