import BlksnapNBD
import Testing

/// A client's side of the conversation, written byte for byte as the specification says,
/// fed to the machine without a socket.
struct MachineDriver {
    var machine: NBDServerMachine
    /// Bytes given to the machine and not consumed yet.
    var pending: [UInt8] = []

    init(exports: [NBDExportDescriptor] = [MachineDriver.export], tls: NBDServerMachine.TLSPolicy = .disabled) {
        machine = NBDServerMachine(exports: exports, tlsPolicy: tls)
    }

    static let export = NBDExportDescriptor(
        name: "sda", sizeBytes: 1 << 20, description: "test export", preferredBlockBytes: 65536,
        flags: [.hasFlags, .readOnly, .canMultiConn, .sendCache, .sendDF],
        metaContexts: [.allocation, .dirtyBitmap("cbt")])

    /// Feeds `bytes` and runs the machine until it needs more; returns every action.
    mutating func feed(_ bytes: [UInt8]) -> [NBDAction] {
        pending += bytes
        var actions: [NBDAction] = []
        while true {
            let step = pending.withUnsafeBytes { machine.consume($0) }
            guard let step else { break }
            #expect(step.consumed > 0 || !step.actions.isEmpty, "a step makes progress")
            pending.removeFirst(step.consumed)
            actions += step.actions
            if step.consumed == 0 { break }
        }
        return actions
    }

    static func option(_ code: UInt32, _ data: [UInt8] = []) -> [UInt8] {
        var writer = NBDByteWriter()
        writer.u64(NBDMagic.option)
        writer.u32(code)
        writer.u32(UInt32(data.count))
        writer.append(data)
        return writer.bytes
    }

    static func goData(_ name: String, infos: [UInt16] = []) -> [UInt8] {
        var writer = NBDByteWriter()
        writer.u32(UInt32(name.utf8.count))
        writer.text(name)
        writer.u16(UInt16(infos.count))
        for info in infos { writer.u16(info) }
        return writer.bytes
    }

    static func contextData(_ name: String, _ queries: [String]) -> [UInt8] {
        var writer = NBDByteWriter()
        writer.u32(UInt32(name.utf8.count))
        writer.text(name)
        writer.u32(UInt32(queries.count))
        for query in queries {
            writer.u32(UInt32(query.utf8.count))
            writer.text(query)
        }
        return writer.bytes
    }

    static func request(_ type: UInt16, flags: UInt16 = 0, handle: UInt64 = 7, offset: UInt64, length: UInt32) -> [UInt8] {
        var writer = NBDByteWriter()
        writer.u32(NBDMagic.request)
        writer.u16(flags)
        writer.u16(type)
        writer.u64(handle)
        writer.u64(offset)
        writer.u32(length)
        return writer.bytes
    }

    /// Client flags, structured replies, both contexts, GO on `sda`.
    mutating func negotiate(structured: Bool = true) {
        _ = feed([0, 0, 0, 3])
        if structured { _ = feed(Self.option(NBDOption.structuredReply.rawValue)) }
        if structured {
            _ = feed(Self.option(NBDOption.setMetaContext.rawValue, Self.contextData("sda", ["base:allocation", "qemu:dirty-bitmap:cbt"])))
        }
        let actions = feed(Self.option(NBDOption.go.rawValue, Self.goData("sda")))
        #expect(actions.last == .enterTransmission(exportIndex: 0))
    }
}

/// The replies an action list sends, parsed as option replies: (option, type, data).
func optionReplies(_ actions: [NBDAction]) -> [(option: UInt32, type: UInt32, data: [UInt8])] {
    actions.compactMap { action -> (UInt32, UInt32, [UInt8])? in
        guard case .send(let bytes) = action else { return nil }
        return bytes.withUnsafeBytes { raw in
            var reader = NBDByteReader(raw)
            guard reader.u64() == NBDMagic.optionReply, let option = reader.u32(), let type = reader.u32(),
                  let length = reader.u32(), let data = reader.bytes(Int(length)) else { return nil }
            return (option, type, data)
        }
    }
}

/// The error of a structured error chunk or a simple reply in `actions`.
func replyError(_ actions: [NBDAction]) -> UInt32? {
    for case .send(let bytes) in actions {
        return bytes.withUnsafeBytes { raw -> UInt32? in
            var reader = NBDByteReader(raw)
            switch reader.u32() {
            case NBDMagic.simpleReply: return reader.u32()
            case NBDMagic.structuredReply:
                _ = reader.u16()
                let type = reader.u16()
                _ = reader.u64()
                _ = reader.u32()
                return type == NBDReplyType.error.rawValue ? reader.u32() : 0
            default: return nil
            }
        }
    }
    return nil
}

@Suite struct NBDServerMachineTests {
    @Test func greetingIsFixedNewstyleWithNoZeroes() {
        let machine = NBDServerMachine(exports: [MachineDriver.export], tlsPolicy: .disabled)
        #expect(machine.greeting() == [0x4e, 0x42, 0x44, 0x4d, 0x41, 0x47, 0x49, 0x43, 0x49, 0x48, 0x41, 0x56, 0x45, 0x4f, 0x50, 0x54, 0, 3])
    }

    @Test func unknownClientFlagsClose() {
        var driver = MachineDriver()
        let actions = driver.feed([0, 0, 0, 4])
        guard case .close = actions.first else { Issue.record("expected close, got \(actions)"); return }
        #expect(driver.machine.phase == .closed)
    }

    @Test func truncatedInputWaits() {
        var driver = MachineDriver()
        #expect(driver.feed([0, 0]).isEmpty)
        #expect(driver.feed([0, 3]).isEmpty)
        let option = MachineDriver.option(NBDOption.list.rawValue)
        #expect(driver.feed(Array(option.prefix(10))).isEmpty, "half an option header is not an option")
        let replies = optionReplies(driver.feed(Array(option.dropFirst(10))))
        #expect(replies.map(\.type) == [NBDOptionReply.server.rawValue, NBDOptionReply.ack.rawValue])
    }

    @Test func goRepliesExportInfoBlockSizeAndAck() {
        var driver = MachineDriver()
        _ = driver.feed([0, 0, 0, 3])
        let actions = driver.feed(MachineDriver.option(NBDOption.go.rawValue,
                                                      MachineDriver.goData("", infos: [NBDInfoType.description.rawValue, NBDInfoType.name.rawValue])))
        let replies = optionReplies(actions)
        #expect(replies.allSatisfy { $0.option == NBDOption.go.rawValue })
        #expect(replies.map(\.type) == [3, 3, 3, 3, 1])
        let export = replies[0].data
        #expect(export == [0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0x05, 0x83])  // type 0, 1 MiB, flags
        let sizes = replies[3].data
        #expect(sizes == [0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 2, 0, 0, 0])
        #expect(String(decoding: replies[2].data.dropFirst(2), as: UTF8.self) == "test export")
        #expect(driver.machine.currentExport?.name == "sda")
    }

    @Test func unknownExportAndMalformedGoAreOptionErrors() {
        var driver = MachineDriver()
        _ = driver.feed([0, 0, 0, 1])
        var replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.go.rawValue, MachineDriver.goData("nope"))))
        #expect(replies.map(\.type) == [NBDOptionReply.errUnknown.rawValue])
        replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.info.rawValue, [0, 0, 0, 9, 1])))
        #expect(replies.map(\.type) == [NBDOptionReply.errInvalid.rawValue])
        replies = optionReplies(driver.feed(MachineDriver.option(77, [1, 2, 3])))
        #expect(replies.map(\.type) == [NBDOptionReply.errUnsupported.rawValue])
        #expect(driver.machine.phase == .options, "still negotiating after three errors")
    }

    @Test func oversizedOptionIsSkippedThenTooBig() {
        var driver = MachineDriver()
        _ = driver.feed([0, 0, 0, 1])
        var header = NBDByteWriter()
        header.u64(NBDMagic.option)
        header.u32(NBDOption.info.rawValue)
        header.u32(UInt32(NBDLimits.maximumOptionBytes + 1))
        #expect(driver.feed(header.bytes).isEmpty)
        #expect(driver.feed([UInt8](repeating: 0xaa, count: NBDLimits.maximumOptionBytes)).isEmpty, "skipping, one byte to go")
        let replies = optionReplies(driver.feed([0xaa]))
        #expect(replies.map(\.type) == [NBDOptionReply.errTooBig.rawValue])
        #expect(optionReplies(driver.feed(MachineDriver.option(NBDOption.list.rawValue))).count == 2, "framing intact after the skip")
    }

    @Test func tlsRequiredRefusesOptionsUntilStartTLS() {
        var driver = MachineDriver(tls: .required)
        _ = driver.feed([0, 0, 0, 3])
        var replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.go.rawValue, MachineDriver.goData("sda"))))
        #expect(replies.map(\.type) == [NBDOptionReply.errTLSRequired.rawValue])
        let actions = driver.feed(MachineDriver.option(NBDOption.startTLS.rawValue))
        #expect(actions.last == .startTLS)
        replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.go.rawValue, MachineDriver.goData("sda"))))
        #expect(replies.last?.type == NBDOptionReply.ack.rawValue)
    }

    @Test func exportNameBeforeTLSCloses() {
        var driver = MachineDriver(tls: .required)
        _ = driver.feed([0, 0, 0, 3])
        let actions = driver.feed(MachineDriver.option(NBDOption.exportName.rawValue, Array("sda".utf8)))
        guard case .close = actions.first else { Issue.record("expected close: \(actions)"); return }
    }

    @Test func startTLSWithoutCredentialsIsPolicy() {
        var driver = MachineDriver()
        _ = driver.feed([0, 0, 0, 3])
        #expect(optionReplies(driver.feed(MachineDriver.option(NBDOption.startTLS.rawValue))).map(\.type) == [NBDOptionReply.errPolicy.rawValue])
    }

    @Test func exportNameWithAndWithoutZeroes() {
        for (flags, expected) in [(UInt8(1), 134), (UInt8(3), 10)] {
            var driver = MachineDriver()
            _ = driver.feed([0, 0, 0, flags])
            let actions = driver.feed(MachineDriver.option(NBDOption.exportName.rawValue, Array("sda".utf8)))
            guard case .send(let bytes) = actions.first else { Issue.record("no reply"); continue }
            #expect(bytes.count == expected)
        }
    }

    @Test func metaContextQueries() {
        var driver = MachineDriver()
        _ = driver.feed([0, 0, 0, 3])
        var replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.setMetaContext.rawValue, MachineDriver.contextData("sda", ["base:allocation"]))))
        #expect(replies.map(\.type) == [NBDOptionReply.errInvalid.rawValue], "SET needs structured replies")
        replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.listMetaContext.rawValue, MachineDriver.contextData("sda", []))))
        #expect(replies.map { String(decoding: $0.data.dropFirst(4), as: UTF8.self) } == ["base:allocation", "qemu:dirty-bitmap:cbt", ""])
        replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.listMetaContext.rawValue, MachineDriver.contextData("sda", ["qemu:"]))))
        #expect(replies.count == 2 && replies[0].data == [0, 0, 0, 2] + Array("qemu:dirty-bitmap:cbt".utf8))
        _ = driver.feed(MachineDriver.option(NBDOption.structuredReply.rawValue))
        replies = optionReplies(driver.feed(MachineDriver.option(NBDOption.setMetaContext.rawValue,
                                                                 MachineDriver.contextData("sda", ["qemu:dirty-bitmap:cbt", "qemu:other", "qemu:"]))))
        #expect(replies.map(\.type) == [NBDOptionReply.metaContext.rawValue, NBDOptionReply.ack.rawValue], "SET takes exact names only")
        #expect(driver.machine.selectedContexts == [NBDSelectedContext(id: 2, context: .dirtyBitmap("cbt"))])
    }

    @Test func requestValidation() {
        var driver = MachineDriver()
        driver.negotiate()
        let size = MachineDriver.export.sizeBytes
        let cases: [(UInt16, UInt16, UInt64, UInt32, NBDError)] = [
            (NBDCommand.write.rawValue, 0, 0, 0, .permissionDenied),
            (NBDCommand.trim.rawValue, 0, 0, 512, .permissionDenied),
            (NBDCommand.writeZeroes.rawValue, 0, 0, 512, .permissionDenied),
            (NBDCommand.read.rawValue, 0, size - 512, 1024, .invalidArgument),
            (NBDCommand.read.rawValue, 0, UInt64.max - 10, 512, .invalidArgument),
            (NBDCommand.read.rawValue, 0, 0, 0, .invalidArgument),
            (NBDCommand.read.rawValue, NBDCommandFlags.fua.rawValue, 0, 512, .invalidArgument),
            (NBDCommand.flush.rawValue, 0, 1, 0, .invalidArgument),
            (99, 0, 0, 512, .invalidArgument),
            (NBDCommand.blockStatus.rawValue, 0, size, 1, .invalidArgument),
        ]
        for (type, flags, offset, length, error) in cases {
            let actions = driver.feed(MachineDriver.request(type, flags: flags, offset: offset, length: length))
            #expect(replyError(actions) == error.rawValue, "command \(type) at \(offset)+\(length)")
            #expect(driver.machine.currentExport != nil, "still in transmission")
        }
        #expect(driver.feed(MachineDriver.request(NBDCommand.read.rawValue, offset: 512, length: 4096))
                    == [.read(NBDReadRequest(handle: 7, offsetBytes: 512, lengthBytes: 4096, structured: true, dontFragment: false))])
        #expect(replyError(driver.feed(MachineDriver.request(NBDCommand.cache.rawValue, offset: 0, length: 4096))) == 0)
        #expect(replyError(driver.feed(MachineDriver.request(NBDCommand.flush.rawValue, offset: 0, length: 0))) == 0)
        let status = driver.feed(MachineDriver.request(NBDCommand.blockStatus.rawValue, flags: NBDCommandFlags.requestOne.rawValue, offset: 0, length: 4096))
        #expect(status == [.blockStatus(NBDBlockStatusRequest(handle: 7, offsetBytes: 0, lengthBytes: 4096, contexts: [NBDSelectedContext(id: 1, context: .allocation), NBDSelectedContext(id: 2, context: .dirtyBitmap("cbt"))],
                                                           requestOne: true))])
    }

    @Test func oversizedReadIsRefusedOnABigExport() {
        var export = MachineDriver.export
        export.sizeBytes = 1 << 30
        var driver = MachineDriver(exports: [export])
        driver.negotiate(structured: false)
        let actions = driver.feed(MachineDriver.request(NBDCommand.read.rawValue, offset: 0, length: NBDLimits.maximumPayloadBytes + 512))
        #expect(replyError(actions) == NBDError.invalidArgument.rawValue)
        #expect(driver.feed(MachineDriver.request(NBDCommand.read.rawValue, offset: 0, length: NBDLimits.maximumPayloadBytes)).count == 1)
    }

    @Test func writePayloadIsSkippedNotParsed() {
        var driver = MachineDriver()
        driver.negotiate()
        // A write whose payload looks like a request: it must be skipped, not served.
        let payload = MachineDriver.request(NBDCommand.read.rawValue, offset: 0, length: 512) + [UInt8](repeating: 0, count: 484)
        let actions = driver.feed(MachineDriver.request(NBDCommand.write.rawValue, offset: 0, length: 512) + payload)
        #expect(replyError(actions) == NBDError.permissionDenied.rawValue)
        #expect(!actions.contains { if case .read = $0 { true } else { false } })
        #expect(driver.pending.isEmpty)
    }

    @Test func badRequestMagicCloses() {
        var driver = MachineDriver()
        driver.negotiate()
        var bytes = MachineDriver.request(NBDCommand.read.rawValue, offset: 0, length: 512)
        bytes[0] ^= 0xff
        guard case .close = driver.feed(bytes).first else { Issue.record("expected close"); return }
    }

    @Test func disconnectCloses() {
        var driver = MachineDriver()
        driver.negotiate()
        #expect(driver.feed(MachineDriver.request(NBDCommand.disconnect.rawValue, offset: 0, length: 0)) == [.close("client sent NBD_CMD_DISC")])
    }
}
