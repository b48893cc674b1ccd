import ArgumentParser
import BlksnapKit
import SimFuse
import SimKernel
import SimWire
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl sim serve --root DIR [--socket PATH] [--mount MOUNTPOINT] [--param NAME=VALUE...]`.
struct SimServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Host a simulated blksnap kernel on a Unix socket until SIGINT or SIGTERM.",
        discussion: """
            The socket is created with mode 0600 and only the same uid (or root) is served. \
            Device files live in DIR. Parameters are the module's (chunk_minimum_shift, \
            diff_storage_minimum, ...) plus hz, the simulated tick rate. On SIGINT/SIGTERM the \
            server disconnects its clients, removes the socket and exits 0.

            --abi (or BLKSNAPCTL_ABI) chooses the module the simulator speaks: v5 (the default, \
            /dev/blksnap-control), val7 (Veeam VAL-7.0: /dev/veeamblksnap and /dev/bdevfilter, \
            images /dev/veeamblksnapimg_MAJ:MIN, storage as sector ranges or a whole simulated \
            device) or val6 (Veeam VAL-6.3.1: /dev/veeamblksnap only, devices named by number \
            and fixed at create, images /dev/veeamblksnapimgMINOR). Clients detect it as they \
            detect a real module.

            With --mount, the same process also serves a FUSE filesystem on MOUNTPOINT: \
            MOUNTPOINT/dev/NAME for every simulated device and \
            MOUNTPOINT/dev/blksnap-image_MAJ:MIN for every live image, regular files sized to \
            the capacity, opened with FUSE direct I/O (no page cache hides a write). Device \
            writes go through the filter (CBT, copy-on-write); image I/O fails with EIO once \
            the snapshot is corrupted. Put a loop device on them with 'sim loop attach'. \
            Refuses a stale mount (ENOTCONN) or an existing mount there; on SIGINT/SIGTERM \
            detaches the loop devices bound to its files and unmounts.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Directory for the simulator's files (created with its parents if missing).", valueName: "dir"))
    var root: String

    @Option(name: .long, help: ArgumentHelp("Socket path (default: DIR/blksnapctl.sock).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Also serve the devices and images as files under MOUNTPOINT/dev (FUSE).", valueName: "mountpoint"))
    var mount: String?

    @Option(name: .long, help: ArgumentHelp("Module parameter NAME=VALUE; repeatable.", valueName: "name=value"),
            transform: ArgumentTransforms.parameter)
    var param: [SimParameter] = []

    /// `--json` document printed once the socket accepts connections.
    struct Report: Encodable {
        var socket: String
        var root: String
        var pid: Int32
        var params: [String: UInt32]
        var mount: String?
        var abi: String
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
        let dialect = try Self.dialect(global.resolvedABI())
        try Self.makeDirectory(root)
        let kernel = SimKernel(params: parameters, dialect: dialect)
        let server: SimServer
        do {
            server = try SimServer(kernel: kernel, socketPath: socketPath, rootDirectory: root)
        } catch {
            let name = ErrnoName.name(of: Errno(rawValue: error.code))
            let remedy = error.code == EADDRINUSE ? ": another simulator is serving there" : ""
            throw CommandFailure("sim serve: cannot listen on \(socketPath) with root \(root)\(remedy) (\(name))")
        }
        let fuseMount: SimFuseMount?
        if let mount {
            do {
                let canonicalSocket = canonicalPath(socketPath) ?? socketPath
                fuseMount = try SimFuseMount(kernel: kernel, mountPoint: mount,
                                             sourceName: SimFuseMount.sourceName(socketPath: canonicalSocket))
            } catch {
                server.stop()
                throw CommandFailure("sim serve: \(error.description)")
            }
        } else {
            fuseMount = nil
        }
        fuseMount?.start()
        // Installed before the ready line: a signal sent as soon as it appears is not lost.
        let signals = try TerminationSignals.install("sim serve")
        server.start()
        let current = kernel.params.current
        var values: [String: UInt32] = [:]
        for name in Params.names { values[name] = current.value(of: name) }
        global.output.emit(Report(socket: socketPath, root: root, pid: getpid(), params: values,
                                  mount: fuseMount?.mountPoint, abi: kernel.dialect.rawValue)) {
            ["simulator (\(kernel.dialect)) serving on \(socketPath) (root \(root), pid \(getpid())); use --sim \(socketPath); stop with SIGINT or SIGTERM"]
                + (fuseMount.map { ["devices and images served as files under \($0.mountPoint)/dev (FUSE, direct I/O)"] } ?? [])
        }
        let number = signals.wait()
        if let fuseMount, !fuseMount.stop() {
            Diagnostics.error("sim serve: \(fuseMount.mountPoint) still had open files (a loop device under a mounted filesystem?); their I/O now fails")
        }
        server.stop()
        Diagnostics.error("sim serve: signal \(number) received, socket \(socketPath) removed\(fuseMount.map { ", \($0.mountPoint) unmounted" } ?? ""), exiting")
        Glibc.exit(0)
    }

    /// `mkdir -p DIR`, with the failing component and errno in the message.
    static func makeDirectory(_ path: String) throws(CommandFailure) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                let failure = Errno(rawValue: errno)
                throw CommandFailure("sim serve: cannot create the root directory \(path): \(prefix): \(failure.description) (\(ErrnoName.name(of: failure)))")
            }
        }
    }
}

extension SimServe {
    /// The dialect for `--abi`: v5 when none is given.
    static func dialect(_ abi: BlksnapABI?) throws(CommandFailure) -> SimDialect {
        switch abi {
        case nil, .v5?: return .v5
        case .val7?: return .val7
        case .val6?: return .val6
        }
    }
}
