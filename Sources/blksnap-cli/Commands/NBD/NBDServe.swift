import ArgumentParser
import BlksnapKit
import BlksnapNBD
import Foundation
#if canImport(Glibc)
import Glibc
#endif


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

    @OptionGroup var listen: NBDListenOptions

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

    func validate() throws {
        if devices.isEmpty { throw ValidationError("name at least one DEVICE to export") }
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
        try listen.serve(sources, command: "nbd serve", global: global,
                         export: { index, uri in exportReport(sources[index], uri: uri) },
                         line: { index, uri in "export \(sources[index].name): \(uri) — \(sources[index].description)" },
                         cleanup: { for source in sources { try? source.reader.close() } })
    }

    private func exportReport(_ source: SnapshotImageSource, uri: String) -> ExportReport {
        ExportReport(name: source.name, device: source.original.path, image: source.reader.path, sizeBytes: source.sizeBytes,
                     uri: uri, description: source.description, generationId: source.cbtInfo.generationID.description,
                     changesNumber: source.cbtInfo.changesNumber, cbtSince: source.cbtSince,
                     dirtyBlockCount: source.changed?.blockCount)
    }
}
