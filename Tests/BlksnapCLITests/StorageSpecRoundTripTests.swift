import Testing
@testable import blksnap_cli

/// Regression from the parser fuzz target: a device path that begins with a combining
/// mark fused with the `,` before it into one Swift character, so the canonical text of
/// a parsed spec did not parse back to the same spec.
@Suite struct StorageSpecRoundTripTests {
    @Test(arguments: [
        "\u{301}/x:1:2,11:2,5:1",
        "/dev/sdc:0:100,200:50",
        "dir:\u{301}x",
        "\u{301}sdc",
    ])
    func canonicalTextParsesBack(text: String) throws {
        let spec = try StorageSpec.parse(text)
        #expect(try StorageSpec.parse("\(spec)") == spec)
    }

    @Test func combiningMarkAfterCommaStillSeparatesItems() {
        // Two items naming two different devices: refused. Matched per character, the
        // comma would vanish into "\u{301}" and the whole text would read as one item.
        #expect(throws: ArgumentValueError.self) { try StorageSpec.parse("/dev/sdc:0:8,\u{301}/dev/sdc:16:8") }
    }
}
