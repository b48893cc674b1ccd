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

extension SimKernelBackend: DeviceInventorySource {
    /// The simulator's devices and images.
    public func deviceInventory() -> DeviceInventory {
        DeviceInventory(simulated: kernel.listDevices())
    }
}

extension SimClient: DeviceInventorySource {
    /// The simulator's devices and images, asked over the socket; incomplete when
    /// the simulator does not answer.
    public func deviceInventory() -> DeviceInventory {
        guard let devices = try? listDevices() else { return DeviceInventory(entries: [], isComplete: false) }
        return DeviceInventory(simulated: devices)
    }
}
