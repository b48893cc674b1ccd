import ArgumentParser
import BlksnapKit
import Dispatch
import SimKernel
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl sim serve --root DIR [--socket PATH] [--param NAME=VALUE...]`.
struct SimServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Host a simulated blksnap kernel on a Unix socket until SIGINT or SIGTERM.",
        discussion: """
            The socket is created with mode 0600 and only the same uid (or root) is served. \
            Device files live in DIR. Parameters are the module's (chunk_minimum_shift, \
            diff_storage_minimum, ...) plus hz, the simulated tick rate. On SIGINT/SIGTERM the \
            server disconnects its clients, removes the socket and exits 0.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Directory for the simulator's files (created if missing).", valueName: "dir"))
    var root: String

    @Option(name: .long, help: ArgumentHelp("Socket path (default: DIR/blksnapctl.sock).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Module parameter NAME=VALUE; repeatable.", valueName: "name=value"),
            transform: ArgumentTransforms.parameter)
    var param: [SimParameter] = []

    /// `--json` document printed once the socket accepts connections.
    struct Report: Encodable {
        var socket: String
        var root: String
        var pid: Int32
        var params: [String: UInt32]
    }

    func validate() throws {
        for parameter in param where Params().value(of: parameter.name) == nil {
            throw ValidationError("unknown parameter '\(parameter.name)': known are \(Params.names.joined(separator: ", "))")
        }
    }

    /// The parameters with the `--param` overrides applied.
    var parameters: Params {
        var params = Params()
        for parameter in param { _ = params.set(parameter.name, to: parameter.value) }
        return params
    }

    func run() throws {
        let socketPath = socket ?? (root.hasSuffix("/") ? root : root + "/") + "blksnapctl.sock"
        let kernel = SimKernel(params: parameters)
        let server: SimServer
        do {
            server = try SimServer(kernel: kernel, socketPath: socketPath, rootDirectory: root)
        } catch {
            let name = ErrnoName.name(of: Errno(rawValue: error.code))
            let remedy = error.code == EADDRINUSE ? ": another simulator is serving there" : ""
            throw CommandFailure("sim serve: cannot listen on \(socketPath) with root \(root)\(remedy) (\(name))")
        }
        // Signals become events on the main queue: no work in a signal handler.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
            source.setEventHandler {
                server.stop()
                Diagnostics.error("sim serve: signal \(number) received, socket \(socketPath) removed, exiting")
                Glibc.exit(0)
            }
            source.resume()
            sources.append(source)
        }
        server.start()
        let current = kernel.params.current
        var values: [String: UInt32] = [:]
        for name in Params.names { values[name] = current.value(of: name) }
        global.output.emit(Report(socket: socketPath, root: root, pid: getpid(), params: values)) {
            ["simulator serving on \(socketPath) (root \(root), pid \(getpid())); use --sim \(socketPath); stop with SIGINT or SIGTERM"]
        }
        withExtendedLifetime(sources) { dispatchMain() }
    }
}
