/// The option haggling phase of an ``NBDServerMachine``: TLS, structured replies,
/// metadata contexts, and the export chosen (`NBD_OPT_GO` or `NBD_OPT_EXPORT_NAME`, which
/// start transmission).
struct NBDOptionsState: Sendable {
    /// The contexts `NBD_OPT_SET_META_CONTEXT` selected, and the export they were chosen on.
    struct Selection: Sendable, Hashable {
        var exportIndex: Int
        var contexts: [NBDSelectedContext]
    }

    /// An option whose data is larger than accepted: the bytes still to skip, then the
    /// option is answered `NBD_REP_ERR_TOO_BIG`.
    struct Skip: Sendable, Hashable {
        var bytes: UInt64
        var option: UInt32
    }

    /// What handling one option gives: the actions, and the state that follows (nil:
    /// haggling goes on).
    private typealias Outcome = (actions: [NBDAction], next: NBDServerMachine.State?)

    /// The exports offered.
    let exports: [NBDExportDescriptor]
    /// TLS policy.
    let tlsPolicy: NBDServerMachine.TLSPolicy
    /// True when the client set `NBD_FLAG_C_NO_ZEROES`.
    let noZeroes: Bool
    /// True once `NBD_OPT_STRUCTURED_REPLY` was acknowledged.
    private(set) var structuredReplies = false
    /// True once TLS was started.
    private(set) var tlsActive = false
    /// The contexts selected, if any.
    private(set) var selection: Selection?
    private var skip: Skip?

    init(exports: [NBDExportDescriptor], tlsPolicy: NBDServerMachine.TLSPolicy, noZeroes: Bool) {
        self.exports = exports
        self.tlsPolicy = tlsPolicy
        self.noZeroes = noZeroes
    }

    /// The next option (or the next bytes of one being skipped).
    mutating func consume(_ input: UnsafeRawBufferPointer) -> NBDServerMachine.PhaseStep? {
        if var skipping = skip {
            guard !input.isEmpty else { return nil }
            let count = Int(min(UInt64(input.count), skipping.bytes))
            skipping.bytes -= UInt64(count)
            var actions: [NBDAction] = []
            if skipping.bytes == 0 {
                skip = nil
                actions.append(.send(NBDServerMachine.optionReply(skipping.option, .errTooBig,
                    text: "option data is larger than \(NBDLimits.maximumOptionBytes) bytes")))
            } else {
                skip = skipping
            }
            return NBDServerMachine.PhaseStep(step: NBDStep(consumed: count, actions: actions), next: nil)
        }
        var reader = NBDByteReader(input)
        guard let magic = reader.u64(), let option = reader.u32(), let length = reader.u32() else { return nil }
        if magic != NBDMagic.option {
            return NBDServerMachine.PhaseStep(step: NBDStep(consumed: input.count, actions: [.close("option magic \(nbdHex(magic)) is not IHAVEOPT")]),
                                              next: .closed)
        }
        if Int(length) > NBDLimits.maximumOptionBytes {
            if option == NBDOption.exportName.rawValue {
                return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 16, actions: [.close("NBD_OPT_EXPORT_NAME with \(length) bytes of data (at most \(NBDLimits.maximumStringBytes))")]),
                                                  next: .closed)
            }
            skip = Skip(bytes: UInt64(length), option: option)
            return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 16, actions: []), next: nil)
        }
        guard let data = reader.bytes(Int(length)) else { return nil }
        let outcome = handleOption(option, data)
        return NBDServerMachine.PhaseStep(step: NBDStep(consumed: 16 + Int(length), actions: outcome.actions), next: outcome.next)
    }

    private mutating func handleOption(_ code: UInt32, _ data: [UInt8]) -> Outcome {
        guard let option = NBDOption(rawValue: code) else {
            return ([.send(NBDServerMachine.optionReply(code, .errUnsupported, text: "option \(code) is not supported by this server"))], nil)
        }
        if tlsPolicy == .required, !tlsActive, option != .startTLS, option != .abort {
            if option == .exportName {
                return ([.close("NBD_OPT_EXPORT_NAME before TLS: this server requires NBD_OPT_STARTTLS first")], .closed)
            }
            return ([.send(NBDServerMachine.optionReply(code, .errTLSRequired, text: "TLS is required: negotiate NBD_OPT_STARTTLS first"))], nil)
        }
        switch option {
        case .abort:
            return ([.send(NBDServerMachine.optionReply(code, .ack)), .close("client sent NBD_OPT_ABORT")], .closed)
        case .startTLS:
            if !data.isEmpty { return ([invalid(code, "NBD_OPT_STARTTLS carries no data")], nil) }
            if tlsPolicy == .disabled {
                return ([.send(NBDServerMachine.optionReply(code, .errPolicy, text: "TLS is not configured on this server (start it with --tls-certs)"))], nil)
            }
            if tlsActive { return ([invalid(code, "TLS is already active")], nil) }
            tlsActive = true
            return ([.send(NBDServerMachine.optionReply(code, .ack)), .startTLS], nil)
        case .structuredReply:
            if !data.isEmpty { return ([invalid(code, "NBD_OPT_STRUCTURED_REPLY carries no data")], nil) }
            structuredReplies = true
            return ([.send(NBDServerMachine.optionReply(code, .ack))], nil)
        case .list:
            if !data.isEmpty { return ([invalid(code, "NBD_OPT_LIST carries no data")], nil) }
            var actions: [NBDAction] = exports.map { export in
                var writer = NBDByteWriter()
                writer.u32(UInt32(export.name.utf8.count))
                writer.text(export.name)
                writer.text(export.description)
                return .send(NBDServerMachine.optionReply(code, .server, data: writer.bytes))
            }
            actions.append(.send(NBDServerMachine.optionReply(code, .ack)))
            return (actions, nil)
        case .exportName:
            return exportName(data)
        case .info, .go:
            return infoOrGo(option, data)
        case .listMetaContext, .setMetaContext:
            return (metaContext(option, data), nil)
        case .peekExport, .extendedHeaders:
            return ([.send(NBDServerMachine.optionReply(code, .errUnsupported, text: "\(option.specName) is not supported by this server"))], nil)
        }
    }

    private func invalid(_ code: UInt32, _ text: String) -> NBDAction {
        .send(NBDServerMachine.optionReply(code, .errInvalid, text: text))
    }

    /// The export named `name`; the empty name is the first export.
    private func exportIndex(named name: String) -> Int? {
        if name.isEmpty { return exports.isEmpty ? nil : 0 }
        return exports.firstIndex { $0.name == name }
    }

    /// Transmission on export `index`, with the contexts selected on it (none when they
    /// were selected on another export).
    private func transmission(_ index: Int) -> NBDServerMachine.State {
        let contexts = selection.flatMap { $0.exportIndex == index ? $0.contexts : nil } ?? []
        return .transmission(NBDTransmissionState(exportIndex: index, export: exports[index],
                                                  structuredReplies: structuredReplies, contexts: contexts))
    }

    /// `NBD_OPT_EXPORT_NAME`: the old way into transmission, without metadata contexts;
    /// an unknown name can only be answered by closing.
    private func exportName(_ data: [UInt8]) -> Outcome {
        let name = String(decoding: data, as: UTF8.self)
        guard let index = exportIndex(named: name) else {
            return ([.close("NBD_OPT_EXPORT_NAME of unknown export '\(name)'")], .closed)
        }
        let export = exports[index]
        var writer = NBDByteWriter(capacity: 134)
        writer.u64(export.sizeBytes)
        writer.u16(export.flags.rawValue)
        if !noZeroes { writer.append(repeatElement(UInt8(0), count: 124)) }
        return ([.send(writer.bytes), .enterTransmission(exportIndex: index)],
                .transmission(NBDTransmissionState(exportIndex: index, export: export, structuredReplies: structuredReplies, contexts: [])))
    }

    private func infoOrGo(_ option: NBDOption, _ data: [UInt8]) -> Outcome {
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
            return ([invalid(code, "\(option.specName) data is malformed (name length, name, request count, requests)")], nil)
        }
        guard let index = exportIndex(named: parsed.name) else {
            return ([.send(NBDServerMachine.optionReply(code, .errUnknown, text: "no export named '\(parsed.name)'; NBD_OPT_LIST shows the exports"))], nil)
        }
        let export = exports[index]
        var actions: [NBDAction] = []
        var info = NBDByteWriter()
        info.u16(NBDInfoType.export.rawValue)
        info.u64(export.sizeBytes)
        info.u16(export.flags.rawValue)
        actions.append(.send(NBDServerMachine.optionReply(code, .info, data: info.bytes)))
        if parsed.requests.contains(NBDInfoType.name.rawValue) {
            var writer = NBDByteWriter()
            writer.u16(NBDInfoType.name.rawValue)
            writer.text(export.name)
            actions.append(.send(NBDServerMachine.optionReply(code, .info, data: writer.bytes)))
        }
        if parsed.requests.contains(NBDInfoType.description.rawValue) {
            var writer = NBDByteWriter()
            writer.u16(NBDInfoType.description.rawValue)
            writer.append(export.description.utf8.prefix(NBDLimits.maximumStringBytes))
            actions.append(.send(NBDServerMachine.optionReply(code, .info, data: writer.bytes)))
        }
        var sizes = NBDByteWriter()
        sizes.u16(NBDInfoType.blockSize.rawValue)
        sizes.u32(NBDLimits.minimumBlockBytes)
        sizes.u32(export.preferredBlockBytes)
        sizes.u32(NBDLimits.maximumPayloadBytes)
        actions.append(.send(NBDServerMachine.optionReply(code, .info, data: sizes.bytes)))
        actions.append(.send(NBDServerMachine.optionReply(code, .ack)))
        guard option == .go else { return (actions, nil) }
        actions.append(.enterTransmission(exportIndex: index))
        return (actions, transmission(index))
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
            return [.send(NBDServerMachine.optionReply(code, .errUnknown, text: "no export named '\(parsed.name)'"))]
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
            return .send(NBDServerMachine.optionReply(code, .metaContext, data: writer.bytes))
        }
        if option == .setMetaContext {
            selection = Selection(exportIndex: index, contexts: selected)
        }
        actions.append(.send(NBDServerMachine.optionReply(code, .ack)))
        return actions
    }
}
