#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import SystemPackage

/// Maps an open file to extents of its filesystem's block device with
/// `FS_IOC_FIEMAP`, through ``LinuxKernel`` (the package's only `ioctl(2)` caller).
///
/// Real kernel only: the simulator has no filesystems.
public enum FileExtentMapper {
    /// `FIEMAP_FLAG_SYNC`: flush the file's data before mapping, so delayed
    /// allocations get a place.
    static let syncFlag: UInt32 = 0x0000_0001

    /// Every extent of the open file `fd` (`path` only names it in errors), asking the
    /// count first and then that many (again if the file changed in between).
    ///
    /// - Throws: ``StorageError`` `.systemCall` with the ioctl's errno (`EOPNOTSUPP`:
    ///   the filesystem cannot map files).
    public static func extents(of fd: CInt, path: String) throws(StorageError) -> [FileExtent] {
        let kernel = LinuxKernel()
        for _ in 0..<4 {
            let count = try request(kernel, fd, path: path, extentCapacity: 0).mapped
            let (mapped, extents) = try request(kernel, fd, path: path, extentCapacity: count + 1)
            if mapped <= count { return extents }
        }
        throw StorageError(.systemCall, path: path, errno: .resourceBusy,
                           "the file's extent map kept changing while being read")
    }

    /// One FIEMAP call over the whole file with room for `extentCapacity` extents.
    private static func request(_ kernel: LinuxKernel, _ fd: CInt, path: String,
                                extentCapacity: UInt32) throws(StorageError) -> (mapped: UInt32, extents: [FileExtent]) {
        let headerBytes = MemoryLayout<fiemap>.size
        let extentBytes = MemoryLayout<fiemap_extent>.size
        let total = headerBytes + Int(extentCapacity) * extentBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        var header = fiemap()
        header.fm_start = 0
        header.fm_length = UInt64.max  // FIEMAP_MAX_OFFSET: to the end of the file
        header.fm_flags = syncFlag
        header.fm_extent_count = extentCapacity
        buffer.storeBytes(of: header, as: fiemap.self)
        do {
            _ = try kernel.ioctl(fd, BLKSNAP_REQ_FS_IOC_FIEMAP, buffer.baseAddress!)
        } catch {
            throw StorageError(.systemCall, path: path, errno: error,
                               error == .notSupported || error == .inappropriateIOCTLForDevice
                                   ? "the filesystem cannot map files to device blocks (FIEMAP): choose a directory on ext4 or xfs"
                                   : "FS_IOC_FIEMAP failed")
        }
        let result = buffer.load(as: fiemap.self)
        var extents: [FileExtent] = []
        let returned = min(result.fm_mapped_extents, extentCapacity)
        for index in 0..<Int(returned) {
            let raw = buffer.load(fromByteOffset: headerBytes + index * extentBytes, as: fiemap_extent.self)
            extents.append(FileExtent(logicalBytes: raw.fe_logical, physicalBytes: raw.fe_physical,
                                      lengthBytes: raw.fe_length, flags: raw.fe_flags))
        }
        return (result.fm_mapped_extents, extents)
    }
}
