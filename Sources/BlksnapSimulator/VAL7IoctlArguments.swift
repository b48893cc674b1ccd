import CVeeamBlksnapUAPI
import SimKernel

/// The user memory of VAL-7.0's requests (field spec §2.3, §2.4), by full request number:
/// each argument struct, whether the module writes it, and the pointers inside (device
/// and storage paths, shipped as up to `PATH_MAX` bytes; range and id arrays; the
/// bdevfilter sub-command's option). Sizes and offsets come from the C structs.
enum VAL7IoctlArguments {
    /// `PATH_MAX`: what `strndup_user` may read of a path.
    static let pathBytes = 4096

    /// A NUL-terminated path at a user pointer.
    private static let path = SimUserBuffer(lengthBytes: pathBytes, kernelWrites: false)

    /// `/dev/veeamblksnap`.
    static func control(_ request: UInt) -> SimUserBuffer? {
        switch UInt(UInt32(truncatingIfNeeded: request)) {
        case VEEAMBLKSNAP_REQ_VERSION:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_version>.size, kernelWrites: true)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE:
            typealias S = blksnap_snapshot_create
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let name: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.diff_storage_filename)!)
                return [(name, path)]
            }
        case VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY, VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_uuid>.size, kernelWrites: false)
        case VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT:
            typealias S = blksnap_snapshot_collect
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ids: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.ids)!)
                return [(ids, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(count), MemoryLayout<blksnap_uuid>.size),
                                            kernelWrites: true))]
            }
        case VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_snapshot_event>.size, kernelWrites: true)
        case VEEAMBLKSNAP_REQ_MOD:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_mod>.size, kernelWrites: true)
        case VEEAMBLKSNAP_REQ_SETLOG:
            typealias S = blksnap_setlog
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let size: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.filepath_size)!)
                let file: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.filepath)!)
                return [(file, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(size), 1), kernelWrites: false))]
            }
        case VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE:
            typealias S = veeamblksnap_snapshot_append_storage
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let device: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.devpath)!)
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.ranges)!)
                return [
                    (device, path),
                    (ranges, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(count), MemoryLayout<blksnap_sectors>.size),
                                           kernelWrites: false)),
                ]
            }
        default:
            return nil  // ENOTTY without touching memory
        }
    }

    /// `/dev/bdevfilter`.
    static func filter(_ request: UInt) -> SimUserBuffer? {
        switch UInt(UInt32(truncatingIfNeeded: request)) {
        case BDEVFILTER_REQ_ATTACH, BDEVFILTER_REQ_DETACH:
            typealias S = bdevfilter_name
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                [(SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.devpath)!), path)]
            }
        case BDEVFILTER_REQ_CTL:
            typealias S = bdevfilter_ctl
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let device: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.devpath)!)
                let cmd: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.cmd)!)
                let optBytes: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.optlen)!)
                let opt: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.opt)!)
                return [
                    (device, path),
                    (opt, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(optBytes), 1), kernelWrites: true,
                                        embedded: option(cmd))),
                ]
            }
        default:
            return nil
        }
    }

    /// The pointers inside a sub-command's option: cbtmap's buffer, and every one of
    /// cbtdirty's ranges (VAL-7.0 reads them all).
    private static func option(_ cmd: UInt32) -> @Sendable ([UInt8]) -> [(address: UInt64, buffer: SimUserBuffer)] {
        switch cmd {
        case UInt32(BLKFILTER_CTL_BLKSNAP_CBTMAP.rawValue):
            typealias S = blksnap_cbtmap
            return { bytes in
                guard bytes.count >= MemoryLayout<S>.size else { return [] }
                let length: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.length)!)
                let buffer: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.buffer)!)
                return [(buffer, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(length), 1), kernelWrites: true))]
            }
        case UInt32(BLKFILTER_CTL_BLKSNAP_CBTDIRTY.rawValue):
            typealias S = blksnap_cbtdirty
            return { bytes in
                guard bytes.count >= MemoryLayout<S>.size else { return [] }
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.dirty_sectors)!)
                return [(ranges, SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(count), MemoryLayout<blksnap_sectors>.size),
                                               kernelWrites: false))]
            }
        default:
            return { _ in [] }
        }
    }
}
