/// Difference storage the module grows itself (VAL-7.0,
/// ``BlksnapCapabilities/StorageForm/kernelGrownFile`` and its siblings): a regular file,
/// a directory (the kernel makes an anonymous file in it) or a whole block device, named
/// at create and filled by the kernel up to ``SessionConfiguration/limitSectors``.
///
/// A ``Session`` given this provider creates the snapshot with
/// ``SnapshotCreation/Storage/kernelGrown(path:limitSectors:)`` and appends nothing: the
/// kernel sends no `low_free_space` event for such storage, it allocates more itself in
/// steps of `diff_storage_minimum`. The path must not be on a device of the snapshot
/// (the module ignores such a member without a word; the VAL-7.0 driver refuses it).
///
/// The kernel leaves a regular file in place after destroy (its blocks stay allocated);
/// ``release()`` does not remove it.
public final class KernelGrownStorage: DifferenceStorageProvider {
    /// The file, directory or block device, in the kernel's namespace.
    public let path: String

    /// Storage at `path`, grown by the kernel.
    public init(path: String) {
        self.path = path
    }

    /// Nothing is handed out: the kernel allocates.
    public func nextPortion(minimumSectors: UInt64) throws(StorageError) -> StoragePortion? { nil }

    /// Nothing to give back (the kernel closes the storage at destroy).
    public func release() throws(StorageError) {}

    /// Unknown: the kernel's limit bounds it.
    public var remainingSectors: UInt64? { nil }

    /// ``path``: the session creates the snapshot with it.
    public var kernelGrownPath: String? { path }
}
