/// A read the machine validated: the server reads the bytes and answers with
/// ``NBDReplyEncoder``.
public struct NBDReadRequest: Sendable, Hashable {
    /// The client's cookie, echoed in every reply chunk.
    public var handle: UInt64
    /// First byte.
    public var offsetBytes: UInt64
    /// Bytes to read: 1 ... ``NBDLimits/maximumPayloadBytes``, inside the export.
    public var lengthBytes: UInt32
    /// True when structured replies were negotiated (answer with chunks).
    public var structured: Bool
    /// `NBD_CMD_FLAG_DF`: one content chunk.
    public var dontFragment: Bool

    /// Creates a request from its fields.
    public init(handle: UInt64, offsetBytes: UInt64, lengthBytes: UInt32, structured: Bool, dontFragment: Bool) {
        self.handle = handle
        self.offsetBytes = offsetBytes
        self.lengthBytes = lengthBytes
        self.structured = structured
        self.dontFragment = dontFragment
    }
}

/// A block status query the machine validated.
public struct NBDBlockStatusRequest: Sendable, Hashable {
    /// The client's cookie.
    public var handle: UInt64
    /// First byte.
    public var offsetBytes: UInt64
    /// Bytes of interest, inside the export.
    public var lengthBytes: UInt32
    /// The selected contexts, with their ids (one reply chunk each, in this order).
    public var contexts: [NBDSelectedContext]
    /// `NBD_CMD_FLAG_REQ_ONE`: one descriptor per context.
    public var requestOne: Bool

    /// Creates a request from its fields.
    public init(handle: UInt64, offsetBytes: UInt64, lengthBytes: UInt32, contexts: [NBDSelectedContext], requestOne: Bool) {
        self.handle = handle
        self.offsetBytes = offsetBytes
        self.lengthBytes = lengthBytes
        self.contexts = contexts
        self.requestOne = requestOne
    }
}

/// What the connection must do next, in order.
public enum NBDAction: Sendable, Hashable {
    /// Send these bytes.
    case send([UInt8])
    /// Start TLS as the server, now that the `NBD_OPT_STARTTLS` acknowledgement (the
    /// preceding `.send`) is on its way; every byte received after the option is discarded.
    case startTLS
    /// The handshake ended; transmission on export `index` begins.
    case enterTransmission(exportIndex: Int)
    /// Serve a read.
    case read(NBDReadRequest)
    /// Serve a block status query.
    case blockStatus(NBDBlockStatusRequest)
    /// A request was refused (its error reply is the preceding `.send`): for the log.
    case refused(String)
    /// Close the connection after the preceding sends (and, in transmission, after the
    /// replies still being prepared): the reason, for the log.
    case close(String)
}

/// The result of one ``NBDServerMachine/consume(_:)``: bytes used and what to do.
public struct NBDStep: Sendable, Hashable {
    /// Bytes of the input that were used; drop them before the next call.
    public var consumed: Int
    /// The actions, in order.
    public var actions: [NBDAction]
}
