import BlksnapKit
import Synchronization
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte "device" that transfers at most 5 bytes per call and fails at byte 40 with
/// the errno given (none: no failure).
private final class ShortIOKernel: KernelInterface {
    let storage = Mutex([UInt8](repeating: 0, count: 64))
    let failAt: UInt64?
    let failure: Errno
    let calls = Mutex(0)

    init(failAt: UInt64? = nil, failure: Errno = .ioError) {
        self.failAt = failAt
        self.failure = failure
    }

    func open(_ path: String, flags: Int32) throws(Errno) -> CInt { 3 }
    func close(_ fd: CInt) throws(Errno) {}
    func ioctl(_ fd: CInt, _ request: UInt, _ argument: UnsafeMutableRawPointer) throws(Errno) -> CInt { throw .inappropriateIOCTLForDevice }
    func stat(_ path: String) throws(Errno) -> KernelFileStatus { throw .noSuchFileOrDirectory }

    func pread(_ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        calls.withLock { $0 += 1 }
        if let failAt, offsetBytes >= failAt { throw failure }
        return storage.withLock { bytes in
            let n = max(0, min(5, buffer.count, bytes.count - Int(offsetBytes)))
            for index in 0..<n { buffer[index] = bytes[Int(offsetBytes) + index] }
            return n
        }
    }

    func pwrite(_ fd: CInt, from buffer: UnsafeRawBufferPointer, at offsetBytes: UInt64) throws(Errno) -> Int {
        calls.withLock { $0 += 1 }
        if let failAt, offsetBytes >= failAt { throw failure }
        return storage.withLock { bytes in
            let n = max(0, min(5, buffer.count, bytes.count - Int(offsetBytes)))
            for index in 0..<n { bytes[Int(offsetBytes) + index] = buffer[index] }
            return n
        }
    }
}

fileprivate extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

@Suite("KernelInterface.readAll / writeAll: short transfers continued, failures located")
struct KernelReadWriteAllTests {
    @Test("short reads and writes are continued; a read stops at the end, a write past it is ENOSPC")
    func continued() throws {
        let kernel = ShortIOKernel()
        let pattern = (0..<30).map { UInt8($0 + 1) }
        try pattern.withUnsafeBytes { try kernel.writeAll(3, from: $0, at: 10) }
        #expect(kernel.calls.withLock { $0 } == 6, "30 bytes in pieces of 5")
        var back = [UInt8](repeating: 0, count: 100)
        let n = try back.withUnsafeMutableBytes { try kernel.readAll(3, into: $0, at: 10) }
        #expect(n == 54, "to the end of the 64-byte device")
        #expect(Array(back[0..<30]) == pattern)
        let past = pattern.withUnsafeBytes { all in
            Result { () throws(KernelIOFailure) in try kernel.writeAll(3, from: all, at: 50) }
        }
        #expect(past.failure == KernelIOFailure(errno: .noSpace, offsetBytes: 64, pastEnd: true))
    }

    @Test("pieces never exceed what pieceLength allows")
    func pieces() throws {
        let kernel = ShortIOKernel()
        var asked: [UInt64] = []
        let bytes = [UInt8](repeating: 7, count: 12)
        try bytes.withUnsafeBytes { all in
            try kernel.writeAll(3, from: all, at: 2) { offset, remaining in
                asked.append(offset)
                return min(remaining, 3)
            }
        }
        #expect(asked == [2, 5, 8, 11])
    }

    @Test("a failure names its errno and the offset of the request that failed")
    func failure() throws {
        let kernel = ShortIOKernel(failAt: 40, failure: .noSpace)
        var buffer = [UInt8](repeating: 0, count: 30)
        let read = buffer.withUnsafeMutableBytes { all in
            Result { () throws(KernelIOFailure) -> Int in try kernel.readAll(3, into: all, at: 20) }
        }
        #expect(read.failure == KernelIOFailure(errno: .noSpace, offsetBytes: 40), "a real ENOSPC is not the end of the device")
    }
}
