import ArgumentParser
import SimFuse
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl sim loop attach DEVICE [--writable]`.
struct SimLoopAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Bind a free loop device to a simulated device or image and print it (/dev/loopN).",
        discussion: """
            DEVICE is /dev/NAME or NAME as 'sim device list' shows it. Images are bound \
            read-only unless --writable (images are writable, e.g. for journal replay); \
            devices are always writable. The loop device uses direct I/O: the FUSE file \
            splits its writes to an image at 4 KiB boundaries, because one write spanning \
            chunks corrupts an image on the real v5 module (see SAFETY); there, write to an \
            image only with buffered I/O or within one chunk.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The simulated device or image (/dev/NAME).", valueName: "device"))
    var device: String

    @Flag(name: .long, help: "Bind an image read-write.")
    var writable = false

    /// `--json` document.
    struct Report: Encodable {
        var loop: String
        var file: String
        var readOnly: Bool
    }

    func run() throws {
        let mountPoint = try simulatorMountPoint(global, command: "sim loop attach")
        let name = device.hasPrefix("/dev/") ? String(device.dropFirst(5)) : device
        guard !name.isEmpty, !name.contains("/") else {
            throw CommandFailure("sim loop attach: '\(device)' is not a simulated device name (/dev/NAME)", status: .usage)
        }
        let file = mountPoint + "/dev/" + name
        guard access(file, F_OK) == 0 else {
            throw CommandFailure("sim loop attach: \(device) is not a simulated device or live image: see 'blksnapctl sim device list' (ENOENT)")
        }
        let readOnly = name.hasPrefix("blksnap-image_") && !writable
        let arguments = ["losetup", "--find", "--show", "--direct-io=on"] + (readOnly ? ["--read-only"] : []) + [file]
        let result = runProgram(arguments)
        let loop = result.output.split(separator: "\n").first.map(String.init) ?? ""
        guard result.status == 0, loop.hasPrefix("/dev/loop") else {
            throw CommandFailure("sim loop attach: '\(arguments.joined(separator: " "))' failed with status \(result.status) (needs root and free loop devices)")
        }
        global.output.emit(Report(loop: loop, file: file, readOnly: readOnly)) { [loop] }
    }
}
