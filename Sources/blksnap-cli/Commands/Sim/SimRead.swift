import ArgumentParser
import BlksnapKit
import Foundation

/// `blksnapctl sim read DEVICE --offset BYTES --length BYTES [--output FILE]`.
struct SimRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read bytes of a simulated device or snapshot image and print their checksum.",
        discussion: """
            --output FILE saves the bytes ('-' writes them raw to stdout instead of the summary). \
            Reading an image of a corrupted snapshot fails with EIO.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Device or image path in the simulator, or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Byte offset (K, M, G, T suffixes allowed).", valueName: "bytes"),
            transform: ArgumentTransforms.byteOffset)
    var offset: UInt64

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Number of bytes (at most 1G).", valueName: "bytes"),
            transform: ArgumentTransforms.size)
    var length: UInt64

    @Option(name: .long, help: ArgumentHelp("Save the bytes to this file ('-': stdout).", valueName: "file"))
    var output: String?

    /// `--json` document.
    struct Report: Encodable {
        var device: String
        var offsetBytes: UInt64
        var lengthBytes: Int
        var checksum: String
        var output: String?
    }

    func validate() throws {
        if length > 1 << 30 { throw ValidationError("--length \(length) is more than 1G per call") }
    }

    func run() throws {
        let client = try requireSimulator(global, command: "sim read")
        let backend = Backend(kernel: client, simSocket: client.socketPath)
        let path = try backend.path(of: device)
        let bytes = try KernelIO.read(client, path: path, offsetBytes: offset, length: Int(length))
        if output == "-" {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                throw CommandFailure("sim read: cannot write output file \(output)")
            }
        }
        let checksum = Checksum(bytes)
        global.output.emit(Report(device: path, offsetBytes: offset, lengthBytes: bytes.count,
                                  checksum: checksum.description, output: output)) {
            ["read \(bytes.count) bytes at byte \(offset) of \(path) (checksum \(checksum))" + (output.map { ", saved to \($0)" } ?? "")]
        }
    }
}
