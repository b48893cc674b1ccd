/// A 16-byte id as the v5 UAPI carries it (`struct blksnap_uuid`): snapshot ids and
/// CBT generation ids. Fresh ids are random version-4 UUIDs (`uuid_gen`).
public struct SimUUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 raw bytes, in wire order.
    public let bytes: [UInt8]

    /// Wraps 16 raw bytes (precondition: exactly 16).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a blksnap_uuid has 16 bytes")
        self.bytes = bytes
    }

    /// A new random version-4 UUID, as the kernel's `uuid_gen`.
    static func random() -> SimUUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return SimUUID(bytes: bytes)
    }

    /// The canonical 8-4-4-4-12 lowercase hex form (the kernel's `%pUb`).
    public var description: String {
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-"
            + hex[8..<10].joined() + "-" + hex[10..<16].joined()
    }
}
