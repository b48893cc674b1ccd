#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator
import Dispatch
import SimKernel
import SimWire

/// Figures 4 and 7: VERSION round trips in process and through a ``SimServer`` socket
/// (against a bare AF_UNIX echo of the same frame sizes between two threads), and
/// `blksnapctl version --sim SOCKET` start-to-exit (against `/bin/true`).
struct ControlPlaneBenchmark {
    /// Per-repetition percentiles, in microseconds.
    struct RoundTrips {
        var inProcessP50: [Double] = []
        var inProcessP99: [Double] = []
        var socketP50: [Double] = []
        var socketP99: [Double] = []
        var echoP50: [Double] = []
        var echoP99: [Double] = []
    }

    /// Outcome of the CLI measurement.
    enum CLIOutcome {
        /// Milliseconds per run of blksnapctl and of `/bin/true`, per repetition.
        case measured(cli: [Double], baseline: [Double])
        /// Why it could not be measured.
        case unavailable(String)
    }

    /// Bytes of the echo frames: a VERSION request (8-byte header, fd, request number,
    /// address, one 8-byte user region) and its reply (header, result, one write).
    static let echoRequestBytes = 64
    static let echoReplyBytes = 48

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// Runs both measurements against one server.
    func run() throws(BenchError) -> (RoundTrips, CLIOutcome) {
        let machine = SimMachine()
        defer { machine.shutdown() }
        let socketPath: String
        do throws(SimErrno) {
            socketPath = try machine.serve().socketPath
        } catch {
            throw BenchError("cannot start a SimServer", errno: error.code)
        }
        let local: Control
        let remote: Control
        do {
            local = try machine.openControl()
            remote = try Control(kernel: try SimClient(socketPath: socketPath))
        } catch {
            throw BenchError("cannot open the control device: \(error)")
        }
        defer {
            try? local.close()
            try? remote.close()
        }
        var trips = RoundTrips()
        let echo = try EchoPair()
        defer { echo.close() }
        for _ in 0..<configuration.repetitions {
            let inProcess = try Self.timeCalls(configuration.roundTrips) { () throws(BenchError) in
                do { _ = try local.version() } catch { throw BenchError("VERSION in process failed: \(error)") }
            }
            let socket = try Self.timeCalls(configuration.roundTrips) { () throws(BenchError) in
                do { _ = try remote.version() } catch { throw BenchError("VERSION through the socket failed: \(error)") }
            }
            let bare = try Self.timeCalls(configuration.roundTrips) { () throws(BenchError) in try echo.roundTrip() }
            trips.inProcessP50.append(BenchSummary.percentile(0.5, of: inProcess))
            trips.inProcessP99.append(BenchSummary.percentile(0.99, of: inProcess))
            trips.socketP50.append(BenchSummary.percentile(0.5, of: socket))
            trips.socketP99.append(BenchSummary.percentile(0.99, of: socket))
            trips.echoP50.append(BenchSummary.percentile(0.5, of: bare))
            trips.echoP99.append(BenchSummary.percentile(0.99, of: bare))
        }
        return (trips, runCLI(socketPath: socketPath))
    }

    /// Times `count` calls of `body` (after 10 % warm-up calls), in microseconds each.
    private static func timeCalls(_ count: Int, _ body: () throws(BenchError) -> Void) throws(BenchError) -> [Double] {
        for _ in 0..<max(1, count / 10) { try body() }
        var times: [Double] = []
        times.reserveCapacity(count)
        for _ in 0..<count {
            let start = BenchClock.nanoseconds()
            try body()
            times.append(Double(BenchClock.nanoseconds() - start) / 1000)
        }
        return times
    }

    // MARK: blksnapctl

    private func runCLI(socketPath: String) -> CLIOutcome {
        let path = configuration.cliPath ?? Self.executableDirectory() + "/blksnapctl"
        guard access(path, X_OK) == 0 else {
            return .unavailable("no blksnapctl binary at \(path) (build the blksnapctl product first)")
        }
        let errorsPath = scratch.file("cli-stderr.txt")
        let first = Self.spawn(path, ["version", "--sim", socketPath], stderrPath: errorsPath)
        guard first.status == 0 else {
            let firstLine = Self.firstLine(of: errorsPath)
            return .unavailable("`blksnapctl version --sim SOCKET` exited with status \(first.status)"
                                + (firstLine.isEmpty ? "" : ": \(firstLine)"))
        }
        var cli: [Double] = []
        var baseline: [Double] = []
        for _ in 0..<configuration.repetitions {
            var cliRuns: [Double] = []
            var trueRuns: [Double] = []
            for _ in 0..<max(1, configuration.cliRuns) {
                cliRuns.append(Self.spawn(path, ["version", "--sim", socketPath], stderrPath: "/dev/null").milliseconds)
                trueRuns.append(Self.spawn("/bin/true", [], stderrPath: "/dev/null").milliseconds)
            }
            cli.append(BenchSummary(cliRuns)!.median)
            baseline.append(BenchSummary(trueRuns)!.median)
        }
        return .measured(cli: cli, baseline: baseline)
    }

    /// The directory of the running executable (`/proc/self/exe`).
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "." }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    /// Runs `path arguments…` with stdout to /dev/null and stderr to `stderrPath`;
    /// returns its exit status (128 + signal when killed, -1 when it could not start)
    /// and its start-to-exit time.
    static func spawn(_ path: String, _ arguments: [String], stderrPath: String) -> (status: Int32, milliseconds: Double) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let start = BenchClock.nanoseconds()
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return (-1, 0) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let elapsed = Double(BenchClock.nanoseconds() - start) / 1_000_000
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, elapsed)
    }

    private static func firstLine(of path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        guard fgets(&line, Int32(line.count), file) != nil else { return "" }
        let text = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}

/// Two connected AF_UNIX stream sockets, the far one echoed by a thread: the floor of
/// any request/reply over a Unix socket on this machine.
final class EchoPair: @unchecked Sendable {
    private let near: Int32
    private let far: Int32
    private let done = DispatchSemaphore(value: 0)
    private let request = [UInt8](repeating: 1, count: ControlPlaneBenchmark.echoRequestBytes)
    private var reply = [UInt8](repeating: 0, count: ControlPlaneBenchmark.echoReplyBytes)

    init() throws(BenchError) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw BenchError("cannot make a socket pair", errno: errno)
        }
        near = fds[0]
        far = fds[1]
        let far = self.far
        let done = self.done
        DispatchQueue.global().async {
            var incoming = [UInt8](repeating: 0, count: ControlPlaneBenchmark.echoRequestBytes)
            let outgoing = [UInt8](repeating: 2, count: ControlPlaneBenchmark.echoReplyBytes)
            while EchoPair.exchange(far, send: nil, receive: &incoming) {
                guard EchoPair.exchange(far, send: outgoing, receive: nil) else { break }
            }
            done.signal()
        }
    }

    /// One request out, one reply back.
    func roundTrip() throws(BenchError) {
        guard Self.exchange(near, send: request, receive: nil), Self.exchange(near, send: nil, receive: &reply) else {
            throw BenchError("echo socket failed", errno: errno)
        }
    }

    /// Ends the echo thread and closes both sockets.
    func close() {
        shutdown(near, Int32(SHUT_RDWR))
        done.wait()
        Glibc.close(near)
        Glibc.close(far)
    }

    /// Sends all of `send` or receives exactly `receive.count` bytes; false on EOF/error.
    private static func exchange(_ fd: Int32, send: [UInt8]?, receive: UnsafeMutablePointer<[UInt8]>?) -> Bool {
        if let send {
            var done = 0
            while done < send.count {
                let n = send.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, send.count - done, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard let receive else { return true }
        let count = receive.pointee.count
        var done = 0
        while done < count {
            let n = receive.pointee.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + done, count - done, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }
}
