import ArgumentParser
import BlksnapKit

/// `blksnapctl snapshot watch ID --storage SPEC [--step SIZE] [--limit SIZE]`.
struct SnapshotWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Keep the difference storage of an existing snapshot ahead of demand until SIGINT/SIGTERM.",
        discussion: """
            Runs the session event loop for snapshot ID: every low_free_space event is \
            answered with at least max(requested, --step) of --storage, never past --limit; \
            corrupted events are reported. Ends on SIGINT/SIGTERM (the snapshot is left \
            running unless --destroy, and storage files are then kept, since the kernel may \
            still write them) or when the snapshot is destroyed elsewhere (storage released). \
            The kernel does not say what was appended before: start watching right after \
            create. Exit 0, or 65 if a device was corrupted. JSON Lines with --json.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot id (UUID).", transform: ArgumentTransforms.snapshotID)
    var id: SnapshotID

    @Option(name: .long, help: ArgumentHelp("Difference storage: DEVICE:SECTOR:COUNT[,...], a block device, dir:PATH, or kernel:PATH (VAL-7.0 grows it up to --limit).",
                                            valueName: "spec"),
            transform: StorageSpecTransform.storage)
    var storage: StorageSpec

    @Option(name: .long, help: ArgumentHelp("Append at least this much per step.", valueName: "size"),
            transform: ArgumentTransforms.size)
    var step: UInt64?

    @Option(name: .long, help: ArgumentHelp("Append at most this much storage in total.", valueName: "size"),
            transform: ArgumentTransforms.size)
    var limit: UInt64?

    @Flag(name: .long, help: "Allow --storage on a tracked device, or its partition or whole disk.")
    var allowSameDevice = false

    @Flag(name: .long, help: "Destroy the snapshot when stopped by a signal (then storage is released).")
    var destroy = false

    func run() throws {
        let backend = try Backend(global)
        let provider = try storage.provider(backend: backend, devices: [], limitBytes: limit, logger: global.logger("storage"))
        let configuration = SessionConfiguration(
            devices: [], stepSectors: (step ?? 0) / 512, limitSectors: limit.map { $0 / 512 }, hz: backend.ticksPerSecond,
            allowSameDeviceStorage: allowSameDevice)
        var printer = SessionEventPrinter(output: global.output, snapshotID: id.description)
        let session = Session(watching: id, driver: backend.driver, configuration: configuration, storage: provider,
                              destroyOnStop: destroy, logger: try global.logger("session")) { printer.print($0) }
        let signals = try TerminationSignals.install("snapshot watch")
        signals.stopping(session.stopHandle)
        defer { signals.cancel() }
        do {
            try session.start()
        } catch {
            throw SessionCommand.failure(error)
        }
        let reason = session.runEventLoop()
        do {
            try session.teardown()
        } catch {
            throw SessionCommand.failure(error)
        }
        if case .failed(let message) = reason { throw CommandFailure("snapshot watch: \(message)") }
        if !session.corruptedDevices.isEmpty { throw ExitStatus.corrupted.exitCode }
    }
}
