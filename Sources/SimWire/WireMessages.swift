#if canImport(Glibc)
import Glibc
#endif
import SimKernel

/// Where a device added through the wire keeps its bytes.
public enum SimDeviceBacking: Sendable, Equatable {
    /// In the server's memory.
    case memory
    /// In this host file (an absolute path, created if missing).
    case file(path: String)
    /// In `ROOT/NAME.img` under the server's root directory (the default).
    case rootDirectory
}

/// One request of the wire protocol (see ``WireProtocol`` for the layouts).
public enum WireRequest: Sendable, Equatable {
    /// Handshake; a zero token asks for a new session.
    case hello(magic: UInt32, version: UInt16, session: [UInt8])
    /// `open(2)`.
    case open(path: String, flags: Int32)
    /// `close(2)`.
    case close(fd: Int32)
    /// `ioctl(2)` with the user memory shipped along.
    case ioctl(fd: Int32, request: UInt64, argument: UInt64, regions: [MappedUserMemory.Region])
    /// `pread(2)`.
    case pread(fd: Int32, offsetBytes: UInt64, lengthBytes: UInt32)
    /// `pwrite(2)` (`nowait` is `RWF_NOWAIT`).
    case pwrite(fd: Int32, offsetBytes: UInt64, bytes: [UInt8], nowait: Bool)
    /// `stat(2)`.
    case stat(path: String)
    /// Adds a device.
    case addDevice(name: String, capacitySectors: UInt64, logicalBlockSize: UInt32,
                   physicalBlockSize: UInt32, ioMin: UInt32, backing: SimDeviceBacking)
    /// Lists devices and images.
    case listDevices
    /// Resizes a device.
    case resizeDevice(name: String, capacitySectors: UInt64)
    /// Removes a device.
    case removeDevice(name: String)
    /// Sets a module parameter by its module name.
    case setParam(name: String, value: UInt32)
    /// Reads the module parameters.
    case getParams

    /// The frame type.
    public var type: WireMessageType {
        switch self {
        case .hello: .hello
        case .open: .open
        case .close: .close
        case .ioctl: .ioctl
        case .pread: .pread
        case .pwrite: .pwrite
        case .stat: .stat
        case .addDevice: .addDevice
        case .listDevices: .listDevices
        case .resizeDevice: .resizeDevice
        case .removeDevice: .removeDevice
        case .setParam: .setParam
        case .getParams: .getParams
        }
    }

    /// The frame body.
    public func encodedBody() -> [UInt8] {
        var w = WireWriter()
        switch self {
        case .hello(let magic, let version, let session):
            w.u32(magic); w.u16(version); w.u16(0); w.raw(session)
        case .open(let path, let flags):
            w.string(path); w.i32(flags)
        case .close(let fd):
            w.i32(fd)
        case .ioctl(let fd, let request, let argument, let regions):
            w.i32(fd); w.u64(request); w.u64(argument); w.u32(UInt32(regions.count))
            for region in regions { w.u64(region.address); w.bool(region.writable); w.blob(region.bytes) }
        case .pread(let fd, let offset, let length):
            w.i32(fd); w.u64(offset); w.u32(length)
        case .pwrite(let fd, let offset, let bytes, let nowait):
            w.i32(fd); w.u64(offset); w.bool(nowait); w.blob(bytes)
        case .stat(let path):
            w.string(path)
        case .addDevice(let name, let capacity, let lbs, let pbs, let ioMin, let backing):
            w.string(name); w.u64(capacity); w.u32(lbs); w.u32(pbs); w.u32(ioMin)
            switch backing {
            case .memory: w.u8(0); w.string("")
            case .file(let path): w.u8(1); w.string(path)
            case .rootDirectory: w.u8(2); w.string("")
            }
        case .listDevices, .getParams:
            break
        case .resizeDevice(let name, let capacity):
            w.string(name); w.u64(capacity)
        case .removeDevice(let name):
            w.string(name)
        case .setParam(let name, let value):
            w.string(name); w.u32(value)
        }
        return w.bytes
    }

    /// Decodes a request frame.
    ///
    /// - Throws: `.malformed` for an unknown type, a short or over-long body, or a
    ///   length that exceeds the bytes present.
    public static func decode(type rawType: UInt16, body: [UInt8]) throws(WireError) -> WireRequest {
        guard let type = WireMessageType(rawValue: rawType), type != .error else {
            throw .malformed("unknown request type 0x\(String(rawType, radix: 16))")
        }
        var r = WireReader(body)
        let request: WireRequest
        switch type {
        case .hello:
            let magic = try r.u32(), version = try r.u16()
            _ = try r.u16()
            request = .hello(magic: magic, version: version, session: try r.raw(WireProtocol.sessionTokenBytes))
        case .open:
            request = .open(path: try r.string(), flags: try r.i32())
        case .close:
            request = .close(fd: try r.i32())
        case .ioctl:
            let fd = try r.i32(), code = try r.u64(), argument = try r.u64()
            let count = try r.count(minimumElementBytes: 13)
            var regions: [MappedUserMemory.Region] = []
            regions.reserveCapacity(count)
            for _ in 0..<count {
                let address = try r.u64(), writable = try r.bool()
                regions.append(.init(address: address, bytes: try r.blob(), writable: writable))
            }
            request = .ioctl(fd: fd, request: code, argument: argument, regions: regions)
        case .pread:
            request = .pread(fd: try r.i32(), offsetBytes: try r.u64(), lengthBytes: try r.u32())
        case .pwrite:
            let fd = try r.i32(), offset = try r.u64(), nowait = try r.bool()
            request = .pwrite(fd: fd, offsetBytes: offset, bytes: try r.blob(), nowait: nowait)
        case .stat:
            request = .stat(path: try r.string())
        case .addDevice:
            let name = try r.string(), capacity = try r.u64()
            let lbs = try r.u32(), pbs = try r.u32(), ioMin = try r.u32()
            let kind = try r.u8(), path = try r.string()
            let backing: SimDeviceBacking
            switch kind {
            case 0: backing = .memory
            case 1: backing = .file(path: path)
            case 2: backing = .rootDirectory
            default: throw .malformed("backing kind \(kind)")
            }
            request = .addDevice(name: name, capacitySectors: capacity, logicalBlockSize: lbs,
                                 physicalBlockSize: pbs, ioMin: ioMin, backing: backing)
        case .listDevices:
            request = .listDevices
        case .resizeDevice:
            request = .resizeDevice(name: try r.string(), capacitySectors: try r.u64())
        case .removeDevice:
            request = .removeDevice(name: try r.string())
        case .setParam:
            request = .setParam(name: try r.string(), value: try r.u32())
        case .getParams:
            request = .getParams
        case .error:
            throw .malformed("error frame sent as a request")
        }
        try r.finish()
        return request
    }
}

/// One reply of the wire protocol. `result` is a negative errno or a non-negative value.
public enum WireReply: Sendable, Equatable {
    /// Handshake accepted (result 0) or refused (negative errno, zero token).
    case hello(result: Int64, session: [UInt8])
    /// A reply that carries only the result (close, pwrite, resize, remove, setParam).
    case status(WireMessageType, result: Int64)
    /// `open`: the descriptor (result) and what it names.
    case open(result: Int64, node: SimNodeKind)
    /// `ioctl`: the result and the kernel's writes to user memory, in order.
    case ioctl(result: Int64, writes: [MappedUserMemory.Region])
    /// `pread`: the count (result) and the bytes.
    case pread(result: Int64, bytes: [UInt8])
    /// `stat`: the status when result is 0.
    case stat(result: Int64, SimStat?)
    /// `addDevice`: the new device when result is 0.
    case device(result: Int64, SimDeviceInfo?)
    /// `listDevices`.
    case devices(result: Int64, [SimDeviceInfo])
    /// `getParams`: names and values in ``Params/names`` order.
    case params(result: Int64, [WireParam])
    /// A request the server could not decode or does not know.
    case error(result: Int64, message: String)

    /// The frame type.
    public var frameType: UInt16 {
        switch self {
        case .hello: WireMessageType.hello.replyType
        case .status(let type, _): type.replyType
        case .open: WireMessageType.open.replyType
        case .ioctl: WireMessageType.ioctl.replyType
        case .pread: WireMessageType.pread.replyType
        case .stat: WireMessageType.stat.replyType
        case .device: WireMessageType.addDevice.replyType
        case .devices: WireMessageType.listDevices.replyType
        case .params: WireMessageType.getParams.replyType
        case .error: WireMessageType.error.replyType
        }
    }

    /// The result field.
    public var result: Int64 {
        switch self {
        case .hello(let result, _), .status(_, let result), .open(let result, _), .ioctl(let result, _),
             .pread(let result, _), .stat(let result, _), .device(let result, _), .devices(let result, _),
             .params(let result, _), .error(let result, _):
            result
        }
    }

    /// The frame body.
    public func encodedBody() -> [UInt8] {
        var w = WireWriter()
        w.i64(result)
        switch self {
        case .hello(_, let session):
            w.u32(WireProtocol.magic); w.u16(WireProtocol.version); w.u16(0); w.raw(session)
        case .status:
            break
        case .open(_, let node):
            w.u8(node.rawValue)
        case .ioctl(_, let writes):
            w.u32(UInt32(writes.count))
            for write in writes { w.u64(write.address); w.blob(write.bytes) }
        case .pread(_, let bytes):
            w.blob(bytes)
        case .stat(_, let status):
            if let status {
                w.u32(status.mode); w.u32(status.major); w.u32(status.minor); w.u64(status.sizeBytes)
            }
        case .device(_, let info):
            if let info { Self.encode(info, into: &w) }
        case .devices(_, let list):
            w.u32(UInt32(list.count))
            for info in list { Self.encode(info, into: &w) }
        case .params(_, let params):
            w.u32(UInt32(params.count))
            for param in params { w.string(param.name); w.u32(param.value) }
        case .error(_, let message):
            w.string(message)
        }
        return w.bytes
    }

    /// Decodes a reply frame.
    public static func decode(type rawType: UInt16, body: [UInt8]) throws(WireError) -> WireReply {
        guard rawType & WireProtocol.replyBit != 0,
              let type = WireMessageType(rawValue: rawType & ~WireProtocol.replyBit) else {
            throw .malformed("unknown reply type 0x\(String(rawType, radix: 16))")
        }
        var r = WireReader(body)
        let result = try r.i64()
        let reply: WireReply
        switch type {
        case .hello:
            let magic = try r.u32(), version = try r.u16()
            _ = try r.u16()
            let session = try r.raw(WireProtocol.sessionTokenBytes)
            guard magic == WireProtocol.magic, version == WireProtocol.version else {
                throw .malformed("server speaks magic 0x\(String(magic, radix: 16)) version \(version)")
            }
            reply = .hello(result: result, session: session)
        case .close, .pwrite, .resizeDevice, .removeDevice, .setParam:
            reply = .status(type, result: result)
        case .open:
            guard let node = SimNodeKind(rawValue: try r.u8()) else { throw WireError.malformed("unknown node kind") }
            reply = .open(result: result, node: node)
        case .ioctl:
            let count = try r.count(minimumElementBytes: 12)
            var writes: [MappedUserMemory.Region] = []
            writes.reserveCapacity(count)
            for _ in 0..<count {
                let address = try r.u64()
                writes.append(.init(address: address, bytes: try r.blob(), writable: true))
            }
            reply = .ioctl(result: result, writes: writes)
        case .pread:
            reply = .pread(result: result, bytes: try r.blob())
        case .stat:
            if r.remaining == 0 {
                reply = .stat(result: result, nil)
            } else {
                reply = .stat(result: result, SimStat(mode: try r.u32(), major: try r.u32(),
                                                      minor: try r.u32(), sizeBytes: try r.u64()))
            }
        case .addDevice:
            reply = .device(result: result, r.remaining == 0 ? nil : try decodeDevice(&r))
        case .listDevices:
            let count = try r.count(minimumElementBytes: 42)
            var list: [SimDeviceInfo] = []
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(try decodeDevice(&r)) }
            reply = .devices(result: result, list)
        case .getParams:
            let count = try r.count(minimumElementBytes: 8)
            var params: [WireParam] = []
            params.reserveCapacity(count)
            for _ in 0..<count { params.append(WireParam(name: try r.string(), value: try r.u32())) }
            reply = .params(result: result, params)
        case .error:
            reply = .error(result: result, message: try r.string())
        }
        try r.finish()
        return reply
    }

    private static func encode(_ info: SimDeviceInfo, into w: inout WireWriter) {
        w.string(info.name); w.string(info.path); w.u32(info.major); w.u32(info.minor)
        w.u64(info.capacitySectors); w.u32(info.logicalBlockSize); w.u32(info.physicalBlockSize)
        w.u32(info.ioMin); w.bool(info.isImage); w.bool(info.filter != nil); w.string(info.filter ?? "")
    }

    private static func decodeDevice(_ r: inout WireReader) throws(WireError) -> SimDeviceInfo {
        let name = try r.string(), path = try r.string()
        let major = try r.u32(), minor = try r.u32(), capacity = try r.u64()
        let lbs = try r.u32(), pbs = try r.u32(), ioMin = try r.u32()
        let isImage = try r.bool(), hasFilter = try r.bool(), filter = try r.string()
        return SimDeviceInfo(name: name, path: path, major: major, minor: minor, capacitySectors: capacity,
                             logicalBlockSize: lbs, physicalBlockSize: pbs, ioMin: ioMin, isImage: isImage,
                             filter: hasFilter ? filter : nil)
    }
}

/// A module parameter as `getParams` reports it.
public struct WireParam: Sendable, Equatable {
    /// The module's name for it (`diff_storage_minimum`, ...).
    public var name: String
    /// Its value.
    public var value: UInt32

    /// Creates a parameter value.
    public init(name: String, value: UInt32) {
        self.name = name
        self.value = value
    }
}
