import ArgumentParser
import BlksnapKit
import BlksnapNBD
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The write end of the pipe that `nbd serve`'s signal handler writes to.
nonisolated(unsafe) private var nbdSignalPipeWriteEnd: Int32 = -1

/// `blksnapctl nbd serve (--unix PATH | --tcp HOST:PORT) [--tls-certs DIR] [--insecure]
/// [--cbt-since N] DEVICE...`.
struct NBDServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the snapshot images of DEVICEs read-only over NBD until SIGINT or SIGTERM.",
        discussion: """
            One export per DEVICE, named after its base name (/dev/sda is 'sda'; the first \
            is also the default export). Each DEVICE must be in a taken snapshot. Exports \
            are read-only (writes, trims and write-zeroes fail EPERM) and offer the metadata \
            context base:allocation (all data); with --cbt-since N also \
            qemu:dirty-bitmap:cbt, whose dirty extents are the CBT blocks with a changes \
            number greater than N, the blocks 'cbt read --since N' lists. The export \
            description names the CBT generation id and changes number: N is only \
            meaningful in the generation it was recorded in, so compare the generation with \
            the one of your last backup before trusting the bitmap.

            --unix creates the socket with mode 0600 and removes it on exit. --tcp needs \
            --tls-certs DIR (server-cert.pem, server-key.pem, and ca-cert.pem, the authority \
            whose certificates clients must present; clients negotiate NBD_OPT_STARTTLS \
            first) unless HOST is a loopback address and --insecure is given.

            Serves until SIGINT or SIGTERM (exit 0), or until a snapshot is destroyed or \
            corrupted: clients then get EIO, the reason is logged and the exit status is 65. \
            Runs as a 'session' COMMAND, so the difference storage keeps being extended \
            while a client copies.
            """)

    @OptionGroup var global: GlobalOptions

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

    @Option(name: .customLong("cbt-since"), parsing: .unconditional,
            help: ArgumentHelp("Offer qemu:dirty-bitmap:cbt: the CBT blocks whose changes number is greater than this (0-255).",
                               valueName: "changes-number"),
            transform: ArgumentTransforms.changesNumber)
    var cbtSince: UInt8?

    @Argument(help: "Devices in a taken snapshot: paths or MAJ:MIN.", transform: ArgumentTransforms.device)
    var devices: [DeviceArgument]

    /// `--json` record of one export.
    struct ExportReport: Encodable {
        var name: String
        var device: String
        var image: String
        var sizeBytes: UInt64
        var uri: String
        var description: String
        var generationId: String
        var changesNumber: UInt8
        var cbtSince: UInt8?
        var dirtyBlockCount: Int?
    }

    /// `--json` record printed once the server accepts connections.
    struct ListeningReport: Encodable {
        var event = "listening"
        var address: String
        var port: Int?
        var tls: Bool
        var pid: Int32
        var exports: [ExportReport]
    }

    /// `--json` record printed when the server stops.
    struct StoppedReport: Encodable {
        var event = "stopped"
        var reason: String
        var corrupted: Bool
    }

    func validate() throws {
        if devices.isEmpty { throw ValidationError("name at least one DEVICE to export") }
        switch (unix, tcp) {
        case (nil, nil): throw ValidationError("give --unix PATH or --tcp HOST:PORT")
        case (.some, .some): throw ValidationError("give either --unix or --tcp, not both")
        default: break
        }
        if let tcp {
            let (host, _) = try Self.hostAndPort(tcp)
            if tlsCerts == nil {
                guard insecure else {
                    throw ValidationError("--tcp \(tcp) needs --tls-certs DIR: NBD over TCP without TLS lets anyone on the network read the image (on a loopback address, --insecure allows it)")
                }
                guard Self.isLoopback(host) else {
                    throw ValidationError("--insecure is refused for \(host): plain TCP is allowed on a loopback address only (127.0.0.0/8, ::1, localhost); use --tls-certs DIR")
                }
            }
        } else if insecure {
            throw ValidationError("--insecure applies to --tcp only (a Unix socket is protected by its mode 0600)")
        }
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

    /// True for 127.0.0.0/8, ::1 and localhost.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    func run() throws {
        let backend = try Backend(global)
        var sources: [SnapshotImageSource] = []
        for device in devices {
            let original = try backend.blockDevice(device)
            let source: SnapshotImageSource
            do {
                source = try SnapshotImageSource(original: original, cbtSince: cbtSince)
            } catch {
                let failure = backend.failure(error)
                if error.operation == .snapshotInfo || error.errno == .operationNotSupportedByDevice {
                    throw CommandFailure("nbd serve: \(original.path) cannot be exported: only a device in a taken snapshot has an image: \(failure.message)",
                                         status: failure.status == .unavailable ? .unavailable : .failure)
                }
                throw failure
            }
            sources.append(source)
        }
        let address: NBDServerConfiguration.Address
        if let unix {
            address = .unix(path: unix)
        } else {
            let (host, port) = try Self.hostAndPort(tcp ?? "")
            address = .tcp(host: host, port: port)
        }
        let configuration = NBDServerConfiguration(
            address: address, tls: tlsCerts.map(NBDTLSCredentials.init(directory:)),
            logger: try global.logger("nbd"))
        let server: NBDServer
        let bound: NBDServerConfiguration.Address
        do {
            server = try NBDServer(sources: sources, configuration: configuration)
            bound = try server.start()
        } catch {
            throw CommandFailure("nbd serve: \(error.description)", status: error.errnoName == nil ? .usage : .failure)
        }
        let signalPipe = try SimServe.installSignalPipe()
        let watcher = Thread {
            var number: UInt8 = 0
            while read(signalPipe, &number, 1) != 1 && errno == EINTR {}
            server.stop()
        }
        watcher.start()
        let report = listeningReport(bound, sources: sources, tls: tlsCerts != nil)
        global.output.emit(report) {
            ["serving \(sources.count) export(s) on \(bound)\(tlsCerts == nil ? "" : " (TLS required)") (pid \(getpid())); stop with SIGINT or SIGTERM"]
                + report.exports.map { "export \($0.name): \($0.uri) — \($0.description)" }
        }
        let reason = server.waitUntilStopped()
        for source in sources { try? source.reader.close() }
        switch reason {
        case .requested:
            global.output.emit(StoppedReport(reason: "signal", corrupted: false)) { [] }
            Diagnostics.error("nbd serve: stopped by a signal\(unix.map { ", socket \($0) removed" } ?? "")")
        case .sourceFailed(let error):
            global.output.emit(StoppedReport(reason: error.message, corrupted: true)) { [] }
            throw CommandFailure("nbd serve: \(error.message)", status: .corrupted)
        }
    }

    private func listeningReport(_ bound: NBDServerConfiguration.Address, sources: [SnapshotImageSource], tls: Bool) -> ListeningReport {
        var port: Int?
        let exports = sources.map { source in
            let uri: String
            switch bound {
            case .unix(let path):
                uri = "nbd+unix:///\(source.name)?socket=\(path)"
            case .tcp(let host, let boundPort):
                port = boundPort
                let shown = host.contains(":") ? "[\(host)]" : host
                uri = "\(tls ? "nbds" : "nbd")://\(shown):\(boundPort)/\(source.name)"
            }
            return ExportReport(name: source.name, device: source.original.path, image: source.reader.path, sizeBytes: source.sizeBytes,
                                uri: uri, description: source.description, generationId: source.cbtInfo.generationID.description,
                                changesNumber: source.cbtInfo.changesNumber, cbtSince: source.cbtSince,
                                dirtyBlockCount: source.changed?.blockCount)
        }
        return ListeningReport(address: bound.description, port: port, tls: tls, pid: getpid(), exports: exports)
    }
}
