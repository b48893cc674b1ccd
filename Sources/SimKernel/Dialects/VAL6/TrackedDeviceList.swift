/// VAL-6.3.1's list of tracked devices (kernel: tracker.c `tracked_device_list`, field
/// spec §1.4.2, §1.4.3), with the bdevfilter extension each entry's tracker was attached
/// through.
///
/// An entry is appended when CREATE makes a new tracker and removed only by a successful
/// TRACKER_REMOVE; it outlives snapshots (trackers stay attached after DESTROY,
/// §1.8.3) and even the device: TRACKER_COLLECT reports every entry, with zeroed CBT
/// fields when the device cannot be opened or has no tracker. `filter` is the
/// extension's hold on the tracker, keyed by `dev_t`: TRACKER_REMOVE of a device that can
/// no longer be opened drops it (`lp_bdev_filter_detach`) and keeps the entry.
final class TrackedDeviceList: @unchecked Sendable {
    /// One tracked `dev_t`.
    struct Entry {
        var major: UInt32
        var minor: UInt32
        /// The filter the bdevfilter extension of this `dev_t` still holds, if any.
        var filter: Tracker?
    }

    private let entries = PthreadMutex<[Entry]>([])

    /// `list_add_tail` of a new tracker's `dev_t`.
    func append(major: UInt32, minor: UInt32, tracker: Tracker) {
        entries.withLock { $0.append(Entry(major: major, minor: minor, filter: tracker)) }
    }

    /// Removes the first entry of `major:minor` (a successful TRACKER_REMOVE).
    func remove(major: UInt32, minor: UInt32) {
        entries.withLock { list in
            if let index = list.firstIndex(where: { $0.major == major && $0.minor == minor }) { list.remove(at: index) }
        }
    }

    /// `lp_bdev_filter_detach(dev_t)`: drops the filter an extension of `major:minor`
    /// still holds and answers true; false (`ENOENT`) when none holds one. The entry stays.
    func dropFilter(major: UInt32, minor: UInt32) -> Bool {
        entries.withLock { list in
            guard let index = list.firstIndex(where: { $0.major == major && $0.minor == minor && $0.filter != nil })
            else { return false }
            list[index].filter = nil
            return true
        }
    }

    /// Every entry's `dev_t`, in list order.
    var deviceNumbers: [(major: UInt32, minor: UInt32)] { entries.withLock { $0.map { ($0.major, $0.minor) } } }
}
