import Foundation

/// The merges behind a backup: what a prune merged into it, and, recursively, into the
/// points it absorbed.
public enum MergeHistory {
    /// The merges whose target is one of `ids` or one of the sources merged into them
    /// (transitively), oldest first.
    public static func merges(into ids: Set<Int64>, from all: [MergeRecord]) -> [MergeRecord] {
        var wanted = ids
        var result: [MergeRecord] = []
        var changed = true
        while changed {
            changed = false
            for merge in all where wanted.contains(merge.targetId) && !result.contains(where: { $0.id == merge.id }) {
                result.append(merge)
                wanted.insert(merge.sourceId)
                changed = true
            }
        }
        return result.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }

    /// One line: `backup 5 (taken …) merged into 7 (full merge) on …`, or its state when unfinished.
    public static func line(_ merge: MergeRecord, format: (Date) -> String) -> String {
        let kind = merge.kind == .full ? "full backup" : "increment"
        var text = "\(kind) \(merge.sourceId) (taken \(format(merge.sourceTakenAt)), \(merge.sourceFileName)) merged into \(merge.targetId)"
        if let finished = merge.finishedAt {
            text += " on \(format(finished)): \(merge.clustersCopied) clusters, \(merge.bytesCopied) data bytes copied, \(merge.bytesWritten) bytes written"
        } else {
            text += ": unfinished (\(merge.state.rawValue) since \(format(merge.startedAt))); the next 'backup prune' finishes it"
        }
        return text
    }
}
