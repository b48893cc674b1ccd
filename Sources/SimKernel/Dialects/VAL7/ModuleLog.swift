#if canImport(Glibc)
import Glibc
#endif

/// The Veeam modules' own log file (kernel: log.c; field spec §2.4.7 for VAL-7.0,
/// §1.4.14 for VAL-6.3.1): the path and level that SETLOG put in force. The simulator
/// keeps the configuration and writes no file: its namespace has no filesystem
/// (Quirk.val7SetlogWritesNoFile, Quirk.val6SetlogWritesNoFile).
final class ModuleLog: @unchecked Sendable {
    /// A path (without its NUL) and a level.
    struct Configuration: Equatable {
        var path: [UInt8]
        var level: Int32
    }

    private let current = PthreadMutex<Configuration?>(nil)

    /// `log_restart(-1, NULL)`: logging off.
    func disable() { current.withLock { $0 = nil } }

    /// `log_restart` with a path: the same path and level → `-EALREADY`; the same path
    /// with another level changes the level, unless that level is negative (only VAL-6.3.1,
    /// whose u32 level reaches here as an `int`: 0, nothing changed); another path
    /// restarts the log. 0 otherwise.
    func restart(_ configuration: Configuration) -> Int32 {
        current.withLock { value in
            if let current = value, current.path == configuration.path {
                if current.level == configuration.level { return -EALREADY }
                if configuration.level < 0 { return 0 }
            }
            value = configuration
            return 0
        }
    }

    /// The configuration in force, or nil when logging is off.
    var configuration: Configuration? { current.withLock { $0 } }
}
