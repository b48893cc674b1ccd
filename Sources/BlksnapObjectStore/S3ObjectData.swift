/// The bytes GetObject returned (all of the object, or the range asked for) and its metadata.
public struct S3ObjectData: Sendable, Equatable {
    /// The bytes received.
    public var bytes: [UInt8]
    /// The object's metadata; ``S3ObjectHead/size`` is the whole object's.
    public var head: S3ObjectHead
    /// The byte range of ``bytes`` in the object (inclusive bounds), for a ranged request the
    /// service answered with `206 Partial Content`.
    public var range: ClosedRange<Int64>?

    /// Data from its parts.
    public init(bytes: [UInt8], head: S3ObjectHead, range: ClosedRange<Int64>?) {
        self.bytes = bytes
        self.head = head
        self.range = range
    }
}
