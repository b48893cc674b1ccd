import ArgumentParser
import BlksnapKit
import SimKernel

/// `blksnapctl sim device list`.
struct SimDeviceList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the simulated devices and live snapshot images.")

    @OptionGroup var global: GlobalOptions

    /// `--json` document.
    struct Report: Encodable {
        var devices: [SimDeviceReport]
    }

    func run() throws {
        let client = try requireSimulator(global, command: "sim device list")
        let devices: [SimDeviceInfo]
        do {
            devices = try client.listDevices()
        } catch {
            throw SimulatorConnection.failure(error)
        }
        let reports = devices.map(SimDeviceReport.init)
        global.output.emit(Report(devices: reports)) { reports.map(\.line) }
    }
}
