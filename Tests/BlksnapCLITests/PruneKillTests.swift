import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl backup prune` killed with SIGKILL at random points of its merges (increment
/// and full merges alike): after each kill every listed backup reads as at its take,
/// `qemu-img check` is clean and verify finds nothing; the next prune finishes the job.
@Suite("backup prune survives SIGKILL", .serialized, .enabled(if: CLITestSupport.binaryAvailable))
struct PruneKillTests {
    static let deviceBytes = 4 << 20
    static let policy = ["--keep-last", "4", "--keep-weekly", "4"]

    /// A month of daily backups (1 full + 30 increments) of a 4 MiB in-process simulated
    /// device, and the image at each take.
    final class Chain {
        let directory: URL
        let repository: String
        var images: [Int64: [UInt8]] = [:]

        init() throws {
            directory = try CLITestSupport.temporaryDirectory()
            repository = directory.appendingPathComponent("repo").path
            var params = Params()
            params.chunkMinimumShift = 16
            params.diffStorageMinimum = 8192
            let kernel = SimKernel(params: params)
            let device = try kernel.addDevice(name: "orig0", capacitySectors: UInt64(PruneKillTests.deviceBytes / 512)).path
            let storage = try kernel.addDevice(name: "store", capacitySectors: 1 << 18).path
            let backend = SimKernelBackend(kernel)
            let repo = try BackupRepository(directory: repository, create: true)
            var random = TestRandomCLI(seed: 0xC0FFEE)
            let firstDay = Date(timeIntervalSince1970: 1_767_582_000)  // Monday 2026-01-05T03:00Z
            for day in 0...30 {
                let writes = day == 0 ? 1 : Int(random.next(below: 6) + 2)
                for _ in 0..<writes {
                    let length = day == 0 ? PruneKillTests.deviceBytes / 2 : Int(random.next(below: 48) + 1) * 4096
                    let offset = day == 0 ? PruneKillTests.deviceBytes / 4 : Int(random.next(below: UInt64((PruneKillTests.deviceBytes - length) / 4096))) * 4096
                    var bytes = [UInt8](repeating: 0, count: length)
                    for index in stride(from: 0, to: length, by: 8) {
                        let value = random.next()
                        for byte in 0..<8 { bytes[index + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
                    }
                    let fd = try backend.open(device, flags: O_RDWR)
                    _ = try bytes.withUnsafeBytes { try backend.pwrite(fd, from: $0, at: UInt64(offset)) }
                    try backend.close(fd)
                }
                let taken = firstDay.addingTimeInterval(Double(day) * 86_400)
                let run = BackupRun(repository: repo, kernel: backend,
                                    configuration: SessionConfiguration(devices: [device], pollMilliseconds: 10, hz: 1000),
                                    storage: try DeviceRangeProvider(kernel: backend, devicePath: storage), blockBytes: 1 << 20,
                                    takenAt: taken)
                let id = try #require(try run.run().records.first?.id)
                let fd = try backend.open(device, flags: O_RDONLY)
                var image = [UInt8](repeating: 0, count: PruneKillTests.deviceBytes)
                _ = try image.withUnsafeMutableBytes { try backend.pread(fd, into: $0, at: 0) }
                try backend.close(fd)
                images[id] = image
            }
        }

        deinit { try? FileManager.default.removeItem(at: directory) }
    }

    /// Reads backup `id` whole through the chain reader (every data cluster hash-checked).
    static func read(_ repository: BackupRepository, _ id: Int64) throws -> [UInt8] {
        let reader = try BackupChainReader(repository: repository, id: id)
        var bytes = [UInt8](repeating: 0, count: Int(reader.sizeBytes))
        try bytes.withUnsafeMutableBytes { raw in
            for index in 0..<reader.clusterCount {
                let start = Int(index) * reader.clusterSize
                try reader.readCluster(index, into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + reader.clusterSize)]))
            }
        }
        return bytes
    }

    /// Runs a prune and sends SIGKILL `delayMicroseconds` after its `line`-th step line on
    /// stderr; returns whether the kill (rather than the end of the prune) ended it.
    static func pruneKilled(repo: String, afterLine line: Int, delayMicroseconds: UInt32) throws -> Bool {
        let binary = try #require(CLITestSupport.binary)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["backup", "prune", "--repo", repo] + policy
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = 0
        var pending = Data()
        while seen < line {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                if pending[pending.startIndex..<newline].starts(with: Data("blksnapctl: prune: ".utf8)) { seen += 1 }
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        if delayMicroseconds > 0 { usleep(delayMicroseconds) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    }

    @Test("SIGKILL at >= 30 random points across increment and full merges: valid after each, the next prune completes")
    func killedPrunes() throws {
        let started = ContinuousClock.now
        let chain = try Chain()
        let source = try BackupRepository(directory: chain.repository)
        let records = try source.catalog.all()
        #expect(records.count == 31)
        let plan = PrunePlan.make(policy: RetentionPolicy(keepLast: 4, keepWeekly: 4), records: records)
        let kept = Set(plan.points.filter(\.keep).compactMap(\.record.id))
        let merges = plan.steps.filter { if case .merge = $0 { return true } else { return false } }
        let targets = Set(plan.steps.compactMap { step -> Int64? in if case .merge(_, _, let target) = step { return target } else { return nil } })
        let fullIndex = try #require(plan.steps.firstIndex { if case .merge(.full, _, _) = $0 { return true } else { return false } })
        #expect(merges.count == 31 - kept.count && kept.count == 6)
        // 3 lines a merge (planned, prepared, done): aim 8 kills at the full merge's lines, the rest anywhere.
        let lines = merges.count * 3
        var random = TestRandomCLI(seed: 0xDEAD)
        var killed = 0, kinds: Set<String> = [], trials = 0
        var phases: [String: Duration] = [:]
        var mark = ContinuousClock.now
        func lap(_ name: String) {
            let now = ContinuousClock.now
            phases[name, default: .zero] += now - mark
            mark = now
        }
        while killed < 32 && trials < 60 {
            let line = trials < 8 ? fullIndex * 3 + Int(random.next(below: 3)) : Int(random.next(below: UInt64(lines)))
            trials += 1
            let repo = chain.directory.appendingPathComponent("trial\(trials)").path
            lap("other")
            try FileManager.default.copyItem(atPath: chain.repository, toPath: repo)
            defer { try? FileManager.default.removeItem(atPath: repo) }
            lap("copy")
            guard try Self.pruneKilled(repo: repo, afterLine: line, delayMicroseconds: UInt32(random.next(below: 3000))) else { continue }
            killed += 1
            lap("killed prune")
            if line / 3 == fullIndex { kinds.insert("full") } else { kinds.insert("increment") }
            // Every listed backup reads as at its take, every file is check-clean, verify finds nothing.
            let repository = try BackupRepository(directory: repo)
            let listed = try repository.catalog.all()
            #expect(kept.isSubset(of: Set(listed.compactMap(\.id))), "trial \(trials): a kept backup is missing")
            // A prune writes only the merge targets' files: each is read whole and checked
            // with qemu-img, with 2 other listed points whose chains may run through them;
            // verify below re-hashes every cluster of every listed file.
            let others = listed.filter { !targets.contains($0.id!) }
            let sample = others.isEmpty ? [] : (0..<2).map { _ in others[Int(random.next(below: UInt64(others.count)))] }
            for record in listed where targets.contains(record.id!) || sample.contains(record) {
                #expect(try Self.read(repository, record.id!) == chain.images[record.id!], "trial \(trials) (killed after line \(line)): backup \(record.id!) differs")
                if targets.contains(record.id!), BackupCLITests.qemuImgAvailable || CLITestSupport.isCI {
                    try BackupCLITests.expectCheckClean(repository.path(of: record))
                }
            }
            lap("reads and checks")
            let report = try BackupVerifier(repository: repository).verify(id: nil)
            #expect(report.findings.isEmpty, "trial \(trials): \(report.findings.prefix(2))")
            lap("verify")
            // The next prune finishes the job.
            let again = try CLITestSupport.run(["backup", "prune", "--repo", repo, "--json"] + Self.policy)
            #expect(again.status == 0, "trial \(trials): \(again.stderr)")
            lap("finishing prune")
            let after = try BackupRepository(directory: repo)
            #expect(Set(try after.catalog.all().compactMap(\.id)) == kept, "trial \(trials): the prune did not finish")
            #expect(try after.catalog.unfinishedMerges().isEmpty)
            for id in kept where id == kept.min() || id == kept.max() {
                #expect(try Self.read(after, id) == chain.images[id], "trial \(trials): backup \(id) differs after the finishing prune")
            }
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        print("prune SIGKILL phases: " + phases.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))
        print("prune SIGKILL: \(killed) kills in \(trials) trials (\(kinds.sorted().joined(separator: ", ")) merges), \(seconds) s")
        #expect(killed >= 30)
        #expect(kinds == ["full", "increment"])
    }
}
