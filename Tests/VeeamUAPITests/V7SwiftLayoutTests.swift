import CVeeamBlksnapUAPI
import Testing

/// Swift's view of the imported VAL-7.0 ("veeamblksnap" + bdevfilter) header against the literal ABI.
@Suite("Swift import of the VAL-7.0 (\"veeamblksnap\" + bdevfilter) UAPI")
struct V7SwiftLayoutTests {
    static let types: [TypeLayout] = [
        TypeLayout(name: "bdevfilter_name", size: MemoryLayout<bdevfilter_name>.size, alignment: MemoryLayout<bdevfilter_name>.alignment, stride: MemoryLayout<bdevfilter_name>.stride),
        TypeLayout(name: "bdevfilter_ctl", size: MemoryLayout<bdevfilter_ctl>.size, alignment: MemoryLayout<bdevfilter_ctl>.alignment, stride: MemoryLayout<bdevfilter_ctl>.stride),
        TypeLayout(name: "blksnap_uuid", size: MemoryLayout<blksnap_uuid>.size, alignment: MemoryLayout<blksnap_uuid>.alignment, stride: MemoryLayout<blksnap_uuid>.stride),
        TypeLayout(name: "blksnap_cbtinfo", size: MemoryLayout<blksnap_cbtinfo>.size, alignment: MemoryLayout<blksnap_cbtinfo>.alignment, stride: MemoryLayout<blksnap_cbtinfo>.stride),
        TypeLayout(name: "blksnap_cbtmap", size: MemoryLayout<blksnap_cbtmap>.size, alignment: MemoryLayout<blksnap_cbtmap>.alignment, stride: MemoryLayout<blksnap_cbtmap>.stride),
        TypeLayout(name: "blksnap_sectors", size: MemoryLayout<blksnap_sectors>.size, alignment: MemoryLayout<blksnap_sectors>.alignment, stride: MemoryLayout<blksnap_sectors>.stride),
        TypeLayout(name: "blksnap_cbtdirty", size: MemoryLayout<blksnap_cbtdirty>.size, alignment: MemoryLayout<blksnap_cbtdirty>.alignment, stride: MemoryLayout<blksnap_cbtdirty>.stride),
        TypeLayout(name: "blksnap_snapshotadd", size: MemoryLayout<blksnap_snapshotadd>.size, alignment: MemoryLayout<blksnap_snapshotadd>.alignment, stride: MemoryLayout<blksnap_snapshotadd>.stride),
        TypeLayout(name: "blksnap_snapshotinfo", size: MemoryLayout<blksnap_snapshotinfo>.size, alignment: MemoryLayout<blksnap_snapshotinfo>.alignment, stride: MemoryLayout<blksnap_snapshotinfo>.stride),
        TypeLayout(name: "blksnap_version", size: MemoryLayout<blksnap_version>.size, alignment: MemoryLayout<blksnap_version>.alignment, stride: MemoryLayout<blksnap_version>.stride),
        TypeLayout(name: "blksnap_snapshot_create", size: MemoryLayout<blksnap_snapshot_create>.size, alignment: MemoryLayout<blksnap_snapshot_create>.alignment, stride: MemoryLayout<blksnap_snapshot_create>.stride),
        TypeLayout(name: "blksnap_snapshot_collect", size: MemoryLayout<blksnap_snapshot_collect>.size, alignment: MemoryLayout<blksnap_snapshot_collect>.alignment, stride: MemoryLayout<blksnap_snapshot_collect>.stride),
        TypeLayout(name: "blksnap_snapshot_event", size: MemoryLayout<blksnap_snapshot_event>.size, alignment: MemoryLayout<blksnap_snapshot_event>.alignment, stride: MemoryLayout<blksnap_snapshot_event>.stride),
        TypeLayout(name: "blksnap_event_corrupted", size: MemoryLayout<blksnap_event_corrupted>.size, alignment: MemoryLayout<blksnap_event_corrupted>.alignment, stride: MemoryLayout<blksnap_event_corrupted>.stride),
        TypeLayout(name: "blksnap_event_low_free_space", size: MemoryLayout<blksnap_event_low_free_space>.size, alignment: MemoryLayout<blksnap_event_low_free_space>.alignment, stride: MemoryLayout<blksnap_event_low_free_space>.stride),
        TypeLayout(name: "blksnap_mod", size: MemoryLayout<blksnap_mod>.size, alignment: MemoryLayout<blksnap_mod>.alignment, stride: MemoryLayout<blksnap_mod>.stride),
        TypeLayout(name: "blksnap_setlog", size: MemoryLayout<blksnap_setlog>.size, alignment: MemoryLayout<blksnap_setlog>.alignment, stride: MemoryLayout<blksnap_setlog>.stride),
        TypeLayout(name: "blksnap_snapshot_append_storage", size: MemoryLayout<veeamblksnap_snapshot_append_storage>.size, alignment: MemoryLayout<veeamblksnap_snapshot_append_storage>.alignment, stride: MemoryLayout<veeamblksnap_snapshot_append_storage>.stride),
    ]

    static let fields: [FieldLayout] = [
        FieldLayout(name: "bdevfilter_name.devpath", offset: MemoryLayout<bdevfilter_name>.offset(of: \bdevfilter_name.devpath), size: MemoryLayout.size(ofValue: bdevfilter_name().devpath)),
        FieldLayout(name: "bdevfilter_name.name", offset: MemoryLayout<bdevfilter_name>.offset(of: \bdevfilter_name.name), size: MemoryLayout.size(ofValue: bdevfilter_name().name)),
        FieldLayout(name: "bdevfilter_ctl.devpath", offset: MemoryLayout<bdevfilter_ctl>.offset(of: \bdevfilter_ctl.devpath), size: MemoryLayout.size(ofValue: bdevfilter_ctl().devpath)),
        FieldLayout(name: "bdevfilter_ctl.name", offset: MemoryLayout<bdevfilter_ctl>.offset(of: \bdevfilter_ctl.name), size: MemoryLayout.size(ofValue: bdevfilter_ctl().name)),
        FieldLayout(name: "bdevfilter_ctl.cmd", offset: MemoryLayout<bdevfilter_ctl>.offset(of: \bdevfilter_ctl.cmd), size: MemoryLayout.size(ofValue: bdevfilter_ctl().cmd)),
        FieldLayout(name: "bdevfilter_ctl.optlen", offset: MemoryLayout<bdevfilter_ctl>.offset(of: \bdevfilter_ctl.optlen), size: MemoryLayout.size(ofValue: bdevfilter_ctl().optlen)),
        FieldLayout(name: "bdevfilter_ctl.opt", offset: MemoryLayout<bdevfilter_ctl>.offset(of: \bdevfilter_ctl.opt), size: MemoryLayout.size(ofValue: bdevfilter_ctl().opt)),
        FieldLayout(name: "blksnap_uuid.b", offset: MemoryLayout<blksnap_uuid>.offset(of: \blksnap_uuid.b), size: MemoryLayout.size(ofValue: blksnap_uuid().b)),
        FieldLayout(name: "blksnap_cbtinfo.device_capacity", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.device_capacity), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().device_capacity)),
        FieldLayout(name: "blksnap_cbtinfo.block_size", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.block_size), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().block_size)),
        FieldLayout(name: "blksnap_cbtinfo.block_count", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.block_count), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().block_count)),
        FieldLayout(name: "blksnap_cbtinfo.generation_id", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.generation_id), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().generation_id)),
        FieldLayout(name: "blksnap_cbtinfo.changes_number", offset: MemoryLayout<blksnap_cbtinfo>.offset(of: \blksnap_cbtinfo.changes_number), size: MemoryLayout.size(ofValue: blksnap_cbtinfo().changes_number)),
        FieldLayout(name: "blksnap_cbtmap.offset", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.offset), size: MemoryLayout.size(ofValue: blksnap_cbtmap().offset)),
        FieldLayout(name: "blksnap_cbtmap.length", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.length), size: MemoryLayout.size(ofValue: blksnap_cbtmap().length)),
        FieldLayout(name: "blksnap_cbtmap.buffer", offset: MemoryLayout<blksnap_cbtmap>.offset(of: \blksnap_cbtmap.buffer), size: MemoryLayout.size(ofValue: blksnap_cbtmap().buffer)),
        FieldLayout(name: "blksnap_sectors.offset", offset: MemoryLayout<blksnap_sectors>.offset(of: \blksnap_sectors.offset), size: MemoryLayout.size(ofValue: blksnap_sectors().offset)),
        FieldLayout(name: "blksnap_sectors.count", offset: MemoryLayout<blksnap_sectors>.offset(of: \blksnap_sectors.count), size: MemoryLayout.size(ofValue: blksnap_sectors().count)),
        FieldLayout(name: "blksnap_cbtdirty.count", offset: MemoryLayout<blksnap_cbtdirty>.offset(of: \blksnap_cbtdirty.count), size: MemoryLayout.size(ofValue: blksnap_cbtdirty().count)),
        FieldLayout(name: "blksnap_cbtdirty.dirty_sectors", offset: MemoryLayout<blksnap_cbtdirty>.offset(of: \blksnap_cbtdirty.dirty_sectors), size: MemoryLayout.size(ofValue: blksnap_cbtdirty().dirty_sectors)),
        FieldLayout(name: "blksnap_snapshotadd.id", offset: MemoryLayout<blksnap_snapshotadd>.offset(of: \blksnap_snapshotadd.id), size: MemoryLayout.size(ofValue: blksnap_snapshotadd().id)),
        FieldLayout(name: "blksnap_snapshotinfo.error_code", offset: MemoryLayout<blksnap_snapshotinfo>.offset(of: \blksnap_snapshotinfo.error_code), size: MemoryLayout.size(ofValue: blksnap_snapshotinfo().error_code)),
        FieldLayout(name: "blksnap_snapshotinfo.image", offset: MemoryLayout<blksnap_snapshotinfo>.offset(of: \blksnap_snapshotinfo.image), size: MemoryLayout.size(ofValue: blksnap_snapshotinfo().image)),
        FieldLayout(name: "blksnap_version.major", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.major), size: MemoryLayout.size(ofValue: blksnap_version().major)),
        FieldLayout(name: "blksnap_version.minor", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.minor), size: MemoryLayout.size(ofValue: blksnap_version().minor)),
        FieldLayout(name: "blksnap_version.revision", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.revision), size: MemoryLayout.size(ofValue: blksnap_version().revision)),
        FieldLayout(name: "blksnap_version.build", offset: MemoryLayout<blksnap_version>.offset(of: \blksnap_version.build), size: MemoryLayout.size(ofValue: blksnap_version().build)),
        FieldLayout(name: "blksnap_snapshot_create.diff_storage_limit_sect", offset: MemoryLayout<blksnap_snapshot_create>.offset(of: \blksnap_snapshot_create.diff_storage_limit_sect), size: MemoryLayout.size(ofValue: blksnap_snapshot_create().diff_storage_limit_sect)),
        FieldLayout(name: "blksnap_snapshot_create.diff_storage_filename", offset: MemoryLayout<blksnap_snapshot_create>.offset(of: \blksnap_snapshot_create.diff_storage_filename), size: MemoryLayout.size(ofValue: blksnap_snapshot_create().diff_storage_filename)),
        FieldLayout(name: "blksnap_snapshot_create.id", offset: MemoryLayout<blksnap_snapshot_create>.offset(of: \blksnap_snapshot_create.id), size: MemoryLayout.size(ofValue: blksnap_snapshot_create().id)),
        FieldLayout(name: "blksnap_snapshot_collect.count", offset: MemoryLayout<blksnap_snapshot_collect>.offset(of: \blksnap_snapshot_collect.count), size: MemoryLayout.size(ofValue: blksnap_snapshot_collect().count)),
        FieldLayout(name: "blksnap_snapshot_collect.ids", offset: MemoryLayout<blksnap_snapshot_collect>.offset(of: \blksnap_snapshot_collect.ids), size: MemoryLayout.size(ofValue: blksnap_snapshot_collect().ids)),
        FieldLayout(name: "blksnap_snapshot_event.id", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.id), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().id)),
        FieldLayout(name: "blksnap_snapshot_event.timeout_ms", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.timeout_ms), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().timeout_ms)),
        FieldLayout(name: "blksnap_snapshot_event.code", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.code), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().code)),
        FieldLayout(name: "blksnap_snapshot_event.time_label", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.time_label), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().time_label)),
        FieldLayout(name: "blksnap_snapshot_event.data", offset: MemoryLayout<blksnap_snapshot_event>.offset(of: \blksnap_snapshot_event.data), size: MemoryLayout.size(ofValue: blksnap_snapshot_event().data)),
        FieldLayout(name: "blksnap_event_corrupted.dev_id_mj", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.dev_id_mj), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().dev_id_mj)),
        FieldLayout(name: "blksnap_event_corrupted.dev_id_mn", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.dev_id_mn), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().dev_id_mn)),
        FieldLayout(name: "blksnap_event_corrupted.err_code", offset: MemoryLayout<blksnap_event_corrupted>.offset(of: \blksnap_event_corrupted.err_code), size: MemoryLayout.size(ofValue: blksnap_event_corrupted().err_code)),
        FieldLayout(name: "blksnap_event_low_free_space.requested_nr_sect", offset: MemoryLayout<blksnap_event_low_free_space>.offset(of: \blksnap_event_low_free_space.requested_nr_sect), size: MemoryLayout.size(ofValue: blksnap_event_low_free_space().requested_nr_sect)),
        FieldLayout(name: "blksnap_mod.compatibility_flags", offset: MemoryLayout<blksnap_mod>.offset(of: \blksnap_mod.compatibility_flags), size: MemoryLayout.size(ofValue: blksnap_mod().compatibility_flags)),
        FieldLayout(name: "blksnap_mod.name", offset: MemoryLayout<blksnap_mod>.offset(of: \blksnap_mod.name), size: MemoryLayout.size(ofValue: blksnap_mod().name)),
        FieldLayout(name: "blksnap_setlog.tz_minuteswest", offset: MemoryLayout<blksnap_setlog>.offset(of: \blksnap_setlog.tz_minuteswest), size: MemoryLayout.size(ofValue: blksnap_setlog().tz_minuteswest)),
        FieldLayout(name: "blksnap_setlog.level", offset: MemoryLayout<blksnap_setlog>.offset(of: \blksnap_setlog.level), size: MemoryLayout.size(ofValue: blksnap_setlog().level)),
        FieldLayout(name: "blksnap_setlog.filepath_size", offset: MemoryLayout<blksnap_setlog>.offset(of: \blksnap_setlog.filepath_size), size: MemoryLayout.size(ofValue: blksnap_setlog().filepath_size)),
        FieldLayout(name: "blksnap_setlog.filepath", offset: MemoryLayout<blksnap_setlog>.offset(of: \blksnap_setlog.filepath), size: MemoryLayout.size(ofValue: blksnap_setlog().filepath)),
        FieldLayout(name: "blksnap_snapshot_append_storage.id", offset: MemoryLayout<veeamblksnap_snapshot_append_storage>.offset(of: \veeamblksnap_snapshot_append_storage.id), size: MemoryLayout.size(ofValue: veeamblksnap_snapshot_append_storage().id)),
        FieldLayout(name: "blksnap_snapshot_append_storage.devpath", offset: MemoryLayout<veeamblksnap_snapshot_append_storage>.offset(of: \veeamblksnap_snapshot_append_storage.devpath), size: MemoryLayout.size(ofValue: veeamblksnap_snapshot_append_storage().devpath)),
        FieldLayout(name: "blksnap_snapshot_append_storage.count", offset: MemoryLayout<veeamblksnap_snapshot_append_storage>.offset(of: \veeamblksnap_snapshot_append_storage.count), size: MemoryLayout.size(ofValue: veeamblksnap_snapshot_append_storage().count)),
        FieldLayout(name: "blksnap_snapshot_append_storage.ranges", offset: MemoryLayout<veeamblksnap_snapshot_append_storage>.offset(of: \veeamblksnap_snapshot_append_storage.ranges), size: MemoryLayout.size(ofValue: veeamblksnap_snapshot_append_storage().ranges)),
    ]

    @Test("MemoryLayout of every struct", arguments: V7SwiftLayoutTests.types)
    func structLayout(_ layout: TypeLayout) throws {
        let expected = try #require(ExpectedV7ABI.types.first { $0.name == layout.name })
        #expect(layout.size == expected.size, "size of \(layout.name)")
        #expect(layout.stride == expected.size, "stride of \(layout.name) (C sizeof includes tail padding)")
        #expect(layout.alignment == expected.alignment, "alignment of \(layout.name)")
    }

    @Test("MemoryLayout offset of every field", arguments: V7SwiftLayoutTests.fields)
    func fieldLayout(_ layout: FieldLayout) throws {
        let expected = try #require(ExpectedV7ABI.fields.first { "\($0.type).\($0.field)" == layout.name })
        #expect(layout.offset == expected.offset, "offset of \(layout.name)")
        #expect(layout.size == expected.size, "size of \(layout.name)")
    }

    @Test("the tables cover every struct and field of the ABI, in its order")
    func coverage() {
        #expect(Self.types.map(\.name) == ExpectedV7ABI.types.map(\.name))
        #expect(Self.fields.map(\.name) == ExpectedV7ABI.fields.map { "\($0.type).\($0.field)" })
    }

    @Test("every VEEAMBLKSNAP_REQ_* and BDEVFILTER_REQ_* constant Swift sees")
    func requestConstants() {
        let seen: [String: UInt] = [
            "IOCTL_BLKSNAP_VERSION": VEEAMBLKSNAP_REQ_VERSION,
            "IOCTL_BLKSNAP_SNAPSHOT_CREATE": VEEAMBLKSNAP_REQ_SNAPSHOT_CREATE,
            "IOCTL_BLKSNAP_SNAPSHOT_DESTROY": VEEAMBLKSNAP_REQ_SNAPSHOT_DESTROY,
            "IOCTL_BLKSNAP_SNAPSHOT_TAKE": VEEAMBLKSNAP_REQ_SNAPSHOT_TAKE,
            "IOCTL_BLKSNAP_SNAPSHOT_COLLECT": VEEAMBLKSNAP_REQ_SNAPSHOT_COLLECT,
            "IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT": VEEAMBLKSNAP_REQ_SNAPSHOT_WAIT_EVENT,
            "IOCTL_BLKSNAP_MOD": VEEAMBLKSNAP_REQ_MOD,
            "IOCTL_BLKSNAP_SETLOG": VEEAMBLKSNAP_REQ_SETLOG,
            "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE": VEEAMBLKSNAP_REQ_SNAPSHOT_APPEND_STORAGE,
            "BDEVFILTER_ATTACH": BDEVFILTER_REQ_ATTACH,
            "BDEVFILTER_DETACH": BDEVFILTER_REQ_DETACH,
            "BDEVFILTER_CTL": BDEVFILTER_REQ_CTL,
        ]
        #expect(seen.count == ExpectedV7ABI.requests.count)
        for row in ExpectedV7ABI.requests {
            #expect(seen[row.name] == row.value, "\(row.name)")
        }
    }

    @Test("every enum value Swift sees")
    func enumValues() {
        let seen: [String: UInt32] = [
            "BLKFILTER_CTL_BLKSNAP_CBTINFO": BLKFILTER_CTL_BLKSNAP_CBTINFO.rawValue,
            "BLKFILTER_CTL_BLKSNAP_CBTMAP": BLKFILTER_CTL_BLKSNAP_CBTMAP.rawValue,
            "BLKFILTER_CTL_BLKSNAP_CBTDIRTY": BLKFILTER_CTL_BLKSNAP_CBTDIRTY.rawValue,
            "BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD": BLKFILTER_CTL_BLKSNAP_SNAPSHOTADD.rawValue,
            "BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO": BLKFILTER_CTL_BLKSNAP_SNAPSHOTINFO.rawValue,
            "BLKSNAP_IOCTL_VERSION": BLKSNAP_IOCTL_VERSION.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_CREATE": BLKSNAP_IOCTL_SNAPSHOT_CREATE.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_DESTROY": BLKSNAP_IOCTL_SNAPSHOT_DESTROY.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_TAKE": BLKSNAP_IOCTL_SNAPSHOT_TAKE.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_COLLECT": BLKSNAP_IOCTL_SNAPSHOT_COLLECT.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT": BLKSNAP_IOCTL_SNAPSHOT_WAIT_EVENT.rawValue,
            "BLKSNAP_IOCTL_MOD": BLKSNAP_IOCTL_MOD.rawValue,
            "BLKSNAP_IOCTL_SETLOG": BLKSNAP_IOCTL_SETLOG.rawValue,
            "BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE": BLKSNAP_IOCTL_SNAPSHOT_APPEND_STORAGE.rawValue,
            "blksnap_event_code_corrupted": veeamblksnap_event_code_corrupted.rawValue,
            "blksnap_event_code_low_free_space": veeamblksnap_event_code_low_free_space.rawValue,
            "blksnap_compat_flag_debug_sector_state": blksnap_compat_flag_debug_sector_state.rawValue,
            "blksnap_compat_flag_setlog": blksnap_compat_flag_setlog.rawValue,
        ]
        #expect(seen.count == ExpectedV7ABI.enums.count)
        for row in ExpectedV7ABI.enums {
            #expect(seen[row.name].map(Int.init) == row.value, "\(row.name)")
        }
    }

    @Test("the event codes as built: corrupted 0, low_free_space 1 (the reverse of v5 and VAL-6.x)")
    func eventCodes() {
        #expect(veeamblksnap_event_code_corrupted.rawValue == 0)
        #expect(veeamblksnap_event_code_low_free_space.rawValue == 1)
    }

    @Test("numeric and string constants Swift sees")
    func plainConstants() {
        let seen: [String: Int] = [
            "IMAGE_DISK_NAME_LEN": Int(IMAGE_DISK_NAME_LEN),
            "BLKSNAP_MOD_NAME_LIMIT": Int(BLKSNAP_MOD_NAME_LIMIT),
            "BDEVFILTER_NAME_LENGTH": Int(BDEVFILTER_NAME_LENGTH),
            "LOGLEVEL_DISABLE": Int(LOGLEVEL_DISABLE),
            "LOGLEVEL_ERR": Int(LOGLEVEL_ERR),
            "LOGLEVEL_WARN": Int(LOGLEVEL_WARN),
            "LOGLEVEL_DEBUG": Int(LOGLEVEL_DEBUG),
            "VEEAMBLKSNAP_EVENT_COPY_IN_SIZE": Int(VEEAMBLKSNAP_EVENT_COPY_IN_SIZE),
            "VEEAMBLKSNAP_EVENT_DATA_CAPACITY": Int(VEEAMBLKSNAP_EVENT_DATA_CAPACITY),
            "VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE": Int(VEEAMBLKSNAP_MOD_COMPAT_FLAGS_STANDALONE),
        ]
        // BLKSNAP is the character literal 'V', which Swift does not import (the probe checks it).
        let notImported: Set<String> = ["BLKSNAP"]
        #expect(seen.count == ExpectedV7ABI.constants.count - notImported.count)
        for row in ExpectedV7ABI.constants where !notImported.contains(row.name) {
            #expect(seen[row.name] == row.value, "\(row.name)")
        }
        #expect(BLKSNAP_CTL == "veeamblksnap")
        #expect(BLKSNAP_IMAGE_NAME == "veeamblksnapimg")
        #expect(BDEVFILTER == "bdevfilter")
        #expect(VEEAMBLKSNAP_CTL_PATH == "/dev/veeamblksnap")
        #expect(BDEVFILTER_PATH == "/dev/bdevfilter")
        #expect(VEEAMBLKSNAP_FILTER_NAME == "blksnap")
        #expect(VEEAMBLKSNAP_MOD_NAME_STANDALONE == "standalone")
        #expect(VEEAMBLKSNAP_VERSION_MAJOR == 7 && VEEAMBLKSNAP_VERSION_MINOR == 0)
        #expect(VEEAMBLKSNAP_VERSION_REVISION == 0 && VEEAMBLKSNAP_VERSION_BUILD == 0)
    }

    @Test("user pointers are __u64 fields")
    func pointerFields() {
        let create = blksnap_snapshot_create()
        let fields: [UInt64] = [
            create.diff_storage_filename, veeamblksnap_snapshot_append_storage().devpath,
            veeamblksnap_snapshot_append_storage().ranges, bdevfilter_name().devpath, bdevfilter_ctl().opt,
            blksnap_cbtmap().buffer, blksnap_cbtdirty().dirty_sectors, blksnap_snapshot_collect().ids,
            blksnap_setlog().filepath,
        ]
        #expect(fields.allSatisfy { $0 == 0 })
    }
}
