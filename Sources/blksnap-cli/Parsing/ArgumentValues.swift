import BlksnapKit

/// Why a command-line value was rejected. Its description is one line that quotes the
/// bad value; ArgumentParser prefixes it with the option name and exits 64 (EX_USAGE).
struct ArgumentValueError: Error, CustomStringConvertible, Equatable {
    /// The one-line explanation.
    let description: String

    init(_ description: String) { self.description = description }
}

/// A device as given on the command line: a path (`/dev/sdb1`) or a number (`8:17`).
enum DeviceArgument: Equatable, Sendable, CustomStringConvertible {
    /// A device node path.
    case path(String)
    /// A device number, written `MAJ:MIN`.
    case number(DeviceNumber)

    /// The text as the user would write it.
    var description: String {
        switch self {
        case .path(let path): path
        case .number(let number): number.description
        }
    }
}

/// The parsers for every value type that blksnapctl accepts. Pure functions, so they
/// are unit-tested without running a command.
enum ArgumentValues {
    /// Parses a size in bytes: plain digits, or digits followed by one IEC suffix
    /// `K`, `M`, `G`, `T` (either case, 1024-based; an optional trailing `iB`/`B` is accepted).
    ///
    /// - Parameter allowZero: false where a zero size is meaningless (device sizes, lengths).
    static func size(_ text: String, allowZero: Bool = false) throws(ArgumentValueError) -> UInt64 {
        var digits = Substring(text)
        let lowered = text.lowercased()
        var multiplier: UInt64 = 1
        for suffix in ["kib", "mib", "gib", "tib", "kb", "mb", "gb", "tb", "k", "m", "g", "t", "b"] where lowered.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            switch suffix.first! {
            case "k": multiplier = 1 << 10
            case "m": multiplier = 1 << 20
            case "g": multiplier = 1 << 30
            case "t": multiplier = 1 << 40
            default: multiplier = 1
            }
            break
        }
        if digits.hasPrefix("-") { throw ArgumentValueError("size '\(text)' is negative") }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ArgumentValueError("size '\(text)' is not a number of bytes with an optional K, M, G or T suffix")
        }
        guard let count = UInt64(digits) else {
            throw ArgumentValueError("size '\(text)' does not fit in 64 bits")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        if overflow { throw ArgumentValueError("size '\(text)' does not fit in 64 bits") }
        if bytes == 0 && !allowZero { throw ArgumentValueError("size '\(text)' must not be zero") }
        return bytes
    }

    /// Parses an unsigned decimal number (a byte offset, a CBT number, a block size).
    ///
    /// - Parameter what: names the value in the message, e.g. "offset".
    static func number<T: FixedWidthInteger & UnsignedInteger>(_ text: String, as: T.Type = T.self,
                                                               what: String) throws(ArgumentValueError) -> T {
        switch decimal(text, as: T.self) {
        case .success(let value): return value
        case .failure(let reason): throw ArgumentValueError("\(what) '\(text)' \(reason.description)")
        }
    }

    /// Why a decimal number was rejected, as the end of a sentence.
    enum DecimalProblem: Error, CustomStringConvertible {
        case negative, notDecimal, tooLarge(String)
        var description: String {
            switch self {
            case .negative: "is negative"
            case .notDecimal: "is not a decimal number"
            case .tooLarge(let max): "is larger than \(max)"
            }
        }
    }

    static func decimal<T: FixedWidthInteger & UnsignedInteger>(_ text: some StringProtocol, as: T.Type) -> Result<T, DecimalProblem> {
        if text.hasPrefix("-") { return .failure(.negative) }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .failure(.notDecimal) }
        guard let value = T(text) else { return .failure(.tooLarge(String(T.max))) }
        return .success(value)
    }

    /// Parses `SECTOR:COUNT` (decimal 512-byte sectors). COUNT is at least 1 and the range
    /// must not wrap past 2^64.
    static func sectorRange(_ text: String) throws(ArgumentValueError) -> SectorRange {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ArgumentValueError("range '\(text)' is not SECTOR:COUNT (two decimal numbers of 512-byte sectors)")
        }
        let start: UInt64, count: UInt64
        switch decimal(parts[0], as: UInt64.self) {
        case .success(let value): start = value
        case .failure(let reason): throw ArgumentValueError("range '\(text)': start sector '\(parts[0])' \(reason)")
        }
        switch decimal(parts[1], as: UInt64.self) {
        case .success(let value): count = value
        case .failure(let reason): throw ArgumentValueError("range '\(text)': sector count '\(parts[1])' \(reason)")
        }
        if count == 0 {
            throw ArgumentValueError("range '\(text)' has zero sectors (COUNT must be at least 1)")
        }
        if start.addingReportingOverflow(count).overflow {
            throw ArgumentValueError("range '\(text)' ends past sector 2^64")
        }
        return SectorRange(offsetSectors: start, countSectors: count)
    }

    /// Parses a device: `MAJ:MIN` (two decimal numbers) or a path (anything containing `/`
    /// or naming a node; a bare name `sdb` is taken as `/dev/sdb`).
    static func device(_ text: String) throws(ArgumentValueError) -> DeviceArgument {
        if text.isEmpty { throw ArgumentValueError("device '' is empty: give a path like /dev/sdb or MAJ:MIN") }
        if text.contains(":") && !text.contains("/") {
            guard let number = DeviceNumber(parsing: text) else {
                throw ArgumentValueError("device '\(text)' is not MAJ:MIN (two decimal numbers below 2^32) nor a path")
            }
            return .number(number)
        }
        if text.contains("\0") { throw ArgumentValueError("device '\(text)' contains a NUL byte") }
        return .path(text.contains("/") ? text : "/dev/" + text)
    }

    /// Parses a snapshot id in canonical UUID text (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
    /// hex digits in either case).
    static func snapshotID(_ text: String) throws(ArgumentValueError) -> SnapshotID {
        guard let id = SnapshotID(parsing: text) else {
            throw ArgumentValueError("snapshot id '\(text)' is not a UUID like 0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f")
        }
        return id
    }

    /// Parses a simulator parameter `NAME=VALUE` (VALUE a decimal 32-bit number).
    static func parameter(_ text: String) throws(ArgumentValueError) -> (name: String, value: UInt32) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ArgumentValueError("parameter '\(text)' is not NAME=VALUE")
        }
        let name = String(text[..<equals])
        let valueText = String(text[text.index(after: equals)...])
        guard !name.isEmpty else { throw ArgumentValueError("parameter '\(text)' has no NAME before '='") }
        switch decimal(valueText, as: UInt32.self) {
        case .success(let value): return (name, value)
        case .failure(let reason): throw ArgumentValueError("parameter '\(text)': value '\(valueText)' \(reason)")
        }
    }
}
