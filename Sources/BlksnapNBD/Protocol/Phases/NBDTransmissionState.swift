/// The transmission phase of an ``NBDServerMachine``: requests on one export, what
/// option haggling settled for it (structured replies, metadata contexts), and the
/// payload of a refused write still to skip.
struct NBDTransmissionState: Sendable {
    /// The export's index in the machine's exports.
    let exportIndex: Int
    /// The export served.
    let export: NBDExportDescriptor
    /// True when structured replies were negotiated.
    let structuredReplies: Bool
    /// The contexts selected on this export (empty: block status is refused).
    let contexts: [NBDSelectedContext]
    /// Bytes of a write's payload still to skip.
    private var skipBytes: UInt64 = 0

    init(exportIndex: Int, export: NBDExportDescriptor, structuredReplies: Bool, contexts: [NBDSelectedContext]) {
        self.exportIndex = exportIndex
        self.export = export
        self.structuredReplies = structuredReplies
        self.contexts = contexts
    }

    /// The next request header (or the next bytes of a payload being skipped).
    mutating func consume(_ input: UnsafeRawBufferPointer) -> NBDServerMachine.PhaseStep? {
        if skipBytes > 0 {
            guard !input.isEmpty else { return nil }
            let count = Int(min(UInt64(input.count), skipBytes))
            skipBytes -= UInt64(count)
            return NBDServerMachine.PhaseStep(step: NBDStep(consumed: count, actions: []), next: nil)
        }
        var reader = NBDByteReader(input)
        guard let magic = reader.u32(), let flags = reader.u16(), let type = reader.u16(), let handle = reader.u64(),
              let offset = reader.u64(), let length = reader.u32() else { return nil }
        if magic != NBDMagic.request {
            return NBDServerMachine.PhaseStep(
                step: NBDStep(consumed: input.count, actions: [.close("request magic \(nbdHex(magic)) is not NBD_REQUEST_MAGIC")]),
                next: .closed)
        }
        let header = NBDServerMachine.RequestHeader(flags: NBDCommandFlags(rawValue: flags), type: type, handle: handle,
                                                    offsetBytes: offset, lengthBytes: length)
        if type == NBDCommand.write.rawValue { skipBytes = UInt64(length) }
        let (actions, closes) = validate(header)
        return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 28, actions: actions), next: closes ? .closed : nil)
    }

    /// Checks a request — command, flags, bounds, length — and turns it into the action to
    /// serve it, or an error reply: the one place requests are judged (nbdkit's
    /// `validate_request`). `closes` is true for `NBD_CMD_DISC`.
    func validate(_ header: NBDServerMachine.RequestHeader) -> (actions: [NBDAction], closes: Bool) {
        guard let command = NBDCommand(rawValue: header.type) else {
            return (refuse(header, .invalidArgument, "unknown command \(header.type)"), false)
        }
        switch command {
        case .write, .trim, .writeZeroes, .resize:
            return (refuse(header, .permissionDenied, "\(command.specName) refused: the export is read-only (a snapshot image is never changed)"), false)
        case .disconnect:
            return ([.close("client sent NBD_CMD_DISC")], true)
        case .flush:
            if header.offsetBytes != 0 || header.lengthBytes != 0 {
                return (refuse(header, .invalidArgument, "NBD_CMD_FLUSH must have offset and length 0"), false)
            }
            if !header.flags.isEmpty { return (refuse(header, .invalidArgument, "NBD_CMD_FLUSH takes no flags"), false) }
            return ([.send(success(header.handle))], false)
        case .read, .cache, .blockStatus:
            return (validateAccess(command, header), false)
        }
    }

    /// `NBD_CMD_READ`, `NBD_CMD_CACHE`, `NBD_CMD_BLOCK_STATUS`: flags, length, bounds.
    private func validateAccess(_ command: NBDCommand, _ header: NBDServerMachine.RequestHeader) -> [NBDAction] {
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
            guard structuredReplies, !contexts.isEmpty else {
                return refuse(header, .invalidArgument, "NBD_CMD_BLOCK_STATUS needs structured replies and a metadata context (NBD_OPT_SET_META_CONTEXT)")
            }
            return [.blockStatus(NBDBlockStatusRequest(handle: header.handle, offsetBytes: header.offsetBytes, lengthBytes: header.lengthBytes,
                                                       contexts: contexts, requestOne: header.flags.contains(.requestOne)))]
        }
    }

    private func success(_ handle: UInt64) -> [UInt8] {
        structuredReplies ? NBDReplyEncoder.noneChunk(handle: handle) : NBDReplyEncoder.simpleReply(handle: handle, error: nil)
    }

    private func refuse(_ header: NBDServerMachine.RequestHeader, _ error: NBDError, _ message: String) -> [NBDAction] {
        let reply = structuredReplies
            ? NBDReplyEncoder.errorChunk(handle: header.handle, error: error, message: message)
            : NBDReplyEncoder.simpleReply(handle: header.handle, error: error)
        return [.send(reply), .refused("\(message) (\(error.name))")]
    }
}
