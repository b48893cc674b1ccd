import BlksnapKit
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into a stop request for a session (and forwards them to a
/// supervised child, if any), through dispatch signal sources.
final class SignalStop {
    private let sources: [any DispatchSourceSignal]

    /// Installs the handlers; `child` returns the supervised process id (0: none).
    init(_ handle: SessionStopHandle, child: @escaping @Sendable () -> pid_t = { 0 }) {
        let queue = DispatchQueue(label: "blksnapctl.signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let pid = child()
                if pid > 0 {
                    // The child decides; its exit ends the session (exit status propagated).
                    kill(pid, number)
                } else {
                    handle.requestStop(.stopped(signal: number))
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Removes the handlers (default dispositions again).
    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
