/// The server side of one NBD connection, fixed newstyle: a value type that consumes
/// bytes and returns actions. It does no I/O, so it is tested and fuzzed without a
/// socket (the NIO handler only moves bytes between the channel and it).
///
/// Each phase of the protocol is a state carrying only its own data, in a file of its
/// own (`Phases/`):
///
/// - `NBDHandshakeState`: greeting sent, waiting for the client's flags;
/// - `NBDOptionsState`: option haggling (TLS, structured replies, metadata contexts,
///   the export chosen);
/// - `NBDTransmissionState`: requests on one export, each validated in one function
///   (`NBDTransmissionState.validate(_:)`) before any I/O;
/// - closed: nothing more is accepted.
///
/// Every option gets a reply (`NBD_REP_ERR_*` rather than a silent close, except where the
/// protocol gives no way to answer).
public struct NBDServerMachine: Sendable {
    /// Whether TLS must be negotiated.
    public enum TLSPolicy: Sendable, Hashable {
        /// TLS is not offered: `NBD_OPT_STARTTLS` is refused with `NBD_REP_ERR_POLICY`.
        case disabled
        /// `NBD_OPT_STARTTLS` must come before any other option but `NBD_OPT_ABORT`.
        case required
    }

    /// The phase of the connection, without its data (for tests and logs).
    public enum Phase: Sendable, Hashable {
        /// Greeting sent, waiting for the 4 bytes of client flags.
        case handshake
        /// Option haggling.
        case options
        /// Transmission on an export.
        case transmission(exportIndex: Int)
        /// Nothing more is accepted.
        case closed
    }

    /// A request header as it arrives (28 bytes).
    public struct RequestHeader: Sendable, Hashable {
        /// Command flags.
        public var flags: NBDCommandFlags
        /// The command (``NBDCommand`` raw value, or an unknown one).
        public var type: UInt16
        /// The client's cookie.
        public var handle: UInt64
        /// First byte.
        public var offsetBytes: UInt64
        /// Length in bytes.
        public var lengthBytes: UInt32

        /// Creates a header from its fields.
        public init(flags: NBDCommandFlags, type: UInt16, handle: UInt64, offsetBytes: UInt64, lengthBytes: UInt32) {
            self.flags = flags
            self.type = type
            self.handle = handle
            self.offsetBytes = offsetBytes
            self.lengthBytes = lengthBytes
        }
    }

    /// A phase and its data.
    enum State: Sendable {
        case handshake(NBDHandshakeState)
        case options(NBDOptionsState)
        case transmission(NBDTransmissionState)
        case closed
    }

    /// What a phase made of one message: the step, and the state that follows (nil: the
    /// phase goes on).
    struct PhaseStep: Sendable {
        var step: NBDStep
        var next: State?
    }

    /// The exports offered.
    public let exports: [NBDExportDescriptor]
    /// TLS policy.
    public let tlsPolicy: TLSPolicy
    private var state: State

    /// A machine for `exports`.
    public init(exports: [NBDExportDescriptor], tlsPolicy: TLSPolicy) {
        self.exports = exports
        self.tlsPolicy = tlsPolicy
        state = .handshake(NBDHandshakeState(exports: exports, tlsPolicy: tlsPolicy))
    }

    /// The server's first bytes: `NBDMAGIC`, `IHAVEOPT`, handshake flags.
    public func greeting() -> [UInt8] {
        NBDHandshakeState.greeting()
    }

    /// Current phase.
    public var phase: Phase {
        switch state {
        case .handshake: .handshake
        case .options: .options
        case .transmission(let transmission): .transmission(exportIndex: transmission.exportIndex)
        case .closed: .closed
        }
    }

    /// The export of the transmission phase, if in it.
    public var currentExport: NBDExportDescriptor? {
        if case .transmission(let transmission) = state { return transmission.export }
        return nil
    }

    /// True once `NBD_OPT_STRUCTURED_REPLY` was acknowledged.
    public var structuredReplies: Bool {
        switch state {
        case .options(let options): options.structuredReplies
        case .transmission(let transmission): transmission.structuredReplies
        case .handshake, .closed: false
        }
    }

    /// The metadata contexts selected by `NBD_OPT_SET_META_CONTEXT` (in transmission: those
    /// of its export; empty: none).
    public var selectedContexts: [NBDSelectedContext] {
        switch state {
        case .options(let options): options.selection?.contexts ?? []
        case .transmission(let transmission): transmission.contexts
        case .handshake, .closed: []
        }
    }

    /// Consumes the next complete message from `input` (the bytes received and not yet
    /// consumed). Returns nil when `input` holds no complete message yet.
    public mutating func consume(_ input: UnsafeRawBufferPointer) -> NBDStep? {
        let result: PhaseStep?
        switch state {
        case .handshake(let handshake):
            result = handshake.consume(input)
        case .options(var options):
            result = options.consume(input)
            state = .options(options)
        case .transmission(var transmission):
            result = transmission.consume(input)
            state = .transmission(transmission)
        case .closed:
            return input.isEmpty ? nil : NBDStep(consumed: input.count, actions: [])
        }
        guard let result else { return nil }
        if let next = result.next { state = next }
        return result.step
    }

    /// Checks a request in the transmission phase and turns it into the action to serve
    /// it, or an error reply (`NBDTransmissionState.validate(_:)`). Outside transmission,
    /// no action.
    public mutating func validate(_ header: RequestHeader) -> [NBDAction] {
        guard case .transmission(let transmission) = state else { return [] }
        let (actions, closes) = transmission.validate(header)
        if closes { state = .closed }
        return actions
    }

    /// An option reply: magic, option, type, length, data.
    public static func optionReply(_ option: UInt32, _ type: NBDOptionReply, data: [UInt8] = []) -> [UInt8] {
        var writer = NBDByteWriter(capacity: 20 + data.count)
        writer.u64(NBDMagic.optionReply)
        writer.u32(option)
        writer.u32(type.rawValue)
        writer.u32(UInt32(data.count))
        writer.append(data)
        return writer.bytes
    }

    /// An error option reply carrying a message.
    public static func optionReply(_ option: UInt32, _ type: NBDOptionReply, text: String) -> [UInt8] {
        optionReply(option, type, data: Array(text.utf8.prefix(NBDLimits.maximumStringBytes)))
    }
}
