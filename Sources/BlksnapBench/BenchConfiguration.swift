#if canImport(Glibc)
import Glibc
#endif

/// Sizes and repetition counts of one benchmark run.
public struct BenchConfiguration: Sendable {
    /// Tiny sizes that run in seconds (smoke test, `--quick`).
    public var quick: Bool
    /// Repetitions of each timed measurement (the figure is their median).
    public var repetitions: Int
    /// Directory in which a scratch directory for the backing files is made.
    public var baseDirectory: String
    /// Size of the device for figures 1 and 2 (bytes).
    public var cowDeviceBytes: UInt64
    /// First-touch writes per repetition (figure 1), at most one per chunk.
    public var firstTouchWrites: Int
    /// Chunks copied before the rewrites are timed (figure 2).
    public var rewriteChunks: Int
    /// Rewrites per repetition (figure 2).
    public var rewriteWrites: Int
    /// Size of the device whose image is read (figure 3).
    public var imageDeviceBytes: UInt64
    /// VERSION calls per path (figure 4).
    public var roundTrips: Int
    /// Size of the device of the memory figure (figure 5).
    public var memoryDeviceBytes: UInt64
    /// Bytes written at random before the memory is measured (figure 5).
    public var memoryWriteBytes: UInt64
    /// Size of each random write of the memory figure.
    public var memoryWriteSizeBytes: Int
    /// Device sizes of the scaling figures (figure 6).
    public var scalingDeviceBytes: [UInt64]
    /// Device counts of the scaling figures (figure 6); each device is `scalingMultiDeviceBytes`.
    public var scalingDeviceCounts: [Int]
    /// Size of each device in the device-count scaling.
    public var scalingMultiDeviceBytes: UInt64
    /// First-touch writes per scaling point.
    public var scalingWrites: Int
    /// `blksnapctl version --sim` runs (figure 7).
    public var cliRuns: Int
    /// Size of the device `backup create` copies in figure 8.
    public var backupDeviceBytes: UInt64
    /// Size of the device whose image is exported over NBD in figure 9.
    public var nbdDeviceBytes: UInt64
    /// Cancellations of a task iterating `events(of:)` per repetition (figure 10).
    public var eventCancellations: Int
    /// Size of the device backed up into an S3 bucket in figure 14.
    public var objectStoreDeviceBytes: UInt64
    /// Bytes rewritten (in 64 KiB runs spread over the device) before figure 14's incremental.
    public var objectStoreChangedBytes: UInt64
    /// The blksnapctl binary (nil: next to this executable).
    public var cliPath: String?
    /// Figure groups to run (1–14, as numbered in the issues; figure 7 runs with 4);
    /// nil runs all. For profiling one path.
    public var onlyGroups: Set<Int>?

    /// Whether figure group `group` runs.
    func runs(_ group: Int) -> Bool { onlyGroups?.contains(group) ?? true }

    /// One GiB.
    static let gibibyte: UInt64 = 1 << 30
    /// One TiB.
    static let tebibyte: UInt64 = 1 << 40

    /// The full run (under 5 minutes on 2 cores) or the quick one.
    public init(quick: Bool) {
        self.quick = quick
        baseDirectory = Self.defaultBaseDirectory()
        cliPath = nil
        onlyGroups = nil
        scalingDeviceBytes = [Self.gibibyte, 64 * Self.gibibyte, 16 * Self.tebibyte]
        scalingDeviceCounts = [1, 4, 16]
        if quick {
            repetitions = 3
            cowDeviceBytes = 64 << 20
            firstTouchWrites = 68
            rewriteChunks = 32
            rewriteWrites = 5000
            imageDeviceBytes = 8 << 20
            roundTrips = 200
            memoryDeviceBytes = 16 * Self.tebibyte
            memoryWriteBytes = 16 << 20
            memoryWriteSizeBytes = 1 << 20
            scalingMultiDeviceBytes = 32 << 20
            scalingWrites = 68
            cliRuns = 2
            backupDeviceBytes = 32 << 20
            nbdDeviceBytes = 32 << 20
            eventCancellations = 5
            objectStoreDeviceBytes = 32 << 20
            objectStoreChangedBytes = 1 << 20
        } else {
            repetitions = 7
            cowDeviceBytes = Self.gibibyte
            firstTouchWrites = 4096
            rewriteChunks = 1024
            rewriteWrites = 100_000
            imageDeviceBytes = 512 << 20
            roundTrips = 20_000
            memoryDeviceBytes = 16 * Self.tebibyte
            memoryWriteBytes = Self.gibibyte
            memoryWriteSizeBytes = 1 << 20
            scalingMultiDeviceBytes = Self.gibibyte
            scalingWrites = 1024
            cliRuns = 20
            backupDeviceBytes = 512 << 20
            nbdDeviceBytes = Self.gibibyte
            eventCancellations = 20
            objectStoreDeviceBytes = 256 << 20
            objectStoreChangedBytes = 8 << 20
        }
    }

    /// `/dev/shm` when it is a writable directory (tmpfs: no writeback noise and no
    /// 16 TiB file-size limit as on ext4), else `$TMPDIR` or `/tmp`.
    static func defaultBaseDirectory() -> String {
        if access("/dev/shm", W_OK | X_OK) == 0 { return "/dev/shm" }
        if let tmp = getenv("TMPDIR") { return String(cString: tmp) }
        return "/tmp"
    }
}
