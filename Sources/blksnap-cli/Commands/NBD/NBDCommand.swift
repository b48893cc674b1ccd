import ArgumentParser

/// `blksnapctl nbd`: export snapshot images over the NBD protocol.
struct NBDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbd",
        abstract: "Export snapshot images over NBD, with CBT as a qemu:dirty-bitmap.",
        subcommands: [NBDServe.self])
}
