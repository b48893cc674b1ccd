import BlksnapBackup
import BlksnapObjectStore

/// Runs every measurement of issue 6 and assembles the figures.
public enum Benchmark {
    /// Every figure key a run produces, in order (the smoke test checks them).
    public static let figureKeys: [String] = {
        var keys = ["cow_first_touch", "rewrite", "image_read_0", "image_read_50", "image_read_100",
                    "version_in_process_p50", "version_in_process_p99", "version_socket_p50", "version_socket_p99",
                    "memory_bytes_per_chunk", "memory_16tib_heap", "memory_16tib_resident"]
        for label in ["1GiB", "64GiB", "16TiB"] { keys += ["scaling_size_\(label)", "scaling_size_\(label)_memory"] }
        for count in [1, 4, 16] { keys += ["scaling_devices_\(count)", "scaling_devices_\(count)_memory"] }
        keys.append("cli_version")
        keys += ["backup_full_vs_read", "backup_full_vs_qemu_img", "backup_incremental_read_ratio", "backup_incremental_time_ratio"]
        keys += ["backup_zstd_size_vs_qemu_img", "backup_zstd_vs_qemu_img"]
        keys += ["nbd_copy_vs_pread", "nbd_copy_vs_qemu_nbd", "nbd_block_status_16tib"]
        keys += ["events_cancel_p50", "events_cancel_max", "events_cancel_thread_free_max"]
        keys += ["prune_merge_vs_copy", "prune_merge_written_ratio"]
        keys += ["resync_vs_full_time", "resync_stored_ratio"]
        keys += ["delta_restore_vs_full_time", "delta_restore_written_ratio", "delta_restore_cbt_vs_full_time", "delta_restore_cbt_written_ratio"]
        keys += objectStoreKeys
        return keys
    }()

    /// Runs the benchmark; `progress` gets a line before each step.
    public static func run(_ configuration: BenchConfiguration,
                           progress: (String) -> Void = { _ in }) throws(BenchError) -> BenchReport {
        ProcessMemory.useSingleArena()
        let start = BenchClock.nanoseconds()
        let scratch = try ScratchDirectory(base: configuration.baseDirectory)
        defer { scratch.remove() }
        var figures: [BenchFigure] = []
        if configuration.runs(1) { figures += try firstTouch(configuration, scratch, progress) }
        if configuration.runs(2) { figures += try rewrites(configuration, scratch, progress) }
        if configuration.runs(3) { figures += try imageReads(configuration, scratch, progress) }
        var cliFigures: [BenchFigure] = []
        if configuration.runs(4) || configuration.runs(7) {
            let (trips, cli) = try controlPlane(configuration, scratch, progress)
            figures += trips
            cliFigures = cli
        }
        if configuration.runs(5) { figures += try memory(configuration, scratch, progress) }
        if configuration.runs(6) { figures += try scaling(configuration, scratch, progress) }
        figures += cliFigures
        if configuration.runs(8) { figures += try backups(configuration, scratch, progress) }
        if configuration.runs(9) { figures += try nbdExports(configuration, scratch, progress) }
        if configuration.runs(10) { figures += try eventCancellations(configuration, progress) }
        if configuration.runs(11) { figures += try prunes(configuration, scratch, progress) }
        if configuration.runs(12) { figures += try resyncs(configuration, scratch, progress) }
        if configuration.runs(13) { figures += try deltaRestores(configuration, scratch, progress) }
        if configuration.runs(14) { figures += try objectStores(configuration, scratch, progress) }
        let seconds = Double(BenchClock.nanoseconds() - start) / 1e9
        return BenchReport(figures: figures, quick: configuration.quick, repetitions: max(1, configuration.repetitions),
                           directory: configuration.baseDirectory, seconds: seconds)
    }

    private static func ratio(_ measured: [Double], _ baseline: [Double]) -> BenchSummary? {
        BenchSummary(zip(measured, baseline).map { $0 / $1 })
    }

    private static func firstTouch(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        var figures: [BenchFigure] = []
        let repetitions = max(1, configuration.repetitions)
        let touch = FirstTouchBenchmark(scratch: scratch)
        progress("1/7 COW first-touch writes")
        var samples: [FirstTouchBenchmark.Sample] = []
        for repetition in 0..<repetitions {
            samples.append(try touch.repetition(deviceBytes: configuration.cowDeviceBytes, deviceCount: 1,
                                                writes: min(configuration.firstTouchWrites,
                                                            Int(configuration.cowDeviceBytes / FirstTouchBenchmark.chunkBytes)),
                                                seed: 100 + UInt64(repetition), simFirst: repetition % 2 == 0))
        }
        figures.append(firstTouchFigure(key: "cow_first_touch", title: "1 COW first-touch 4 KiB writes",
                                        samples, note: "random 4 KiB writes, each to an uncopied chunk of a "
                                            + "\(bytesText(configuration.cowDeviceBytes)) file-backed device with a taken snapshot, "
                                            + "÷ the ideal COW loop (pread chunk, pwrite it to storage, pwrite data) on the same kind of files"))
        return figures
    }

    private static func rewrites(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        var figures: [BenchFigure] = []
        progress("2/7 rewrites of copied chunks")
        let rewrites = try RewriteBenchmark(configuration: configuration, scratch: scratch).run()
        let tracked = rewrites.map { $0.trackedNanosecondsPerWrite / 1000 }
        let untracked = rewrites.map { $0.untrackedNanosecondsPerWrite / 1000 }
        figures.append(BenchFigure(key: "rewrite", title: "2 rewrites of copied chunks",
                                   unit: "x", value: BenchSummary(rewrites.map { $0.untrackedNanosecondsPerWrite / $0.trackedNanosecondsPerWrite }),
                                   measured: BenchSummary(tracked), baseline: BenchSummary(untracked), measuredUnit: "us/write",
                                   target: ">= 0.90", check: { $0 >= 0.90 },
                                   note: "throughput of random 4 KiB writes to already-copied chunks of the tracked original "
                                       + "÷ the same writes to an untracked simulated device of the same size"))
        return figures
    }

    private static func backups(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("8/8 backup create")
        let samples = try BackupBenchmark(configuration: configuration, scratch: scratch).run()
        let size = Double(configuration.backupDeviceBytes) / Double(1 << 20)
        let mibPerSecond = { (seconds: Double) in size / seconds }
        var figures: [BenchFigure] = []
        let hashCeiling = BenchSummary(samples.map { $0.readSeconds / $0.hashSeconds }).map { String(($0.median * 100).rounded() / 100) } ?? "?"
        figures.append(BenchFigure(key: "backup_full_vs_read", title: "8 full backup ÷ image read", unit: "x",
                                   value: BenchSummary(samples.map { $0.readSeconds / $0.fullSeconds }),
                                   measured: BenchSummary(samples.map { mibPerSecond($0.fullSeconds) }),
                                   baseline: BenchSummary(samples.map { mibPerSecond($0.readSeconds) }),
                                   measuredUnit: "MiB/s", target: ">= 0.85", check: { $0 >= 0.85 },
                                   note: "full qcow2 backup of a \(bytesText(configuration.backupDeviceBytes)) image of random data (read, "
                                       + "SHA-256 per cluster, write, fsync) ÷ sequential 4 MiB reads of the same image; SHA-256 alone of "
                                       + "as many bytes in memory, 64 KiB clusters on \(ClusterHashing.workers) threads, ÷ the same reads: "
                                       + "\(hashCeiling)x (no backup that hashes "
                                       + "every cluster can be faster than that)"))
        let converted = samples.compactMap { sample in sample.qemuImgSeconds.map { (sample.fullSeconds, $0) } }
        if converted.isEmpty {
            figures.append(.unavailable(key: "backup_full_vs_qemu_img", title: "8 full backup ÷ qemu-img convert", unit: "x",
                                        target: ">= 1.0", reason: "qemu-img is not installed (qemu-utils)"))
        } else {
            figures.append(BenchFigure(key: "backup_full_vs_qemu_img", title: "8 full backup ÷ qemu-img convert", unit: "x",
                                       value: BenchSummary(converted.map { $0.1 / $0.0 }),
                                       measured: BenchSummary(converted.map { mibPerSecond($0.0) }),
                                       baseline: BenchSummary(converted.map { mibPerSecond($0.1) }),
                                       measuredUnit: "MiB/s", target: ">= 1.0", check: { $0 >= 1.0 },
                                       note: "the same backup ÷ 'qemu-img convert -f raw -O qcow2' of the original's raw backing file "
                                           + "(process wall time, no hashing)"))
        }
        figures.append(BenchFigure(key: "backup_incremental_read_ratio", title: "8 incremental bytes read ÷ changed", unit: "x",
                                   value: BenchSummary(samples.map { Double($0.incrementalBytesRead) / Double($0.changedBytes) }),
                                   target: "<= 1.05", check: { $0 <= 1.05 },
                                   note: "incremental after 1 % of the CBT blocks were rewritten: bytes read from the image ÷ bytes "
                                       + "the CBT marks changed (metadata written besides: \(samples.first.map { bytesText($0.incrementalMetadataBytes) } ?? "?"))"))
        figures.append(BenchFigure(key: "backup_incremental_time_ratio", title: "8 incremental time ÷ full", unit: "x",
                                   value: BenchSummary(samples.map { $0.incrementalSeconds / $0.fullSeconds }),
                                   target: "<= 0.03", check: { $0 <= 0.03 },
                                   note: "copy time of that incremental ÷ copy time of the full backup"))
        figures += try compressedBackups(configuration, scratch)
        return figures
    }

    /// Figure 8's compressed half: size and speed of `backup create --compress zstd`
    /// against `qemu-img convert -c -O qcow2 -o compression_type=zstd` of the same bytes.
    private static func compressedBackups(_ configuration: BenchConfiguration, _ scratch: ScratchDirectory) throws(BenchError) -> [BenchFigure] {
        let samples = try CompressedBackupBenchmark(configuration: configuration, scratch: scratch).run()
        let size = Double(configuration.backupDeviceBytes) / Double(1 << 20)
        let pairs = samples.compactMap { sample -> (CompressedBackupBenchmark.Sample, Double, UInt64)? in
            guard let seconds = sample.qemuImgSeconds, let bytes = sample.qemuImgFileBytes else { return nil }
            return (sample, seconds, bytes)
        }
        let image = "a \(bytesText(configuration.backupDeviceBytes)) image of 1/8 zero, 2/8 random and 5/8 text-like 64 KiB clusters"
        guard !pairs.isEmpty else {
            return [.unavailable(key: "backup_zstd_size_vs_qemu_img", title: "8 zstd backup size ÷ qemu-img convert -c", unit: "x",
                                 target: "<= 1.05", reason: "qemu-img is not installed (qemu-utils)"),
                    .unavailable(key: "backup_zstd_vs_qemu_img", title: "8 zstd backup ÷ qemu-img convert -c", unit: "x",
                                 target: ">= 1.0", reason: "qemu-img is not installed (qemu-utils)")]
        }
        let mebibytes = { (bytes: UInt64) in Double(bytes) / Double(1 << 20) }
        return [
            BenchFigure(key: "backup_zstd_size_vs_qemu_img", title: "8 zstd backup size ÷ qemu-img convert -c", unit: "x",
                        value: BenchSummary(pairs.map { Double($0.0.backupFileBytes) / Double($0.2) }),
                        measured: BenchSummary(pairs.map { mebibytes($0.0.backupFileBytes) }),
                        baseline: BenchSummary(pairs.map { mebibytes($0.2) }),
                        measuredUnit: "MiB", target: "<= 1.05", check: { $0 <= 1.05 },
                        note: "file size of a full 'backup create --compress zstd' (level 3) of \(image) ÷ the file of "
                            + "'qemu-img convert -c -f raw -O qcow2 -o compression_type=zstd' of the original's raw backing file"),
            BenchFigure(key: "backup_zstd_vs_qemu_img", title: "8 zstd backup ÷ qemu-img convert -c", unit: "x",
                        value: BenchSummary(pairs.map { $0.1 / $0.0.backupSeconds }),
                        measured: BenchSummary(pairs.map { size / $0.0.backupSeconds }),
                        baseline: BenchSummary(pairs.map { size / $0.1 }),
                        measuredUnit: "MiB/s", target: ">= 1.0", check: { $0 >= 1.0 },
                        note: "throughput of that backup (read, SHA-256 and zstd per cluster on \(ClusterHashing.workers) threads, "
                            + "write, fsync) ÷ that qemu-img convert -c (process wall time, no hashing)"),
        ]
    }

    /// Figure 14's keys (not available without an S3 endpoint in the environment).
    public static let objectStoreKeys = ["objectstore_upload_vs_s3cmd", "objectstore_upload_sequential_vs_s3cmd", "objectstore_restore_vs_s3cmd",
                                  "objectstore_incremental_data_ratio", "objectstore_incremental_object_ratio",
                                  "objectstore_incremental_upload_ratio"]

    /// Figure 14: a backup repository in an S3 bucket against s3cmd on the same gateway.
    private static func objectStores(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        let titles = ["14 S3 full backup ÷ s3cmd put", "14 S3 backup, 1 part at once ÷ s3cmd put",
                      "14 S3 restore ÷ s3cmd get", "14 S3 incremental data ÷ changed", "14 S3 incremental object ÷ changed",
                      "14 S3 incr. object+manifest ÷ changed"]
        let targets: [String?] = [">= 1.0", ">= 1.0", ">= 1.0", "<= 1.05", nil, nil]
        let configured: S3Configuration?
        var reason = ObjectStoreBenchmark.unavailableReason()
        do throws(S3Error) {
            configured = reason == nil ? try S3Configuration.fromEnvironment() : nil
        } catch {
            configured = nil
            reason = "the S3 configuration of the environment is unusable: \(error)"
        }
        guard let s3 = configured else {
            progress("14/14 S3 repository: skipped, \(reason ?? "?")")
            return zip(objectStoreKeys, zip(titles, targets)).map { key, pair in
                .unavailable(key: key, title: pair.0, unit: "x", target: pair.1, reason: reason ?? "?")
            }
        }
        progress("14/14 S3 repository against s3cmd on \(s3.endpoint)")
        let samples = try ObjectStoreBenchmark(configuration: configuration, scratch: scratch, s3: s3).run()
        let mibPerSecond = { (bytes: UInt64, seconds: Double) in Double(bytes) / Double(1 << 20) / seconds }
        let part = bytesText(UInt64(ObjectStoreBenchmark.partSize))
        let disk = "a \(bytesText(configuration.objectStoreDeviceBytes)) simulated disk of random data"
        let first = samples.first
        let changed = first.map { bytesText($0.changedBytes) } ?? "?"
        return [
            BenchFigure(key: objectStoreKeys[0], title: titles[0], unit: "x",
                        value: BenchSummary(samples.map { $0.s3cmdPutSeconds / $0.fullSeconds }),
                        measured: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.fullSeconds) }),
                        baseline: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.s3cmdPutSeconds) }),
                        measuredUnit: "MiB/s", target: targets[0], check: { $0 >= 1.0 },
                        note: "wall time of a full uncompressed 'backup create' of \(disk) into a fresh bucket (snapshot, read, "
                            + "SHA-256, \(part) parts \(ObjectStoreBenchmark.parallelism) at a time, completion, manifest) vs "
                            + "'s3cmd put --multipart-chunk-size-mb=\(ObjectStoreBenchmark.partSize >> 20)' of its qcow2 object "
                            + "(\(first.map { bytesText($0.objectBytes) } ?? "?"), from a local file; process wall time) to the same "
                            + "gateway: s3cmd ÷ ours; s3cmd uploads the parts one at a time (it has no option for more)"),
            BenchFigure(key: objectStoreKeys[1], title: titles[1], unit: "x",
                        value: BenchSummary(samples.map { $0.s3cmdPutSeconds / $0.fullSequentialSeconds }),
                        measured: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.fullSequentialSeconds) }),
                        baseline: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.s3cmdPutSeconds) }),
                        measuredUnit: "MiB/s", target: targets[1], check: { $0 >= 1.0 },
                        note: "the same backup with parallelism 1 (one part in flight, as s3cmd) ÷ the same s3cmd put"),
            BenchFigure(key: objectStoreKeys[2], title: titles[2], unit: "x",
                        value: BenchSummary(samples.map { $0.s3cmdGetSeconds / $0.restoreSeconds }),
                        measured: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.restoreSeconds) }),
                        baseline: BenchSummary(samples.map { mibPerSecond($0.objectBytes, $0.s3cmdGetSeconds) }),
                        measuredUnit: "MiB/s", target: targets[2], check: { $0 >= 1.0 },
                        note: "'backup restore' of that full point from the bucket to a new raw file (4 MiB ranged GETs, "
                            + "SHA-256 of every cluster checked) vs 's3cmd get' of its object to a local file: s3cmd ÷ ours "
                            + "(MiB/s of the object's bytes)"),
            BenchFigure(key: objectStoreKeys[3], title: titles[3], unit: "x",
                        value: BenchSummary(samples.map { Double($0.incrementalDataBytes) / Double($0.changedBytes) }),
                        target: targets[3], check: { $0 <= 1.05 },
                        note: "incremental after \(changed) were rewritten in 64 KiB runs spread evenly over the disk (CBT "
                            + "changed: \(first.map { bytesText($0.cbtChangedBytes) } ?? "?")): the qcow2 data clusters "
                            + "uploaded ÷ the bytes rewritten; metadata and manifest below"),
            BenchFigure(key: objectStoreKeys[4], title: titles[4], unit: "x",
                        value: BenchSummary(samples.map { Double($0.incrementalObjectBytes) / Double($0.changedBytes) }),
                        note: "the incremental's qcow2 object (data, tables, refcounts, header: "
                            + "\(first.map { "\($0.incrementalObjectBytes)" } ?? "?") bytes) ÷ the bytes rewritten"),
            BenchFigure(key: objectStoreKeys[5], title: titles[5], unit: "x",
                        value: BenchSummary(samples.map { Double($0.incrementalObjectBytes + $0.incrementalManifestBytes) / Double($0.changedBytes) }),
                        note: "every object the incremental added to the bucket (\(first.map { "\($0.incrementalObjects)" } ?? "?"): "
                            + "the qcow2 object and a \(first.map { "\($0.incrementalManifestBytes)" } ?? "?")-byte manifest) ÷ the bytes rewritten"),
        ]
    }

    private static func prunes(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("11/11 backup prune merge")
        let samples = try PruneBenchmark(configuration: configuration, scratch: scratch).run()
        let mibPerSecond = { (bytes: UInt64, seconds: Double) in Double(bytes) / Double(1 << 20) / seconds }
        return [
            BenchFigure(key: "prune_merge_vs_copy", title: "11 prune merge ÷ plain copy", unit: "x",
                        value: BenchSummary(samples.map { $0.copySeconds / $0.mergeSeconds }),
                        measured: BenchSummary(samples.map { mibPerSecond($0.bytesCopied, $0.mergeSeconds) }),
                        baseline: BenchSummary(samples.map { mibPerSecond($0.bytesCopied, $0.copySeconds) }),
                        measuredUnit: "MiB/s", target: ">= 0.8", check: { $0 >= 0.8 },
                        note: "throughput of 'backup prune --keep-last 1' merging a full backup of a "
                            + "\(bytesText(configuration.backupDeviceBytes)) disk (random data in half its clusters) into an "
                            + "increment with 1 % of them (read, SHA-256 check, append, tables, refcounts, header switch, "
                            + "catalog, fsyncs) ÷ a plain pread/pwrite/fsync copy of the same bytes"),
            BenchFigure(key: "prune_merge_written_ratio", title: "11 prune bytes written ÷ copied", unit: "x",
                        value: BenchSummary(samples.map { Double($0.bytesWritten) / Double($0.bytesCopied) }),
                        target: "<= 1.05", check: { $0 <= 1.05 },
                        note: "bytes that merge wrote to the increment's file (data, L2/L1 tables, refcounts, header) ÷ the data bytes it copied"),
        ]
    }

    private static func resyncs(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("12/12 backup create after CBT loss (resync)")
        let samples = try ResyncBenchmark(configuration: configuration, scratch: scratch).run()
        return [
            BenchFigure(key: "resync_vs_full_time", title: "12 resync time ÷ full backup", unit: "x",
                        value: BenchSummary(samples.map { $0.resyncSeconds / $0.fullSeconds }),
                        target: "<= 1.1", check: { $0 <= 1.1 },
                        note: "copy time of 'backup create' after the tracker was re-attached and 1 % of the clusters of a "
                            + "\(bytesText(configuration.backupDeviceBytes)) image of random data changed (reads and hashes "
                            + "everything, compares with the catalog, stores what differs) ÷ a --full backup of the same image"),
            BenchFigure(key: "resync_stored_ratio", title: "12 resync stored ÷ changed", unit: "x",
                        value: BenchSummary(samples.map { Double($0.storedBytes) / Double($0.changedBytes) }),
                        target: "<= 1.05", check: { $0 <= 1.05 },
                        note: "data bytes the resync stored ÷ bytes of the clusters that changed (metadata besides)"),
        ]
    }

    private static func deltaRestores(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("13/13 backup restore --delta")
        let samples = try DeltaRestoreBenchmark(configuration: configuration, scratch: scratch).run()
        return [
            BenchFigure(key: "delta_restore_vs_full_time", title: "13 delta restore time ÷ full restore", unit: "x",
                        value: BenchSummary(samples.map { $0.deltaSeconds / $0.fullSeconds }),
                        target: "<= 0.5", check: { $0 <= 0.5 },
                        note: "'backup restore --delta' onto a raw file differing in 1 % of its clusters from a full backup of a "
                            + "\(bytesText(configuration.backupDeviceBytes)) image of random data (reads the target and the backup, "
                            + "hashes the backup's clusters, writes what differs) ÷ a full restore of it to a new file"),
            BenchFigure(key: "delta_restore_written_ratio", title: "13 delta restore written ÷ differing", unit: "x",
                        value: BenchSummary(samples.map { Double($0.deltaWritten) / Double($0.differingBytes) }),
                        target: "<= 1.05", check: { $0 <= 1.05 },
                        note: "bytes the delta restore wrote ÷ bytes of the clusters that differed"),
        ] + (try deltaRestoresByCBT(configuration, scratch))
    }

    /// Figure 13's CBT method: restore onto the tracked original, nothing of it read.
    private static func deltaRestoresByCBT(_ configuration: BenchConfiguration, _ scratch: ScratchDirectory) throws(BenchError) -> [BenchFigure] {
        let samples = try DeltaRestoreBenchmark(configuration: configuration, scratch: scratch).cbtRun()
        return [
            BenchFigure(key: "delta_restore_cbt_vs_full_time", title: "13 delta restore by CBT ÷ full restore", unit: "x",
                        value: BenchSummary(samples.map { $0.cbtSeconds / $0.fullSeconds }),
                        target: "<= 0.05", check: { $0 <= 0.05 },
                        note: "'backup restore --delta --storage' onto the tracked original (a \(bytesText(configuration.backupDeviceBytes)) "
                            + "simulated device of random data, 1 % of its clusters rewritten since its full backup: a take to switch the "
                            + "CBT, the changed clusters read from the backup, hash-checked and written) ÷ a full restore of it to a new file"),
            BenchFigure(key: "delta_restore_cbt_written_ratio", title: "13 delta restore by CBT written ÷ changed", unit: "x",
                        value: BenchSummary(samples.map { Double($0.cbtWritten) / Double($0.changedBytes) }),
                        target: "<= 1.05", check: { $0 <= 1.05 },
                        note: "bytes the CBT restore wrote ÷ bytes of the clusters written since the backup"),
        ]
    }

    private static func nbdExports(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("9/9 NBD export")
        let copyTitle = "9 nbdcopy ÷ image read", qemuTitle = "9 nbdcopy ÷ nbdcopy from qemu-nbd"
        let benchmark = NBDBenchmark(configuration: configuration, scratch: scratch)
        var figures: [BenchFigure] = []
        if NBDBenchmark.nbdcopyAvailable {
            let samples = try benchmark.copies()
            let size = Double(configuration.nbdDeviceBytes) / Double(1 << 20)
            let mibPerSecond = { (seconds: Double) in size / seconds }
            let qemuVersusRead = BenchSummary(samples.compactMap { sample in sample.qemuNBDSeconds.map { sample.readSeconds / $0 } })
            figures.append(BenchFigure(key: "nbd_copy_vs_pread", title: copyTitle, unit: "x",
                                       value: BenchSummary(samples.map { $0.readSeconds / $0.nbdcopySeconds }),
                                       measured: BenchSummary(samples.map { mibPerSecond($0.nbdcopySeconds) }),
                                       baseline: BenchSummary(samples.map { mibPerSecond($0.readSeconds) }),
                                       measuredUnit: "MiB/s", target: ">= 0.80", check: { $0 >= 0.80 },
                                       note: "'nbdcopy --request-size=\(NBDBenchmark.requestBytes) URI null:' (process wall time) of a "
                                           + "\(bytesText(configuration.nbdDeviceBytes)) image of random data served by NBDServer in process "
                                           + "(nbd serve's defaults, Unix socket) ÷ sequential \(bytesText(UInt64(NBDBenchmark.requestBytes))) "
                                           + "reads of the same image through the same SnapshotImageSource in one thread (wall time, data discarded)"
                                           + (qemuVersusRead.map { "; nbdcopy from qemu-nbd (figure below) ÷ the same reads: \(($0.median * 100).rounded() / 100)x" } ?? "")))
            let qemu = samples.compactMap { sample in sample.qemuNBDSeconds.map { (sample.nbdcopySeconds, $0) } }
            if qemu.isEmpty {
                figures.append(.unavailable(key: "nbd_copy_vs_qemu_nbd", title: qemuTitle, unit: "x", target: ">= 0.90",
                                            reason: "qemu-nbd is not installed (qemu-utils)"))
            } else {
                figures.append(BenchFigure(key: "nbd_copy_vs_qemu_nbd", title: qemuTitle, unit: "x",
                                           value: BenchSummary(qemu.map { $0.1 / $0.0 }),
                                           measured: BenchSummary(qemu.map { mibPerSecond($0.0) }),
                                           baseline: BenchSummary(qemu.map { mibPerSecond($0.1) }),
                                           measuredUnit: "MiB/s", target: ">= 0.90", check: { $0 >= 0.90 },
                                           note: "the same nbdcopy ÷ the same nbdcopy from 'qemu-nbd --read-only -f raw --socket PATH "
                                               + "--persistent FILE' of the original's raw backing file (the same bytes)"))
            }
        } else {
            let reason = "nbdcopy is not installed (libnbd-bin)"
            figures.append(.unavailable(key: "nbd_copy_vs_pread", title: copyTitle, unit: "x", target: ">= 0.80", reason: reason))
            figures.append(.unavailable(key: "nbd_copy_vs_qemu_nbd", title: qemuTitle, unit: "x", target: ">= 0.90", reason: reason))
        }
        let series = try benchmark.blockStatus(sizes: [16 * BenchConfiguration.tebibyte, BenchConfiguration.tebibyte])
        let large = series[0], small = series[1]
        let perRequest = { (series: NBDBenchmark.BlockStatusSeries) in
            format((BenchSummary(series.seconds)?.median ?? 0) * 1e6 / Double(max(1, series.requestsPerWalk)))
        }
        // Per request: without NBD extended headers a request covers < 4 GiB, so a walk of
        // the whole device takes size ÷ 4 GiB round trips whatever the server does; what
        // the server decides is the time of each one.
        let microseconds = { (series: NBDBenchmark.BlockStatusSeries) in
            series.seconds.map { $0 * 1e6 / Double(max(1, series.requestsPerWalk)) }
        }
        figures.append(BenchFigure(key: "nbd_block_status_16tib", title: "9 block status per request, 16 TiB ÷ 1 TiB", unit: "x",
                                   value: BenchSummary(zip(microseconds(large), microseconds(small)).map { $0 / $1 }),
                                   measured: BenchSummary(microseconds(large)), baseline: BenchSummary(microseconds(small)),
                                   measuredUnit: "us", target: "<= 1.25", check: { $0 <= 1.25 },
                                   note: "NBD_CMD_BLOCK_STATUS of qemu:dirty-bitmap:cbt over a whole sparse 16 TiB device "
                                       + "(\(bytesText(UInt64(large.blockBytes))) CBT blocks) ÷ over a whole 1 TiB device "
                                       + "(\(bytesText(UInt64(small.blockBytes))) blocks), each with \(NBDBenchmark.dirtyBlocks) dirty CBT "
                                       + "blocks at random (cbtSince 0), served by NBDServer in process; an in-process client sends the requests "
                                       + "one at a time as nbdinfo --map does (32-bit lengths: \(large.requestsPerWalk) / \(small.requestsPerWalk) "
                                       + "requests, \(perRequest(large)) / \(perRequest(small)) us each; whole walks "
                                       + "\(format((BenchSummary(large.seconds)?.median ?? 0) * 1000)) / "
                                       + "\(format((BenchSummary(small.seconds)?.median ?? 0) * 1000)) ms), first request to last reply, median of "
                                       + "\(NBDBenchmark.walksPerRepetition) walks per repetition; ~1 when the time "
                                       + "follows the extents, not the device's size"))
        return figures
    }

    private static func eventCancellations(
        _ configuration: BenchConfiguration, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        progress("10/10 events(of:) cancellation")
        let benchmark = EventCancellationBenchmark(cancellations: configuration.eventCancellations)
        var samples: [EventCancellationBenchmark.Sample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            samples.append(try benchmark.repetition(seed: 1000 + UInt64(repetition)))
        }
        let poll = EventCancellationBenchmark.pollMilliseconds
        let setup = "a task iterating 'for try await _ in control.events(of: id)' (pollMilliseconds \(poll), the default) over "
            + "SimKernelBackend in process, cancelled at a random point of its waiter's bounded WAIT_EVENT, "
            + "\(configuration.eventCancellations) cancellations per repetition"
        return [
            BenchFigure(key: "events_cancel_p50", title: "10 events(of:) cancel → return p50", unit: "ms",
                        value: BenchSummary(samples.map { BenchSummary.percentile(0.5, of: $0.returnedMilliseconds) }),
                        target: "<= 100", check: { $0 <= 100 },
                        note: setup + ": task.cancel() to 'await task.value' returned (monotonic clock); "
                            + "no baseline: the figure is a latency bound set by the issue"),
            BenchFigure(key: "events_cancel_max", title: "10 events(of:) cancel → return max", unit: "ms",
                        value: BenchSummary(samples.map { $0.returnedMilliseconds.max() ?? 0 }),
                        target: "<= 100", check: { $0 <= 100 },
                        note: "as above, the slowest cancellation of each repetition"),
            BenchFigure(key: "events_cancel_thread_free_max", title: "10 events(of:) cancel → waiter free max",
                        unit: "ms", value: BenchSummary(samples.map { $0.freedMilliseconds.max() ?? 0 }),
                        target: "<= \(poll + 20)", check: { $0 <= Double(poll + 20) },
                        note: "task.cancel() to no WAIT_EVENT in flight (sampled every 1 ms), the slowest of each repetition: "
                            + "the waiting thread notices within one bounded wait of \(poll) ms and exits; "
                            + "no cooperative-pool thread is held meanwhile"),
        ]
    }

    private static func imageReads(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        var figures: [BenchFigure] = []
        progress("3/7 image reads")
        let image = ImageReadBenchmark(configuration: configuration, scratch: scratch)
        for percent in [0, 50, 100] {
            let reads = try image.run(changedPercent: percent)
            let mibPerSecond = { (nanoseconds: Double) in 1e9 / nanoseconds }
            figures.append(BenchFigure(key: "image_read_\(percent)", title: "3 image reads, \(percent) % changed", unit: "x",
                                       value: BenchSummary(reads.map { $0.rawNanosecondsPerRead / $0.imageNanosecondsPerRead }),
                                       measured: BenchSummary(reads.map { mibPerSecond($0.imageNanosecondsPerRead) }),
                                       baseline: BenchSummary(reads.map { mibPerSecond($0.rawNanosecondsPerRead) }),
                                       measuredUnit: "MiB/s", target: ">= 0.85", check: { $0 >= 0.85 },
                                       note: "sequential 1 MiB reads of a \(bytesText(configuration.imageDeviceBytes)) image with \(percent) % "
                                           + "of its chunks changed ÷ sequential 1 MiB preads of the original's backing file"))
        }
        return figures
    }

    private static func controlPlane(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> ([BenchFigure], [BenchFigure]) {
        var figures: [BenchFigure] = []
        progress("4/7 VERSION round trips, 7/7 blksnapctl version --sim")
        let (trips, cli) = try ControlPlaneBenchmark(configuration: configuration, scratch: scratch).run()
        figures.append(BenchFigure(key: "version_in_process_p50", title: "4 VERSION in process p50", unit: "us",
                                   value: BenchSummary(trips.inProcessP50),
                                   note: "Control.version() on SimKernelBackend, \(configuration.roundTrips) calls per repetition; "
                                       + "no baseline: no system call is made"))
        figures.append(BenchFigure(key: "version_in_process_p99", title: "4 VERSION in process p99", unit: "us",
                                   value: BenchSummary(trips.inProcessP99), note: "as above, 99th percentile"))
        figures.append(BenchFigure(key: "version_socket_p50", title: "4 VERSION through SimServer p50", unit: "us",
                                   value: BenchSummary(trips.socketP50), measured: BenchSummary(trips.socketP50),
                                   baseline: BenchSummary(trips.echoP50), measuredUnit: "us",
                                   ratio: ratio(trips.socketP50, trips.echoP50), target: "<= 50", check: { $0 <= 50 },
                                   note: "Control.version() over SimClient → SimServer's Unix socket; baseline: a bare "
                                       + "AF_UNIX request/reply of \(ControlPlaneBenchmark.echoRequestBytes)/\(ControlPlaneBenchmark.echoReplyBytes) bytes between two threads"))
        figures.append(BenchFigure(key: "version_socket_p99", title: "4 VERSION through SimServer p99", unit: "us",
                                   value: BenchSummary(trips.socketP99), measured: BenchSummary(trips.socketP99),
                                   baseline: BenchSummary(trips.echoP99), measuredUnit: "us",
                                   ratio: ratio(trips.socketP99, trips.echoP99), note: "as above, 99th percentile"))
        var cliFigures: [BenchFigure] = []
        switch cli {
        case .measured(let cliTimes, let baseline):
            cliFigures.append(BenchFigure(key: "cli_version", title: "7 blksnapctl version --sim", unit: "ms",
                                          value: BenchSummary(cliTimes), measured: BenchSummary(cliTimes),
                                          baseline: BenchSummary(baseline), measuredUnit: "ms", ratio: ratio(cliTimes, baseline),
                                          note: "posix_spawn to waitpid of `blksnapctl version --sim SOCKET` (median of "
                                              + "\(configuration.cliRuns) runs per repetition); baseline: /bin/true"))
        case .unavailable(let reason):
            cliFigures.append(.unavailable(key: "cli_version", title: "7 blksnapctl version --sim", unit: "ms", reason: reason))
        }
        return (figures, cliFigures)
    }

    private static func memory(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        var figures: [BenchFigure] = []
        let repetitions = max(1, configuration.repetitions)
        progress("5/7 memory of a 16 TiB device")
        let memory = MemoryBenchmark(configuration: configuration, scratch: scratch)
        var memorySamples: [MemoryBenchmark.Sample] = []
        for repetition in 0..<min(repetitions, 3) { memorySamples.append(try memory.repetition(seed: 500 + UInt64(repetition))) }
        let mebibyte = Double(1 << 20)
        let touched = memorySamples.first?.touchedChunks ?? 0
        let cbtBytes = memorySamples.first?.cbtMapBytes ?? 0
        figures.append(BenchFigure(key: "memory_bytes_per_chunk", title: "5 bookkeeping per touched chunk", unit: "bytes",
                                   value: BenchSummary(memorySamples.map(\.bookkeepingBytesPerChunk)),
                                   target: "<= 64", check: { $0 <= 64 },
                                   note: "mallinfo2 heap delta (one arena) after \(bytesText(configuration.memoryWriteBytes)) of random "
                                       + "\(bytesText(UInt64(configuration.memoryWriteSizeBytes))) writes to a sparse "
                                       + "\(bytesText(configuration.memoryDeviceBytes)) device (\(touched) chunks touched), minus the chunk "
                                       + "buffers still held (queued + idle pool), ÷ touched chunks"))
        figures.append(BenchFigure(key: "memory_16tib_heap", title: "5 heap of the 16 TiB device", unit: "MiB",
                                   value: BenchSummary(memorySamples.map { $0.heapDeltaBytes / mebibyte }),
                                   note: "mallinfo2 heap delta from just after the take (so the two CBT maps, "
                                       + "\(bytesText(UInt64(cbtBytes))) together, are excluded); chunk buffers: "
                                       + "\(Self.format((memorySamples.first?.bufferBytes ?? 0) / mebibyte)) MiB of it"))
        figures.append(BenchFigure(key: "memory_16tib_resident", title: "5 resident growth, 16 TiB device", unit: "MiB",
                                   value: BenchSummary(memorySamples.map { $0.residentDeltaBytes / mebibyte }),
                                   note: "/proc/self/statm resident delta over the same writes (CBT maps excluded the same way)"))
        return figures
    }

    private static func scaling(
        _ configuration: BenchConfiguration, _ scratch: ScratchDirectory, _ progress: (String) -> Void
    ) throws(BenchError) -> [BenchFigure] {
        var figures: [BenchFigure] = []
        let repetitions = max(1, configuration.repetitions)
        let touch = FirstTouchBenchmark(scratch: scratch)
        progress("6/7 scaling")
        let scalingRepetitions = min(repetitions, 5)
        for (deviceBytes, label) in zip(configuration.scalingDeviceBytes, ["1GiB", "64GiB", "16TiB"]) {
            var points: [FirstTouchBenchmark.Sample] = []
            for repetition in 0..<scalingRepetitions {
                points.append(try touch.repetition(deviceBytes: deviceBytes, deviceCount: 1, writes: configuration.scalingWrites,
                                                   seed: 200 + UInt64(repetition), simFirst: repetition % 2 == 0))
            }
            figures.append(firstTouchFigure(key: "scaling_size_\(label)", title: "6 first touch, \(bytesText(deviceBytes)) sparse", points,
                                            note: "figure 1 on one sparse \(bytesText(deviceBytes)) device, about \(configuration.scalingWrites) writes"))
            figures.append(memoryFigure(key: "scaling_size_\(label)_memory", title: "6 bytes/chunk, \(bytesText(deviceBytes)) sparse", points,
                                        note: "bookkeeping heap bytes per touched chunk in the same runs (mallinfo2 delta minus chunk buffers)"))
        }
        for count in configuration.scalingDeviceCounts {
            var points: [FirstTouchBenchmark.Sample] = []
            for repetition in 0..<scalingRepetitions {
                points.append(try touch.repetition(deviceBytes: configuration.scalingMultiDeviceBytes, deviceCount: count,
                                                   writes: configuration.scalingWrites, seed: 300 + UInt64(repetition),
                                                   simFirst: repetition % 2 == 0))
            }
            figures.append(firstTouchFigure(key: "scaling_devices_\(count)", title: "6 first touch, \(count) device(s)", points,
                                            note: "figure 1 with \(count) \(bytesText(configuration.scalingMultiDeviceBytes)) devices in one snapshot, "
                                                + "about \(configuration.scalingWrites) writes round-robin (whole store batches of 17 per device); the ideal loop uses as many files"))
            figures.append(memoryFigure(key: "scaling_devices_\(count)_memory", title: "6 bytes/chunk, \(count) device(s)", points,
                                        note: "bookkeeping heap bytes per touched chunk in the same runs"))
        }
        return figures
    }

    private static func firstTouchFigure(key: String, title: String, _ samples: [FirstTouchBenchmark.Sample],
                                         note: String) -> BenchFigure {
        BenchFigure(key: key, title: title, unit: "x",
                    value: BenchSummary(samples.map { $0.simNanosecondsPerWrite / $0.idealNanosecondsPerWrite }),
                    measured: BenchSummary(samples.map { $0.simNanosecondsPerWrite / 1000 }),
                    baseline: BenchSummary(samples.map { $0.idealNanosecondsPerWrite / 1000 }),
                    measuredUnit: "us/write", target: "<= 1.15", check: { $0 <= 1.15 }, note: note)
    }

    private static func memoryFigure(key: String, title: String, _ samples: [FirstTouchBenchmark.Sample],
                                     note: String) -> BenchFigure {
        BenchFigure(key: key, title: title, unit: "bytes", value: BenchSummary(samples.map(\.bookkeepingBytesPerChunk)),
                    target: "<= 64", check: { $0 <= 64 }, note: note)
    }

    private static func format(_ value: Double) -> String { String((value * 10).rounded() / 10) }

    /// `1 GiB`, `16 TiB`, `512 MiB`, `4 KiB`.
    static func bytesText(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, name) in units where bytes >= size && bytes % size == 0 { return "\(bytes / size) \(name)" }
        return "\(bytes) bytes"
    }
}
