@testable import BlksnapBackup
import Foundation
import Testing

/// restic's `forget` rules, on hand-computed cases.
@Suite("retention policy")
struct RetentionPolicyTests {
    static let base = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z, a Thursday

    static func point(_ id: Int64, _ hours: Double, parent: Int64? = nil, device: String = "path:/dev/a") -> BackupRecord {
        BackupRecord(id: id, takenAt: base.addingTimeInterval(hours * 3600), devicePath: "/dev/a", deviceKey: device, capacityBytes: 1 << 20,
                     logicalBlockSize: 512, serial: nil, wwn: nil, cbtGeneration: "g", cbtChangesNumber: id, cbtBlockSize: 65536,
                     type: parent == nil ? .full : .incremental, parentId: parent, fullReason: nil, fileName: "f\(id)", fileSize: 0,
                     bytesRead: 0, bytesWritten: 0, changedBytes: 0, dataClusters: 0, zeroClusters: 0, snapshotId: "s", status: .complete)
    }

    static func kept(_ policy: RetentionPolicy, _ points: [BackupRecord]) -> [Int64: [String]] {
        var result: [Int64: [String]] = [:]
        for decision in policy.apply(to: points) where decision.keep { result[decision.record.id!] = decision.keepReasons }
        return result
    }

    @Test("keep-last N keeps the newest N; -1 keeps all")
    func last() {
        let points = (1...5).map { Self.point(Int64($0), Double($0)) }
        #expect(Self.kept(RetentionPolicy(keepLast: 3), points) == [5: ["last"], 4: ["last"], 3: ["last"]])
        #expect(Self.kept(RetentionPolicy(keepLast: -1), points).count == 5)
        #expect(Self.kept(RetentionPolicy(keepLast: 0), points).isEmpty)
    }

    @Test("keep-hourly and keep-daily keep the newest of each bucket that has points, counting only those")
    func buckets() {
        let hourTimes: [Double] = [10 + 5.0 / 60, 10 + 40.0 / 60, 11 + 10.0 / 60, 11 + 50.0 / 60, 12.5]
        let hours: [BackupRecord] = hourTimes.enumerated().map { Self.point(Int64($0.offset + 1), $0.element) }
        #expect(Self.kept(RetentionPolicy(keepHourly: 2), hours) == [5: ["hourly"], 4: ["hourly"]])
        // Day 1 08:00 and 20:00, day 2 09:00, day 4 07:00 and 22:00 (day 3 has none).
        let dayTimes: [Double] = [8, 20, 33, 79, 94]
        let days: [BackupRecord] = dayTimes.enumerated().map { Self.point(Int64($0.offset + 1), $0.element) }
        #expect(Self.kept(RetentionPolicy(keepLast: 1, keepDaily: 2), days) == [5: ["last", "daily"], 3: ["daily"]])
        #expect(Self.kept(RetentionPolicy(keepDaily: 3), days) == [5: ["daily"], 3: ["daily"], 2: ["daily"]])
    }

    @Test("keep-weekly uses ISO weeks (2025-12-29 and 2026-01-01 share one); monthly and yearly")
    func calendarBuckets() {
        let points = [Self.point(1, -72), Self.point(2, 0), Self.point(3, 24 * 4), Self.point(4, 24 * 40), Self.point(5, 24 * 41)]
        // ISO 2026-W01: points 1 (Mon Dec 29) and 2 (Thu Jan 1); W02: 3 (Mon Jan 5); Feb: 4 and 5.
        #expect(Self.kept(RetentionPolicy(keepWeekly: 5), points) == [5: ["weekly"], 3: ["weekly"], 2: ["weekly"]])
        #expect(Self.kept(RetentionPolicy(keepMonthly: -1), points) == [5: ["monthly"], 3: ["monthly"], 1: ["monthly"]])
        #expect(Self.kept(RetentionPolicy(keepYearly: 1), points) == [5: ["yearly"]])
        #expect(Self.kept(RetentionPolicy(keepYearly: 2), points) == [5: ["yearly"], 1: ["yearly"]])
    }

    @Test("keep-within keeps what is within the span of the newest point, border included")
    func within() {
        let points = [Self.point(1, 0), Self.point(2, 1), Self.point(3, 25), Self.point(4, 49)]
        #expect(Self.kept(RetentionPolicy(keepWithin: RetentionDuration(days: 2)), points) == [4: ["within 2d"], 3: ["within 2d"], 2: ["within 2d"]])
        #expect(Self.kept(RetentionPolicy(keepWithin: RetentionDuration(hours: 24)), points) == [4: ["within 24h"], 3: ["within 24h"]])
    }

    @Test("durations parse as restic writes them")
    func durations() {
        #expect(RetentionDuration(parsing: "2y5m7d3h") == RetentionDuration(years: 2, months: 5, days: 7, hours: 3))
        #expect(RetentionDuration(parsing: "1w2d") == RetentionDuration(days: 9))
        #expect(RetentionDuration(parsing: "36h")?.description == "36h")
        for bad in ["", "5", "3x", "0d", "d", "1.5d", "-1d"] { #expect(RetentionDuration(parsing: bad) == nil, "\(bad)") }
        let march31 = Date(timeIntervalSince1970: 1_774_915_200)  // 2026-03-31T00:00:00Z
        #expect(RetentionDuration(months: 1).before(march31) == Date(timeIntervalSince1970: 1_772_236_800))  // 2026-02-28
    }

    @Test("the plan merges removed ancestors into the nearest kept point, deletes the rest newest first, keeps a branching point")
    func plan() {
        // Chain 1 <- 2 <- 3 <- 4 <- 5 <- 6, keep 3 and 6 (hand-picked through keep-within on times).
        var points: [BackupRecord] = []
        for index in 1...6 {
            let parent: Int64? = index == 1 ? nil : Int64(index - 1)
            points.append(Self.point(Int64(index), Double(index) * 24, parent: parent))
        }
        let policy = RetentionPolicy(keepLast: 1, keepDaily: -1)
        #expect(PrunePlan.make(policy: policy, records: points).steps.isEmpty)
        let lastTwo = PrunePlan.make(policy: RetentionPolicy(keepLast: 2), records: points)
        let expectedMerges: [PruneStep] = [.merge(kind: .increment, sourceID: 4, targetID: 5), .merge(kind: .increment, sourceID: 3, targetID: 5),
                                           .merge(kind: .increment, sourceID: 2, targetID: 5), .merge(kind: .full, sourceID: 1, targetID: 5)]
        #expect(lastTwo.steps == expectedMerges)
        // A second device, and points after the last kept one of a chain (a newer chain of one point follows).
        points.append(Self.point(7, 200))
        points.append(Self.point(8, 10, device: "path:/dev/b"))
        let plan = PrunePlan.make(policy: RetentionPolicy(keepLast: 1), records: points)
        let expectedDeletions: [PruneStep] = (1...6).reversed().map { .delete(id: Int64($0)) }
        #expect(plan.steps == expectedDeletions)
        let keptIDs: [Int64?] = plan.points.filter { $0.keep }.map { $0.record.id }
        #expect(keptIDs == [7, 8])
        // A removed point two kept points depend on stays.
        let branch = [Self.point(1, 0), Self.point(2, 1, parent: 1), Self.point(3, 2, parent: 1)]
        let branched = PrunePlan.make(policy: RetentionPolicy(keepLast: 2), records: branch)
        #expect(branched.steps.isEmpty)
        #expect(branched.points.first { $0.record.id == 1 }?.keepReasons == ["2 backups depend on it"])
    }
}
