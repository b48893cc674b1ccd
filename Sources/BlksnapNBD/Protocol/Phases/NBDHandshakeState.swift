/// The first phase of an ``NBDServerMachine``: the greeting is sent and the machine waits
/// for the 4 bytes of client flags. Its data is what the options phase starts with.
struct NBDHandshakeState: Sendable {
    /// The exports offered.
    let exports: [NBDExportDescriptor]
    /// TLS policy.
    let tlsPolicy: NBDServerMachine.TLSPolicy

    /// `NBDMAGIC`, `IHAVEOPT`, handshake flags (fixed newstyle, no zeroes).
    static func greeting() -> [UInt8] {
        var writer = NBDByteWriter(capacity: 18)
        writer.u64(NBDMagic.server)
        writer.u64(NBDMagic.option)
        writer.u16(NBDHandshakeFlags([.fixedNewstyle, .noZeroes]).rawValue)
        return writer.bytes
    }

    /// The client flags: unknown bits close the connection, otherwise option haggling
    /// begins.
    func consume(_ input: UnsafeRawBufferPointer) -> NBDServerMachine.PhaseStep? {
        var reader = NBDByteReader(input)
        guard let raw = reader.u32() else { return nil }
        let flags = NBDClientFlags(rawValue: raw)
        if !NBDClientFlags([.fixedNewstyle, .noZeroes]).isSuperset(of: flags) {
            return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 4, actions: [.close("client flags \(nbdHex(raw)) have unknown bits")]),
                                              next: .closed)
        }
        let options = NBDOptionsState(exports: exports, tlsPolicy: tlsPolicy, noZeroes: flags.contains(.noZeroes))
        return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 4, actions: []), next: .options(options))
    }
}
