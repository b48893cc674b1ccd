/// Why a ``Session``'s event loop ended.
public enum SessionEndReason: Sendable, Hashable, Codable, CustomStringConvertible {
    /// ``SessionStopHandle/requestStop(_:)`` was called (a signal, in the CLI).
    case stopped(signal: Int32?)
    /// The snapshot is gone (`WAIT_EVENT` answered `ESRCH`): someone destroyed it.
    case snapshotVanished
    /// The supervised command exited with this status (or was killed by a signal: 128 + signal).
    case commandExited(status: Int32)
    /// A device's difference area was corrupted and the session was configured to end on it.
    case corrupted(device: String, errno: Int32)
    /// `WAIT_EVENT` failed in an unexpected way.
    case failed(message: String)

    /// One line.
    public var description: String {
        switch self {
        case .stopped(let signal): return signal.map { "stopped by signal \($0)" } ?? "stopped"
        case .snapshotVanished: return "the snapshot disappeared (destroyed elsewhere)"
        case .commandExited(let status): return "the command exited with status \(status)"
        case .corrupted(let device, let errno):
            return "the snapshot of device \(device) is corrupted (errno \(errno))"
        case .failed(let message): return "failed: \(message)"
        }
    }
}
