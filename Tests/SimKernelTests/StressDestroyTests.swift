#if canImport(Glibc)
import Glibc
#endif
import CBlksnapUAPI
import Dispatch
import Synchronization
import Testing
@testable import SimKernel

/// The whole simulator under concurrent load with the snapshot destroyed in the
/// middle: writers on two originals, image readers, event waiters and control calls,
/// while one thread destroys the snapshot. Nothing deadlocks or crashes, every call
/// ends with a result the spec allows, and the originals hold exactly what the writers
/// wrote (zero data loss). Run under ThreadSanitizer by scripts/sanitize.sh.
@Suite("Stress: destroy in the middle")
struct StressDestroyTests {
    static let writers = 4
    static let readers = 2
    static let waiters = 2
    static let controllers = 1
    static let operationsPerThread = 200
    static let chunkBytes = 65_536
    static let chunks = 64

    @Test("4 writers + 2 image readers + 2 event waiters + 1 control caller + destroy, × 200 operations")
    func destroyUnderLoad() throws {
        let sim = Sim()
        let names = ["sda", "sdb"]
        let fds = names.map { sim.device($0, sectors: UInt64(Self.chunks * 128)) }
        _ = try sim.kernel.addDevice(name: "sdz", capacitySectors: 64 * 128)  // room for 64 chunks: overflow likely
        for fd in fds { #expect(sim.attach(fd) == 0) }
        let id = sim.create()
        for fd in fds { #expect(sim.add(fd, to: id) == 0) }
        #expect(sim.append(id, path: "/dev/sdz", ranges: [(0, 64 * 128)]) == 0)
        #expect(sim.take(id) == 0)
        let images = sim.kernel.listDevices().filter { names.contains($0.name) }.map {
            sim.kernel.open("/dev/blksnap-image_\($0.major):\($0.minor)", flags: O_RDONLY)
        }
        #expect(images.allSatisfy { $0 >= 3 })

        let kernel = sim.kernel
        let control = sim.control
        let problems = PthreadMutex<[String]>([])
        let destroyed = Flag()
        let destroyStarting = Flag()
        let writesDone = Atomic<Int>(0)
        let writesBeforeDestroy = Atomic<Int>(-1)
        let group = DispatchGroup()
        // Each writer owns its 512-byte slot in every chunk, so the final content is known.
        for writer in 0..<Self.writers {
            background(group) {
                let fd = fds[writer % 2]
                for step in 0..<Self.operationsPerThread {
                    if step == Self.operationsPerThread / 2 {
                        // Halfway: wait (bounded) until the destroy starts, so that the
                        // second half of the writes runs against it, not before it.
                        let deadline = monotonicNanoseconds() + 10_000_000_000
                        while !destroyStarting.isSet, monotonicNanoseconds() < deadline { usleep(100) }
                    }
                    let chunk = (step * 7 + writer) % Self.chunks
                    let data = [UInt8](repeating: UInt8(truncatingIfNeeded: step + 1), count: 512)
                    let offset = UInt64(chunk * Self.chunkBytes + (writer / 2) * 512)
                    let result = data.withUnsafeBytes { kernel.pwrite(fd, from: $0, at: offset) }
                    if result != 512 { problems.withLock { $0.append("write \(writer)/\(step): \(result)") } }
                    writesDone.add(1, ordering: .relaxed)
                }
            }
        }
        for reader in 0..<Self.readers {
            background(group) {
                var data = [UInt8](repeating: 0, count: 8192)
                for step in 0..<Self.operationsPerThread {
                    let offset = UInt64(((step * 13 + reader) % Self.chunks) * Self.chunkBytes)
                    let result = data.withUnsafeMutableBytes { kernel.pread(images[reader], into: $0, at: offset) }
                    // Before destroy: the take-time zeros (or EIO after overflow); after: EIO/ENXIO-like errors.
                    if result == 8192, data.contains(where: { $0 != 0 }) {
                        problems.withLock { $0.append("image \(reader) shows non-snapshot data at \(offset)") }
                    }
                }
            }
        }
        for _ in 0..<Self.waiters {
            background(group) {
                for _ in 0..<Self.operationsPerThread / 10 {
                    let (result, _) = rawWaitEvent(kernel, control: control, id: id, timeout: 5)
                    if ![0, -ENOENT, -ENODATA, -EINTR, -ETIME, -ETIMEDOUT].contains(result) {
                        problems.withLock { $0.append("wait event: \(result)") }
                    }
                    if result == -ENOENT { break }
                }
            }
        }
        for _ in 0..<Self.controllers {
            background(group) {
                let user = UserSpace()
                for _ in 0..<Self.operationsPerThread {
                    var request = blksnap_snapshot_collect()
                    request.count = 4
                    request.ids = user.zeros(64)
                    let result = kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_COLLECT, user.alloc(request), memory: user.memory)
                    if result != 0 { problems.withLock { $0.append("collect: \(result)") } }
                }
            }
        }
        background(group) {
            // Destroy once half of the writes went through.
            while writesDone.load(ordering: .relaxed) < Self.writers * Self.operationsPerThread / 2 { usleep(500) }
            writesBeforeDestroy.store(writesDone.load(ordering: .relaxed), ordering: .relaxed)
            destroyStarting.set()
            let user = UserSpace()
            let result = kernel.ioctl(control, BLKSNAP_REQ_SNAPSHOT_DESTROY, user.alloc(id.bytes), memory: user.memory)
            if result != 0 { problems.withLock { $0.append("destroy: \(result)") } }
            destroyed.set()
        }
        join(group, seconds: 120)
        #expect(destroyed.isSet)
        // The destroy started with half of the writes still to come.
        #expect(writesBeforeDestroy.load(ordering: .relaxed) == Self.writers * Self.operationsPerThread / 2)
        let found = problems.withLock { $0 }
        #expect(found.isEmpty, "\(found.prefix(8))")
        #expect(kernel.snapshotIDs.isEmpty)
        // Zero data loss: each slot holds its writer's last byte.
        for (index, name) in names.enumerated() {
            let device = kernel.blockLayer.disk(named: name)!.device!
            var content = [UInt8](repeating: 0, count: Self.chunks * Self.chunkBytes)
            _ = content.withUnsafeMutableBytes { device.readRaw(into: $0, atByte: 0) }
            var expected = [UInt8](repeating: 0, count: content.count)
            for writer in 0..<Self.writers where writer % 2 == index {
                for step in 0..<Self.operationsPerThread {
                    if step == Self.operationsPerThread / 2 {
                        // Halfway: wait (bounded) until the destroy starts, so that the
                        // second half of the writes runs against it, not before it.
                        let deadline = monotonicNanoseconds() + 10_000_000_000
                        while !destroyStarting.isSet, monotonicNanoseconds() < deadline { usleep(100) }
                    }
                    let chunk = (step * 7 + writer) % Self.chunks
                    let offset = chunk * Self.chunkBytes + (writer / 2) * 512
                    expected.replaceSubrange(offset..<offset + 512, with: repeatElement(UInt8(truncatingIfNeeded: step + 1), count: 512))
                }
            }
            #expect(content == expected, "original \(name) lost data")
        }
    }
}
