import CVeeamBlkSnapV1UAPI
import SimKernel

/// The user memory of VAL-6.x's requests (field spec §1.3, §1.4), by nr alone as the
/// module dispatches: each argument struct, whether the module writes it, and the raw C
/// pointers inside (device id arrays, range arrays, CBT and image info arrays, the CBT
/// map buffer, the log path). Sizes and offsets come from the C structs.
enum VAL6IoctlArguments {
    /// `/dev/veeamblksnap`.
    static func control(_ request: UInt) -> SimUserBuffer? {
        switch UInt32(truncatingIfNeeded: request) & 0xff {
        case blk_snap_ioctl_version.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blk_snap_version>.size, kernelWrites: true)
        case blk_snap_ioctl_tracker_remove.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blk_snap_tracker_remove>.size, kernelWrites: false)
        case blk_snap_ioctl_tracker_collect.rawValue:
            typealias S = blk_snap_tracker_collect
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let infos: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.cbt_info_array)!)
                return [(infos, array(count, of: blk_snap_cbt_info.self, kernelWrites: true))]
            }
        case blk_snap_ioctl_tracker_read_cbt_map.rawValue:
            typealias S = blk_snap_tracker_read_cbt_bitmap
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let length: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.length)!)
                let buffer: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.buff)!)
                return [(buffer, array(length, of: UInt8.self, kernelWrites: true))]
            }
        case blk_snap_ioctl_tracker_mark_dirty_blocks.rawValue:
            typealias S = blk_snap_tracker_mark_dirty_blocks
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.dirty_blocks_array)!)
                return [(ranges, array(count, of: blk_snap_block_range.self, kernelWrites: false))]
            }
        case blk_snap_ioctl_snapshot_create.rawValue:
            typealias S = blk_snap_snapshot_create
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let devices: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.dev_id_array)!)
                return [(devices, array(count, of: blk_snap_dev_t.self, kernelWrites: false))]
            }
        case blk_snap_ioctl_snapshot_destroy.rawValue, blk_snap_ioctl_snapshot_take.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blk_snap_uuid>.size, kernelWrites: false)
        case blk_snap_ioctl_snapshot_append_storage.rawValue:
            typealias S = blk_snap_snapshot_append_storage
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ranges: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.ranges)!)
                return [(ranges, array(count, of: blk_snap_block_range.self, kernelWrites: false))]
            }
        case blk_snap_ioctl_snapshot_collect.rawValue:
            typealias S = blk_snap_snapshot_collect
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let ids: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.ids)!)
                return [(ids, array(count, of: blk_snap_uuid.self, kernelWrites: true))]
            }
        case blk_snap_ioctl_snapshot_collect_images.rawValue:
            typealias S = blk_snap_snapshot_collect_images
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: true) { bytes in
                let count: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.count)!)
                let images: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.image_info_array)!)
                return [(images, array(count, of: blk_snap_image_info.self, kernelWrites: true))]
            }
        case blk_snap_ioctl_snapshot_wait_event.rawValue:
            // The module copies in the whole page and writes it all back.
            return SimUserBuffer(lengthBytes: MemoryLayout<blk_snap_snapshot_event>.size, kernelWrites: true)
        case blk_snap_ioctl_mod.rawValue:
            return SimUserBuffer(lengthBytes: MemoryLayout<blk_snap_mod>.size, kernelWrites: true)
        case blk_snap_ioctl_setlog.rawValue:
            typealias S = blk_snap_setlog
            return SimUserBuffer(lengthBytes: MemoryLayout<S>.size, kernelWrites: false) { bytes in
                let size: UInt32 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.filepath_size)!)
                let path: UInt64 = SimIoctlArguments.load(bytes, MemoryLayout<S>.offset(of: \.filepath)!)
                return [(path, array(size, of: UInt8.self, kernelWrites: false))]
            }
        default:
            return nil  // nr 12, 13–31, 34 (GET_SECTOR_STATE), ≥ 35: ENOTTY without touching memory
        }
    }

    /// `count` elements of `T`, capped at ``SimIoctlArguments/maximumBufferBytes``.
    private static func array<T>(_ count: UInt32, of type: T.Type, kernelWrites: Bool) -> SimUserBuffer {
        SimUserBuffer(lengthBytes: SimIoctlArguments.capped(UInt64(count), MemoryLayout<T>.size), kernelWrites: kernelWrites)
    }
}
