// libFuzzer target (d): the NBD server's handshake and request decoder
// (Sources/BlksnapNBD/Protocol, which imports only the standard library). The first
// byte picks the TLS policy; the rest is what a client sends. The input is fed twice,
// whole and in slices of fuzzer-chosen sizes: framing must not depend on how the bytes
// arrive, so both runs must produce the same actions. Every step must consume within
// its input and make progress. Compiled by scripts/fuzz.sh.

private let export = NBDExportDescriptor(
    name: "sda", sizeBytes: 1 << 30, description: "fuzz export", preferredBlockBytes: 65536,
    flags: [.hasFlags, .readOnly, .canMultiConn, .sendCache, .sendDF],
    metaContexts: [.allocation, .dirtyBitmap("cbt")])

private func run(_ bytes: [UInt8], tls: NBDServerMachine.TLSPolicy, slices: [Int]) -> [NBDAction] {
    var machine = NBDServerMachine(exports: [export, NBDExportDescriptor(
        name: "sdb", sizeBytes: 4096, description: "", preferredBlockBytes: 4096, flags: [.hasFlags, .readOnly], metaContexts: [.allocation])],
        tlsPolicy: tls)
    var pending: [UInt8] = []
    var actions: [NBDAction] = []
    var offset = 0
    var slice = 0
    while offset < bytes.count {
        let size = slices.isEmpty ? bytes.count : max(1, slices[slice % slices.count])
        slice += 1
        let end = min(bytes.count, offset + size)
        pending += bytes[offset..<end]
        offset = end
        while let step = pending.withUnsafeBytes({ machine.consume($0) }) {
            if step.consumed < 0 || step.consumed > pending.count { fatalError("consumed \(step.consumed) of \(pending.count)") }
            if step.consumed == 0 && step.actions.isEmpty { fatalError("a step without progress") }
            pending.removeFirst(step.consumed)
            for action in step.actions {
                switch action {
                case .read(let request):
                    if request.lengthBytes == 0 || request.lengthBytes > NBDLimits.maximumPayloadBytes
                        || request.offsetBytes + UInt64(request.lengthBytes) > (machine.currentExport?.sizeBytes ?? 0) {
                        fatalError("a read that validation should have refused: \(request)")
                    }
                case .blockStatus(let request):
                    if request.contexts.isEmpty { fatalError("block status without a context") }
                    let offered = machine.currentExport?.metaContexts ?? []
                    for selected in request.contexts where selected.id == 0 || Int(selected.id) > offered.count
                        || offered[Int(selected.id) - 1] != selected.context {
                        fatalError("block status context \(selected) is not the export's context of that id")
                    }
                default:
                    break
                }
            }
            actions += step.actions
            if step.consumed == 0 { break }
        }
    }
    return actions
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNBD(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let tls: NBDServerMachine.TLSPolicy = data[0] & 1 == 0 ? .disabled : .required
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = run(bytes, tls: tls, slices: [])
    let sliced = run(bytes, tls: tls, slices: [1, 3, 7, Int(data[0] >> 1) + 1, 28, 16])
    if whole != sliced { fatalError("actions depend on how the input is sliced") }
    return 0
}
