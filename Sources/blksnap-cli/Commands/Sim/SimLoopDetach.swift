import ArgumentParser
import SimFuse

/// `blksnapctl sim loop detach /dev/loopN`.
struct SimLoopDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Detach a loop device bound to one of the simulator's files.",
        discussion: """
            Refuses a loop device bound to anything else. A loop device still carrying a \
            mounted filesystem is detached by the kernel when that is unmounted.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The loop device (/dev/loopN).", valueName: "loop"))
    var loop: String

    /// `--json` document.
    struct Report: Encodable {
        var loop: String
        var file: String
    }

    func run() throws {
        let mountPoint = try simulatorMountPoint(global, command: "sim loop detach")
        guard let bound = LoopBacking.bound(under: mountPoint + "/dev").first(where: { $0.device == loop }) else {
            throw CommandFailure("sim loop detach: \(loop) is not bound to a file under \(mountPoint)/dev: see 'losetup -l' (ENXIO)")
        }
        let result = runProgram(["losetup", "-d", loop])
        guard result.status == 0 else {
            throw CommandFailure("sim loop detach: 'losetup -d \(loop)' failed with status \(result.status)")
        }
        global.output.emit(Report(loop: loop, file: bound.backingFile)) { ["\(loop) detached from \(bound.backingFile)"] }
    }
}
