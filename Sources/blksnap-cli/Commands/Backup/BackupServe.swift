import ArgumentParser
import BlksnapBackup
import Foundation

/// `blksnapctl backup serve ID --repo DIR (--unix PATH | --tcp HOST:PORT) [--tls-certs DIR]
/// [--insecure] [--name NAME]`.
struct BackupServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the point in time of a backup read-only over NBD until SIGINT or SIGTERM.",
        discussion: """
            One export, named after the backed-up device's base name (or --name), holding \
            the whole disk of backup ID: its qcow2 chain read as one disk, every data \
            cluster checked against its SHA-256 in the catalog as it is read (a mismatch \
            fails that read with EIO and is logged; the server goes on). Read-only; the \
            metadata context base:allocation reports clusters no file of the chain holds \
            as holes that read as zeroes. Listening, TLS and the stop signals are those of \
            'nbd serve': --unix creates the socket mode 0600 and removes it on exit; --tcp \
            needs --tls-certs DIR unless HOST is a loopback address and --insecure is given. \
            NBD clients (nbdcopy, nbdfuse, qemu-img, qemu-nbd --connect, a VM) read or boot \
            the backup without restoring it.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var listen: NBDListenOptions

    @Argument(help: ArgumentHelp("Backup id.", valueName: "id"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("Export name (default: the device's base name).", valueName: "name"))
    var name: String?

    /// `--json` record of the export.
    struct ExportReport: Encodable {
        var name: String
        var backup: Int64
        var device: String
        var type: String
        var chain: [String]
        var sizeBytes: UInt64
        var uri: String
        var description: String
    }

    func validate() throws {
        _ = try BackupCommand.id(id)
        if let name, name.isEmpty || name.utf8.count > 4096 {
            throw ValidationError("--name must have 1 to 4096 bytes")
        }
    }

    func run() throws {
        let repo = try repository.open()
        let backupID = try BackupCommand.id(id)
        let exportName = name
        let source = try BackupCommand.performing { () throws(BackupError) in
            try BackupChainSource(repository: repo, id: backupID, name: exportName)
        }
        try listen.serve([source], command: "backup serve", global: global,
                         export: { _, uri in
                             ExportReport(name: source.name, backup: backupID, device: source.record.devicePath,
                                          type: source.record.type.rawValue,
                                          chain: source.chainFiles.map { $0.split(separator: "/").last.map(String.init) ?? $0 },
                                          sizeBytes: source.sizeBytes, uri: uri, description: source.description)
                         },
                         line: { _, uri in "export \(source.name): \(uri) — \(source.description)" },
                         cleanup: {})
    }
}
