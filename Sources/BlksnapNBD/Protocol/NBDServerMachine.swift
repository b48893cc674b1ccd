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

/// The server side of one NBD connection, fixed newstyle: handshake, option haggling and
/// transmission as states of a value type that consumes bytes and returns actions. It
/// does no I/O, so it is tested and fuzzed without a socket (the NIO handler only moves
/// bytes between the channel and it).
///
/// Every option gets a reply (`NBD_REP_ERR_*` rather than a silent close, except where the
/// protocol gives no way to answer), and every request is validated in one function
/// (``validate(_:)``) before any I/O.
public struct NBDServerMachine: Sendable {
    /// Whether TLS must be negotiated.
    public enum TLSPolicy: Sendable, Hashable {
        /// TLS is not offered: `NBD_OPT_STARTTLS` is refused with `NBD_REP_ERR_POLICY`.
        case disabled
        /// `NBD_OPT_STARTTLS` must come before any other option but `NBD_OPT_ABORT`.
        case required
    }

    /// The phase of the connection.
    public enum Phase: Sendable, Hashable {
        /// Greeting sent, waiting for the 4 bytes of client flags.
        case clientFlags
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

    /// The exports offered.
    public let exports: [NBDExportDescriptor]
    /// TLS policy.
    public let tlsPolicy: TLSPolicy
    /// Current phase.
    public private(set) var phase: Phase = .clientFlags
    /// True once the client set `NBD_FLAG_C_NO_ZEROES`.
    public private(set) var noZeroes = false
    /// True once `NBD_OPT_STRUCTURED_REPLY` was acknowledged.
    public private(set) var structuredReplies = false
    /// True once TLS was started.
    public private(set) var tlsActive = false
    /// Contexts selected by `NBD_OPT_SET_META_CONTEXT`: the export they were chosen on, and
    /// the contexts.
    private var selection: (exportIndex: Int, contexts: [NBDSelectedContext])?

    /// The metadata contexts selected by `NBD_OPT_SET_META_CONTEXT` (empty: none).
    public var selectedContexts: [NBDSelectedContext] { selection?.contexts ?? [] }

    /// Bytes still to skip (oversized option data, or a write's payload), and the option
    /// to answer `NBD_REP_ERR_TOO_BIG` once they are skipped.
    private var skipBytes: UInt64 = 0
    private var skippedOption: UInt32?

    /// A machine for `exports`.
    public init(exports: [NBDExportDescriptor], tlsPolicy: TLSPolicy) {
        self.exports = exports
        self.tlsPolicy = tlsPolicy
    }

    /// The server's first bytes: `NBDMAGIC`, `IHAVEOPT`, handshake flags.
    public func greeting() -> [UInt8] {
        var writer = NBDByteWriter(capacity: 18)
        writer.u64(NBDMagic.server)
        writer.u64(NBDMagic.option)
        writer.u16(NBDHandshakeFlags([.fixedNewstyle, .noZeroes]).rawValue)
        return writer.bytes
    }

    /// The export of the transmission phase, if in it.
    public var currentExport: NBDExportDescriptor? {
        if case .transmission(let index) = phase { return exports[index] }
        return nil
    }

    /// Consumes the next complete message from `input` (the bytes received and not yet
    /// consumed). Returns nil when `input` holds no complete message yet.
    public mutating func consume(_ input: UnsafeRawBufferPointer) -> NBDStep? {
        if skipBytes > 0 {
            guard !input.isEmpty else { return nil }
            let count = Int(min(UInt64(input.count), skipBytes))
            skipBytes -= UInt64(count)
            var actions: [NBDAction] = []
            if skipBytes == 0, let option = skippedOption {
                skippedOption = nil
                actions.append(.send(Self.optionReply(option, .errTooBig,
                    text: "option data is larger than \(NBDLimits.maximumOptionBytes) bytes")))
            }
            return NBDStep(consumed: count, actions: actions)
        }
        switch phase {
        case .clientFlags:
            var reader = NBDByteReader(input)
            guard let raw = reader.u32() else { return nil }
            let flags = NBDClientFlags(rawValue: raw)
            if !NBDClientFlags([.fixedNewstyle, .noZeroes]).isSuperset(of: flags) {
                phase = .closed
                return NBDStep(consumed: 4, actions: [.close("client flags \(nbdHex(raw)) have unknown bits")])
            }
            noZeroes = flags.contains(.noZeroes)
            phase = .options
            return NBDStep(consumed: 4, actions: [])
        case .options:
            return consumeOption(input)
        case .transmission(let index):
            return consumeRequest(input, export: exports[index])
        case .closed:
            return input.isEmpty ? nil : NBDStep(consumed: input.count, actions: [])
        }
    }

    // MARK: - Options

    private mutating func consumeOption(_ input: UnsafeRawBufferPointer) -> NBDStep? {
        var reader = NBDByteReader(input)
        guard let magic = reader.u64(), let option = reader.u32(), let length = reader.u32() else { return nil }
        if magic != NBDMagic.option {
            phase = .closed
            return NBDStep(consumed: input.count, actions: [.close("option magic \(nbdHex(magic)) is not IHAVEOPT")])
        }
        if Int(length) > NBDLimits.maximumOptionBytes {
            if option == NBDOption.exportName.rawValue {
                phase = .closed
                return NBDStep(consumed: 16, actions: [.close("NBD_OPT_EXPORT_NAME with \(length) bytes of data (at most \(NBDLimits.maximumStringBytes))")])
            }
            skipBytes = UInt64(length)
            skippedOption = option
            return NBDStep(consumed: 16, actions: [])
        }
        guard let data = reader.bytes(Int(length)) else { return nil }
        let consumed = 16 + Int(length)
        return NBDStep(consumed: consumed, actions: handleOption(option, data))
    }

    private mutating func handleOption(_ code: UInt32, _ data: [UInt8]) -> [NBDAction] {
        guard let option = NBDOption(rawValue: code) else {
            return [.send(Self.optionReply(code, .errUnsupported, text: "option \(code) is not supported by this server"))]
        }
        if tlsPolicy == .required, !tlsActive, option != .startTLS, option != .abort {
            if option == .exportName {
                phase = .closed
                return [.close("NBD_OPT_EXPORT_NAME before TLS: this server requires NBD_OPT_STARTTLS first")]
            }
            return [.send(Self.optionReply(code, .errTLSRequired, text: "TLS is required: negotiate NBD_OPT_STARTTLS first"))]
        }
        switch option {
        case .abort:
            phase = .closed
            return [.send(Self.optionReply(code, .ack)), .close("client sent NBD_OPT_ABORT")]
        case .startTLS:
            if !data.isEmpty { return [invalid(code, "NBD_OPT_STARTTLS carries no data")] }
            if tlsPolicy == .disabled {
                return [.send(Self.optionReply(code, .errPolicy, text: "TLS is not configured on this server (start it with --tls-certs)"))]
            }
            if tlsActive { return [invalid(code, "TLS is already active")] }
            tlsActive = true
            return [.send(Self.optionReply(code, .ack)), .startTLS]
        case .structuredReply:
            if !data.isEmpty { return [invalid(code, "NBD_OPT_STRUCTURED_REPLY carries no data")] }
            structuredReplies = true
            return [.send(Self.optionReply(code, .ack))]
        case .list:
            if !data.isEmpty { return [invalid(code, "NBD_OPT_LIST carries no data")] }
            var actions: [NBDAction] = exports.map { export in
                var writer = NBDByteWriter()
                writer.u32(UInt32(export.name.utf8.count))
                writer.text(export.name)
                writer.text(export.description)
                return .send(Self.optionReply(code, .server, data: writer.bytes))
            }
            actions.append(.send(Self.optionReply(code, .ack)))
            return actions
        case .exportName:
            let name = String(decoding: data, as: UTF8.self)
            guard let index = exportIndex(named: name) else {
                phase = .closed
                return [.close("NBD_OPT_EXPORT_NAME of unknown export '\(name)'")]
            }
            let export = exports[index]
            var writer = NBDByteWriter(capacity: 134)
            writer.u64(export.sizeBytes)
            writer.u16(export.flags.rawValue)
            if !noZeroes { writer.append(repeatElement(UInt8(0), count: 124)) }
            selection = nil
            phase = .transmission(exportIndex: index)
            return [.send(writer.bytes), .enterTransmission(exportIndex: index)]
        case .info, .go:
            return infoOrGo(option, data)
        case .listMetaContext, .setMetaContext:
            return metaContext(option, data)
        case .peekExport, .extendedHeaders:
            return [.send(Self.optionReply(code, .errUnsupported, text: "\(option.specName) is not supported by this server"))]
        }
    }

    private func invalid(_ code: UInt32, _ text: String) -> NBDAction {
        .send(Self.optionReply(code, .errInvalid, text: text))
    }

    /// The export named `name`; the empty name is the first export.
    public func exportIndex(named name: String) -> Int? {
        if name.isEmpty { return exports.isEmpty ? nil : 0 }
        return exports.firstIndex { $0.name == name }
    }

    private mutating func infoOrGo(_ option: NBDOption, _ data: [UInt8]) -> [NBDAction] {
        let code = option.rawValue
        let parsed: (name: String, requests: [UInt16])? = data.withUnsafeBytes { raw in
            var reader = NBDByteReader(raw)
            guard let nameLength = reader.u32(), Int(nameLength) <= NBDLimits.maximumStringBytes,
                  let name = reader.string(Int(nameLength)), let count = reader.u16() else { return nil }
            var requests: [UInt16] = []
            for _ in 0..<count {
                guard let type = reader.u16() else { return nil }
                requests.append(type)
            }
            guard reader.remaining == 0 else { return nil }
            return (name, requests)
        }
        guard let parsed else {
            return [invalid(code, "\(option.specName) data is malformed (name length, name, request count, requests)")]
        }
        guard let index = exportIndex(named: parsed.name) else {
            return [.send(Self.optionReply(code, .errUnknown, text: "no export named '\(parsed.name)'; NBD_OPT_LIST shows the exports"))]
        }
        let export = exports[index]
        var actions: [NBDAction] = []
        var info = NBDByteWriter()
        info.u16(NBDInfoType.export.rawValue)
        info.u64(export.sizeBytes)
        info.u16(export.flags.rawValue)
        actions.append(.send(Self.optionReply(code, .info, data: info.bytes)))
        if parsed.requests.contains(NBDInfoType.name.rawValue) {
            var writer = NBDByteWriter()
            writer.u16(NBDInfoType.name.rawValue)
            writer.text(export.name)
            actions.append(.send(Self.optionReply(code, .info, data: writer.bytes)))
        }
        if parsed.requests.contains(NBDInfoType.description.rawValue) {
            var writer = NBDByteWriter()
            writer.u16(NBDInfoType.description.rawValue)
            writer.append(export.description.utf8.prefix(NBDLimits.maximumStringBytes))
            actions.append(.send(Self.optionReply(code, .info, data: writer.bytes)))
        }
        var sizes = NBDByteWriter()
        sizes.u16(NBDInfoType.blockSize.rawValue)
        sizes.u32(NBDLimits.minimumBlockBytes)
        sizes.u32(export.preferredBlockBytes)
        sizes.u32(NBDLimits.maximumPayloadBytes)
        actions.append(.send(Self.optionReply(code, .info, data: sizes.bytes)))
        actions.append(.send(Self.optionReply(code, .ack)))
        if option == .go {
            if let selected = selection, selected.exportIndex != index { selection = nil }
            phase = .transmission(exportIndex: index)
            actions.append(.enterTransmission(exportIndex: index))
        }
        return actions
    }

    /// `NBD_OPT_LIST_META_CONTEXT` and `NBD_OPT_SET_META_CONTEXT`: the names queried are
    /// resolved into the export's typed contexts here, once.
    private mutating func metaContext(_ option: NBDOption, _ data: [UInt8]) -> [NBDAction] {
        let code = option.rawValue
        if option == .setMetaContext, !structuredReplies {
            return [invalid(code, "NBD_OPT_SET_META_CONTEXT needs NBD_OPT_STRUCTURED_REPLY first")]
        }
        let parsed: (name: String, queries: [String])? = data.withUnsafeBytes { raw in
            var reader = NBDByteReader(raw)
            guard let nameLength = reader.u32(), Int(nameLength) <= NBDLimits.maximumStringBytes,
                  let name = reader.string(Int(nameLength)), let count = reader.u32() else { return nil }
            var queries: [String] = []
            var left = count
            while left > 0 {
                guard let length = reader.u32(), Int(length) <= NBDLimits.maximumStringBytes,
                      let query = reader.string(Int(length)) else { return nil }
                queries.append(query)
                left -= 1
            }
            guard reader.remaining == 0 else { return nil }
            return (name, queries)
        }
        guard let parsed else {
            return [invalid(code, "\(option.specName) data is malformed (name length, name, query count, queries)")]
        }
        guard let index = exportIndex(named: parsed.name) else {
            return [.send(Self.optionReply(code, .errUnknown, text: "no export named '\(parsed.name)'"))]
        }
        let export = exports[index]
        var chosen: [NBDMetaContext] = []
        if parsed.queries.isEmpty {
            if option == .listMetaContext { chosen = export.metaContexts }
        } else {
            for query in parsed.queries {
                for context in export.metaContexts where !chosen.contains(context) {
                    let name = context.name
                    if name == query {
                        chosen.append(context)
                    } else if option == .listMetaContext, query.hasSuffix(":"), name.hasPrefix(query),
                              query == "base:" || query == "qemu:" || query == "qemu:dirty-bitmap:" {
                        chosen.append(context)
                    }
                }
            }
        }
        let selected = chosen.compactMap { export.selectedContext($0) }
        var actions: [NBDAction] = selected.map { selected in
            var writer = NBDByteWriter()
            writer.u32(selected.id)
            writer.text(selected.context.name)
            return .send(Self.optionReply(code, .metaContext, data: writer.bytes))
        }
        if option == .setMetaContext {
            selection = (index, selected)
        }
        actions.append(.send(Self.optionReply(code, .ack)))
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

    // MARK: - Transmission

    private mutating func consumeRequest(_ input: UnsafeRawBufferPointer, export: NBDExportDescriptor) -> NBDStep? {
        var reader = NBDByteReader(input)
        guard let magic = reader.u32(), let flags = reader.u16(), let type = reader.u16(), let handle = reader.u64(),
              let offset = reader.u64(), let length = reader.u32() else { return nil }
        if magic != NBDMagic.request {
            phase = .closed
            return NBDStep(consumed: input.count, actions: [.close("request magic \(nbdHex(magic)) is not NBD_REQUEST_MAGIC")])
        }
        let header = RequestHeader(flags: NBDCommandFlags(rawValue: flags), type: type, handle: handle,
                                   offsetBytes: offset, lengthBytes: length)
        if type == NBDCommand.write.rawValue { skipBytes = UInt64(length) }
        return NBDStep(consumed: 28, actions: validate(header))
    }

    /// Checks a request — command, flags, bounds, length — and turns it into the action to
    /// serve it, or an error reply: the one place requests are judged (nbdkit's
    /// `validate_request`).
    public mutating func validate(_ header: RequestHeader) -> [NBDAction] {
        guard let export = currentExport else { return [] }
        guard let command = NBDCommand(rawValue: header.type) else {
            return refuse(header, .invalidArgument, "unknown command \(header.type)")
        }
        switch command {
        case .write, .trim, .writeZeroes, .resize:
            return refuse(header, .permissionDenied, "\(command.specName) refused: the export is read-only (a snapshot image is never changed)")
        case .disconnect:
            phase = .closed
            return [.close("client sent NBD_CMD_DISC")]
        case .flush:
            if header.offsetBytes != 0 || header.lengthBytes != 0 {
                return refuse(header, .invalidArgument, "NBD_CMD_FLUSH must have offset and length 0")
            }
            if !header.flags.isEmpty { return refuse(header, .invalidArgument, "NBD_CMD_FLUSH takes no flags") }
            return [.send(success(header.handle))]
        case .read, .cache, .blockStatus:
            break
        }
        let allowed: NBDCommandFlags = switch command {
        case .read: structuredReplies ? .dontFragment : []
        case .blockStatus: .requestOne
        default: []
        }
        if !allowed.isSuperset(of: header.flags) {
            return refuse(header, .invalidArgument, "flags \(nbdHex(header.flags.rawValue)) are not valid for \(command.specName)")
        }
        if header.lengthBytes == 0 {
            return refuse(header, .invalidArgument, "\(command.specName) of length 0")
        }
        let (end, overflow) = header.offsetBytes.addingReportingOverflow(UInt64(header.lengthBytes))
        if overflow || end > export.sizeBytes {
            return refuse(header, .invalidArgument,
                          "\(command.specName) of \(header.lengthBytes) bytes at \(header.offsetBytes) is past the end of the export (\(export.sizeBytes) bytes)")
        }
        switch command {
        case .read:
            if header.lengthBytes > NBDLimits.maximumPayloadBytes {
                return refuse(header, .invalidArgument, "NBD_CMD_READ of \(header.lengthBytes) bytes is larger than the maximum block size (\(NBDLimits.maximumPayloadBytes))")
            }
            return [.read(NBDReadRequest(handle: header.handle, offsetBytes: header.offsetBytes, lengthBytes: header.lengthBytes,
                                         structured: structuredReplies, dontFragment: header.flags.contains(.dontFragment)))]
        case .cache:
            return [.send(success(header.handle))]
        default:
            guard structuredReplies, !selectedContexts.isEmpty else {
                return refuse(header, .invalidArgument, "NBD_CMD_BLOCK_STATUS needs structured replies and a metadata context (NBD_OPT_SET_META_CONTEXT)")
            }
            return [.blockStatus(NBDBlockStatusRequest(handle: header.handle, offsetBytes: header.offsetBytes, lengthBytes: header.lengthBytes,
                                                       contexts: selectedContexts, requestOne: header.flags.contains(.requestOne)))]
        }
    }

    private func success(_ handle: UInt64) -> [UInt8] {
        structuredReplies ? NBDReplyEncoder.noneChunk(handle: handle) : NBDReplyEncoder.simpleReply(handle: handle, error: nil)
    }

    private func refuse(_ header: RequestHeader, _ error: NBDError, _ message: String) -> [NBDAction] {
        let reply = structuredReplies
            ? NBDReplyEncoder.errorChunk(handle: header.handle, error: error, message: message)
            : NBDReplyEncoder.simpleReply(handle: header.handle, error: error)
        return [.send(reply), .refused("\(message) (\(error.name))")]
    }
}

/// `0x` and the hexadecimal digits of `value`, for messages.
func nbdHex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
