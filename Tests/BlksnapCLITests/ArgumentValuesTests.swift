import BlksnapKit
import Testing
@testable import blksnap_cli

/// Table-driven tests of every command-line value parser.
@Suite struct ArgumentValuesTests {
    static let goodSizes: [(String, Bool, UInt64)] = [
        ("0", true, 0), ("1", false, 1), ("512", false, 512),
        ("1K", false, 1024), ("1k", false, 1024), ("4KiB", false, 4096), ("2kb", false, 2048),
        ("1M", false, 1 << 20), ("3m", false, 3 << 20), ("1G", false, 1 << 30), ("1g", false, 1 << 30),
        ("2T", false, 2 << 40), ("7t", false, 7 << 40), ("100B", false, 100),
        ("16777215T", false, 16_777_215 << 40), ("18446744073709551615", false, UInt64.max),
    ]

    @Test(arguments: goodSizes)
    func sizesAccepted(text: String, allowZero: Bool, bytes: UInt64) throws {
        #expect(try ArgumentValues.size(text, allowZero: allowZero) == bytes)
    }

    static let badSizes: [(String, String)] = [
        ("0", "must not be zero"), ("0K", "must not be zero"), ("-1", "negative"), ("-4K", "negative"),
        ("", "not a number"), ("K", "not a number"), ("1.5G", "not a number"), ("1P", "not a number"),
        ("12 K", "not a number"), ("0x10", "not a number"),
        ("18446744073709551616", "64 bits"), ("16777216T", "64 bits"), ("99999999999999999999K", "64 bits"),
    ]

    @Test(arguments: badSizes)
    func sizesRejected(text: String, reason: String) {
        #expect {
            try ArgumentValues.size(text)
        } throws: { error in
            let message = (error as? ArgumentValueError)?.description ?? ""
            return message.contains("'\(text)'") && message.contains(reason)
        }
    }

    static let goodRanges: [(String, UInt64, UInt64)] = [
        ("0:8", 0, 8), ("18446744073709551614:1", UInt64.max - 1, 1),
    ]

    @Test(arguments: goodRanges)
    func rangesAccepted(text: String, start: UInt64, count: UInt64) throws {
        let range = try ArgumentValues.sectorRange(text)
        #expect(range == SectorRange(offsetSectors: start, countSectors: count))
    }

    static let badRanges: [(String, String)] = [
        ("2048", "SECTOR:COUNT"), ("1:2:3", "SECTOR:COUNT"), (":8", "not a decimal"), ("8:", "not a decimal"),
        ("-1:8", "negative"), ("1:-8", "negative"), ("a:8", "not a decimal"), ("2048:0", "zero sectors"), ("0:0", "zero sectors"),
        ("18446744073709551616:1", "larger than"), ("1:18446744073709551616", "larger than"),
        ("18446744073709551615:1", "past sector"),
    ]

    @Test(arguments: badRanges)
    func rangesRejected(text: String, reason: String) {
        #expect {
            try ArgumentValues.sectorRange(text)
        } throws: { error in
            let message = (error as? ArgumentValueError)?.description ?? ""
            return message.contains("'\(text)'") && message.contains(reason)
        }
    }

    @Test func devicesAccepted() throws {
        #expect(try ArgumentValues.device("/dev/sdb1") == .path("/dev/sdb1"))
        #expect(try ArgumentValues.device("sdb") == .path("/dev/sdb"))
        #expect(try ArgumentValues.device("./disk.img") == .path("./disk.img"))
        #expect(try ArgumentValues.device("/dev/blksnap-image_8:16") == .path("/dev/blksnap-image_8:16"))
        #expect(try ArgumentValues.device("8:16") == .number(DeviceNumber(major: 8, minor: 16)))
        #expect(try ArgumentValues.device("259:1048575") == .number(DeviceNumber(major: 259, minor: 1_048_575)))
    }

    @Test(arguments: ["", "8:", ":16", "8:16:1", "-8:16", "a:b", "99999999999:1"])
    func devicesRejected(text: String) {
        #expect(throws: ArgumentValueError.self) { try ArgumentValues.device(text) }
    }

    @Test func snapshotIDs() throws {
        let id = try ArgumentValues.snapshotID("0F5C3A1E-8d2b-4c7f-9a61-3e2d4b5c6a7f")
        #expect(id.description == "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f")
        #expect(id.rawValue == [0x0f, 0x5c, 0x3a, 0x1e, 0x8d, 0x2b, 0x4c, 0x7f, 0x9a, 0x61, 0x3e, 0x2d, 0x4b, 0x5c, 0x6a, 0x7f])
        for bad in ["", "0f5c3a1e8d2b4c7f9a613e2d4b5c6a7f", "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7", "0f5c3a1e-8d2b-4c7f-9a61_3e2d4b5c6a7f",
                    "0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7g", "{0f5c3a1e-8d2b-4c7f-9a61-3e2d4b5c6a7f}"] {
            #expect {
                try ArgumentValues.snapshotID(bad)
            } throws: { error in
                (error as? ArgumentValueError)?.description.contains("'\(bad)'") == true
            }
        }
    }

    @Test func parameters() throws {
        let parsed = try ArgumentValues.parameter("chunk_minimum_shift=16")
        #expect(parsed.name == "chunk_minimum_shift" && parsed.value == 16)
        for bad in ["chunk_minimum_shift", "=5", "hz=", "hz=-1", "hz=4294967296", "hz=1e3"] {
            #expect(throws: ArgumentValueError.self) { try ArgumentValues.parameter(bad) }
        }
    }

    @Test func numbers() throws {
        #expect(try ArgumentValues.number("4096", as: UInt32.self, what: "offset") == 4096)
        #expect(throws: ArgumentValueError.self) { try ArgumentValues.number("256", as: UInt8.self, what: "since") }
        #expect(throws: ArgumentValueError.self) { try ArgumentValues.number("-1", as: UInt64.self, what: "offset") }
    }
}
