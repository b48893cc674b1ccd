import BlksnapBench
import Testing

/// The quick benchmark run must keep working: every figure is produced (measured, or
/// explicitly not available with a reason). No timing is asserted.
@Suite(.serialized)
struct BenchmarkSmokeTests {
    @Test func quickRunProducesEveryFigure() throws {
        let report = try Benchmark.run(BenchConfiguration(quick: true))
        #expect(report.figures.map(\.key) == Benchmark.figureKeys)
        for figure in report.figures {
            if (["cli_version", "nbd_copy_vs_pread", "nbd_copy_vs_qemu_nbd"] + Benchmark.objectStoreKeys).contains(figure.key),
               figure.value == nil {
                // blksnapctl may not be built next to the test binary, nbdcopy or qemu-nbd
                // may not be installed, no S3 endpoint may be given: a reason is required.
                #expect(figure.note.hasPrefix("not available: "), "\(figure.key) has neither a value nor a reason")
                continue
            }
            let value = try #require(figure.value, "figure \(figure.key) was not produced: \(figure.note)")
            #expect(value.median.isFinite && value.min <= value.median && value.median <= value.max,
                    "figure \(figure.key) has an inconsistent summary \(value)")
        }
        let json = report.jsonDocument()
        for key in Benchmark.figureKeys { #expect(json.contains("\"\(key)\": {"), "JSON lacks \(key)") }
        #expect(report.table().contains("COW first-touch"))
    }
}
