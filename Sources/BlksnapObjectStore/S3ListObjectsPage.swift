/// One page of a ListObjectsV2 answer.
public struct S3ListObjectsPage: Sendable, Equatable {
    /// The objects of this page, in key order.
    public var objects: [S3ObjectSummary]
    /// The common prefixes, when a delimiter was given ("directories").
    public var commonPrefixes: [String]
    /// Whether more keys follow: ask again with ``nextContinuationToken``.
    public var isTruncated: Bool
    /// The token of the next page when ``isTruncated``.
    public var nextContinuationToken: String?

    /// A page from its parts.
    public init(objects: [S3ObjectSummary], commonPrefixes: [String] = [], isTruncated: Bool, nextContinuationToken: String?) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.nextContinuationToken = nextContinuationToken
    }
}
