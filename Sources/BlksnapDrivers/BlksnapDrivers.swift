import BlksnapKit
import BlksnapVAL6
import BlksnapVAL7

/// The driver for whichever blksnap module a kernel has loaded: detection
/// (``ModuleDetection``, from the nodes and the VERSION request) and the driver of each ABI.
public enum BlksnapDrivers {
    /// The driver of a detected module, on its nodes.
    public static func driver(for module: DetectedModule, kernel: any KernelInterface) -> any BlksnapDriver {
        switch module.abi {
        case .v5:
            return V5Driver(kernel: kernel, controlPath: module.controlPath)
        case .val6:
            return VAL6Driver(kernel: kernel, controlPath: module.controlPath, imageNamePrefix: module.imageNamePrefix)
        case .val7:
            return VAL7Driver(kernel: kernel, controlPath: module.controlPath,
                              filterPath: module.filterPath ?? VAL7Driver.defaultFilterPath)
        }
    }

    /// The driver of an ABI on its default nodes, without asking the kernel anything.
    public static func driver(for abi: BlksnapABI, kernel: any KernelInterface) -> any BlksnapDriver {
        switch abi {
        case .v5: return V5Driver(kernel: kernel)
        case .val6: return VAL6Driver(kernel: kernel)
        case .val7: return VAL7Driver(kernel: kernel)
        }
    }

    /// Detects the loaded module (`override` chooses the ABI; VERSION must agree) and
    /// returns it with its driver.
    public static func detect(kernel: any KernelInterface = LinuxKernel(),
                              override: BlksnapABI? = nil) throws(ModuleDetectionError) -> (module: DetectedModule, driver: any BlksnapDriver) {
        let module = try ModuleDetection.detect(kernel: kernel, override: override)
        return (module, driver(for: module, kernel: kernel))
    }
}
