import CBlksnapUAPI

/// The generation id of a CBT map (`blksnap_cbtinfo.generation_id`): 16 bytes that
/// change whenever the map restarts (attach, reset, the 255th take).
@frozen
public struct CBTGenerationID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as the kernel reports them.
    public var rawValue: [UInt8]

    /// Wraps 16 bytes; nil when `rawValue` does not hold exactly 16 bytes.
    public init?(rawValue: [UInt8]) {
        guard rawValue.count == 16 else { return nil }
        self.rawValue = rawValue
    }

    /// Copies the bytes of a kernel `struct blksnap_uuid`.
    public init(_ uuid: blksnap_uuid) {
        var copy = uuid
        self.rawValue = withUnsafeBytes(of: &copy.b) { Array($0) }
    }

    /// Parses the canonical 8-4-4-4-12 text form; nil for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let bytes = UUIDText.parse(text) else { return nil }
        self.rawValue = bytes
    }

    /// The canonical lowercase text form, 8-4-4-4-12.
    public var description: String { UUIDText.format(rawValue) }
}
