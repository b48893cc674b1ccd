import SimKernel

/// Builds a frame body: little-endian integers, length-prefixed strings and blobs.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty body.
    public init() {}

    /// Appends one byte.
    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    /// Appends a little-endian u16.
    public mutating func u16(_ value: UInt16) { integer(value) }
    /// Appends a little-endian u32.
    public mutating func u32(_ value: UInt32) { integer(value) }
    /// Appends a little-endian u64.
    public mutating func u64(_ value: UInt64) { integer(value) }
    /// Appends a little-endian i32.
    public mutating func i32(_ value: Int32) { integer(value) }
    /// Appends a little-endian i64.
    public mutating func i64(_ value: Int64) { integer(value) }
    /// Appends a bool as one byte (0 or 1).
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    /// Appends bytes as they are (no length).
    public mutating func raw(_ value: some Collection<UInt8>) { bytes.append(contentsOf: value) }
    /// Appends a u32 length and the bytes.
    public mutating func blob(_ value: some Collection<UInt8>) {
        u32(UInt32(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }
    /// Appends a u32 length and the UTF-8 bytes of a string.
    public mutating func string(_ value: String) { blob(Array(value.utf8)) }

    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads a frame body written by ``WireWriter``, trusting no length in it: every
/// length is checked against the bytes that remain before anything is allocated.
public struct WireReader: Sendable {
    private let bytes: [UInt8]
    private var position = 0

    /// Reads `bytes` from the start.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - position }

    /// Reads one byte.
    public mutating func u8() throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .malformed("body ends inside a u8") }
        defer { position += 1 }
        return bytes[position]
    }
    /// Reads a little-endian u16.
    public mutating func u16() throws(WireError) -> UInt16 { try integer() }
    /// Reads a little-endian u32.
    public mutating func u32() throws(WireError) -> UInt32 { try integer() }
    /// Reads a little-endian u64.
    public mutating func u64() throws(WireError) -> UInt64 { try integer() }
    /// Reads a little-endian i32.
    public mutating func i32() throws(WireError) -> Int32 { try integer() }
    /// Reads a little-endian i64.
    public mutating func i64() throws(WireError) -> Int64 { try integer() }

    /// Reads a bool; any byte other than 0 or 1 is malformed.
    public mutating func bool() throws(WireError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let other: throw .malformed("bool byte \(other)")
        }
    }

    /// Reads exactly `count` bytes (no length prefix).
    public mutating func raw(_ count: Int) throws(WireError) -> [UInt8] {
        guard count >= 0, remaining >= count else {
            throw .malformed("\(count) bytes announced, \(remaining) left")
        }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Reads a u32 length and that many bytes.
    public mutating func blob() throws(WireError) -> [UInt8] {
        let count = try u32()
        guard UInt64(count) <= UInt64(remaining) else {
            throw .malformed("blob of \(count) bytes announced, \(remaining) left")
        }
        return try raw(Int(count))
    }

    /// Reads a u32 length and that many bytes of UTF-8.
    public mutating func string() throws(WireError) -> String {
        let utf8 = try blob()
        guard let text = String(validating: utf8, as: UTF8.self) else { throw .malformed("string is not UTF-8") }
        return text
    }

    /// Reads an element count and checks that `count × minimumElementBytes` bytes
    /// could follow, so a caller may reserve `count` elements safely.
    public mutating func count(minimumElementBytes: Int) throws(WireError) -> Int {
        let count = try u32()
        guard UInt64(count) * UInt64(max(1, minimumElementBytes)) <= UInt64(remaining) else {
            throw .malformed("\(count) elements announced, \(remaining) bytes left")
        }
        return Int(count)
    }

    /// Checks that the whole body was read.
    public func finish() throws(WireError) {
        guard remaining == 0 else { throw .malformed("\(remaining) trailing bytes") }
    }

    private mutating func integer<T: FixedWidthInteger>() throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .malformed("body ends inside a \(size)-byte integer") }
        var value: T = 0
        for index in 0..<size { value |= T(truncatingIfNeeded: bytes[position + index]) << (8 * index) }
        position += size
        return value
    }
}
