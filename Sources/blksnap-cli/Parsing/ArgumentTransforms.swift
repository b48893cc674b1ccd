import BlksnapKit

/// The `transform:` closures of `@Argument`/`@Option`, over ``ArgumentValues``.
///
/// A thrown ``ArgumentValueError`` becomes ArgumentParser's
/// "The value 'X' is invalid for '--option <x>': REASON" and exit 64.
enum ArgumentTransforms {
    static func device(_ text: String) throws -> DeviceArgument { try ArgumentValues.device(text) }

    static func snapshotID(_ text: String) throws -> SnapshotID { try ArgumentValues.snapshotID(text) }

    static func sectorRange(_ text: String) throws -> SectorRange { try ArgumentValues.sectorRange(text) }

    static func size(_ text: String) throws -> UInt64 { try ArgumentValues.size(text) }

    static func sizeOrZero(_ text: String) throws -> UInt64 { try ArgumentValues.size(text, allowZero: true) }

    static func byteOffset(_ text: String) throws -> UInt64 { try ArgumentValues.size(text, allowZero: true) }

    static func changesNumber(_ text: String) throws -> UInt8 {
        try ArgumentValues.number(text, as: UInt8.self, what: "changes number")
    }

    static func seed(_ text: String) throws -> UInt64 {
        try ArgumentValues.number(text, as: UInt64.self, what: "seed")
    }

    static func milliseconds(_ text: String) throws -> UInt64 {
        try ArgumentValues.number(text, as: UInt64.self, what: "timeout")
    }

    static func blockSize(_ text: String) throws -> UInt32 {
        let bytes = try ArgumentValues.size(text)
        guard bytes >= 512, bytes <= 65_536, bytes & (bytes - 1) == 0 else {
            throw ArgumentValueError("logical block size '\(text)' is not a power of two from 512 to 64K")
        }
        return UInt32(bytes)
    }

    static func parameter(_ text: String) throws -> SimParameter {
        let parsed = try ArgumentValues.parameter(text)
        return SimParameter(name: parsed.name, value: parsed.value)
    }
}

/// A simulator module parameter `NAME=VALUE` from `--param`.
struct SimParameter: Equatable, Sendable {
    /// Module parameter name, e.g. `chunk_minimum_shift`.
    var name: String
    /// Its value.
    var value: UInt32
}
