// libFuzzer target (c): blksnapctl's value parsers (sizes, ranges, UUIDs, devices,
// parameters, block sizes, storage specs). Compiled by scripts/fuzz.sh with Sources/blksnap-cli/Parsing
// and the BlksnapKit value types they return (one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Every rejection is one line that quotes the value.
    func check(_ body: () throws -> Void) {
        do { try body() } catch {
            let message = "\(error)"
            if !text.contains("\n") && message.contains("\n") { fatalError("multi-line message: \(message)") }
        }
    }
    check { let bytes = try ArgumentValues.size(text); if bytes == 0 { fatalError("zero size accepted") } }
    check { _ = try ArgumentValues.size(text, allowZero: true) }
    check {
        let range = try ArgumentValues.sectorRange(text)
        if range.offsetSectors.addingReportingOverflow(range.countSectors).overflow { fatalError("wrapping range") }
    }
    check { _ = try ArgumentValues.device(text) }
    check {
        let id = try ArgumentValues.snapshotID(text)
        // Canonical text parses back to the same id.
        if (try? ArgumentValues.snapshotID("\(id)")) != id { fatalError("UUID does not round-trip: \(text)") }
    }
    check { _ = try ArgumentValues.parameter(text) }
    check {
        let spec = try StorageSpec.parse(text)
        // The canonical text of a parsed spec parses to the same spec.
        if (try? StorageSpec.parse("\(spec)")) != spec { fatalError("storage spec does not round-trip: \(text) → \(spec)") }
    }
    check { _ = try ArgumentValues.number(text, as: UInt8.self, what: "changes number") }
    check { _ = try ArgumentTransforms.blockSize(text) }
    check { _ = try ArgumentTransforms.milliseconds(text) }
    return 0
}
