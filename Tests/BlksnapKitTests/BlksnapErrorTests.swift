import BlksnapKit
import SystemPackage
import Testing

/// The meaning table: every errno the spec lists per path reads as what it means there.
@Suite("BlksnapError meanings")
struct BlksnapErrorTests {
    struct Row: Sendable, CustomStringConvertible {
        var operation: BlksnapOperation
        var errno: Errno
        var meaning: String
        var category: BlksnapErrorCategory
        var description: String { "\(operation) \(ErrnoName.name(of: errno))" }
    }

    static let rows: [Row] = [
        Row(operation: .openControl, errno: .noSuchFileOrDirectory, meaning: "blksnap module not loaded", category: .moduleUnavailable),
        Row(operation: .openControl, errno: .noSuchAddressOrDevice, meaning: "blksnap module not loaded", category: .moduleUnavailable),
        Row(operation: .openControl, errno: .permissionDenied, meaning: "root-only", category: .refused),
        Row(operation: .version, errno: .noData, meaning: "could not write the version", category: .refused),
        Row(operation: .version, errno: .inappropriateIOCTLForDevice, meaning: "not a v5 blksnap module", category: .moduleUnavailable),
        Row(operation: .createSnapshot, errno: .noMemory, meaning: "out of memory", category: .refused),
        Row(operation: .createSnapshot, errno: .noData, meaning: "WAS created", category: .refused),
        Row(operation: .destroySnapshot, errno: .operationNotSupportedByDevice, meaning: "no such snapshot", category: .refused),
        Row(operation: .destroySnapshot, errno: .noData, meaning: "could not read the snapshot id", category: .refused),
        Row(operation: .appendStorage, errno: .invalidArgument, meaning: "NUL-terminated", category: .refused),
        Row(operation: .appendStorage, errno: .badAddress, meaning: "path could not be read", category: .refused),
        Row(operation: .appendStorage, errno: .noSuchProcess, meaning: "no such snapshot", category: .refused),
        Row(operation: .appendStorage, errno: .noSuchFileOrDirectory, meaning: "does not exist", category: .refused),
        Row(operation: .appendStorage, errno: .notBlockDevice, meaning: "not a block device", category: .refused),
        Row(operation: .appendStorage, errno: .permissionDenied, meaning: "cannot open storage device", category: .refused),
        Row(operation: .appendStorage, errno: .noSuchAddressOrDevice, meaning: "not present", category: .refused),
        Row(operation: .appendStorage, errno: .noMemory, meaning: "out of memory", category: .refused),
        Row(operation: .takeSnapshot, errno: .noData, meaning: "could not read the snapshot id", category: .refused),
        Row(operation: .takeSnapshot, errno: .noSuchProcess, meaning: "no such snapshot", category: .refused),
        Row(operation: .takeSnapshot, errno: .alreadyInProcess, meaning: "already taken", category: .refused),
        Row(operation: .takeSnapshot, errno: .operationNotSupportedByDevice, meaning: "has no devices", category: .refused),
        Row(operation: .takeSnapshot, errno: .badAddress, meaning: "no difference storage", category: .refused),
        Row(operation: .takeSnapshot, errno: .noMemory, meaning: "out of memory", category: .refused),
        Row(operation: .takeSnapshot, errno: .invalidArgument, meaning: "image disk", category: .refused),
        Row(operation: .takeSnapshot, errno: .fileExists, meaning: "BROKEN, destroy it", category: .refused),
        Row(operation: .takeSnapshot, errno: .noSuchFileOrDirectory, meaning: "could not be opened", category: .refused),
        Row(operation: .takeSnapshot, errno: .noSuchAddressOrDevice, meaning: "could not be opened", category: .refused),
        Row(operation: .collectSnapshots, errno: .noData, meaning: "kept changing", category: .refused),
        Row(operation: .waitEvent, errno: .noSuchFileOrDirectory, meaning: "before the timeout", category: .timedOut),
        Row(operation: .waitEvent, errno: .noSuchProcess, meaning: "no such snapshot", category: .refused),
        Row(operation: .waitEvent, errno: .interrupted, meaning: "interrupted by a signal", category: .refused),
        Row(operation: .waitEvent, errno: .noMemory, meaning: "out of memory", category: .refused),
        Row(operation: .waitEvent, errno: .invalidArgument, meaning: "could not copy", category: .refused),
        Row(operation: .waitEvent, errno: .noSpace, meaning: "larger than the event buffer", category: .refused),
        Row(operation: .attachFilter, errno: .badAddress, meaning: "could not read the filter name", category: .refused),
        Row(operation: .attachFilter, errno: .noSuchFileOrDirectory, meaning: "blksnap module not loaded", category: .moduleUnavailable),
        Row(operation: .attachFilter, errno: .resourceBusy, meaning: "another filter", category: .refused),
        Row(operation: .attachFilter, errno: .alreadyInProcess, meaning: "already tracked", category: .refused),
        Row(operation: .attachFilter, errno: .noMemory, meaning: "CBT map", category: .refused),
        Row(operation: .attachFilter, errno: .inappropriateIOCTLForDevice, meaning: "kernel has no block-device filter support", category: .moduleUnavailable),
        Row(operation: .attachFilter, errno: .invalidArgument, meaning: "kernel has no block-device filter support", category: .moduleUnavailable),
        Row(operation: .detachFilter, errno: .noSuchFileOrDirectory, meaning: "not tracked", category: .refused),
        Row(operation: .detachFilter, errno: .invalidArgument, meaning: "different filter", category: .refused),
        Row(operation: .detachFilter, errno: .badAddress, meaning: "could not read the filter name", category: .refused),
        Row(operation: .cbtInfo, errno: .noSuchFileOrDirectory, meaning: "is not tracked: attach it first", category: .refused),
        Row(operation: .cbtInfo, errno: .inappropriateIOCTLForDevice, meaning: "no block-device filter support", category: .moduleUnavailable),
        Row(operation: .cbtInfo, errno: .operationNotSupportedByDevice, meaning: "going away", category: .refused),
        Row(operation: .cbtInfo, errno: .noData, meaning: "could not write the CBT info", category: .refused),
        Row(operation: .cbtInfo, errno: .invalidArgument, meaning: "no block-device filter support", category: .moduleUnavailable),
        Row(operation: .cbtMap, errno: .badAddress, meaning: "corrupted", category: .corrupted),
        Row(operation: .cbtMap, errno: .noData, meaning: "beyond the CBT map", category: .refused),
        Row(operation: .cbtMap, errno: .invalidArgument, meaning: "could not be copied", category: .moduleUnavailable),
        Row(operation: .cbtMap, errno: .noSuchFileOrDirectory, meaning: "is not tracked: attach it first", category: .refused),
        Row(operation: .markDirty, errno: .invalidArgument, meaning: "beyond the CBT map", category: .refused),
        Row(operation: .markDirty, errno: .noData, meaning: "could not read the ranges", category: .refused),
        Row(operation: .markDirty, errno: .noSuchFileOrDirectory, meaning: "is not tracked: attach it first", category: .refused),
        Row(operation: .addToSnapshot, errno: .noSuchProcess, meaning: "no such snapshot", category: .refused),
        Row(operation: .addToSnapshot, errno: .alreadyInProcess, meaning: "already in", category: .refused),
        Row(operation: .addToSnapshot, errno: .resourceBusy, meaning: "belongs to another snapshot", category: .refused),
        Row(operation: .addToSnapshot, errno: .noData, meaning: "could not read the snapshot id", category: .refused),
        Row(operation: .addToSnapshot, errno: .invalidArgument, meaning: "no block-device filter support", category: .moduleUnavailable),
        Row(operation: .snapshotInfo, errno: .noData, meaning: "could not copy the snapshot info", category: .refused),
        Row(operation: .snapshotInfo, errno: .invalidArgument, meaning: "no block-device filter support", category: .moduleUnavailable),
        Row(operation: .snapshotInfo, errno: .noSuchFileOrDirectory, meaning: "is not tracked", category: .refused),
        Row(operation: .cbtInfo, errno: .badAddress, meaning: "could not read the BLKFILTER_CTL request", category: .refused),
        Row(operation: .markDirty, errno: .badAddress, meaning: "could not read the BLKFILTER_CTL request", category: .refused),
        Row(operation: .snapshotInfo, errno: .badAddress, meaning: "could not read the BLKFILTER_CTL request", category: .refused),
        Row(operation: .capacity, errno: .inappropriateIOCTLForDevice, meaning: "not a block device", category: .refused),
        Row(operation: .snapshotCorruption, errno: .noSpace, meaning: "difference storage overflowed", category: .corrupted),
        Row(operation: .snapshotCorruption, errno: .ioError, meaning: "I/O error", category: .corrupted),
        Row(operation: .snapshotCorruption, errno: .notBlockDevice, meaning: "larger logical block size", category: .corrupted),
    ]

    @Test("each path's errno has its own meaning and category", arguments: rows)
    func meaning(row: Row) {
        let error = BlksnapError(operation: row.operation, errno: row.errno, devicePath: "/dev/sdb", snapshotID: testID)
        #expect(error.meaning.contains(row.meaning), "\(error)")
        #expect(error.category == row.category)
        #expect(error.description.hasPrefix(row.operation.requestName + " on /dev/sdb, snapshot \(testID): "))
        #expect(error.description.hasSuffix("(\(ErrnoName.name(of: row.errno)))"))
    }

    @Test("an errno without a specific meaning falls back to strerror")
    func fallback() {
        let error = BlksnapError(operation: .takeSnapshot, errno: .tooManyLinks)
        #expect(error.description == "IOCTL_BLKSNAP_SNAPSHOT_TAKE: \(Errno.tooManyLinks.description) (EMLINK)")
        #expect(error.category == .refused)
    }

    @Test("validation errors are usage errors with their own message")
    func validation() {
        let error = BlksnapError.invalidRequest(.appendStorage, "path is empty")
        #expect(error.category == .usage)
        #expect(error.description == "IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE: path is empty (EINVAL)")
    }

    @Test("categories map to the CLI's exit statuses")
    func exitStatuses() {
        #expect(BlksnapErrorCategory.allCases.map(\.exitStatus) == [69, 1, 75, 65, 64])
    }

    @Test("every operation has a request name and a description")
    func operations() {
        for operation in BlksnapOperation.allCases {
            #expect(!operation.requestName.isEmpty)
            #expect(!operation.description.isEmpty)
        }
        #expect(BlksnapOperation.allCases.filter(\.isControlRequest).count == 7)
        #expect(BlksnapOperation.allCases.filter(\.isFilterControl).count == 5)
    }
}
