import Testing

@Test func BlksnapCLITestsPlaceholder() { #expect(Bool(true)) }
