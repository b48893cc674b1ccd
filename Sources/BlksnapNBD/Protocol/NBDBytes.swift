/// Big-endian encoding of protocol fields into a byte array.
public struct NBDByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends a 16-bit value, big-endian.
    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xff))
    }

    /// Appends a 32-bit value, big-endian.
    public mutating func u32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xff)) }
    }

    /// Appends a 64-bit value, big-endian.
    public mutating func u64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xff)) }
    }

    /// Appends raw bytes.
    public mutating func append(_ data: some Sequence<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Appends the UTF-8 bytes of `text`.
    public mutating func text(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }
}

/// Big-endian decoding of protocol fields from received bytes; every read is bounds
/// checked and returns nil past the end, so no input can trap.
public struct NBDByteReader {
    private let base: UnsafeRawBufferPointer
    /// Bytes consumed so far.
    public private(set) var position = 0

    /// Reads `base` from its start.
    public init(_ base: UnsafeRawBufferPointer) {
        self.base = base
    }

    /// Bytes left.
    public var remaining: Int { base.count - position }

    /// The next byte.
    public mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return base[position]
    }

    /// The next 16-bit value.
    public mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { position += 2 }
        return UInt16(base[position]) << 8 | UInt16(base[position + 1])
    }

    /// The next 32-bit value.
    public mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var value: UInt32 = 0
        for index in 0..<4 { value = value << 8 | UInt32(base[position + index]) }
        position += 4
        return value
    }

    /// The next 64-bit value.
    public mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var value: UInt64 = 0
        for index in 0..<8 { value = value << 8 | UInt64(base[position + index]) }
        position += 8
        return value
    }

    /// The next `count` bytes.
    public mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(base[position..<position + count])
    }

    /// The next `count` bytes as a string (invalid UTF-8 repaired).
    public mutating func string(_ count: Int) -> String? {
        bytes(count).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// `0x` and the hexadecimal digits of `value`, for messages.
func nbdHex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
