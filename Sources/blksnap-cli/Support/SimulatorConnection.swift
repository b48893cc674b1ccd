import BlksnapKit
import BlksnapSimulator
import SimKernel
import SystemPackage

/// The client side of `--sim SOCKET`, and device lookups in a simulator's namespace.
enum SimulatorConnection {
    /// Connects to `blksnapctl sim serve` on `socketPath`.
    ///
    /// A simulator that is not running (no socket, connection refused) is exit 69, like a
    /// kernel without the module.
    static func connect(socketPath: String) throws(CommandFailure) -> SimClient {
        do {
            return try SimClient(socketPath: socketPath)
        } catch {
            // A refused peer (another uid) is told who may connect; a missing server how to start one.
            let remedy = error.errno == .permissionDenied
                ? "run blksnapctl as the user who started 'blksnapctl sim serve', or as root"
                : "start it with 'blksnapctl sim serve --root DIR --socket \(socketPath)'"
            throw CommandFailure("\(error.message): \(remedy)", status: .unavailable)
        }
    }

    /// A management request to the simulator failed: exit 1 (69 when the connection is gone).
    static func failure(_ error: SimClientError) -> CommandFailure {
        let lost: Set<Errno> = [.connectionRefused, .connectionReset, .brokenPipe, .socketNotConnected]
        return CommandFailure(error.message, status: lost.contains(error.errno) ? .unavailable : .failure)
    }

    /// The path of a simulated device with this number, when `kernel` is a simulator.
    static func devicePath(of number: DeviceNumber, kernel: any KernelInterface) -> String? {
        guard !kernel.usesHostDevices else { return nil }
        return kernel.deviceInventory()?.entry(number)?.path
    }
}
