@testable import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import Testing

/// `--pre-snapshot`/`--post-snapshot` around `BackupRun`'s take, on the in-process
/// simulator with real `/bin/sh` hooks: a failing or slow pre hook leaves nothing taken, the
/// post hook runs after a failed take too, and the catalog records the consistency.
@Suite("backup hooks on the in-process simulator")
struct BackupHookTests {
    /// Runs a backup of the fixture's device with `hooks`; storage on the device itself
    /// (refused by the session, so the take fails) when `failTake`.
    static func run(_ fixture: BackupRunTests.Fixture, _ repository: BackupRepository, hooks: SnapshotHooks,
                    failTake: Bool = false) throws -> BackupRunResult {
        let provider = try DeviceRangeProvider(kernel: fixture.backend, devicePath: failTake ? fixture.device : fixture.storage)
        let run = BackupRun(repository: repository, kernel: fixture.backend,
                            configuration: SessionConfiguration(devices: [fixture.device], pollMilliseconds: 10, hz: 1000),
                            storage: provider, blockBytes: 1 << 20, hooks: hooks)
        return try run.run()
    }

    static func snapshots(_ fixture: BackupRunTests.Fixture) throws -> [SnapshotID] {
        let control = try Control(kernel: fixture.backend)
        defer { try? control.close() }
        return try control.collectSnapshots()
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    @Test("a pre hook exiting non-zero aborts with nothing taken; the post hook still runs, told the take failed")
    func failingPreHook() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let marker = directory.path + "/post"
        let hooks = SnapshotHooks(preSnapshot: "echo \"$BLKSNAP_HOOK $BLKSNAP_DEVICES\" > \(directory.path)/pre; exit 3",
                                  postSnapshot: "echo \"$BLKSNAP_TAKE\" > \(marker)")
        do {
            _ = try Self.run(fixture, repository, hooks: hooks)
            Issue.record("the backup ran although the pre hook failed")
        } catch let error as BackupError {
            #expect(error.kind == .refused)
            #expect(error.message.contains("exited 3") && error.message.contains("nothing was taken"), "\(error.message)")
        }
        #expect(Self.read(directory.path + "/pre") == "pre-snapshot \(fixture.device)")
        #expect(Self.read(marker) == "failed")
        #expect(try Self.snapshots(fixture).isEmpty, "no snapshot left")
        #expect(try repository.catalog.all().isEmpty)
    }

    @Test("a pre hook running past --hook-timeout is killed (with what it started) and nothing is taken")
    func timedOut() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let started = ContinuousClock.now
        do {
            _ = try Self.run(fixture, repository, hooks: SnapshotHooks(preSnapshot: "sleep 30; touch \(directory.path)/late",
                                                                     timeoutSeconds: 0.3))
            Issue.record("the backup ran although the pre hook timed out")
        } catch let error as BackupError {
            #expect(error.errno == .timedOut)
            #expect(error.message.contains("ETIMEDOUT"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try Self.snapshots(fixture).isEmpty)
        #expect(try repository.catalog.all().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/late"), "the hook's shell was killed")
    }

    @Test("the post hook runs after a take that failed")
    func postAfterFailedTake() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        let marker = directory.path + "/post"
        #expect(throws: BackupError.self) {
            _ = try Self.run(fixture, repository, hooks: SnapshotHooks(preSnapshot: "true", postSnapshot: "echo \"$BLKSNAP_TAKE\" > \(marker)"),
                             failTake: true)
        }
        #expect(Self.read(marker) == "failed")
        #expect(try Self.snapshots(fixture).isEmpty)
        #expect(try repository.catalog.all().isEmpty)
    }

    @Test("consistency: application with hooks that exit 0, crash without hooks or when the post hook fails")
    func consistency() throws {
        let fixture = try BackupRunTests.Fixture()
        let directory = try TemporaryDirectory()
        let repository = try BackupRepository(directory: directory.path + "/repo", create: true)
        try fixture.write(DataPattern(seed: 4).bytes(atByte: 0, count: 1 << 20), at: 0)
        let marker = directory.path + "/post"
        let quiesced = try Self.run(fixture, repository, hooks: SnapshotHooks(
            preSnapshot: "test \"$BLKSNAP_HOOK\" = pre-snapshot", postSnapshot: "echo \"$BLKSNAP_HOOK $BLKSNAP_TAKE\" > \(marker)"))
        #expect(quiesced.consistency == .application)
        #expect(Self.read(marker) == "post-snapshot ok")
        let plain = try Self.run(fixture, repository, hooks: SnapshotHooks())
        #expect(plain.consistency == .crash)
        let released = try Self.run(fixture, repository, hooks: SnapshotHooks(preSnapshot: "true", postSnapshot: "exit 1"))
        #expect(released.consistency == .crash, "a failed post hook: the application may not have been quiesced as asked")
        let records = try repository.catalog.all()
        #expect(records.map(\.consistency) == [.application, .crash, .crash])
        #expect(records.count == 3)
    }
}
