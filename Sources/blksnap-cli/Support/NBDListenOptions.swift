import ArgumentParser
import BlksnapNBD
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where an NBD command (`nbd serve`, `backup serve`) listens, and the serving loop the
/// two share: start, the listening report, SIGINT/SIGTERM, the stop reason.
struct NBDListenOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Listen on this Unix socket (created mode 0600, removed on exit).", valueName: "path"))
    var unix: String?

    @Option(name: .long, help: ArgumentHelp("Listen on TCP HOST:PORT ([ADDRESS]:PORT for IPv6; port 0 picks one); needs --tls-certs, or --insecure on loopback.",
                                            valueName: "host:port"))
    var tcp: String?

    @Option(name: .customLong("tls-certs"), help: ArgumentHelp("Require TLS with the x509 credentials in DIR (server-cert.pem, server-key.pem, ca-cert.pem).",
                                                                 valueName: "dir"))
    var tlsCerts: String?

    @Flag(name: .long, help: "Allow --tcp without TLS, on a loopback address only.")
    var insecure = false

    /// `--json` record printed once the server accepts connections.
    struct ListeningReport<Export: Encodable>: Encodable {
        var event = "listening"
        var address: String
        var port: Int?
        var tls: Bool
        var pid: Int32
        var exports: [Export]
    }

    /// `--json` record printed when the server stops.
    struct StoppedReport: Encodable {
        var event = "stopped"
        var reason: String
        var corrupted: Bool
    }

    func validate() throws {
        switch (unix, tcp) {
        case (nil, nil): throw ValidationError("give --unix PATH or --tcp HOST:PORT")
        case (.some, .some): throw ValidationError("give either --unix or --tcp, not both")
        default: break
        }
        if let tcp {
            let (host, _) = try Self.hostAndPort(tcp)
            if tlsCerts == nil {
                guard insecure else {
                    throw ValidationError("--tcp \(tcp) needs --tls-certs DIR: NBD over TCP without TLS lets anyone on the network read the export (on a loopback address, --insecure allows it)")
                }
                guard Self.isLoopback(host) else {
                    throw ValidationError("--insecure is refused for \(host): plain TCP is allowed on a loopback address only (127.0.0.0/8, ::1, localhost); use --tls-certs DIR")
                }
            }
        } else if insecure {
            throw ValidationError("--insecure applies to --tcp only (a Unix socket is protected by its mode 0600)")
        }
    }

    /// True for 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Splits `HOST:PORT` / `[ADDRESS]:PORT`.
    static func hostAndPort(_ text: String) throws(ValidationError) -> (host: String, port: Int) {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ValidationError("--tcp '\(text)' is not [ADDRESS]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw ValidationError("--tcp '\(text)' is not HOST:PORT") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw ValidationError("--tcp '\(text)': write an IPv6 address in brackets, [ADDRESS]:PORT") }
        }
        guard !host.isEmpty else { throw ValidationError("--tcp '\(text)' has no host") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ValidationError("--tcp '\(text)': port '\(portText)' is not a number from 0 to 65535")
        }
        return (String(host), port)
    }

    /// The address to listen on (after ``validate()``).
    func address() throws(ValidationError) -> NBDServerConfiguration.Address {
        if let unix { return .unix(path: unix) }
        let (host, port) = try Self.hostAndPort(tcp ?? "")
        return .tcp(host: host, port: port)
    }

    /// The URI a client uses for export `name` on `bound`.
    func uri(_ name: String, on bound: NBDServerConfiguration.Address) -> String {
        switch bound {
        case .unix(let path):
            return "nbd+unix:///\(name)?socket=\(path)"
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "\(tlsCerts == nil ? "nbd" : "nbds")://\(shown):\(port)/\(name)"
        }
    }

    /// Serves `sources` until SIGINT/SIGTERM (returns normally) or a fatal source error
    /// (exit 65): prints the listening report (`export(index, uri)` gives each export's
    /// record, `line(index, uri)` its text line), then the stopped report; `cleanup`
    /// runs once the server has stopped.
    func serve<Export: Encodable>(_ sources: [any NBDExportSource], command: String, global: GlobalOptions,
                                  export: (Int, String) -> Export, line: (Int, String) -> String,
                                  cleanup: () -> Void) throws {
        let configuration = NBDServerConfiguration(
            address: try address(), tls: tlsCerts.map(NBDTLSCredentials.init(directory:)),
            logger: try global.logger("nbd"))
        let server: NBDServer
        let bound: NBDServerConfiguration.Address
        do {
            server = try NBDServer(sources: sources, configuration: configuration)
            bound = try server.start()
        } catch {
            cleanup()
            throw CommandFailure("\(command): \(error.description)", status: error.errnoName == nil ? .usage : .failure)
        }
        let signals = try TerminationSignals.install(command)
        defer { signals.cancel() }
        signals.handle { _ in server.stop() }
        var port: Int?
        if case .tcp(_, let boundPort) = bound { port = boundPort }
        let uris = sources.map { uri($0.name, on: bound) }
        let report = ListeningReport(address: bound.description, port: port, tls: tlsCerts != nil, pid: getpid(),
                                     exports: uris.indices.map { export($0, uris[$0]) })
        global.output.emit(report) {
            ["serving \(sources.count) export(s) on \(bound)\(tlsCerts == nil ? "" : " (TLS required)") (pid \(getpid())); stop with SIGINT or SIGTERM"]
                + uris.indices.map { line($0, uris[$0]) }
        }
        var reason = server.waitUntilStopped()
        // A source that failed for good decides the status even when a signal ended the
        // grace period in which clients still got EIO.
        if case .requested = reason, let fatal = server.failure { reason = .sourceFailed(fatal) }
        cleanup()
        switch reason {
        case .requested:
            global.output.emit(StoppedReport(reason: "signal", corrupted: false)) { [] }
            Diagnostics.error("\(command): stopped by a signal\(unix.map { ", socket \($0) removed" } ?? "")")
        case .sourceFailed(let error):
            global.output.emit(StoppedReport(reason: error.message, corrupted: true)) { [] }
            throw CommandFailure("\(command): \(error.message)", status: .corrupted)
        }
    }
}
