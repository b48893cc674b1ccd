import BlksnapBackup
import BlksnapKit
import Dispatch

/// Draws a copy's progress on stderr from the library's one source, the
/// ``BackupProgressMeter`` event stream: the terminal bar (``ProgressLine``) or JSON
/// Lines (``ProgressReport``), on a task of its own while the command copies.
final class ProgressDisplay: Sendable {
    /// Samples per second on a terminal (the bar is redrawn 5 times a second).
    static let terminalInterval: Duration = .milliseconds(200)

    /// The meter to give the library (nil under `--progress none`).
    let meter: BackupProgressMeter?
    private let drawn = DispatchSemaphore(value: 0)

    /// Starts the task that draws `mode` (`tty`, `json`; anything else draws nothing).
    init(mode: ProgressOptions.Mode, phase: BackupProgressPhase) {
        switch mode {
        case .tty:
            meter = BackupProgressMeter(phase: phase, interval: Self.terminalInterval)
        case .json:
            meter = BackupProgressMeter(phase: phase)
        case .auto, .none:
            meter = nil
        }
        guard let events = meter?.events else { return }
        let drawn = self.drawn
        Task.detached {
            let line = ProgressLine()
            for await event in events {
                if mode == .json {
                    Diagnostics.line(Output.encode(ProgressReport(event)))
                } else if case .progress(let sample) = event {
                    line.draw(sample)
                } else {
                    line.clear()
                }
            }
            drawn.signal()
        }
    }

    /// Runs `body`, the command's work, then waits until the summary is drawn: the
    /// library's (it finishes the meter when its copy ends), or, when `body` failed before
    /// the copy could, one with the message the command exits with.
    func finishing<Value>(_ body: () throws -> Value) throws -> Value {
        let value: Value
        do {
            value = try body()
        } catch {
            finish(failure: Self.message(of: error))
            throw error
        }
        finish(failure: nil)
        return value
    }

    private func finish(failure: String?) {
        guard let meter else { return }
        meter.finish(failure: failure)
        drawn.wait()
    }

    /// The one line `blksnapctl` prints for `error` (as BlksnapCtl's exit reporting does).
    private static func message(of error: any Error) -> String {
        switch error {
        case let failure as CommandFailure: failure.message
        case let error as BlksnapError: Backend.failure(error, simSocket: nil).message
        default: String(describing: error)
        }
    }
}
