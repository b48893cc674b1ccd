import Foundation

/// Which backup points of a device a prune keeps, in restic's `forget` vocabulary.
///
/// Every rule looks at the device's points newest first. `keepLast` keeps the newest N.
/// Each bucket rule (`keepHourly`, `keepDaily`, `keepWeekly`, `keepMonthly`, `keepYearly`)
/// keeps the newest point of each of the last N hours/days/ISO weeks/months/years (UTC)
/// that have points, counting only buckets that have one. `keepWithin` keeps every point
/// taken within that span before the newest point. A count of -1 means unlimited. A point
/// any rule keeps is kept; the others go (merged into a kept point when one depends on them).
public struct RetentionPolicy: Sendable, Hashable {
    /// Keep the newest N points.
    public var keepLast: Int?
    /// Keep the newest point of each of the last N hours.
    public var keepHourly: Int?
    /// Keep the newest point of each of the last N days.
    public var keepDaily: Int?
    /// Keep the newest point of each of the last N ISO weeks.
    public var keepWeekly: Int?
    /// Keep the newest point of each of the last N months.
    public var keepMonthly: Int?
    /// Keep the newest point of each of the last N years.
    public var keepYearly: Int?
    /// Keep every point taken within this span before the newest.
    public var keepWithin: RetentionDuration?

    /// Creates a policy; nil rules do not apply.
    public init(keepLast: Int? = nil, keepHourly: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil,
                keepMonthly: Int? = nil, keepYearly: Int? = nil, keepWithin: RetentionDuration? = nil) {
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
        self.keepWithin = keepWithin
    }

    /// Whether no rule is given (a prune refuses such a policy: it would remove everything).
    public var isEmpty: Bool {
        keepLast == nil && keepHourly == nil && keepDaily == nil && keepWeekly == nil && keepMonthly == nil
            && keepYearly == nil && keepWithin == nil
    }

    /// The rules as `--keep-…` options, for reports.
    public var description: String {
        var parts: [String] = []
        if let keepLast { parts.append("--keep-last \(keepLast)") }
        if let keepHourly { parts.append("--keep-hourly \(keepHourly)") }
        if let keepDaily { parts.append("--keep-daily \(keepDaily)") }
        if let keepWeekly { parts.append("--keep-weekly \(keepWeekly)") }
        if let keepMonthly { parts.append("--keep-monthly \(keepMonthly)") }
        if let keepYearly { parts.append("--keep-yearly \(keepYearly)") }
        if let keepWithin { parts.append("--keep-within \(keepWithin)") }
        return parts.joined(separator: " ")
    }

    /// Decides, for the points of one device, which are kept and by which rules.
    ///
    /// - Parameter points: the device's backups, in any order.
    /// - Returns: one decision per point, newest first.
    public func apply(to points: [BackupRecord]) -> [RetentionDecision] {
        let sorted = points.sorted { ($0.takenAt, $0.id ?? 0) > ($1.takenAt, $1.id ?? 0) }
        guard let newest = sorted.first else { return [] }
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        struct Bucket {
            let name: String
            var remaining: Int
            let key: (Date) -> Int
            var last: Int?
        }
        func component(_ unit: Calendar.Component, _ date: Date) -> Int { calendar.component(unit, from: date) }
        var buckets: [Bucket] = []
        if let keepHourly {
            buckets.append(Bucket(name: "hourly", remaining: keepHourly, key: { date in
                ((component(.year, date) * 100 + component(.month, date)) * 100 + component(.day, date)) * 100 + component(.hour, date)
            }))
        }
        if let keepDaily {
            buckets.append(Bucket(name: "daily", remaining: keepDaily, key: { date in
                (component(.year, date) * 100 + component(.month, date)) * 100 + component(.day, date)
            }))
        }
        if let keepWeekly {
            buckets.append(Bucket(name: "weekly", remaining: keepWeekly, key: { date in
                component(.yearForWeekOfYear, date) * 100 + component(.weekOfYear, date)
            }))
        }
        if let keepMonthly {
            buckets.append(Bucket(name: "monthly", remaining: keepMonthly, key: { date in
                component(.year, date) * 100 + component(.month, date)
            }))
        }
        if let keepYearly {
            buckets.append(Bucket(name: "yearly", remaining: keepYearly, key: { date in component(.year, date) }))
        }
        let withinStart = keepWithin.map { $0.before(newest.takenAt) }
        var lastRemaining = keepLast ?? 0
        var decisions: [RetentionDecision] = []
        for point in sorted {
            var reasons: [String] = []
            if lastRemaining != 0 {
                reasons.append("last")
                lastRemaining -= 1
            }
            for index in buckets.indices where buckets[index].remaining != 0 {
                let key = buckets[index].key(point.takenAt)
                if buckets[index].last != key {
                    buckets[index].last = key
                    buckets[index].remaining -= 1
                    reasons.append(buckets[index].name)
                }
            }
            if let withinStart, let keepWithin, point.takenAt >= withinStart {
                reasons.append("within \(keepWithin)")
            }
            decisions.append(RetentionDecision(record: point, keepReasons: reasons))
        }
        return decisions
    }
}

/// What a ``RetentionPolicy`` decided for one point.
public struct RetentionDecision: Sendable, Hashable {
    /// The point.
    public var record: BackupRecord
    /// The rules that keep it (`last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`,
    /// `within SPAN`); empty when it goes.
    public var keepReasons: [String]

    /// Whether any rule keeps it.
    public var keep: Bool { !keepReasons.isEmpty }
}
