@testable import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import Testing

/// `BackupProgressMeter`: rate-limited samples, each device's first and last report, one
/// summary whose counts are the last reports', the stream finished; and a `BackupRun`'s
/// stream on the in-process simulator, consistent with the backups it commits.
@Suite("backup progress as an AsyncSequence")
struct BackupProgressMeterTests {
    static func collect(_ meter: BackupProgressMeter) -> Task<[BackupProgressEvent], Never> {
        Task {
            var events: [BackupProgressEvent] = []
            for await event in meter.events { events.append(event) }
            return events
        }
    }

    @Test("samples every byteInterval and on first and last reports; summary last; the stream ends")
    func byteInterval() async {
        // An hour between samples: only the byte interval (1 MiB) and the edges yield.
        let meter = BackupProgressMeter(phase: .backup, interval: .seconds(3600), byteInterval: 1 << 20)
        let events = Self.collect(meter)
        let total: UInt64 = 4 << 20
        for read in stride(from: UInt64(0), through: total, by: 256 << 10) {
            meter.record(BackupProgress(deviceIndex: 0, devicePath: "/dev/a", bytesRead: read, bytesWritten: read,
                                        bytesTotal: total))
        }
        meter.record(BackupProgress(deviceIndex: 0, devicePath: "/dev/a", bytesRead: total, bytesWritten: total + 4096,
                                    bytesTotal: total, finished: true))
        // A device with nothing to read still reports its start and end.
        meter.record(BackupProgress(deviceIndex: 1, devicePath: "/dev/b", bytesRead: 0, bytesWritten: 65536, bytesTotal: 0))
        meter.record(BackupProgress(deviceIndex: 1, devicePath: "/dev/b", bytesRead: 0, bytesWritten: 196_608, bytesTotal: 0,
                                    finished: true))
        meter.finish()
        meter.finish(failure: "ignored: the meter is finished")
        meter.record(BackupProgress(deviceIndex: 0, devicePath: "/dev/a", bytesRead: 1, bytesWritten: 1, bytesTotal: 1))
        let received = await events.value

        let samples = received.compactMap { event -> BackupProgressSample? in
            if case .progress(let sample) = event { return sample }
            return nil
        }
        #expect(samples.map(\.counts.deviceIndex) == [0, 0, 0, 0, 0, 0, 1, 1])
        let mebibyte: UInt64 = 1 << 20
        let reads: [UInt64] = [0, mebibyte, 2 * mebibyte, 3 * mebibyte, 4 * mebibyte, 4 * mebibyte]
        #expect(samples.prefix(6).map(\.counts.bytesRead) == reads)
        #expect(samples.map(\.counts.finished) == [false, false, false, false, false, true, false, true])
        #expect(samples[0].etaSeconds == nil, "no rate yet with bytes left: the ETA is unknown")
        #expect(samples[5].etaSeconds == 0)
        #expect(samples.allSatisfy { $0.phase == .backup })
        guard case .summary(let summary)? = received.last else {
            Issue.record("the last event is not the summary: \(received)")
            return
        }
        #expect(received.count == samples.count + 1, "exactly one summary, after every sample")
        #expect(summary.failure == nil)
        #expect(summary.devices == [samples[5].counts, samples[7].counts])
        #expect(summary.bytesRead == total)
        #expect(summary.bytesWritten == total + 4096 + 196_608)
        #expect(summary.bytesTotal == total)
    }

    @Test("the interval yields samples between byte intervals; a failure is the summary's")
    func timeIntervalAndFailure() async throws {
        let meter = BackupProgressMeter(phase: .restore, interval: .milliseconds(20), byteInterval: .max)
        let events = Self.collect(meter)
        for read in 0..<4 {
            meter.record(BackupProgress(deviceIndex: 0, devicePath: "/tmp/t", bytesRead: UInt64(read) << 20, bytesWritten: 0,
                                        bytesTotal: 100 << 20))
            try await Task.sleep(for: .milliseconds(30))
        }
        meter.finish(failure: "disk full")
        let received = await events.value
        #expect(received.count == 5, "each report came after the interval: \(received)")
        guard case .summary(let summary)? = received.last else {
            Issue.record("no summary last: \(received)")
            return
        }
        #expect(summary.failure == "disk full")
        #expect(summary.phase == .restore)
        #expect(summary.bytesRead == 3 << 20)
        if case .progress(let last) = received[3] {
            #expect(last.bytesPerSecond > 0)
            #expect(last.etaSeconds.map { $0 > 0 } == true)
        }
    }

    @Test("a BackupRun's stream: in order, ends with its summary, which equals the committed backups")
    func backupRunStream() async throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 25).bytes(atByte: 0, count: BackupRunTests.deviceBytes), at: 0)
        let provider = try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storage)
        // Samples per MiB: the 8 MiB device gives several.
        let meter = BackupProgressMeter(phase: .backup, interval: .seconds(3600), byteInterval: 1 << 20)
        let events = Self.collect(meter)
        let run = BackupRun(repository: repository, kernel: fixture.backend,
                            configuration: SessionConfiguration(devices: [fixture.device], pollMilliseconds: 10, hz: 1000),
                            storage: provider, blockBytes: 1 << 20, progress: meter)
        let result = try run.run()
        let received = await events.value
        let record = try #require(result.records.first)

        let samples = received.compactMap { event -> BackupProgressSample? in
            if case .progress(let sample) = event { return sample }
            return nil
        }
        #expect(samples.count >= 9, "0, then every MiB of 8 MiB, then the final counts: \(samples.count)")
        #expect(samples.first?.counts.bytesRead == 0)
        #expect(zip(samples, samples.dropFirst()).allSatisfy { $0.counts.bytesRead <= $1.counts.bytesRead },
                "bytes read never go back")
        #expect(samples.dropLast().allSatisfy { !$0.counts.finished })
        let last = try #require(samples.last)
        #expect(last.counts.finished)
        #expect(last.counts.bytesRead == UInt64(record.bytesRead))
        #expect(last.counts.bytesWritten == UInt64(record.bytesWritten), "the file's size, tables included")
        guard case .summary(let summary)? = received.last else {
            Issue.record("the last event is not the summary")
            return
        }
        #expect(summary.failure == nil)
        #expect(summary.devices == [last.counts])
        #expect(summary.bytesRead == UInt64(record.bytesRead))
        #expect(summary.bytesWritten == UInt64(record.bytesWritten))

        // The restore of that backup: its stream ends with the summary of what it wrote.
        let restoreMeter = BackupProgressMeter(phase: .restore)
        let restoreEvents = Self.collect(restoreMeter)
        let target = directory.path + "/restored.raw"
        let restored = try BackupRestorer(repository: repository).restore(id: try #require(record.id), to: target,
                                                                          progress: restoreMeter)
        guard case .summary(let restoreSummary)? = await restoreEvents.value.last else {
            Issue.record("the restore's last event is not the summary")
            return
        }
        #expect(restoreSummary.phase == .restore)
        #expect(restoreSummary.bytesWritten == restored.bytesWritten)
        #expect(restoreSummary.bytesRead == restored.virtualSize)
        #expect(restoreSummary.devices.map(\.devicePath) == [target])
    }

    @Test("a failed run finishes its stream with the error")
    func failedRun() async throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let provider = try DeviceRangeProvider(kernel: fixture.backend, devicePath: fixture.storage)
        let meter = BackupProgressMeter(phase: .backup)
        let events = Self.collect(meter)
        let run = BackupRun(repository: repository, kernel: fixture.backend,
                            configuration: SessionConfiguration(devices: [fixture.device], pollMilliseconds: 10, hz: 1000),
                            storage: provider, hooks: SnapshotHooks(preSnapshot: "exit 3"), progress: meter)
        let error = #expect(throws: BackupError.self) { try run.run() }
        guard case .summary(let summary)? = await events.value.last else {
            Issue.record("the last event is not the summary")
            return
        }
        #expect(summary.failure == error?.message)
        #expect(summary.devices.isEmpty, "the hook failed before any copy")
    }
}
