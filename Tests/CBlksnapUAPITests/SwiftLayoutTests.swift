import CBlksnapUAPI
import Testing

/// One imported struct's layout in Swift, next to the literal v5 value.
struct TypeLayout: Sendable, CustomStringConvertible {
    var name: String
    var size: Int
    var alignment: Int
    var stride: Int
    var expectedSize: Int
    var expectedAlignment: Int
    var description: String { name }
}

/// One imported field's offset and size in Swift, next to the literal v5 value.
struct FieldLayout: Sendable, CustomStringConvertible {
    var name: String
    var offset: Int?
    var size: Int
    var expectedOffset: Int
    var expectedSize: Int
    var description: String { name }
}

/// Swift's view of the imported UAPI against the literal ABI.
@Suite("Swift import of the v5 UAPI")
struct SwiftLayoutTests {
    static let types: [TypeLayout] = [
        TypeLayout(name: "blkfilter_name", size: MemoryLayout<blkfilter_name>.size, alignment: MemoryLayout<blkfilter_name>.alignment, stride: MemoryLayout<blkfilter_name>.stride, expectedSize: 32, expectedAlignment: 1),
        TypeLayout(name: "blkfilter_ctl", size: MemoryLayout<blkfilter_ctl>.size, alignment: MemoryLayout<blkfilter_ctl>.alignment, stride: MemoryLayout<blkfilter_ctl>.stride, expectedSize: 48, expectedAlignment: 8),
        TypeLayout(name: "blksnap_uuid", size: MemoryLayout<blksnap_uuid>.size, alignment: MemoryLayout<blksnap_uuid>.alignment, stride: MemoryLayout<blksnap_uuid>.stride, expectedSize: 16, expectedAlignment: 1),
        TypeLayout(name: "blksnap_cbtinfo", size: MemoryLayout<blksnap_cbtinfo>.size, alignment: MemoryLayout<blksnap_cbtinfo>.alignment, stride: MemoryLayout<blksnap_cbtinfo>.stride, expectedSize: 40, expectedAlignment: 8),
        TypeLayout(name: "blksnap_cbtmap", size: MemoryLayout<blksnap_cbtmap>.size, alignment: MemoryLayout<blksnap_cbtmap>.alignment, stride: MemoryLayout<blksnap_cbtmap>.stride, expectedSize: 16, expectedAlignment: 8),
        TypeLayout(name: "blksnap_sectors", size: MemoryLayout<blksnap_sectors>.size, alignment: MemoryLayout<blksnap_sectors>.alignment, stride: MemoryLayout<blksnap_sectors>.stride, expectedSize: 16, expectedAlignment: 8),
        TypeLayout(name: "blksnap_cbtdirty", size: MemoryLayout<blksnap_cbtdirty>.size, alignment: MemoryLayout<blksnap_cbtdirty>.alignment, stride: MemoryLayout<blksnap_cbtdirty>.stride, expectedSize: 16, expectedAlignment: 8),
        TypeLayout(name: "blksnap_snapshotadd", size: MemoryLayout<blksnap_snapshotadd>.size, alignment: MemoryLayout<blksnap_snapshotadd>.alignment, stride: MemoryLayout<blksnap_snapshotadd>.stride, expectedSize: 16, expectedAlignment: 1),
        TypeLayout(name: "blksnap_snapshotinfo", size: MemoryLayout<blksnap_snapshotinfo>.size, alignment: MemoryLayout<blksnap_snapshotinfo>.alignment, stride: MemoryLayout<blksnap_snapshotinfo>.stride, expectedSize: 36, expectedAlignment: 4),
        TypeLayout(name: "blksnap_version", size: MemoryLayout<blksnap_version>.size, alignment: MemoryLayout<blksnap_version>.alignment, stride: MemoryLayout<blksnap_version>.stride, expectedSize: 8, expectedAlignment: 2),
        TypeLayout(name: "blksnap_snapshot_append_storage", size: MemoryLayout<blksnap_snapshot_append_storage>.size, alignment: MemoryLayout<blksnap_snapshot_append_storage>.alignment, stride: MemoryLayout<blksnap_snapshot_append_storage>.stride, expectedSize: 40, expectedAlignment: 8),
        TypeLayout(name: "blksnap_snapshot_collect", size: MemoryLayout<blksnap_snapshot_collect>.size, alignment: MemoryLayout<blksnap_snapshot_collect>.alignment, stride: MemoryLayout<blksnap_snapshot_collect>.stride, expectedSize: 16, expectedAlignment: 8),
        TypeLayout(name: "blksnap_snapshot_event", size: MemoryLayout<blksnap_snapshot_event>.size, alignment: MemoryLayout<blksnap_snapshot_event>.alignment, stride: MemoryLayout<blksnap_snapshot_event>.stride, expectedSize: 4096, expectedAlignment: 8),
        TypeLayout(name: "blksnap_event_low_free_space", size: MemoryLayout<blksnap_event_low_free_space>.size, alignment: MemoryLayout<blksnap_event_low_free_space>.alignment, stride: MemoryLayout<blksnap_event_low_free_space>.stride, expectedSize: 8, expectedAlignment: 8),
        TypeLayout(name: "blksnap_event_corrupted", size: MemoryLayout<blksnap_event_corrupted>.size, alignment: MemoryLayout<blksnap_event_corrupted>.alignment, stride: MemoryLayout<blksnap_event_corrupted>.stride, expectedSize: 12, expectedAlignment: 4),
    ]

    static let fields: [FieldLayout] = [
        FieldLayout(name: "blkfilter_name.name", offset: MemoryLayout<blkfilter_name>.offset(of: \blkfilter_name.name), size: MemoryLayout.size(ofValue: blkfilter_name().name), expectedOffset: 0, expectedSize: 32),
        FieldLayout(name: "blkfilter_ctl.name", offset: MemoryLayout<blkfilter_ctl>.offset(of: \blkfilter_ctl.name), size: MemoryLayout.size(ofValue: blkfilter_ctl().name), expectedOffset: 0, expectedSize: 32),
        FieldLayout(name: "blkfilter_ctl.cmd", offset: MemoryLayout<blkfilter_ctl>.offset(of: \blkfilter_ctl.cmd), size: MemoryLayout.size(ofValue: blkfilter_ctl().cmd), expectedOffset: 32, expectedSize: 4),
        FieldLayout(name: "blkfilter_ctl.optlen", offset: MemoryLayout<blkfilter_ctl>.offset(of: \blkfilter_ctl.optlen), size: MemoryLayout.size(ofValue: blkfilter_ctl().optlen), expectedOffset: 36, expectedSize: 4),
        FieldLayout(name: "blkfilter_ctl.opt", offset: MemoryLayout<blkfilter_ctl>.offset(of: \blkfilter_ctl.opt), size: MemoryLayout.size(ofValue: blkfilter_ctl().opt), expectedOffset: 40, expectedSize: 8),
        FieldLayout(name: "blksnap_uuid.b", offset: MemoryLayout<blksnap_uuid>.offset(of: \blksnap_uuid.b), size: MemoryLayout.size(ofValue: blksnap_uuid().b), expectedOffset: 0, expectedSize: 16),
        FieldLayout(name: "blksnap_cbtinfo.device_capacity", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.device_capacity), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().device_capacity), expectedOffset: 0, expectedSize: 8),
        FieldLayout(name: "blksnap_cbtinfo.block_size", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.block_size), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().block_size), expectedOffset: 8, expectedSize: 4),
        FieldLayout(name: "blksnap_cbtinfo.block_count", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.block_count), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().block_count), expectedOffset: 12, expectedSize: 4),
        FieldLayout(name: "blksnap_cbtinfo.generation_id", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.generation_id), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().generation_id), expectedOffset: 16, expectedSize: 16),
        FieldLayout(name: "blksnap_cbtinfo.changes_number", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.changes_number), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().changes_number), expectedOffset: 32, expectedSize: 1),
        FieldLayout(name: "blksnap_cbtmap.offset", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.offset), size: MemoryLayout.size(ofValue: blksnap_cbtmap().offset), expectedOffset: 0, expectedSize: 4),
        FieldLayout(name: "blksnap_cbtmap.length", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.length), size: MemoryLayout.size(ofValue: blksnap_cbtmap().length), expectedOffset: 4, expectedSize: 4),
        FieldLayout(name: "blksnap_cbtmap.buffer", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.buffer), size: MemoryLayout.size(ofValue: blksnap_cbtmap().buffer), expectedOffset: 8, expectedSize: 8),
        FieldLayout(name: "blksnap_sectors.offset", offset: MemoryLayout<blksnap_sectors>.offset(of: \blksnap_sectors.offset), size: MemoryLayout.size(ofValue: blksnap_sectors().offset), expectedOffset: 0, expectedSize: 8),
        FieldLayout(name: "blksnap_sectors.count", offset: MemoryLayout<blksnap_sectors>.offset(of: \blksnap_sectors.count), size: MemoryLayout.size(ofValue: blksnap_sectors().count), expectedOffset: 8, expectedSize: 8),
        FieldLayout(name: "blksnap_cbtdirty.count", offset: MemoryLayout<blksnap_cbtdirty>.offset(of: \blksnap_cbtdirty.count), size: MemoryLayout.size(ofValue: blksnap_cbtdirty().count), expectedOffset: 0, expectedSize: 4),
        FieldLayout(name: "blksnap_cbtdirty.dirty_sectors", offset: MemoryLayout<blksnap_cbtdirty>.offset(of: \blksnap_cbtdirty.dirty_sectors), size: MemoryLayout.size(ofValue: blksnap_cbtdirty().dirty_sectors), expectedOffset: 8, expectedSize: 8),
        FieldLayout(name: "blksnap_snapshotadd.id", offset: MemoryLayout<blksnap_snapshotadd>.offset(of: \blksnap_snapshotadd.id), size: MemoryLayout.size(ofValue: blksnap_snapshotadd().id), expectedOffset: 0, expectedSize: 16),
        FieldLayout(name: "blksnap_snapshotinfo.error_code", offset: MemoryLayout<blksnap_snapshotinfo>.offset(of: \blksnap_snapshotinfo.error_code), size: MemoryLayout.size(ofValue: blksnap_snapshotinfo().error_code), expectedOffset: 0, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshotinfo.image", offset: MemoryLayout<blksnap_snapshotinfo>.offset(of: \blksnap_snapshotinfo.image), size: MemoryLayout.size(ofValue: blksnap_snapshotinfo().image), expectedOffset: 4, expectedSize: 32),
        FieldLayout(name: "blksnap_version.major", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.major), size: MemoryLayout.size(ofValue: blksnap_version().major), expectedOffset: 0, expectedSize: 2),
        FieldLayout(name: "blksnap_version.minor", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.minor), size: MemoryLayout.size(ofValue: blksnap_version().minor), expectedOffset: 2, expectedSize: 2),
        FieldLayout(name: "blksnap_version.revision", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.revision), size: MemoryLayout.size(ofValue: blksnap_version().revision), expectedOffset: 4, expectedSize: 2),
        FieldLayout(name: "blksnap_version.build", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.build), size: MemoryLayout.size(ofValue: blksnap_version().build), expectedOffset: 6, expectedSize: 2),
        FieldLayout(name: "blksnap_snapshot_append_storage.id", offset: MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.id), size: MemoryLayout.size(ofValue: blksnap_snapshot_append_storage().id), expectedOffset: 0, expectedSize: 16),
        FieldLayout(name: "blksnap_snapshot_append_storage.bdev_path", offset: MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.bdev_path), size: MemoryLayout.size(ofValue: blksnap_snapshot_append_storage().bdev_path), expectedOffset: 16, expectedSize: 8),
        FieldLayout(name: "blksnap_snapshot_append_storage.bdev_path_size", offset: MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.bdev_path_size), size: MemoryLayout.size(ofValue: blksnap_snapshot_append_storage().bdev_path_size), expectedOffset: 24, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshot_append_storage.count", offset: MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.count), size: MemoryLayout.size(ofValue: blksnap_snapshot_append_storage().count), expectedOffset: 28, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshot_append_storage.ranges", offset: MemoryLayout<blksnap_snapshot_append_storage>.offset(of: \blksnap_snapshot_append_storage.ranges), size: MemoryLayout.size(ofValue: blksnap_snapshot_append_storage().ranges), expectedOffset: 32, expectedSize: 8),
        FieldLayout(name: "blksnap_snapshot_collect.count", offset: MemoryLayout<blksnap_snapshot_collect>.offset(of: \blksnap_snapshot_collect.count), size: MemoryLayout.size(ofValue: blksnap_snapshot_collect().count), expectedOffset: 0, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshot_collect.ids", offset: MemoryLayout<blksnap_snapshot_collect>.offset(of: \blksnap_snapshot_collect.ids), size: MemoryLayout.size(ofValue: blksnap_snapshot_collect().ids), expectedOffset: 8, expectedSize: 8),
        FieldLayout(name: "blksnap_snapshot_event.id", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.id), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().id), expectedOffset: 0, expectedSize: 16),
        FieldLayout(name: "blksnap_snapshot_event.timeout_ms", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.timeout_ms), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().timeout_ms), expectedOffset: 16, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshot_event.code", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.code), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().code), expectedOffset: 20, expectedSize: 4),
        FieldLayout(name: "blksnap_snapshot_event.time_label", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.time_label), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().time_label), expectedOffset: 24, expectedSize: 8),
        FieldLayout(name: "blksnap_snapshot_event.data", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.data), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().data), expectedOffset: 32, expectedSize: 4064),
        FieldLayout(name: "blksnap_event_low_free_space.requested_nr_sect", offset: MemoryLayout<blksnap_event_low_free_space>.offset(of: \blksnap_event_low_free_space.requested_nr_sect), size: MemoryLayout.size(ofValue: blksnap_event_low_free_space().requested_nr_sect), expectedOffset: 0, expectedSize: 8),
        FieldLayout(name: "blksnap_event_corrupted.dev_id_mj", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.dev_id_mj), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().dev_id_mj), expectedOffset: 0, expectedSize: 4),
        FieldLayout(name: "blksnap_event_corrupted.dev_id_mn", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.dev_id_mn), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().dev_id_mn), expectedOffset: 4, expectedSize: 4),
        FieldLayout(name: "blksnap_event_corrupted.err_code", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.err_code), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().err_code), expectedOffset: 8, expectedSize: 4),
    ]

    @Test("MemoryLayout of every struct", arguments: SwiftLayoutTests.types)
    func structLayout(_ layout: TypeLayout) {
        #expect(layout.size == layout.expectedSize, "size of \(layout.name)")
        #expect(layout.stride == layout.expectedSize, "stride of \(layout.name) (C sizeof includes tail padding)")
        #expect(layout.alignment == layout.expectedAlignment, "alignment of \(layout.name)")
    }

    @Test("MemoryLayout offset of every field", arguments: SwiftLayoutTests.fields)
    func fieldLayout(_ layout: FieldLayout) {
        #expect(layout.offset == layout.expectedOffset, "offset of \(layout.name)")
        #expect(layout.size == layout.expectedSize, "size of \(layout.name)")
    }

    @Test("the tables cover every struct and field of the ABI")
    func coverage() {
        #expect(Self.types.map(\.name) == ExpectedABI.types.map(\.name))
        #expect(Self.fields.map(\.name) == ExpectedABI.fields.map { "\($0.type).\($0.field)" })
    }

    @Test("every BLKSNAP_REQ_* constant Swift sees")
    func requestConstants() {
        #expect(BLKSNAP_REQ_VERSION == 0x4008_5600)
        #expect(BLKSNAP_REQ_SNAPSHOT_CREATE == 0x4010_5601)
        #expect(BLKSNAP_REQ_SNAPSHOT_DESTROY == 0x8010_5602)
        #expect(BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE == 0x4028_5603)
        #expect(BLKSNAP_REQ_SNAPSHOT_TAKE == 0x8010_5604)
        #expect(BLKSNAP_REQ_SNAPSHOT_COLLECT == 0x4010_5605)
        #expect(BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT == 0x5000_5606)
        #expect(BLKSNAP_REQ_BLKFILTER_ATTACH == 0xc020_128c)
        #expect(BLKSNAP_REQ_BLKFILTER_DETACH == 0xc020_128d)
        #expect(BLKSNAP_REQ_BLKFILTER_CTL == 0xc030_128e)
        #expect(BLKSNAP_REQ_BLKSSZGET == 0x0000_1268)
        #expect(BLKSNAP_REQ_BLKGETSIZE64 == 0x8008_1272)
        #expect(BLKSNAP_REQ_BLKIOMIN == 0x0000_1278)
        #expect(BLKSNAP_REQ_BLKPBSZGET == 0x0000_127b)
    }

    @Test("request numbers decode to the declared dir/type/nr/size")
    func requestFields() {
        // dir: 1 = write (_IOW), 2 = read (_IOR), 3 = both; as posted in v5, oddities included.
        let table: [(UInt, dir: UInt32, type: UInt32, nr: UInt32, size: UInt32)] = [
            (BLKSNAP_REQ_VERSION, 1, 0x56, 0, 8),
            (BLKSNAP_REQ_SNAPSHOT_CREATE, 1, 0x56, 1, 16),
            (BLKSNAP_REQ_SNAPSHOT_DESTROY, 2, 0x56, 2, 16),
            (BLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE, 1, 0x56, 3, 40),
            (BLKSNAP_REQ_SNAPSHOT_TAKE, 2, 0x56, 4, 16),
            (BLKSNAP_REQ_SNAPSHOT_COLLECT, 1, 0x56, 5, 16),
            (BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, 1, 0x56, 6, 4096),
            (BLKSNAP_REQ_BLKFILTER_ATTACH, 3, 0x12, 140, 32),
            (BLKSNAP_REQ_BLKFILTER_DETACH, 3, 0x12, 141, 32),
            (BLKSNAP_REQ_BLKFILTER_CTL, 3, 0x12, 142, 48),
        ]
        for row in table {
            #expect(blksnap_ioc_dir(row.0) == row.dir, "dir of 0x\(String(row.0, radix: 16))")
            #expect(blksnap_ioc_type(row.0) == row.type, "type of 0x\(String(row.0, radix: 16))")
            #expect(blksnap_ioc_nr(row.0) == row.nr, "nr of 0x\(String(row.0, radix: 16))")
            #expect(blksnap_ioc_size(row.0) == row.size, "size of 0x\(String(row.0, radix: 16))")
        }
    }

    @Test("every enum value Swift sees")
    func enumValues() {
        let seen: [String: UInt32] = [
            "blkfilter_ctl_blksnap_cbtinfo": blkfilter_ctl_blksnap_cbtinfo.rawValue,
            "blkfilter_ctl_blksnap_cbtmap": blkfilter_ctl_blksnap_cbtmap.rawValue,
            "blkfilter_ctl_blksnap_cbtdirty": blkfilter_ctl_blksnap_cbtdirty.rawValue,
            "blkfilter_ctl_blksnap_snapshotadd": blkfilter_ctl_blksnap_snapshotadd.rawValue,
            "blkfilter_ctl_blksnap_snapshotinfo": blkfilter_ctl_blksnap_snapshotinfo.rawValue,
            "blksnap_ioctl_version": blksnap_ioctl_version.rawValue,
            "blksnap_ioctl_snapshot_create": blksnap_ioctl_snapshot_create.rawValue,
            "blksnap_ioctl_snapshot_destroy": blksnap_ioctl_snapshot_destroy.rawValue,
            "blksnap_ioctl_snapshot_append_storage": blksnap_ioctl_snapshot_append_storage.rawValue,
            "blksnap_ioctl_snapshot_take": blksnap_ioctl_snapshot_take.rawValue,
            "blksnap_ioctl_snapshot_collect": blksnap_ioctl_snapshot_collect.rawValue,
            "blksnap_ioctl_snapshot_wait_event": blksnap_ioctl_snapshot_wait_event.rawValue,
            "blksnap_event_code_low_free_space": blksnap_event_code_low_free_space.rawValue,
            "blksnap_event_code_corrupted": blksnap_event_code_corrupted.rawValue,
        ]
        #expect(seen.count == ExpectedABI.enums.count)
        for row in ExpectedABI.enums {
            #expect(seen[row.name].map(Int.init) == row.value, "\(row.name)")
        }
    }

    @Test("plain constants Swift sees")
    func plainConstants() {
        #expect(BLKFILTER_NAME_LENGTH == 32)
        #expect(UUID_SIZE == 16)
        #expect(IMAGE_DISK_NAME_LEN == 32)
        #expect(BLKSNAP_EVENT_COPY_IN_SIZE == 20)
        #expect(BLKSNAP_CTL == "blksnap-control")
        #expect(BLKSNAP_IMAGE_NAME == "blksnap-image")
        #expect(BLKSNAP_FILTER_NAME == "blksnap")
        #expect(BLKSNAP_V5_VERSION_MAJOR == 2 && BLKSNAP_V5_VERSION_MINOR == 0)
    }
}
