import BlksnapKit

/// The client side of `--sim SOCKET`.
///
/// PLACEHOLDER until the simulator client lands in BlksnapKit: connecting fails with
/// exit 69 and a message saying so.
enum SimulatorConnection {
    /// Connects to `blksnapctl sim serve` on `socketPath`.
    static func connect(socketPath: String) throws(CommandFailure) -> any KernelInterface {
        throw CommandFailure("simulator on \(socketPath): this build has no simulator client yet (ENOSYS)", status: .unavailable)
    }

    /// The path of a simulated device with this number, when `kernel` is a simulator.
    static func devicePath(of number: DeviceNumber, kernel: any KernelInterface) -> String? {
        if let inProcess = kernel as? SimKernelBackend {
            return inProcess.kernel.listDevices()
                .first { $0.major == number.major && $0.minor == number.minor }?.path
        }
        return nil
    }
}
