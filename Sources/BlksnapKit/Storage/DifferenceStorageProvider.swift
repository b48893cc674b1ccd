/// A source of difference storage for one snapshot, handed out portion by portion.
///
/// A ``Session`` asks for the first portion before the snapshot is taken and for more
/// on every `low_free_space` event. The kernel writes into the portions directly (it
/// knows nothing of files), so a provider must keep whatever backs a portion in place
/// until ``release()`` — which the session calls only after the snapshot has been
/// destroyed and its images have vanished.
///
/// Providers are used from one thread at a time (the session's).
public protocol DifferenceStorageProvider: AnyObject {
    /// The next portion: at least `minimumSectors` sectors when that much is left,
    /// otherwise whatever is left (possibly less); nil when nothing is left.
    ///
    /// Sizes are rounded up to the storage device's logical block size. The ranges are
    /// already validated (inside the device, aligned, plain).
    func nextPortion(minimumSectors: UInt64) throws(StorageError) -> StoragePortion?

    /// Gives back everything handed out (removes files, closes descriptors).
    ///
    /// Call only after the snapshot using the portions is destroyed: the kernel may
    /// write to them until then. Calling it again does nothing.
    func release() throws(StorageError)

    /// Sectors still available (nil when unbounded or unknown).
    var remainingSectors: UInt64? { get }

    /// The file, directory or block device the module grows itself, for providers that
    /// hand out no portions (``KernelGrownStorage``); nil for range providers.
    var kernelGrownPath: String? { get }
}

extension DifferenceStorageProvider {
    /// Range providers hand out portions: nil.
    public var kernelGrownPath: String? { nil }
}
