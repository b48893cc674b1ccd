import CBlksnapUAPI
import SimKernel

/// A block of user memory an ioctl makes the kernel read or write, and the user
/// pointers embedded in it.
struct SimUserBuffer: Sendable {
    /// Bytes the kernel may touch, starting at the buffer's address.
    var lengthBytes: Int
    /// Whether the kernel may write it (v5 behaviour, not the declared direction bits).
    var kernelWrites: Bool
    /// The buffers that pointers inside these bytes reference, given the bytes.
    var embedded: @Sendable ([UInt8]) -> [(address: UInt64, buffer: SimUserBuffer)] = { _ in [] }
}

/// THE table of user memory per request, derived from the v5 UAPI (spec §1.2–§1.4),
/// VAL-7.0's (``VAL7IoctlArguments``, field spec §2.3–§2.4) and VAL-6.x's
/// (``VAL6IoctlArguments``, field spec §1.3–§1.4):
/// for each request, the argument struct's size, whether the kernel writes it, and
/// the user pointers inside it (paths, range arrays, id arrays, CBT buffers) with
/// their lengths and directions. `SimClient` ships exactly this memory.
///
/// Sizes and offsets come from the imported C structs (`MemoryLayout`), never from
/// literals. The control device dispatches on `_IOC_NR` only (spec §1.2), block
/// devices on the exact request number (§1.3). Unknown requests reference no memory.
enum SimIoctlArguments {
    /// Largest single buffer shipped (a pointer-and-length pair announcing more is
    /// shipped up to this size: the kernel then faults past it).
    static let maximumBufferBytes = 32 << 20
    /// Largest total shipped with one ioctl.
    static let maximumTotalBytes = 48 << 20
    /// Most `cbtdirty` ranges shipped: v5 reads only element 0 (spec §1.4 [BUG]).
    static let maximumDirtyRanges = 1024

    /// The memory the argument of `request` references.
    ///
    /// - Parameter node: what the descriptor names.
    /// - Returns: the argument struct's buffer (with its embedded pointers), or nil
    ///   when the request touches no user memory.
    static func argument(for request: UInt, node: SimNodeKind) -> SimUserBuffer? {
        switch node {
        case .v5Control: return control(nr: blksnap_ioc_nr(request))
        case .blockDevice: return block(request)
        case .val7Control: return VAL7IoctlArguments.control(request)
        case .bdevFilter: return VAL7IoctlArguments.filter(request)
        case .val6Control: return VAL6IoctlArguments.control(request)
        }
    }

    // MARK: - /dev/blksnap-control (by nr)

    private static func control(nr: UInt32) -> SimUserBuffer? {
        switch nr {
        case blksnap_ioctl_version.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_version>.size, kernelWrites: true)
        case blksnap_ioctl_snapshot_create.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_uuid>.size, kernelWrites: true)
        case blksnap_ioctl_snapshot_destroy.rawValue, blksnap_ioctl_snapshot_take.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_uuid>.size, kernelWrites: false)
        case blksnap_ioctl_snapshot_append_storage.rawValue:
            typealias S = blksnap_snapshot_append_storage
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let path: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.bdev_path)!)
                let pathBytes: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.bdev_path_size)!)
                let count: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.ranges)!)
                return [
                    (path, SimUserBuffer(lengthBytes: Int(pathBytes), kernelWrites: false)),
                    (ranges, SimUserBuffer(lengthBytes: capped(UInt64(count), MemoryLayout<blksnap_sectors>.size),
                                           kernelWrites: false)),
                ]
            }
        case blksnap_ioctl_snapshot_collect.rawValue:
            typealias S = blksnap_snapshot_collect
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ids: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.ids)!)
                return [(ids, SimUserBuffer(lengthBytes: capped(UInt64(count), MemoryLayout<blksnap_uuid>.size),
                                            kernelWrites: true))]
            }
        case blksnap_ioctl_snapshot_wait_event.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blksnap_snapshot_event>.size, kernelWrites: true)
        default:
            return nil  // nr >= 7: ENOTTY without touching memory
        }
    }

    // MARK: - Block devices (by exact request number)

    private static func block(_ request: UInt) -> SimUserBuffer? {
        switch request {
        case BLKSNAP_REQ_BLKFILTER_ATTACH, BLKSNAP_REQ_BLKFILTER_DETACH:
            return SimUserBuffer(lengthBytes: MemoryLayout<blkfilter_name>.size, kernelWrites: false)
        case BLKSNAP_REQ_BLKFILTER_CTL:
            typealias S = blkfilter_ctl
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let cmd: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.cmd)!)
                let optBytes: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.optlen)!)
                let opt: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.opt)!)
                let length = capped(UInt64(optBytes), 1)
                return [(opt, SimUserBuffer(lengthBytes: length, kernelWrites: true, embedded: filterOption(cmd)))]
            }
        case BLKSNAP_REQ_BLKGETSIZE64:
            return SimUserBuffer(lengthBytes: MemoryLayout<UInt64>.size, kernelWrites: true)
        case BLKSNAP_REQ_BLKSSZGET, BLKSNAP_REQ_BLKPBSZGET, BLKSNAP_REQ_BLKIOMIN:
            return SimUserBuffer(lengthBytes: MemoryLayout<CInt>.size, kernelWrites: true)
        default:
            return nil
        }
    }

    /// The pointers inside a BLKFILTER_CTL option struct, by blksnap sub-command (§1.4).
    private static func filterOption(_ cmd: UInt32) -> @Sendable ([UInt8]) -> [(address: UInt64, buffer: SimUserBuffer)] {
        switch cmd {
        case blkfilter_ctl_blksnap_cbtmap.rawValue:
            typealias S = blksnap_cbtmap
            return { bytes in
                guard bytes.count >= MemoryLayout<S>.size else { return [] }
                let length: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.length)!)
                let buffer: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.buffer)!)
                return [(buffer, SimUserBuffer(lengthBytes: capped(UInt64(length), 1), kernelWrites: true))]
            }
        case blkfilter_ctl_blksnap_cbtdirty.rawValue:
            typealias S = blksnap_cbtdirty
            return { bytes in
                guard bytes.count >= MemoryLayout<S>.size else { return [] }
                let count: UInt32 = load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = load(bytes, MemoryLayout<S>.offset(of: \.dirty_sectors)!)
                let shipped = min(UInt64(count), UInt64(maximumDirtyRanges))
                return [(ranges, SimUserBuffer(lengthBytes: capped(shipped, MemoryLayout<blksnap_sectors>.size),
                                               kernelWrites: false))]
            }
        default:
            return { _ in [] }
        }
    }

    // MARK: - Helpers

    /// `count × elementBytes`, limited to ``maximumBufferBytes``.
    static func capped(_ count: UInt64, _ elementBytes: Int) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: UInt64(elementBytes))
        return overflow ? maximumBufferBytes : Int(min(bytes, UInt64(maximumBufferBytes)))
    }

    /// Loads a native-endian integer at `offset` (zero if the bytes are too short).
    static func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int) -> T {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return 0 }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}
