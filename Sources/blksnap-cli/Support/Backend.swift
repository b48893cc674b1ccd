import BlksnapDrivers
import BlksnapKit
import BlksnapSimulator
#if canImport(Glibc)
import Glibc
#endif
import SimKernel
import SystemPackage

/// The kernel a command talks to: the real one, or a simulator through `--sim`.
///
/// Commands only open the control device and block devices through this value; all
/// blksnap logic is in BlksnapKit.
struct Backend {
    /// Where requests go.
    let kernel: any KernelInterface
    /// The simulator socket, or nil for the real kernel.
    let simSocket: String?
    /// The driver of the module's ABI (detected, or chosen with `--abi`); every kernel
    /// request of a command goes through it.
    let driver: any BlksnapDriver
    /// The module detection found, nil when the backend was given a driver directly.
    let module: DetectedModule?

    /// How reports name the backend: `kernel`, `simulator SOCKET`, or `in-process simulator`.
    var name: String {
        if let simSocket { return "simulator \(simSocket)" }
        return kernel.usesHostDevices ? "kernel" : "in-process simulator"
    }

    /// The kernel's tick rate, to convert WAIT_EVENT timeouts (every blksnap module counts
    /// `timeout_ms` in jiffies): the simulator's `hz` parameter; for the real kernel its
    /// CONFIG_HZ (`/boot/config-RELEASE` or `/proc/config.gz`), else 250 (the common
    /// distribution value).
    var ticksPerSecond: UInt32 {
        if let hz = kernel.ticksPerSecond { return hz }
        if kernel.usesHostDevices, let hz = KernelHZ.current(), let ticks = UInt32(exactly: hz) { return ticks }
        return 250
    }

    /// Selects the backend from `--sim` / `BLKSNAPCTL_SIM` and detects its module's ABI
    /// (`--abi` / `BLKSNAPCTL_ABI` chooses it; the VERSION answer must agree).
    init(_ global: GlobalOptions) throws(CommandFailure) {
        simSocket = global.resolvedSimSocket
        if let simSocket {
            let client: SimClient = try SimulatorConnection.connect(socketPath: simSocket)
            kernel = client
        } else {
            try Self.requireModule()
            kernel = LinuxKernel()
        }
        let override = try global.resolvedABI()
        let detected: (module: DetectedModule, driver: any BlksnapDriver)
        do {
            detected = try BlksnapDrivers.detect(kernel: kernel, override: override)
        } catch {
            throw error.commandFailure(simSocket: simSocket)
        }
        module = detected.module
        driver = detected.driver
    }

    /// Every kernel command needs the blksnap module (the control device and the
    /// `blksnap` filter both come with it). Without it, fail before touching any device,
    /// so that every command gives the same exit 69 and the same remedy.
    ///
    /// Any of the three modules counts as present (v5, Veeam VAL-6.x, VAL-7.0): a control
    /// node (`/dev/blksnap-control`, `/dev/veeamblksnap`, `/dev/blksnap`) or a sysfs module
    /// directory (`/sys/module/blksnap`, `/sys/module/veeamblksnap`) exists.
    static func requireModule(controlPaths: [String] = ModuleNodes.controlNodes,
                              moduleDirectories: [String] = ["/sys/module/blksnap", "/sys/module/veeamblksnap"]) throws(CommandFailure) {
        if (controlPaths + moduleDirectories).contains(where: { access($0, F_OK) == 0 }) { return }
        let error = BlksnapError(operation: .openControl, errno: .noSuchFileOrDirectory, devicePath: Control.defaultPath)
        throw failure(error, simSocket: nil)
    }

    /// Wraps an existing kernel (the demo's in-process simulator, a connected client),
    /// with v5's driver unless another is given.
    init(kernel: any KernelInterface, simSocket: String? = nil, driver: (any BlksnapDriver)? = nil) {
        self.kernel = kernel
        self.simSocket = simSocket
        self.driver = driver ?? V5Driver(kernel: kernel)
        self.module = nil
    }

    /// Opens `/dev/blksnap-control` in the backend's namespace.
    func control() throws(CommandFailure) -> Control {
        do {
            return try Control(driver: driver)
        } catch {
            throw failure(error)
        }
    }

    /// Opens a block device given as a path or `MAJ:MIN`.
    func blockDevice(_ device: DeviceArgument, flags: Int32 = O_RDONLY) throws(CommandFailure) -> BlockDevice {
        let path = try self.path(of: device)
        do {
            return try BlockDevice(path: path, driver: driver, flags: flags)
        } catch where error.operation == .openDevice && error.errno == .noSuchFileOrDirectory {
            throw Self.unknownDevice(device.description, path: path, listing: simSocket != nil || !kernel.usesHostDevices)
        } catch {
            throw failure(error)
        }
    }

    /// The node path of a device in the backend's namespace.
    ///
    /// `MAJ:MIN` is looked up as `/dev/block/MAJ:MIN` (the udev convention), then among the
    /// simulator's devices when a simulator is used.
    func path(of device: DeviceArgument) throws(CommandFailure) -> String {
        switch device {
        case .path(let path):
            return path
        case .number(let number):
            let conventional = "/dev/block/\(number)"
            if let status = try? kernel.stat(conventional), status.deviceNumber == number {
                return conventional
            }
            if let simulated = SimulatorConnection.devicePath(of: number, kernel: kernel) {
                return simulated
            }
            if kernel.usesHostDevices, let discovery = try? DeviceDiscovery(), let node = try? discovery.devnodePath(of: number) {
                return node
            }
            throw CommandFailure(
                "device '\(number)': no node has this device number (no \(conventional)); give the device path instead (ENOENT)",
                status: .usage)
        }
    }

    /// A device named on the command line does not exist: a usage error (exit 64) that
    /// quotes the value and says where to find the real names.
    ///
    /// - Parameter listing: true on a simulator (list with `sim device list`), false on
    ///   the kernel (list with `lsblk`).
    static func unknownDevice(_ given: String, path: String, listing simulator: Bool) -> CommandFailure {
        let node = given == path ? "" : " (\(path))"
        let remedy = simulator ? "list the simulator's devices with 'blksnapctl sim device list'" : "list block devices with 'lsblk'"
        return CommandFailure("device '\(given)'\(node) does not exist: \(remedy) (ENOENT)", status: .usage)
    }

    /// Turns a BlksnapKit error into the CLI's one-line failure, adding the remedy that only
    /// the CLI knows (load the module, or use a simulator).
    func failure(_ error: BlksnapError) -> CommandFailure {
        Self.failure(error, simSocket: simSocket)
    }

    /// See ``failure(_:)``.
    static func failure(_ error: BlksnapError, simSocket: String?) -> CommandFailure {
        let status = ExitStatus(rawValue: error.category.exitStatus) ?? .failure
        var message = error.description
        if error.category == .moduleUnavailable {
            if let simSocket {
                message += ": is 'blksnapctl sim serve' running on \(simSocket)?"
            } else if error.operation == .openControl {
                message += " — use the simulator: start 'blksnapctl sim serve --root DIR' and pass --sim DIR/blksnapctl.sock"
                    + " (or set BLKSNAPCTL_SIM), or run 'blksnapctl demo'; or load the module:"
                    + " 'modprobe bdevfilter && modprobe veeamblksnap' (Veeam's VAL-7.0/VAL-6.x) or 'modprobe blksnap' (v5);"
                    + " 'blksnapctl doctor' says what is missing"
            } else {
                message += ": load the module ('modprobe bdevfilter && modprobe veeamblksnap' for Veeam's, 'modprobe blksnap'"
                    + " for v5; 'blksnapctl doctor' says what is missing) or use the simulator with --sim SOCKET"
            }
        }
        return CommandFailure(message, status: status)
    }
}

/// Runs `body`, turning a thrown ``BlksnapError`` into a ``CommandFailure`` for `backend`.
func performing<T>(_ backend: Backend, _ body: () throws(BlksnapError) -> T) throws(CommandFailure) -> T {
    do {
        return try body()
    } catch {
        throw backend.failure(error)
    }
}
