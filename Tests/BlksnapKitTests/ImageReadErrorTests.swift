import BlksnapKit
import SystemPackage
import Testing

/// What a failed image read means depends on the module: a corrupted snapshot's image
/// answers EIO on v5 and VAL-7.0, ENOSPC on VAL-6.x, where ENOSPC must not read as a full disk.
@Suite("Image read errors per module")
struct ImageReadErrorTests {
    @Test("EIO is corruption on v5 and VAL-7.0; ENOSPC is not")
    func v5() {
        let eio = ImageReadError(path: "/dev/blksnap-image_7:0", offsetBytes: 4096, errno: .ioError)
        #expect(eio.isCorruption)
        #expect(eio.description.contains("the snapshot is corrupted"))
        let full = ImageReadError(path: "/dev/blksnap-image_7:0", offsetBytes: 0, errno: .noSpace)
        #expect(!full.isCorruption)
        #expect(!full.description.contains("corrupted"))
    }

    @Test("VAL-6.x: ENOSPC is corruption, said not to be a full disk; EIO too")
    func val6() {
        let corrupted = ImageReadError(path: "/dev/veeamblksnapimg0", offsetBytes: 0, errno: .noSpace,
                                       corruptedErrno: Errno(rawValue: BlksnapCapabilities.val6.corruptedImageErrno))
        #expect(corrupted.isCorruption)
        #expect(corrupted.description.contains("not a full disk: VAL-6.x answers every I/O of a corrupted snapshot's image with ENOSPC"))
        #expect(corrupted.description.contains("the snapshot is corrupted"))
        // A buffered read of a corrupted VAL-6.x image fails EIO (the page cache's answer).
        let eio = ImageReadError(path: "/dev/veeamblksnapimg0", offsetBytes: 0, errno: .ioError, corruptedErrno: .noSpace)
        #expect(eio.isCorruption)
        #expect(!eio.description.contains("not a full disk"))
        #expect(BlksnapCapabilities.v5.corruptedImageErrno == Errno.ioError.rawValue && BlksnapCapabilities.val7.corruptedImageErrno == Errno.ioError.rawValue)
    }
}
