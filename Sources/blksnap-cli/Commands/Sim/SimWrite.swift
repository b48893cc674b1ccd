import ArgumentParser
import BlksnapKit
import Foundation

/// `blksnapctl sim write DEVICE --offset BYTES (--input FILE | --pattern SEED --length BYTES)`.
struct SimWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write bytes to a simulated device or image, as a program would (through its filter).",
        discussion: """
            Writes to a tracked device mark its CBT and, while a snapshot is taken, copy the old \
            data to the difference storage first. --pattern writes reproducible pseudo-random \
            bytes from SEED; the checksum printed lets 'sim read' verify them. Writes to a \
            snapshot image are sent in pieces that never cross a 4 KiB boundary: one write \
            spanning chunks corrupts an image on v5 and on the simulator (see SAFETY).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Device path in the simulator (/dev/NAME) or MAJ:MIN.", transform: ArgumentTransforms.device)
    var device: DeviceArgument

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Byte offset (K, M, G, T suffixes allowed).", valueName: "bytes"),
            transform: ArgumentTransforms.byteOffset)
    var offset: UInt64

    @Option(name: .long, help: ArgumentHelp("File whose contents are written.", valueName: "file"))
    var input: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seed of the pseudo-random pattern to write.", valueName: "seed"),
            transform: ArgumentTransforms.seed)
    var pattern: UInt64?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Bytes of pattern to write (with --pattern).", valueName: "bytes"),
            transform: ArgumentTransforms.size)
    var length: UInt64?

    /// `--json` document.
    struct Report: Encodable {
        var device: String
        var offsetBytes: UInt64
        var lengthBytes: Int
        var checksum: String
    }

    func validate() throws {
        switch (input, pattern, length) {
        case (.some, nil, nil), (nil, .some, .some): break
        case (.some, _, _): throw ValidationError("give either --input FILE or --pattern SEED --length BYTES, not both")
        case (nil, .some, nil): throw ValidationError("--pattern needs --length BYTES")
        case (nil, nil, .some): throw ValidationError("--length goes with --pattern SEED")
        case (nil, nil, nil): throw ValidationError("give --input FILE or --pattern SEED --length BYTES")
        }
        if let length, length > 1 << 30 { throw ValidationError("--length \(length) is more than 1G per call") }
    }

    func run() throws {
        let client = try requireSimulator(global, command: "sim write")
        let backend = Backend(kernel: client, simSocket: client.socketPath)
        let path = try backend.path(of: device)
        let bytes: [UInt8]
        if let input {
            guard let data = FileManager.default.contents(atPath: input) else {
                throw CommandFailure("sim write: cannot read input file \(input)")
            }
            bytes = [UInt8](data)
        } else {
            bytes = TestPattern(seed: pattern ?? 0).bytes(count: Int(length ?? 0))
        }
        try KernelIO.write(client, path: path, offsetBytes: offset, bytes: bytes)
        let checksum = Checksum(bytes)
        global.output.emit(Report(device: path, offsetBytes: offset, lengthBytes: bytes.count, checksum: checksum.description)) {
            ["wrote \(bytes.count) bytes at byte \(offset) of \(path) (checksum \(checksum))"]
        }
    }
}
