import BlksnapKit
import SimKernel

extension DeviceInventory {
    /// The inventory of a simulator's device list.
    init(simulated devices: [SimDeviceInfo]) {
        self.init(entries: devices.map { info in
            Entry(path: info.path, number: DeviceNumber(major: info.major, minor: info.minor),
                  isTracked: info.filter != nil,
                  imageOriginal: info.isImage ? Self.imageOriginal(ofName: info.name) : nil)
        })
    }
}

extension SimKernelBackend {
    /// The simulator's devices and images.
    public func deviceInventory() -> DeviceInventory? {
        DeviceInventory(simulated: kernel.listDevices())
    }

    /// The simulator's `hz` parameter.
    public var ticksPerSecond: UInt32? { kernel.params.current.hz }
}

extension SimClient {
    /// The simulator's devices and images, asked over the socket; an incomplete
    /// inventory when the simulator does not answer.
    public func deviceInventory() -> DeviceInventory? {
        guard let devices = try? listDevices() else { return DeviceInventory(entries: [], isComplete: false) }
        return DeviceInventory(simulated: devices)
    }

    /// The simulator's `hz` parameter, asked over the socket; nil when it does not answer.
    public var ticksPerSecond: UInt32? {
        guard let params = try? parameters(), let hz = params.first(where: { $0.name == "hz" })?.value, hz > 0 else {
            return nil
        }
        return hz
    }
}
