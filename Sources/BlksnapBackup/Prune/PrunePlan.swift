/// One step of a prune, in the order it runs.
public enum PruneStep: Sendable, Hashable {
    /// Merge `source` into the kept `target` (the nearest kept point that depends on it).
    case merge(kind: MergeKind, sourceID: Int64, targetID: Int64)
    /// Delete `id`: no kept point depends on it.
    case delete(id: Int64)
}

/// What happens to one point in a prune.
public struct PrunePointPlan: Sendable, Hashable {
    /// The point.
    public var record: BackupRecord
    /// Why it is kept (the policy's rules, or `N backups depend on it`); empty when it goes.
    public var keepReasons: [String]
    /// When it goes: the kept point it is merged into, nil when it is just deleted.
    public var mergedInto: Int64?

    /// Whether it stays.
    public var keep: Bool { !keepReasons.isEmpty }
}

/// What a prune does to a repository: per device, the policy's decision for each point,
/// and the merges and deletions that carry it out so that every kept point reads as before.
///
/// A removed point that a kept point depends on is merged into the nearest kept point
/// that depends on it: the removed ancestors of a kept point C, nearest first, are merged
/// one after another into C (each copies only what C does not hold yet), the last one being
/// the chain's full backup when the policy removes it (C becomes full). Removed points no
/// kept point depends on are deleted, newest first. A point with several children (the
/// package never writes such a tree, but a catalog could hold one) is kept.
public struct PrunePlan: Sendable, Hashable {
    /// Every point, grouped by device (device key order), newest first within a device.
    public var points: [PrunePointPlan]
    /// The steps, in order: merges first, then deletions.
    public var steps: [PruneStep]

    /// Plans `policy` over `records` (the catalog's backups).
    public static func make(policy: RetentionPolicy, records: [BackupRecord]) -> PrunePlan {
        var points: [PrunePointPlan] = []
        var merges: [PruneStep] = []
        var deletions: [Int64] = []
        let byID = Dictionary(records.compactMap { record in record.id.map { ($0, record) } }, uniquingKeysWith: { first, _ in first })
        var children: [Int64: [Int64]] = [:]
        for record in records { if let parent = record.parentId, let id = record.id { children[parent, default: []].append(id) } }
        let devices = Dictionary(grouping: records, by: \.deviceKey)
        for key in devices.keys.sorted() {
            let decisions = policy.apply(to: devices[key] ?? [])
            var reasons: [Int64: [String]] = [:]
            for decision in decisions { reasons[decision.record.id ?? 0] = decision.keepReasons }
            for decision in decisions {
                let id = decision.record.id ?? 0
                if !decision.keep, let kids = children[id], kids.count > 1 {
                    reasons[id] = ["\(kids.count) backups depend on it"]
                }
            }
            var mergedInto: [Int64: Int64] = [:]
            // Each kept point absorbs its removed ancestors, nearest first, up to a kept one.
            for record in (devices[key] ?? []).sorted(by: { ($0.id ?? 0) < ($1.id ?? 0) }) {
                guard let target = record.id, reasons[target]?.isEmpty == false else { continue }
                var next = record.parentId
                while let current = next, let ancestor = byID[current], reasons[current]?.isEmpty != false {
                    let kind: MergeKind = ancestor.parentId == nil ? .full : .increment
                    merges.append(.merge(kind: kind, sourceID: current, targetID: target))
                    mergedInto[current] = target
                    next = ancestor.parentId
                }
            }
            for decision in decisions {
                let id = decision.record.id ?? 0
                let keep = reasons[id] ?? []
                if keep.isEmpty && mergedInto[id] == nil { deletions.append(id) }
                points.append(PrunePointPlan(record: decision.record, keepReasons: keep, mergedInto: mergedInto[id]))
            }
        }
        return PrunePlan(points: points, steps: merges + deletions.sorted(by: >).map { .delete(id: $0) })
    }
}
