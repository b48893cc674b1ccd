import Testing

@Test func SimKernelTestsPlaceholder() { #expect(Bool(true)) }
