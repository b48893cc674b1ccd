import Foundation

/// What ``BackupPruner`` reports while it runs, in order.
public enum PruneEvent: Sendable {
    /// A leftover file of an interrupted run was deleted.
    case removedLeftover(fileName: String)
    /// A merge a crash left unfinished is being redone.
    case resuming(MergeRecord)
    /// A merge is recorded in the catalog (before its first write).
    case mergePlanned(MergeRecord)
    /// Its clusters are appended, synced and in the catalog; the header switch is next.
    case mergePrepared(MergeRecord)
    /// The target's header is switched and the catalog committed; the source is gone.
    case mergeDone(MergeRecord)
    /// A point no kept point depends on was deleted.
    case deleted(BackupRecord)
}

/// What a prune did (or, with `dryRun`, would do).
public struct PruneResult: Sendable {
    /// The plan (made after unfinished merges were finished).
    public var plan: PrunePlan
    /// Merges a crash had left unfinished, finished first (with `dryRun`: still to finish).
    public var resumed: [MergeRecord]
    /// The merges done, in order.
    public var merges: [MergeRecord]
    /// The points deleted.
    public var deleted: [BackupRecord]
    /// Whether nothing was changed.
    public var dryRun: Bool
}

/// `backup prune`: applies a ``RetentionPolicy`` to a repository, merging every removed
/// point that a kept point depends on into it (``PrunePlan``) and deleting the others.
///
/// Each merge is crash-safe and redoable: it is recorded (``MergeState/planned``) before
/// its first write; the target's file only grows (``QCOW2MergeAppender``: the source's
/// clusters it lacks, new tables and refcounts, all past its old end) until a single header
/// write switches it, after the catalog holds the new clusters' hashes
/// (``MergeState/prepared``); then one transaction moves the target onto its new parent
/// and drops the source (``MergeState/done``), whose file is deleted last. A killed prune
/// leaves every listed point readable (old or new layout, both consistent with the catalog,
/// which ``BackupChainReader`` accepts) and the next prune finishes the merge first.
///
/// Readers (`backup restore`, `backup serve`) never wait: one that has a chain open keeps
/// reading the old layout (nothing it references is overwritten, an unlinked source stays
/// readable through its descriptor); one that opens during a merge gets either layout.
/// Prune and `backup create` exclude each other through the repository's writer lock.
public struct BackupPruner {
    /// The repository.
    public let repository: BackupRepository
    private let onEvent: (PruneEvent) -> Void

    /// Creates a pruner; `onEvent` is called on the calling thread as steps complete.
    public init(repository: BackupRepository, onEvent: @escaping (PruneEvent) -> Void = { _ in }) {
        self.repository = repository
        self.onEvent = onEvent
    }

    /// Finishes unfinished merges, then applies `policy` (or only plans, with `dryRun`).
    /// With `checkSources`, every cluster a merge copies is hashed and checked against the
    /// catalog first, and a damaged one stops the prune before that merge switches anything;
    /// without, the catalog's hash travels with the cluster, so a damaged one stays detected
    /// by every read and `backup verify` of the kept point, as it was before the merge.
    ///
    /// - Throws: ``BackupError`` `.refused` for an empty policy or while another writer
    ///   holds the repository; `.corrupted` when a file to merge does not match the catalog
    ///   (nothing of that merge has been switched; the prune stops).
    public func prune(policy: RetentionPolicy, dryRun: Bool = false, checkSources: Bool = false) throws(BackupError) -> PruneResult {
        guard !policy.isEmpty else {
            throw BackupError(.refused, "no --keep-… rule was given (EINVAL): a prune without one would remove every backup; give at least one", errno: .invalidArgument)
        }
        let catalog = repository.catalog
        let replacing = repository.storage as? any PointReplacingStorage
        let owned = { (record: BackupRecord) in replacing?.isOwned(record.fileName) ?? true }
        if dryRun {
            let unfinished = try catalog.unfinishedMerges()
            var records = try catalog.all().filter(owned)
            for merge in unfinished {
                records.removeAll { $0.id == merge.sourceId }
                if let index = records.firstIndex(where: { $0.id == merge.targetId }) {
                    records[index].parentId = merge.newParentId
                    if merge.newParentId == nil { records[index].type = .full }
                }
            }
            return PruneResult(plan: PrunePlan.make(policy: policy, records: records), resumed: unfinished, merges: [],
                               deleted: [], dryRun: true)
        }
        if let replacing {
            return try pruneByCopy(policy: policy, storage: replacing, owned: owned)
        }
        guard repository.storage.localDirectory == repository.directory else {
            throw BackupError(.refused, "pruning \(repository.location) is not supported (ENOTSUP): merges rewrite files in place, which only a repository in a directory of this host allows; 'backup prune --dry-run' shows the plan", errno: .notSupported)
        }
        try repository.lockForWriting()
        for name in try repository.removeLeftovers() { onEvent(.removedLeftover(fileName: name)) }
        var resumed: [MergeRecord] = []
        for merge in try catalog.unfinishedMerges() {
            onEvent(.resuming(merge))
            resumed.append(try perform(merge, checkSources: checkSources))
        }
        let plan = PrunePlan.make(policy: policy, records: try catalog.all())
        let (merges, deleted) = try apply(plan, merging: { (source, target) throws(BackupError) in
            let kind: MergeKind = source.parentId == nil ? .full : .increment
            let planned = try catalog.beginMerge(MergeRecord(kind: kind, source: source, targetId: target.id ?? 0,
                                                             targetOldSize: target.fileSize, startedAt: Date()))
            onEvent(.mergePlanned(planned))
            return try perform(planned, checkSources: checkSources)
        }, deleting: { (record) throws(BackupError) in
            try catalog.deleteBackup(id: record.id ?? 0)
            HostFile.remove(repository.path(of: record))
            try HostFile.syncDirectory(repository.directory)
        })
        return PruneResult(plan: plan, resumed: resumed, merges: merges, deleted: deleted, dryRun: false)
    }

    /// The prune on storage whose files cannot change (``PointReplacingStorage``): each
    /// merge writes the target anew and swaps it in (``CopyingMerge``); the plan covers the
    /// points this host owns.
    private func pruneByCopy(policy: RetentionPolicy, storage: any PointReplacingStorage,
                             owned: (BackupRecord) -> Bool) throws(BackupError) -> PruneResult {
        let catalog = repository.catalog
        try repository.lockForWriting()
        for name in try repository.removeLeftovers() { onEvent(.removedLeftover(fileName: name)) }
        let plan = PrunePlan.make(policy: policy, records: try catalog.all().filter(owned))
        let (merges, deleted) = try apply(plan, merging: { (source, target) throws(BackupError) in
            var merge = MergeRecord(kind: source.parentId == nil ? .full : .increment, source: source, targetId: target.id ?? 0,
                                    targetOldSize: target.fileSize, startedAt: Date())
            onEvent(.mergePlanned(merge))
            let outcome = try CopyingMerge(repository: repository, storage: storage).merge(source: source, into: target)
            merge.state = .done
            merge.targetNewSize = outcome.record.fileSize
            merge.clustersCopied = Int64(outcome.clustersCopied)
            merge.bytesCopied = Int64(outcome.clustersCopied) * Int64(QCOW2Format.clusterSize)
            merge.bytesWritten = Int64(outcome.bytesWritten)
            merge.finishedAt = Date()
            onEvent(.mergeDone(merge))
            return merge
        }, deleting: { (record) throws(BackupError) in
            try storage.deletePoint(record)
            try catalog.deleteBackup(id: record.id ?? 0)
        })
        return PruneResult(plan: plan, resumed: [], merges: merges, deleted: deleted, dryRun: false)
    }

    /// Carries out `plan`'s steps in order: `merging` a source into its target (checked to
    /// still be its child), `deleting` a point; reports each deletion. Returns what was done.
    private func apply(_ plan: PrunePlan, merging: (BackupRecord, BackupRecord) throws(BackupError) -> MergeRecord,
                       deleting: (BackupRecord) throws(BackupError) -> Void) throws(BackupError) -> ([MergeRecord], [BackupRecord]) {
        var merges: [MergeRecord] = []
        var deleted: [BackupRecord] = []
        for step in plan.steps {
            switch step {
            case .merge(_, let sourceID, let targetID):
                let (source, target) = try pair(sourceID, into: targetID)
                merges.append(try merging(source, target))
            case .delete(let id):
                let record = try repository.record(id: id)
                try deleting(record)
                onEvent(.deleted(record))
                deleted.append(record)
            }
        }
        return (merges, deleted)
    }

    /// The records of a merge step's source and target, refusing a target that no longer
    /// names the source as its parent.
    private func pair(_ sourceID: Int64, into targetID: Int64) throws(BackupError) -> (source: BackupRecord, target: BackupRecord) {
        let source = try repository.record(id: sourceID)
        let target = try repository.record(id: targetID)
        guard target.parentId == sourceID else {
            throw BackupError(.corrupted, "backup \(targetID) should depend on \(sourceID) at this step of the prune, but names parent \(target.parentId.map(String.init) ?? "none"): the catalog changed under the prune; run it again")
        }
        return (source, target)
    }

    /// Carries `merge` from its recorded state to ``MergeState/done`` (idempotent at every state).
    private func perform(_ merge: MergeRecord, checkSources: Bool) throws(BackupError) -> MergeRecord {
        let catalog = repository.catalog
        var merge = merge
        var headerBytes = Int.max
        let target = try repository.record(id: merge.targetId)
        let targetPath = repository.path(of: target)
        if merge.state == .planned {
            let source = try repository.record(id: merge.sourceId)
            var hashes: [UInt64: [UInt8]] = [:]
            for cluster in try catalog.clusters(of: merge.sourceId) where cluster.kind == .data {
                hashes[cluster.fileOffset] = cluster.sha256
            }
            let backing = try merge.newParentId.map { (parent) throws(BackupError) in try repository.record(id: parent).fileName }
            let appended = try QCOW2MergeAppender.append(targetPath: targetPath, targetOldSize: UInt64(merge.targetOldSize),
                                                         sourcePath: repository.path(of: source), sourceHashes: hashes,
                                                         newBackingFile: backing, checkHashes: checkSources)
            merge.targetNewSize = Int64(appended.newSize)
            merge.newHeader = Data(appended.header)
            merge.deadOffsets = appended.deadOffsets.map(String.init).joined(separator: ",")
            merge.clustersCopied = Int64(appended.clustersCopied)
            merge.bytesCopied = Int64(appended.bytesCopied)
            merge.bytesWritten = Int64(appended.bytesWritten)
            headerBytes = appended.headerUsedBytes
            try catalog.prepareMerge(merge, appended: appended.appended)
            merge.state = .prepared
            onEvent(.mergePrepared(merge))
        }
        if merge.state == .prepared {
            guard let header = merge.newHeader.map(Array.init) else {
                throw BackupError(.corrupted, "merge \(merge.id ?? 0) of backup \(merge.sourceId) into \(merge.targetId) is prepared but holds no header: the catalog is damaged")
            }
            try QCOW2MergeAppender.switchHeader(of: targetPath, to: header, usedBytes: headerBytes)
            let digest = header.withUnsafeBytes { QCOW2Writer.sha256($0) }
            let finishedAt = Date()
            try catalog.finishMerge(merge, headerSHA256: digest, finishedAt: finishedAt)
            merge.state = .done
            merge.newHeader = nil
            merge.finishedAt = finishedAt
            HostFile.remove(repository.path(of: merge.sourceFileName))
            try HostFile.syncDirectory(repository.directory)
            onEvent(.mergeDone(merge))
        }
        return merge
    }
}
