import ArgumentParser
import BlksnapBackup
import BlksnapKit
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl session DEVICE... --storage SPEC [--step SIZE] [--limit SIZE] [-- COMMAND...]`.
struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Snapshot DEVICEs, keep the difference storage ahead of demand, run COMMAND on the images, tear down.",
        discussion: """
            Creates a snapshot of the devices (attaching trackers only where none is attached), \
            appends the first storage portion, takes it, then answers every low_free_space \
            event by appending max(requested, --step) until the appended total covers the \
            requested total plus (--step - requested) of headroom (never past --limit): the \
            kernel warns when half a request is left, a larger step survives faster writers. COMMAND runs with BLKSNAP_SNAPSHOT_ID, \
            BLKSNAP_IMAGES (image paths in device order, space-separated), BLKSNAP_IMAGE_0... \
            and BLKSNAP_IMAGE_<NAME> (device name upper-cased, other characters as _) in its \
            environment (and BLKSNAPCTL_SIM with --sim); when it exits, the snapshot is \
            destroyed, the storage released, and its exit status becomes blksnapctl's \
            (except that 0 becomes 65 when a device was corrupted while it ran). \
            Members are checked right after take, every second and on block-device uevents: a \
            member detached or resized behind the session's back is reported as corrupted \
            (exit 65). Storage on a tracked device is refused unless --allow-same-device. \
            Without COMMAND the session runs until SIGINT or SIGTERM (exit 0, or 65 if a \
            device was corrupted). Trackers the session attached stay attached unless \
            --detach (detaching discards their CBT). \
            --storage: DEVICE:SECTOR:COUNT[,SECTOR:COUNT...] (ranges of a storage device), a \
            block device (all of it), dir:PATH (preallocated files on a filesystem that is \
            not on a snapshotted device; real kernel only), or kernel:PATH (a file, directory or \
            block device the VAL-7.0 module grows itself up to --limit, which is then required). \
            Events print as lines, or JSON \
            Lines with --json. \
            --pre-snapshot runs before the snapshot is created (a non-zero exit or a timeout \
            aborts with nothing taken, exit 1), --post-snapshot once the take happened or \
            failed; COMMAND gets BLKSNAP_CONSISTENCY=application when a pre hook was given and \
            every hook exited 0, crash otherwise.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var hookOptions: HookOptions

    /// Devices, then (after `--`) the command: ArgumentParser allows no positional after
    /// a repeating one, so both arrive here and ``split`` separates them at the `--` of
    /// the process's command line.
    @Argument(help: ArgumentHelp("Devices to snapshot (paths or MAJ:MIN), then -- and the command to run on the images.",
                                 valueName: "device"))
    var positionals: [String] = []

    @Option(name: .long, help: ArgumentHelp("Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, dir:PATH, or kernel:PATH (VAL-7.0 grows it up to --limit).",
                                            valueName: "spec"),
            transform: StorageSpecTransform.storage)
    var storage: StorageSpec

    @Option(name: .long, help: ArgumentHelp("Append at least this much per step (K, M, G suffixes; default: what the kernel asks).",
                                            valueName: "size"),
            transform: ArgumentTransforms.size)
    var step: UInt64?

    @Option(name: .long, help: ArgumentHelp("Append at most this much storage in total.", valueName: "size"),
            transform: ArgumentTransforms.size)
    var limit: UInt64?

    @Flag(name: .long, help: "At the end, detach the trackers this session attached (their CBT is lost).")
    var detach = false

    @Flag(name: .long, help: "Allow --storage on a tracked device, a member, or its partition or whole disk.")
    var allowSameDevice = false

    /// The devices and the command, separated where `--` stood in `arguments`.
    static func split(_ positionals: [String], arguments: [String]) -> (devices: [String], command: [String]) {
        guard let terminator = arguments.firstIndex(of: "--") else { return (positionals, []) }
        let commandCount = min(arguments.count - terminator - 1, positionals.count)
        return (Array(positionals.dropLast(commandCount)), Array(positionals.suffix(commandCount)))
    }

    private var parts: (devices: [String], command: [String]) { Self.split(positionals, arguments: CommandLine.arguments) }

    func validate() throws {
        let devices = parts.devices
        if devices.isEmpty { throw ValidationError("give at least one DEVICE to snapshot") }
        for device in devices {
            // A malformed device is a usage error (64) quoting it, as in every other command.
            do { _ = try ArgumentValues.device(device) } catch { throw ValidationError(error.description) }
        }
        if let limit, limit < 512 { throw ValidationError("--limit must be at least one sector (512 bytes)") }
    }

    func run() throws {
        let backend = try Backend(global)
        let (devices, command) = parts
        var paths: [String] = []
        for device in devices {
            // Opened once here so that an unknown device is the usage error (64) it is
            // for every other command, not a session failure.
            let opened = try backend.blockDevice(try ArgumentValues.device(device))
            paths.append(opened.path)
            try? opened.close()
        }
        let provider = try storage.provider(backend: backend, devices: paths, limitBytes: limit, logger: global.logger("storage"))
        let configuration = SessionConfiguration(
            devices: paths, stepSectors: (step ?? 0) / 512, limitSectors: limit.map { $0 / 512 },
            detachAttachedTrackers: detach, hz: backend.ticksPerSecond, allowSameDeviceStorage: allowSameDevice)
        var printer = SessionEventPrinter(output: global.output)
        let session = Session(driver: backend.driver, configuration: configuration, storage: provider,
                              logger: try global.logger("session")) { printer.print($0) }
        let childPID = Mutex<pid_t>(0)
        let signals = try TerminationSignals.install("session")
        signals.stopping(session.stopHandle) { childPID.withLock { $0 } }
        defer { signals.cancel() }
        let hooks = hookOptions.hooks
        let hookEnvironment = ["BLKSNAP_DEVICES": paths.joined(separator: " ")]
        func post(taken: Bool) -> Bool {
            guard let command = hooks.postSnapshot else { return true }
            let outcome = HookRunner.run(command, environment: hookEnvironment.merging(
                ["BLKSNAP_HOOK": "post-snapshot", "BLKSNAP_TAKE": taken ? "ok" : "failed"]) { $1 }, timeoutSeconds: hooks.timeoutSeconds)
            if !outcome.succeeded { Diagnostics.error("post-snapshot hook \(outcome): the snapshot is crash-consistent") }
            return outcome.succeeded
        }
        if let pre = hooks.preSnapshot {
            let outcome = HookRunner.run(pre, environment: hookEnvironment.merging(["BLKSNAP_HOOK": "pre-snapshot"]) { $1 },
                                         timeoutSeconds: hooks.timeoutSeconds)
            guard outcome.succeeded else {
                _ = post(taken: false)
                throw CommandFailure("the pre-snapshot hook '\(pre)' \(outcome): nothing was taken; fix the hook (or raise --hook-timeout)")
            }
        }
        do {
            try session.start()
        } catch {
            _ = post(taken: false)
            throw SessionCommand.failure(error)
        }
        let consistency: BackupConsistency = post(taken: true) && hooks.preSnapshot != nil ? .application : .crash
        var child: SpawnedProcess?
        if !command.isEmpty {
            do {
                var environment = Self.environment(session: session, simSocket: backend.simSocket)
                environment["BLKSNAP_CONSISTENCY"] = consistency.rawValue
                child = try SpawnedProcess(command, environment: environment)
            } catch {
                try? session.teardown()
                throw CommandFailure(error.message)
            }
            let started = child!
            childPID.withLock { $0 = started.pid }
            let handle = session.stopHandle
            Thread {
                handle.requestStop(.commandExited(status: started.wait()))
            }.start()
        }
        let reason = session.runEventLoop()
        if let child {
            if case .commandExited = reason {} else {
                // The session ended first (snapshot gone, failure): the images are going away too.
                kill(child.pid, SIGTERM)
            }
        }
        do {
            try session.teardown()
        } catch {
            throw SessionCommand.failure(error)
        }
        switch reason {
        case .commandExited(let status):
            if status != 0 { throw ExitCode(status) }
            if let lost = session.corruptedDevices.first {
                // The command succeeded on images that stopped being a point in time.
                let path = session.images.first { $0.deviceNumber == lost.description }?.devicePath ?? lost.description
                throw CommandFailure(
                    "session: COMMAND exited 0, but \(path) was corrupted while it ran: its image is not a valid copy (run it again)",
                    status: .corrupted)
            }
        case .failed(let message):
            throw CommandFailure("session: \(message)")
        case .snapshotVanished where child != nil:
            throw CommandFailure("session: snapshot destroyed elsewhere while the command was running; command stopped (ESRCH)")
        default:
            if !session.corruptedDevices.isEmpty { throw ExitStatus.corrupted.exitCode }
        }
    }

    /// The variables COMMAND gets.
    static func environment(session: Session, simSocket: String?) -> [String: String] {
        var environment: [String: String] = [:]
        environment["BLKSNAP_SNAPSHOT_ID"] = session.snapshotID?.description
        environment["BLKSNAP_IMAGES"] = session.images.map(\.imagePath).joined(separator: " ")
        for (index, image) in session.images.enumerated() {
            environment["BLKSNAP_IMAGE_\(index)"] = image.imagePath
            environment["BLKSNAP_IMAGE_" + variableSuffix(forDevice: image.devicePath)] = image.imagePath
        }
        if let simSocket { environment["BLKSNAPCTL_SIM"] = simSocket }
        return environment
    }

    /// `/dev/sdb1` → `SDB1`; `/dev/mapper/vg-root` → `VG_ROOT`.
    static func variableSuffix(forDevice path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return String(name.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// A session error as the CLI's one-line failure with the matching exit status.
    static func failure(_ error: SessionError) -> CommandFailure {
        let status = error.category.flatMap { ExitStatus(rawValue: $0.exitStatus) } ?? .failure
        return CommandFailure(error.description, status: status)
    }
}
