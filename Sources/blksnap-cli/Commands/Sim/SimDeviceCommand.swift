import ArgumentParser

/// `blksnapctl sim device`: simulated block devices.
struct SimDeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device",
        abstract: "Add or list simulated block devices.",
        subcommands: [SimDeviceAdd.self, SimDeviceList.self])
}
