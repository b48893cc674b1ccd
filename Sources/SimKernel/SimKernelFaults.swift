#if canImport(Glibc)
import Glibc
#endif

/// Fault injection on the simulated hardware (not part of the kernel's interface).
extension SimKernel {
    /// Arms media faults on device `name` (replacing those set before; `[]` disarms).
    ///
    /// - Throws: `ENOENT` for an unknown name, `EINVAL` for an image (its I/O is the
    ///   diff area's, fault the original or the storage device instead).
    public func setFaults(device name: String, _ faults: [SimFault]) throws(SimErrno) {
        guard let disk = blockLayer.disk(named: name) else { throw SimErrno(ENOENT) }
        guard let device = disk.device else { throw SimErrno(EINVAL) }
        device.setFaults(faults)
    }

    /// How many raw operations of device `name` failed because of its current faults;
    /// nil for an unknown name or an image.
    public func faultsFired(device name: String) -> Int? {
        blockLayer.disk(named: name)?.device?.faultsFired
    }
}
