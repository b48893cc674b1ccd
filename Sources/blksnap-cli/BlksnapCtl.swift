import ArgumentParser

/// blksnapctl: the shell tool over BlksnapKit.
@main
struct BlksnapCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blksnapctl",
        abstract: "Control the blksnap block-device snapshot module (or its simulator).")
}
