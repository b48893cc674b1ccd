import BlksnapKit
import Glibc
import SystemPackage
import Testing

/// BlksnapKit over the real system calls, on this machine as it is: no blksnap
/// module is needed (the paths checked are what a machine without it answers).
@Suite("BlksnapKit on the real kernel without blksnap")
struct LinuxKernelTests {
    @Test("a missing control device reads as 'module not loaded'")
    func missingControlDevice() throws {
        let path = "/dev/blksnap-control-absent-\(getpid())"
        let error = try #require(throws: BlksnapError.self) { try Control(kernel: LinuxKernel(), path: path) }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.category == .moduleUnavailable)
        #expect(error.description == "open on \(path): blksnap module not loaded (no \(path)) (ENOENT)")
    }

    @Test("filter and geometry requests on a regular file: ENOTTY with its meaning")
    func regularFile() throws {
        var template = Array("/tmp/blksnapkit-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        try #require(fd >= 0)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer {
            Glibc.close(fd)
            unlink(path)
        }
        let file = try BlockDevice(path: path, kernel: LinuxKernel())
        let attach = try #require(throws: BlksnapError.self) { try file.attachUnchecked() }
        #expect(attach.errno == .inappropriateIOCTLForDevice)
        #expect(attach.category == .moduleUnavailable)
        #expect(attach.description.contains("kernel has no block-device filter support"))
        let size = try #require(throws: BlksnapError.self) { try file.capacityBytes() }
        #expect(size.description == "BLKGETSIZE64 on \(path): \(path) is not a block device (ENOTTY)")
        let info = try #require(throws: BlksnapError.self) { try file.cbtInfo() }
        #expect(info.errno == .inappropriateIOCTLForDevice)
        try file.close()
    }
}
