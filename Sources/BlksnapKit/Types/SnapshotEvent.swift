import CBlksnapUAPI
import SystemPackage

/// An event of a snapshot's queue, as `IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT` returns it.
///
/// Every case carries the kernel's time label: `CLOCK_MONOTONIC` in nanoseconds
/// when the event was queued.
@frozen
public enum SnapshotEvent: Hashable, Sendable, CustomStringConvertible {
    /// `blksnap_event_code_low_free_space` (code 0): the difference storage runs low;
    /// append at least `requestedSectors` (v5 always asks for `diff_storage_minimum`).
    /// v5 also queues one at creation. The kernel re-arms the next one only after an
    /// append makes the total capacity reach the total requested.
    case lowFreeSpace(requestedSectors: UInt64, timeLabelNanoseconds: Int64)
    /// `blksnap_event_code_corrupted` (code 1): the difference area of `device` is
    /// corrupted with `errno` (e.g. `ENOSPC` = storage overflow, `EIO`); its image now
    /// fails every I/O with `EIO`.
    case corrupted(device: DeviceNumber, errno: Errno, timeLabelNanoseconds: Int64)
    /// A code v5 does not define; `payload` is the whole `data` area (4064 bytes).
    case unknown(code: UInt32, payload: [UInt8], timeLabelNanoseconds: Int64)

    /// The event's time label (`CLOCK_MONOTONIC`, nanoseconds).
    public var timeLabelNanoseconds: Int64 {
        switch self {
        case .lowFreeSpace(_, let time), .corrupted(_, _, let time), .unknown(_, _, let time): return time
        }
    }

    /// The event code in v5 and VAL-6.x numbering (0 low free space, 1 corrupted; VAL-7.0
    /// sends them swapped, its driver decodes them before they reach this type).
    public var code: UInt32 {
        switch self {
        case .lowFreeSpace: return 0
        case .corrupted: return 1
        case .unknown(let code, _, _): return code
        }
    }

    /// One line describing the event.
    public var description: String {
        switch self {
        case .lowFreeSpace(let sectors, _):
            return "low free space: append at least \(sectors) sectors (\(sectors &* 512) bytes) of difference storage"
        case .corrupted(let device, let errno, _):
            return "snapshot of device \(device) corrupted: \(BlksnapError.corruptionMeaning(errno)) (\(ErrnoName.name(of: errno)))"
        case .unknown(let code, _, _):
            return "unknown event code \(code)"
        }
    }

    /// Decodes the kernel's `struct blksnap_snapshot_event` as WAIT_EVENT wrote it:
    /// code 0 carries `struct blksnap_event_low_free_space`, code 1
    /// `struct blksnap_event_corrupted` (its `err_code` is a positive errno).
    public init(_ event: blksnap_snapshot_event) {
        var copy = event
        self = withUnsafeBytes(of: &copy.data) { data in
            SnapshotEvent(code: event.code, data: data, timeLabelNanoseconds: event.time_label,
                          lowFreeSpaceCode: blksnap_event_code_low_free_space.rawValue,
                          corruptedCode: blksnap_event_code_corrupted.rawValue)
        }
    }

    /// Decodes an event from its code and `data` area with an ABI's numbering: the
    /// payloads are byte-identical on every blksnap ABI (low free space: `u64
    /// requested_nr_sect`; corrupted: `u32 major, u32 minor, s32 err_code`), the codes are
    /// not (VAL-7.0 swaps them: corrupted 0, low free space 1).
    public init(code: UInt32, data: UnsafeRawBufferPointer, timeLabelNanoseconds time: Int64,
                lowFreeSpaceCode: UInt32, corruptedCode: UInt32) {
        switch code {
        case lowFreeSpaceCode where data.count >= MemoryLayout<blksnap_event_low_free_space>.size:
            let payload = data.loadUnaligned(as: blksnap_event_low_free_space.self)
            self = .lowFreeSpace(requestedSectors: payload.requested_nr_sect, timeLabelNanoseconds: time)
        case corruptedCode where data.count >= MemoryLayout<blksnap_event_corrupted>.size:
            let payload = data.loadUnaligned(as: blksnap_event_corrupted.self)
            let errno = payload.err_code == Int32.min ? Int32.max : abs(payload.err_code)
            self = .corrupted(device: DeviceNumber(major: payload.dev_id_mj, minor: payload.dev_id_mn),
                              errno: Errno(rawValue: errno), timeLabelNanoseconds: time)
        default:
            self = .unknown(code: code, payload: Array(data), timeLabelNanoseconds: time)
        }
    }
}
