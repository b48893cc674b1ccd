import Testing

@Test func BlksnapKitTestsPlaceholder() { #expect(Bool(true)) }
