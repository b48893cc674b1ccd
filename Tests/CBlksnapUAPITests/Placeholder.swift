import Testing

@Test func CBlksnapUAPITestsPlaceholder() { #expect(Bool(true)) }
