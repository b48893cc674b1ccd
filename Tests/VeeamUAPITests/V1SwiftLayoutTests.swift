import CVeeamBlkSnapV1UAPI
import Testing

/// Swift's view of the imported VAL-6.3.1 ("blk_snap" v1) header against the literal ABI.
@Suite("Swift import of the VAL-6.3.1 (\"blk_snap\" v1) UAPI")
struct V1SwiftLayoutTests {
    static let types: [TypeLayout] = [
        TypeLayout(name: "blk_snap_uuid", size: MemoryLayout<blk_snap_uuid>.size, alignment: MemoryLayout<blk_snap_uuid>.alignment, stride: MemoryLayout<blk_snap_uuid>.stride),
        TypeLayout(name: "blk_snap_version", size: MemoryLayout<blk_snap_version>.size, alignment: MemoryLayout<blk_snap_version>.alignment, stride: MemoryLayout<blk_snap_version>.stride),
        TypeLayout(name: "blk_snap_mod", size: MemoryLayout<blk_snap_mod>.size, alignment: MemoryLayout<blk_snap_mod>.alignment, stride: MemoryLayout<blk_snap_mod>.stride),
        TypeLayout(name: "blk_snap_dev_t", size: MemoryLayout<blk_snap_dev_t>.size, alignment: MemoryLayout<blk_snap_dev_t>.alignment, stride: MemoryLayout<blk_snap_dev_t>.stride),
        TypeLayout(name: "blk_snap_tracker_remove", size: MemoryLayout<blk_snap_tracker_remove>.size, alignment: MemoryLayout<blk_snap_tracker_remove>.alignment, stride: MemoryLayout<blk_snap_tracker_remove>.stride),
        TypeLayout(name: "blk_snap_cbt_info", size: MemoryLayout<blk_snap_cbt_info>.size, alignment: MemoryLayout<blk_snap_cbt_info>.alignment, stride: MemoryLayout<blk_snap_cbt_info>.stride),
        TypeLayout(name: "blk_snap_tracker_collect", size: MemoryLayout<blk_snap_tracker_collect>.size, alignment: MemoryLayout<blk_snap_tracker_collect>.alignment, stride: MemoryLayout<blk_snap_tracker_collect>.stride),
        TypeLayout(name: "blk_snap_tracker_read_cbt_bitmap", size: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.size, alignment: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.alignment, stride: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.stride),
        TypeLayout(name: "blk_snap_block_range", size: MemoryLayout<blk_snap_block_range>.size, alignment: MemoryLayout<blk_snap_block_range>.alignment, stride: MemoryLayout<blk_snap_block_range>.stride),
        TypeLayout(name: "blk_snap_tracker_mark_dirty_blocks", size: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.size, alignment: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.alignment, stride: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.stride),
        TypeLayout(name: "blk_snap_snapshot_create", size: MemoryLayout<blk_snap_snapshot_create>.size, alignment: MemoryLayout<blk_snap_snapshot_create>.alignment, stride: MemoryLayout<blk_snap_snapshot_create>.stride),
        TypeLayout(name: "blk_snap_snapshot_destroy", size: MemoryLayout<blk_snap_snapshot_destroy>.size, alignment: MemoryLayout<blk_snap_snapshot_destroy>.alignment, stride: MemoryLayout<blk_snap_snapshot_destroy>.stride),
        TypeLayout(name: "blk_snap_snapshot_append_storage", size: MemoryLayout<blk_snap_snapshot_append_storage>.size, alignment: MemoryLayout<blk_snap_snapshot_append_storage>.alignment, stride: MemoryLayout<blk_snap_snapshot_append_storage>.stride),
        TypeLayout(name: "blk_snap_snapshot_take", size: MemoryLayout<blk_snap_snapshot_take>.size, alignment: MemoryLayout<blk_snap_snapshot_take>.alignment, stride: MemoryLayout<blk_snap_snapshot_take>.stride),
        TypeLayout(name: "blk_snap_snapshot_collect", size: MemoryLayout<blk_snap_snapshot_collect>.size, alignment: MemoryLayout<blk_snap_snapshot_collect>.alignment, stride: MemoryLayout<blk_snap_snapshot_collect>.stride),
        TypeLayout(name: "blk_snap_image_info", size: MemoryLayout<blk_snap_image_info>.size, alignment: MemoryLayout<blk_snap_image_info>.alignment, stride: MemoryLayout<blk_snap_image_info>.stride),
        TypeLayout(name: "blk_snap_snapshot_collect_images", size: MemoryLayout<blk_snap_snapshot_collect_images>.size, alignment: MemoryLayout<blk_snap_snapshot_collect_images>.alignment, stride: MemoryLayout<blk_snap_snapshot_collect_images>.stride),
        TypeLayout(name: "blk_snap_snapshot_event", size: MemoryLayout<blk_snap_snapshot_event>.size, alignment: MemoryLayout<blk_snap_snapshot_event>.alignment, stride: MemoryLayout<blk_snap_snapshot_event>.stride),
        TypeLayout(name: "blk_snap_event_low_free_space", size: MemoryLayout<blk_snap_event_low_free_space>.size, alignment: MemoryLayout<blk_snap_event_low_free_space>.alignment, stride: MemoryLayout<blk_snap_event_low_free_space>.stride),
        TypeLayout(name: "blk_snap_event_corrupted", size: MemoryLayout<blk_snap_event_corrupted>.size, alignment: MemoryLayout<blk_snap_event_corrupted>.alignment, stride: MemoryLayout<blk_snap_event_corrupted>.stride),
        TypeLayout(name: "blk_snap_setlog", size: MemoryLayout<blk_snap_setlog>.size, alignment: MemoryLayout<blk_snap_setlog>.alignment, stride: MemoryLayout<blk_snap_setlog>.stride),
        TypeLayout(name: "blk_snap_sector_state", size: MemoryLayout<blk_snap_sector_state>.size, alignment: MemoryLayout<blk_snap_sector_state>.alignment, stride: MemoryLayout<blk_snap_sector_state>.stride),
        TypeLayout(name: "blk_snap_get_sector_state", size: MemoryLayout<blk_snap_get_sector_state>.size, alignment: MemoryLayout<blk_snap_get_sector_state>.alignment, stride: MemoryLayout<blk_snap_get_sector_state>.stride),
    ]

    static let fields: [FieldLayout] = [
        FieldLayout(name: "blk_snap_uuid.b", offset: MemoryLayout<blk_snap_uuid>.offset(of: \blk_snap_uuid.b), size: MemoryLayout.size(ofValue: blk_snap_uuid().b)),
        FieldLayout(name: "blk_snap_version.major", offset: MemoryLayout<blk_snap_version>.offset(of: \blk_snap_version.major), size: MemoryLayout.size(ofValue: blk_snap_version().major)),
        FieldLayout(name: "blk_snap_version.minor", offset: MemoryLayout<blk_snap_version>.offset(of: \blk_snap_version.minor), size: MemoryLayout.size(ofValue: blk_snap_version().minor)),
        FieldLayout(name: "blk_snap_version.revision", offset: MemoryLayout<blk_snap_version>.offset(of: \blk_snap_version.revision), size: MemoryLayout.size(ofValue: blk_snap_version().revision)),
        FieldLayout(name: "blk_snap_version.build", offset: MemoryLayout<blk_snap_version>.offset(of: \blk_snap_version.build), size: MemoryLayout.size(ofValue: blk_snap_version().build)),
        FieldLayout(name: "blk_snap_mod.compatibility_flags", offset: MemoryLayout<blk_snap_mod>.offset(of: \blk_snap_mod.compatibility_flags), size: MemoryLayout.size(ofValue: blk_snap_mod().compatibility_flags)),
        FieldLayout(name: "blk_snap_mod.name", offset: MemoryLayout<blk_snap_mod>.offset(of: \blk_snap_mod.name), size: MemoryLayout.size(ofValue: blk_snap_mod().name)),
        FieldLayout(name: "blk_snap_dev_t.mj", offset: MemoryLayout<blk_snap_dev_t>.offset(of: \blk_snap_dev_t.mj), size: MemoryLayout.size(ofValue: blk_snap_dev_t().mj)),
        FieldLayout(name: "blk_snap_dev_t.mn", offset: MemoryLayout<blk_snap_dev_t>.offset(of: \blk_snap_dev_t.mn), size: MemoryLayout.size(ofValue: blk_snap_dev_t().mn)),
        FieldLayout(name: "blk_snap_tracker_remove.dev_id", offset: MemoryLayout<blk_snap_tracker_remove>.offset(of: \blk_snap_tracker_remove.dev_id), size: MemoryLayout.size(ofValue: blk_snap_tracker_remove().dev_id)),
        FieldLayout(name: "blk_snap_cbt_info.dev_id", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.dev_id), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().dev_id)),
        FieldLayout(name: "blk_snap_cbt_info.blk_size", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.blk_size), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().blk_size)),
        FieldLayout(name: "blk_snap_cbt_info.device_capacity", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.device_capacity), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().device_capacity)),
        FieldLayout(name: "blk_snap_cbt_info.blk_count", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.blk_count), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().blk_count)),
        FieldLayout(name: "blk_snap_cbt_info.generation_id", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.generation_id), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().generation_id)),
        FieldLayout(name: "blk_snap_cbt_info.snap_number", offset: MemoryLayout<blk_snap_cbt_info>.offset(of: \blk_snap_cbt_info.snap_number), size: MemoryLayout.size(ofValue: blk_snap_cbt_info().snap_number)),
        FieldLayout(name: "blk_snap_tracker_collect.count", offset: MemoryLayout<blk_snap_tracker_collect>.offset(of: \blk_snap_tracker_collect.count), size: MemoryLayout.size(ofValue: blk_snap_tracker_collect().count)),
        FieldLayout(name: "blk_snap_tracker_collect.cbt_info_array", offset: MemoryLayout<blk_snap_tracker_collect>.offset(of: \blk_snap_tracker_collect.cbt_info_array), size: MemoryLayout.size(ofValue: blk_snap_tracker_collect().cbt_info_array)),
        FieldLayout(name: "blk_snap_tracker_read_cbt_bitmap.dev_id", offset: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.offset(of: \blk_snap_tracker_read_cbt_bitmap.dev_id), size: MemoryLayout.size(ofValue: blk_snap_tracker_read_cbt_bitmap().dev_id)),
        FieldLayout(name: "blk_snap_tracker_read_cbt_bitmap.offset", offset: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.offset(of: \blk_snap_tracker_read_cbt_bitmap.offset), size: MemoryLayout.size(ofValue: blk_snap_tracker_read_cbt_bitmap().offset)),
        FieldLayout(name: "blk_snap_tracker_read_cbt_bitmap.length", offset: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.offset(of: \blk_snap_tracker_read_cbt_bitmap.length), size: MemoryLayout.size(ofValue: blk_snap_tracker_read_cbt_bitmap().length)),
        FieldLayout(name: "blk_snap_tracker_read_cbt_bitmap.buff", offset: MemoryLayout<blk_snap_tracker_read_cbt_bitmap>.offset(of: \blk_snap_tracker_read_cbt_bitmap.buff), size: MemoryLayout.size(ofValue: blk_snap_tracker_read_cbt_bitmap().buff)),
        FieldLayout(name: "blk_snap_block_range.sector_offset", offset: MemoryLayout<blk_snap_block_range>.offset(of: \blk_snap_block_range.sector_offset), size: MemoryLayout.size(ofValue: blk_snap_block_range().sector_offset)),
        FieldLayout(name: "blk_snap_block_range.sector_count", offset: MemoryLayout<blk_snap_block_range>.offset(of: \blk_snap_block_range.sector_count), size: MemoryLayout.size(ofValue: blk_snap_block_range().sector_count)),
        FieldLayout(name: "blk_snap_tracker_mark_dirty_blocks.dev_id", offset: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.offset(of: \blk_snap_tracker_mark_dirty_blocks.dev_id), size: MemoryLayout.size(ofValue: blk_snap_tracker_mark_dirty_blocks().dev_id)),
        FieldLayout(name: "blk_snap_tracker_mark_dirty_blocks.count", offset: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.offset(of: \blk_snap_tracker_mark_dirty_blocks.count), size: MemoryLayout.size(ofValue: blk_snap_tracker_mark_dirty_blocks().count)),
        FieldLayout(name: "blk_snap_tracker_mark_dirty_blocks.dirty_blocks_array", offset: MemoryLayout<blk_snap_tracker_mark_dirty_blocks>.offset(of: \blk_snap_tracker_mark_dirty_blocks.dirty_blocks_array), size: MemoryLayout.size(ofValue: blk_snap_tracker_mark_dirty_blocks().dirty_blocks_array)),
        FieldLayout(name: "blk_snap_snapshot_create.count", offset: MemoryLayout<blk_snap_snapshot_create>.offset(of: \blk_snap_snapshot_create.count), size: MemoryLayout.size(ofValue: blk_snap_snapshot_create().count)),
        FieldLayout(name: "blk_snap_snapshot_create.dev_id_array", offset: MemoryLayout<blk_snap_snapshot_create>.offset(of: \blk_snap_snapshot_create.dev_id_array), size: MemoryLayout.size(ofValue: blk_snap_snapshot_create().dev_id_array)),
        FieldLayout(name: "blk_snap_snapshot_create.id", offset: MemoryLayout<blk_snap_snapshot_create>.offset(of: \blk_snap_snapshot_create.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_create().id)),
        FieldLayout(name: "blk_snap_snapshot_destroy.id", offset: MemoryLayout<blk_snap_snapshot_destroy>.offset(of: \blk_snap_snapshot_destroy.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_destroy().id)),
        FieldLayout(name: "blk_snap_snapshot_append_storage.id", offset: MemoryLayout<blk_snap_snapshot_append_storage>.offset(of: \blk_snap_snapshot_append_storage.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_append_storage().id)),
        FieldLayout(name: "blk_snap_snapshot_append_storage.dev_id", offset: MemoryLayout<blk_snap_snapshot_append_storage>.offset(of: \blk_snap_snapshot_append_storage.dev_id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_append_storage().dev_id)),
        FieldLayout(name: "blk_snap_snapshot_append_storage.count", offset: MemoryLayout<blk_snap_snapshot_append_storage>.offset(of: \blk_snap_snapshot_append_storage.count), size: MemoryLayout.size(ofValue: blk_snap_snapshot_append_storage().count)),
        FieldLayout(name: "blk_snap_snapshot_append_storage.ranges", offset: MemoryLayout<blk_snap_snapshot_append_storage>.offset(of: \blk_snap_snapshot_append_storage.ranges), size: MemoryLayout.size(ofValue: blk_snap_snapshot_append_storage().ranges)),
        FieldLayout(name: "blk_snap_snapshot_take.id", offset: MemoryLayout<blk_snap_snapshot_take>.offset(of: \blk_snap_snapshot_take.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_take().id)),
        FieldLayout(name: "blk_snap_snapshot_collect.count", offset: MemoryLayout<blk_snap_snapshot_collect>.offset(of: \blk_snap_snapshot_collect.count), size: MemoryLayout.size(ofValue: blk_snap_snapshot_collect().count)),
        FieldLayout(name: "blk_snap_snapshot_collect.ids", offset: MemoryLayout<blk_snap_snapshot_collect>.offset(of: \blk_snap_snapshot_collect.ids), size: MemoryLayout.size(ofValue: blk_snap_snapshot_collect().ids)),
        FieldLayout(name: "blk_snap_image_info.orig_dev_id", offset: MemoryLayout<blk_snap_image_info>.offset(of: \blk_snap_image_info.orig_dev_id), size: MemoryLayout.size(ofValue: blk_snap_image_info().orig_dev_id)),
        FieldLayout(name: "blk_snap_image_info.image_dev_id", offset: MemoryLayout<blk_snap_image_info>.offset(of: \blk_snap_image_info.image_dev_id), size: MemoryLayout.size(ofValue: blk_snap_image_info().image_dev_id)),
        FieldLayout(name: "blk_snap_snapshot_collect_images.id", offset: MemoryLayout<blk_snap_snapshot_collect_images>.offset(of: \blk_snap_snapshot_collect_images.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_collect_images().id)),
        FieldLayout(name: "blk_snap_snapshot_collect_images.count", offset: MemoryLayout<blk_snap_snapshot_collect_images>.offset(of: \blk_snap_snapshot_collect_images.count), size: MemoryLayout.size(ofValue: blk_snap_snapshot_collect_images().count)),
        FieldLayout(name: "blk_snap_snapshot_collect_images.image_info_array", offset: MemoryLayout<blk_snap_snapshot_collect_images>.offset(of: \blk_snap_snapshot_collect_images.image_info_array), size: MemoryLayout.size(ofValue: blk_snap_snapshot_collect_images().image_info_array)),
        FieldLayout(name: "blk_snap_snapshot_event.id", offset: MemoryLayout<blk_snap_snapshot_event>.offset(of: \blk_snap_snapshot_event.id), size: MemoryLayout.size(ofValue: blk_snap_snapshot_event().id)),
        FieldLayout(name: "blk_snap_snapshot_event.timeout_ms", offset: MemoryLayout<blk_snap_snapshot_event>.offset(of: \blk_snap_snapshot_event.timeout_ms), size: MemoryLayout.size(ofValue: blk_snap_snapshot_event().timeout_ms)),
        FieldLayout(name: "blk_snap_snapshot_event.code", offset: MemoryLayout<blk_snap_snapshot_event>.offset(of: \blk_snap_snapshot_event.code), size: MemoryLayout.size(ofValue: blk_snap_snapshot_event().code)),
        FieldLayout(name: "blk_snap_snapshot_event.time_label", offset: MemoryLayout<blk_snap_snapshot_event>.offset(of: \blk_snap_snapshot_event.time_label), size: MemoryLayout.size(ofValue: blk_snap_snapshot_event().time_label)),
        FieldLayout(name: "blk_snap_snapshot_event.data", offset: MemoryLayout<blk_snap_snapshot_event>.offset(of: \blk_snap_snapshot_event.data), size: MemoryLayout.size(ofValue: blk_snap_snapshot_event().data)),
        FieldLayout(name: "blk_snap_event_low_free_space.requested_nr_sect", offset: MemoryLayout<blk_snap_event_low_free_space>.offset(of: \blk_snap_event_low_free_space.requested_nr_sect), size: MemoryLayout.size(ofValue: blk_snap_event_low_free_space().requested_nr_sect)),
        FieldLayout(name: "blk_snap_event_corrupted.orig_dev_id", offset: MemoryLayout<blk_snap_event_corrupted>.offset(of: \blk_snap_event_corrupted.orig_dev_id), size: MemoryLayout.size(ofValue: blk_snap_event_corrupted().orig_dev_id)),
        FieldLayout(name: "blk_snap_event_corrupted.err_code", offset: MemoryLayout<blk_snap_event_corrupted>.offset(of: \blk_snap_event_corrupted.err_code), size: MemoryLayout.size(ofValue: blk_snap_event_corrupted().err_code)),
        FieldLayout(name: "blk_snap_setlog.tz_minuteswest", offset: MemoryLayout<blk_snap_setlog>.offset(of: \blk_snap_setlog.tz_minuteswest), size: MemoryLayout.size(ofValue: blk_snap_setlog().tz_minuteswest)),
        FieldLayout(name: "blk_snap_setlog.level", offset: MemoryLayout<blk_snap_setlog>.offset(of: \blk_snap_setlog.level), size: MemoryLayout.size(ofValue: blk_snap_setlog().level)),
        FieldLayout(name: "blk_snap_setlog.filepath_size", offset: MemoryLayout<blk_snap_setlog>.offset(of: \blk_snap_setlog.filepath_size), size: MemoryLayout.size(ofValue: blk_snap_setlog().filepath_size)),
        FieldLayout(name: "blk_snap_setlog.filepath", offset: MemoryLayout<blk_snap_setlog>.offset(of: \blk_snap_setlog.filepath), size: MemoryLayout.size(ofValue: blk_snap_setlog().filepath)),
        FieldLayout(name: "blk_snap_sector_state.snap_number_prev", offset: MemoryLayout<blk_snap_sector_state>.offset(of: \blk_snap_sector_state.snap_number_prev), size: MemoryLayout.size(ofValue: blk_snap_sector_state().snap_number_prev)),
        FieldLayout(name: "blk_snap_sector_state.snap_number_curr", offset: MemoryLayout<blk_snap_sector_state>.offset(of: \blk_snap_sector_state.snap_number_curr), size: MemoryLayout.size(ofValue: blk_snap_sector_state().snap_number_curr)),
        FieldLayout(name: "blk_snap_sector_state.chunk_state", offset: MemoryLayout<blk_snap_sector_state>.offset(of: \blk_snap_sector_state.chunk_state), size: MemoryLayout.size(ofValue: blk_snap_sector_state().chunk_state)),
        FieldLayout(name: "blk_snap_get_sector_state.image_dev_id", offset: MemoryLayout<blk_snap_get_sector_state>.offset(of: \blk_snap_get_sector_state.image_dev_id), size: MemoryLayout.size(ofValue: blk_snap_get_sector_state().image_dev_id)),
        FieldLayout(name: "blk_snap_get_sector_state.sector", offset: MemoryLayout<blk_snap_get_sector_state>.offset(of: \blk_snap_get_sector_state.sector), size: MemoryLayout.size(ofValue: blk_snap_get_sector_state().sector)),
        FieldLayout(name: "blk_snap_get_sector_state.state", offset: MemoryLayout<blk_snap_get_sector_state>.offset(of: \blk_snap_get_sector_state.state), size: MemoryLayout.size(ofValue: blk_snap_get_sector_state().state)),
    ]

    @Test("MemoryLayout of every struct", arguments: V1SwiftLayoutTests.types)
    func structLayout(_ layout: TypeLayout) throws {
        let expected = try #require(ExpectedV1ABI.types.first { $0.name == layout.name })
        #expect(layout.size == expected.size, "size of \(layout.name)")
        #expect(layout.stride == expected.size, "stride of \(layout.name) (C sizeof includes tail padding)")
        #expect(layout.alignment == expected.alignment, "alignment of \(layout.name)")
    }

    @Test("MemoryLayout offset of every field", arguments: V1SwiftLayoutTests.fields)
    func fieldLayout(_ layout: FieldLayout) throws {
        let expected = try #require(ExpectedV1ABI.fields.first { "\($0.type).\($0.field)" == layout.name })
        #expect(layout.offset == expected.offset, "offset of \(layout.name)")
        #expect(layout.size == expected.size, "size of \(layout.name)")
    }

    @Test("the tables cover every struct and field of the ABI, in its order")
    func coverage() {
        #expect(Self.types.map(\.name) == ExpectedV1ABI.types.map(\.name))
        #expect(Self.fields.map(\.name) == ExpectedV1ABI.fields.map { "\($0.type).\($0.field)" })
    }

    @Test("every BLK_SNAP_REQ_* constant Swift sees")
    func requestConstants() {
        let seen: [String: UInt] = [
            "IOCTL_BLK_SNAP_VERSION": BLK_SNAP_REQ_VERSION,
            "IOCTL_BLK_SNAP_TRACKER_REMOVE": BLK_SNAP_REQ_TRACKER_REMOVE,
            "IOCTL_BLK_SNAP_TRACKER_COLLECT": BLK_SNAP_REQ_TRACKER_COLLECT,
            "IOCTL_BLK_SNAP_TRACKER_READ_CBT_MAP": BLK_SNAP_REQ_TRACKER_READ_CBT_MAP,
            "IOCTL_BLK_SNAP_TRACKER_MARK_DIRTY_BLOCKS": BLK_SNAP_REQ_TRACKER_MARK_DIRTY_BLOCKS,
            "IOCTL_BLK_SNAP_SNAPSHOT_CREATE": BLK_SNAP_REQ_SNAPSHOT_CREATE,
            "IOCTL_BLK_SNAP_SNAPSHOT_DESTROY": BLK_SNAP_REQ_SNAPSHOT_DESTROY,
            "IOCTL_BLK_SNAP_SNAPSHOT_APPEND_STORAGE": BLK_SNAP_REQ_SNAPSHOT_APPEND_STORAGE,
            "IOCTL_BLK_SNAP_SNAPSHOT_TAKE": BLK_SNAP_REQ_SNAPSHOT_TAKE,
            "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT": BLK_SNAP_REQ_SNAPSHOT_COLLECT,
            "IOCTL_BLK_SNAP_SNAPSHOT_COLLECT_IMAGES": BLK_SNAP_REQ_SNAPSHOT_COLLECT_IMAGES,
            "IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT": BLK_SNAP_REQ_SNAPSHOT_WAIT_EVENT,
            "IOCTL_BLK_SNAP_MOD": BLK_SNAP_REQ_MOD,
            "IOCTL_BLK_SNAP_SETLOG": BLK_SNAP_REQ_SETLOG,
            "IOCTL_BLK_SNAP_GET_SECTOR_STATE": BLK_SNAP_REQ_GET_SECTOR_STATE,
        ]
        #expect(seen.count == ExpectedV1ABI.requests.count)
        for row in ExpectedV1ABI.requests {
            #expect(seen[row.name] == row.value, "\(row.name)")
        }
    }

    @Test("every enum value Swift sees")
    func enumValues() {
        let seen: [String: UInt32] = [
            "blk_snap_ioctl_version": blk_snap_ioctl_version.rawValue,
            "blk_snap_ioctl_tracker_remove": blk_snap_ioctl_tracker_remove.rawValue,
            "blk_snap_ioctl_tracker_collect": blk_snap_ioctl_tracker_collect.rawValue,
            "blk_snap_ioctl_tracker_read_cbt_map": blk_snap_ioctl_tracker_read_cbt_map.rawValue,
            "blk_snap_ioctl_tracker_mark_dirty_blocks": blk_snap_ioctl_tracker_mark_dirty_blocks.rawValue,
            "blk_snap_ioctl_snapshot_create": blk_snap_ioctl_snapshot_create.rawValue,
            "blk_snap_ioctl_snapshot_destroy": blk_snap_ioctl_snapshot_destroy.rawValue,
            "blk_snap_ioctl_snapshot_append_storage": blk_snap_ioctl_snapshot_append_storage.rawValue,
            "blk_snap_ioctl_snapshot_take": blk_snap_ioctl_snapshot_take.rawValue,
            "blk_snap_ioctl_snapshot_collect": blk_snap_ioctl_snapshot_collect.rawValue,
            "blk_snap_ioctl_snapshot_collect_images": blk_snap_ioctl_snapshot_collect_images.rawValue,
            "blk_snap_ioctl_snapshot_wait_event": blk_snap_ioctl_snapshot_wait_event.rawValue,
            "blk_snap_ioctl_end": blk_snap_ioctl_end.rawValue,
            "blk_snap_ioctl_mod": blk_snap_ioctl_mod.rawValue,
            "blk_snap_ioctl_setlog": blk_snap_ioctl_setlog.rawValue,
            "blk_snap_ioctl_get_sector_state": blk_snap_ioctl_get_sector_state.rawValue,
            "blk_snap_ioctl_end_mod": blk_snap_ioctl_end_mod.rawValue,
            "blk_snap_event_code_low_free_space": blk_snap_event_code_low_free_space.rawValue,
            "blk_snap_event_code_corrupted": blk_snap_event_code_corrupted.rawValue,
            "blk_snap_compat_flag_debug_sector_state": blk_snap_compat_flag_debug_sector_state.rawValue,
            "blk_snap_compat_flag_setlog": blk_snap_compat_flag_setlog.rawValue,
        ]
        #expect(seen.count == ExpectedV1ABI.enums.count)
        for row in ExpectedV1ABI.enums {
            #expect(seen[row.name].map(Int.init) == row.value, "\(row.name)")
        }
    }

    @Test("the event codes: low_free_space 0, corrupted 1 (as v5)")
    func eventCodes() {
        #expect(blk_snap_event_code_low_free_space.rawValue == 0)
        #expect(blk_snap_event_code_corrupted.rawValue == 1)
    }

    @Test("numeric and string constants Swift sees")
    func plainConstants() {
        let seen: [String: Int] = [
            "IOCTL_MOD": Int(IOCTL_MOD),
            "BLK_SNAP_MOD_NAME_LIMIT": Int(BLK_SNAP_MOD_NAME_LIMIT),
            "BLK_SNAP_EVENT_COPY_IN_SIZE": Int(BLK_SNAP_EVENT_COPY_IN_SIZE),
            "BLK_SNAP_EVENT_DATA_CAPACITY": Int(BLK_SNAP_EVENT_DATA_CAPACITY),
            "BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE": Int(BLK_SNAP_MOD_COMPAT_FLAGS_STANDALONE),
        ]
        // BLK_SNAP is the character literal 'V', which Swift does not import (the probe checks it).
        let notImported: Set<String> = ["BLK_SNAP"]
        #expect(seen.count == ExpectedV1ABI.constants.count - notImported.count)
        for row in ExpectedV1ABI.constants where !notImported.contains(row.name) {
            #expect(seen[row.name] == row.value, "\(row.name)")
        }
        #expect(BLK_SNAP_MODULE_NAME == "veeamblksnap")
        #expect(BLK_SNAP_IMAGE_NAME == "veeamblksnapimg")
        #expect(BLK_SNAP_CTL_PATH == "/dev/veeamblksnap")
        #expect(BLK_SNAP_MAJOR_SYSFS_PATH == "/sys/class/veeamblksnap/major")
        #expect(BLK_SNAP_MOD_NAME_STANDALONE == "standalone")
        #expect(BLK_SNAP_V1_VERSION_MAJOR == 1 && BLK_SNAP_V1_VERSION_MINOR == 0)
        #expect(BLK_SNAP_V1_VERSION_REVISION == 0 && BLK_SNAP_V1_VERSION_BUILD == 0)
    }

    @Test("user pointers are raw C pointers, imported as optional typed pointers")
    func pointerFields() {
        let collect = blk_snap_tracker_collect()
        let create = blk_snap_snapshot_create()
        #expect(collect.cbt_info_array == nil && create.dev_id_array == nil)
        #expect(MemoryLayout<UnsafeMutablePointer<blk_snap_cbt_info>?>.size == 8)
        let ids: UnsafeMutablePointer<blk_snap_uuid>? = blk_snap_snapshot_collect().ids
        let buff: UnsafeMutablePointer<UInt8>? = blk_snap_tracker_read_cbt_bitmap().buff
        #expect(ids == nil && buff == nil)
    }
}
