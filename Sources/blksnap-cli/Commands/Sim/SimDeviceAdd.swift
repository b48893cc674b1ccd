import ArgumentParser
import BlksnapKit
import SimKernel

/// `blksnapctl sim device add NAME --size SIZE [--backing FILE] [--logical-block-size N]`.
struct SimDeviceAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a simulated block device /dev/NAME.",
        discussion: "Without --backing its bytes live in ROOT/NAME.img of the server.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Device name (the node becomes /dev/NAME in the simulator).")
    var name: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Capacity in bytes, with K, M, G or T suffix (a multiple of 512).", valueName: "size"),
            transform: ArgumentTransforms.size)
    var size: UInt64

    @Option(name: .long, help: ArgumentHelp("Host file holding the bytes (created if missing).", valueName: "file"))
    var backing: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Logical block size in bytes (512 to 64K, power of two).", valueName: "bytes"),
            transform: ArgumentTransforms.blockSize)
    var logicalBlockSize: UInt32 = 512

    func validate() throws {
        if name.isEmpty || name.contains("/") || name.hasPrefix("blksnap-image") {
            throw ValidationError("device name '\(name)' must be a plain name without '/' (and not blksnap-image*)")
        }
        if size % UInt64(max(logicalBlockSize, 512)) != 0 {
            throw ValidationError("size \(size) is not a multiple of the logical block size \(logicalBlockSize)")
        }
    }

    func run() throws {
        let client = try requireSimulator(global, command: "sim device add")
        let info: SimDeviceInfo
        do {
            info = try client.addDevice(name: name, capacitySectors: size / 512, logicalBlockSize: logicalBlockSize,
                                        physicalBlockSize: max(4096, logicalBlockSize),
                                        backing: backing.map { .file(path: $0) } ?? .rootDirectory)
        } catch where error.errno == .fileExists {
            throw CommandFailure("sim device add: a device named '\(name)' already exists: pick another name (list them with 'blksnapctl sim device list') (EEXIST)")
        } catch where error.errno == .noSuchFileOrDirectory && backing != nil {
            throw CommandFailure("sim device add: backing file '\(backing!)' cannot be created: its directory does not exist (ENOENT)")
        } catch {
            throw SimulatorConnection.failure(error)
        }
        let report = SimDeviceReport(info)
        global.output.emit(report) { [report.line] }
    }
}
