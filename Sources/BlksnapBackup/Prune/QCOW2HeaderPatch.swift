/// A qcow2 header cluster rewritten for a merged file: new L1 and refcount table, new
/// backing file (or none), every other field and header extension kept byte for byte
/// (so features another writer set, such as a compression type, survive a merge).
struct QCOW2HeaderPatch {
    /// The new L1 table's offset.
    var l1TableOffset: UInt64
    /// The new refcount table's offset.
    var refcountTableOffset: UInt64
    /// Clusters of the new refcount table.
    var refcountTableClusters: UInt32
    /// The new backing file name (nil: the file becomes standalone, its backing format
    /// extension is dropped).
    var backingFile: String?

    /// The patched copy of `old` (a whole header cluster), and how many leading bytes of
    /// it can differ from `old` (the rest is unchanged zero padding).
    func apply(to old: [UInt8], path: String) throws(BackupError) -> (cluster: [UInt8], usedBytes: Int) {
        let header: QCOW2Header
        do {
            header = try QCOW2Header(decoding: old)
        } catch {
            throw BackupError(.corrupted, "\(path): \(error.description)")
        }
        var fixed = Array(old[0..<Int(header.headerLength)])
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.bigEndian) { raw in
                for (index, byte) in raw.enumerated() { fixed[offset + index] = byte }
            }
        }
        put(l1TableOffset, at: 40)
        put(refcountTableOffset, at: 48)
        put(refcountTableClusters, at: 56)
        // Extensions: keep all but the backing format, which follows the backing file.
        var extensions: [UInt8] = []
        var offset = Int(header.headerLength)
        var oldUsed = offset
        while offset + 8 <= old.count {
            let type = old.bigEndian(UInt32.self, at: offset)
            let length = Int(old.bigEndian(UInt32.self, at: offset + 4))
            if type == QCOW2Format.extensionEnd { oldUsed = offset + 8; break }
            let padded = (length + 7) / 8 * 8
            guard offset + 8 + padded <= old.count else {
                throw BackupError(.corrupted, "\(path): header extension 0x\(String(type, radix: 16)) at byte \(offset) runs past the first cluster")
            }
            if type != QCOW2Format.extensionBackingFormat {
                extensions += old[offset..<(offset + 8 + padded)]
            }
            offset += 8 + padded
        }
        if header.backingFileOffset != 0 {
            oldUsed = max(oldUsed, Int(header.backingFileOffset) + Int(header.backingFileSize))
        }
        if backingFile != nil {
            let format = Array("qcow2".utf8)
            extensions.appendBigEndian(QCOW2Format.extensionBackingFormat)
            extensions.appendBigEndian(UInt32(format.count))
            extensions += format
            while extensions.count % 8 != 0 { extensions.append(0) }
        }
        extensions.appendBigEndian(QCOW2Format.extensionEnd)
        extensions.appendBigEndian(UInt32(0))
        var bytes: [UInt8]
        if let backingFile {
            let name = Array(backingFile.utf8)
            guard !name.isEmpty, name.count <= 1023 else {
                throw BackupError(.refused, "backing file name '\(backingFile)' must be 1 to 1023 bytes (qcow2 limit)")
            }
            put(UInt64(fixed.count + extensions.count), at: 8)
            put(UInt32(name.count), at: 16)
            bytes = fixed + extensions + name
        } else {
            put(UInt64(0), at: 8)
            put(UInt32(0), at: 16)
            bytes = fixed + extensions
        }
        guard bytes.count <= old.count else {
            throw BackupError(.refused, "\(path): the merged header needs \(bytes.count) bytes, more than one cluster (\(old.count))")
        }
        let used = max(bytes.count, oldUsed)
        bytes += [UInt8](repeating: 0, count: old.count - bytes.count)
        return (bytes, used)
    }
}
