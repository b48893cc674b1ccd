#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One injected media fault of a ``SimBlockDevice``: raw reads or writes that touch a
/// sector range fail with an errno, optionally only after a number of matching
/// operations and only a number of times.
///
/// The fault acts on the device's *media* (`readRaw`/`writeRaw`), under every path that
/// reaches it: COW loads of the original, difference-storage stores and redirected
/// image I/O, and user reads/writes of the device. The engine sees the failed call as
/// a bio completing with an I/O error (it maps any failure to `EIO`, as the block layer
/// reports `BLK_STS_IOERR`); a user `pread`/`pwrite` returns `-errno` itself.
public struct SimFault: Sendable, Equatable, CustomStringConvertible {
    /// Which raw operation fails.
    public enum Operation: Sendable, Equatable {
        /// `readRaw` (COW load, image read, user read).
        case read
        /// `writeRaw` (store to the difference storage, image write in place, user write).
        case write
    }

    /// The operation that fails.
    public var operation: Operation
    /// Sectors whose access fails: an operation fails when its byte range overlaps
    /// these sectors. `nil` = every sector.
    public var sectors: Range<UInt64>?
    /// Matching operations that pass before the fault starts firing.
    public var skipOperations: Int
    /// How many matching operations fail; `nil` = every one from then on.
    public var failCount: Int?
    /// The positive errno a failing operation reports (`EIO` by default).
    public var errno: Int32

    /// Creates a fault.
    public init(_ operation: Operation, sectors: Range<UInt64>? = nil, skipOperations: Int = 0,
                failCount: Int? = nil, errno: Int32 = EIO) {
        self.operation = operation
        self.sectors = sectors
        self.skipOperations = skipOperations
        self.failCount = failCount
        self.errno = errno
    }

    public var description: String {
        let range = sectors.map { "sectors \($0.lowerBound)..<\($0.upperBound)" } ?? "every sector"
        let times = failCount.map { "\($0) time(s)" } ?? "always"
        return "\(operation) of \(range) fails with \(SimErrno(errno)) after \(skipOperations) op(s), \(times)"
    }

    /// Whether an operation of `byteCount` bytes at `offset` overlaps ``sectors``.
    func covers(offset: UInt64, byteCount: Int) -> Bool {
        guard let sectors else { return true }
        guard byteCount > 0 else { return false }
        let first = offset / 512
        let (end, overflow) = offset.addingReportingOverflow(UInt64(byteCount))
        let last = overflow ? UInt64.max : (end - 1) / 512
        return first < sectors.upperBound && last >= sectors.lowerBound
    }
}

/// The faults armed on one device and how often they fired. Checked by `readRaw` and
/// `writeRaw` only when ``isArmed`` (one relaxed atomic load when no plan is set).
final class SimFaultPlan: @unchecked Sendable {
    private let lock = WaitQueue()
    private var faults: [(fault: SimFault, seen: Int, fired: Int)] = []
    private var firedTotal = 0
    private let armed = Atomic<Bool>(false)

    /// True when at least one fault is set.
    var isArmed: Bool { armed.load(ordering: .relaxed) }

    /// Replaces the faults (an empty list disarms) and resets the counters.
    func set(_ newFaults: [SimFault]) {
        lock.withLock {
            faults = newFaults.map { ($0, 0, 0) }
            firedTotal = 0
            armed.store(!newFaults.isEmpty, ordering: .relaxed)
        }
    }

    /// How many operations failed because of the current plan.
    var firedCount: Int { lock.withLock { firedTotal } }

    /// The negative errno an operation must fail with, or 0 to let it run.
    func check(_ operation: SimFault.Operation, offset: UInt64, byteCount: Int) -> Int {
        lock.withLock {
            for index in faults.indices {
                let fault = faults[index].fault
                guard fault.operation == operation, fault.covers(offset: offset, byteCount: byteCount) else { continue }
                faults[index].seen += 1
                guard faults[index].seen > fault.skipOperations else { continue }
                if let limit = fault.failCount, faults[index].fired >= limit { continue }
                faults[index].fired += 1
                firedTotal += 1
                return -Int(fault.errno)
            }
            return 0
        }
    }
}
