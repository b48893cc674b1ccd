import ArgumentParser
import SimFuse

/// `blksnapctl sim loop`: loop devices over the files of `sim serve --mount`.
struct SimLoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "Bind loop devices to the simulator's FUSE-served device and image files.",
        discussion: """
            Needs 'sim serve --mount MOUNTPOINT', root and losetup (util-linux). The loop \
            device uses direct I/O. Never run these from the serving process itself.
            """,
        subcommands: [SimLoopAttach.self, SimLoopDetach.self])
}

/// The canonical mount point of the FUSE export of the simulator behind `--sim`.
func simulatorMountPoint(_ global: GlobalOptions, command: String) throws(CommandFailure) -> String {
    guard let socket = global.resolvedSimSocket else {
        throw CommandFailure("'blksnapctl \(command)' needs a simulator: give --sim SOCKET or set BLKSNAPCTL_SIM", status: .usage)
    }
    let canonical = canonicalPath(socket) ?? socket
    guard let mountPoint = MountTable.mountPoint(ofSource: SimFuseMount.sourceName(socketPath: canonical)) else {
        throw CommandFailure("\(command): the simulator at \(socket) serves no FUSE filesystem: start it with 'blksnapctl sim serve --root DIR --mount MOUNTPOINT'")
    }
    return mountPoint
}
