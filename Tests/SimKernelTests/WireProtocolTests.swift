#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SimKernel
@testable import SimWire

/// Encoding and decoding of every message, and decoding of hostile bodies.
@Suite struct WireProtocolTests {
    static let token = (0..<16).map { UInt8($0 + 1) }

    static let requests: [WireRequest] = [
        .hello(magic: WireProtocol.magic, version: WireProtocol.version, session: token),
        .open(path: "/dev/blksnap-control", flags: O_RDWR),
        .close(fd: 7),
        .ioctl(fd: 3, request: 0x4008_5600, argument: 0x7fff_0000_1000, regions: [
            .init(address: 0x7fff_0000_1000, bytes: [1, 2, 3, 4, 5, 6, 7, 8], writable: true),
            .init(address: 0x5000, bytes: [], writable: false),
        ]),
        .ioctl(fd: 3, request: 0xc030_128e, argument: 0, regions: []),
        .pread(fd: 4, offsetBytes: 1 << 40, lengthBytes: 4096),
        .pwrite(fd: 4, offsetBytes: 512, bytes: [9, 8, 7], nowait: true),
        .stat(path: "/dev/sda"),
        .addDevice(name: "sda", capacitySectors: 2048, logicalBlockSize: 4096, physicalBlockSize: 4096,
                   ioMin: 4096, backing: .memory),
        .addDevice(name: "sdb", capacitySectors: 1, logicalBlockSize: 512, physicalBlockSize: 512,
                   ioMin: 512, backing: .file(path: "/var/tmp/sdb.img")),
        .addDevice(name: "sdc", capacitySectors: 0, logicalBlockSize: 512, physicalBlockSize: 4096,
                   ioMin: 512, backing: .rootDirectory),
        .listDevices,
        .resizeDevice(name: "sda", capacitySectors: 4096),
        .removeDevice(name: "sda"),
        .setParam(name: "diff_storage_minimum", value: 4096),
        .getParams,
    ]

    static let device = SimDeviceInfo(name: "sda", path: "/dev/sda", major: 240, minor: 1, capacitySectors: 2048,
                                      logicalBlockSize: 512, physicalBlockSize: 4096, ioMin: 512,
                                      isImage: false, filter: "blksnap")
    static let image = SimDeviceInfo(name: "blksnap-image_240:1", path: "/dev/blksnap-image_240:1", major: 259,
                                     minor: 0, capacitySectors: 2048, logicalBlockSize: 512, physicalBlockSize: 4096,
                                     ioMin: 512, isImage: true, filter: nil)

    static let replies: [WireReply] = [
        .hello(result: 0, session: token),
        .status(.close, result: 0),
        .status(.pwrite, result: 3),
        .status(.resizeDevice, result: -Int64(ENOENT)),
        .status(.removeDevice, result: 0),
        .status(.setParam, result: -Int64(EINVAL)),
        .open(result: 3, node: .v5Control),
        .open(result: 4, node: .bdevFilter),
        .open(result: -Int64(ENOSYS), node: .blockDevice),
        .ioctl(result: -Int64(ENODATA), writes: [.init(address: 0x1000, bytes: [2, 0, 0, 0, 0, 0, 0, 0], writable: true)]),
        .ioctl(result: 0, writes: []),
        .pread(result: 4, bytes: [1, 2, 3, 4]),
        .stat(result: 0, SimStat(mode: 0o060660, major: 240, minor: 1, sizeBytes: 1 << 20)),
        .stat(result: -Int64(ENOENT), nil),
        .device(result: 0, device),
        .device(result: -Int64(EEXIST), nil),
        .devices(result: 0, [device, image]),
        .devices(result: 0, []),
        .params(result: 0, Params.names.map { WireParam(name: $0, value: Params().value(of: $0)!) }),
        .error(result: -Int64(EPROTO), message: "unknown request type 0x99"),
    ]

    @Test func everyRequestTypeIsCovered() {
        let covered = Set(Self.requests.map(\.type))
        #expect(covered == Set(WireMessageType.allCases.filter { $0 != .error }))
    }

    @Test(arguments: requests)
    func requestRoundTrips(_ request: WireRequest) throws {
        let decoded = try WireRequest.decode(type: request.type.rawValue, body: request.encodedBody())
        #expect(decoded == request)
    }

    @Test(arguments: replies)
    func replyRoundTrips(_ reply: WireReply) throws {
        let decoded = try WireReply.decode(type: reply.frameType, body: reply.encodedBody())
        #expect(decoded == reply)
    }

    @Test func integersAreLittleEndian() {
        var writer = WireWriter()
        writer.u32(0x0102_0304)
        writer.u64(0x0102_0304_0506_0708)
        writer.i32(-2)
        #expect(writer.bytes == [4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 0xFE, 0xFF, 0xFF, 0xFF])
    }

    @Test func everyTruncatedRequestBodyIsRejected() {
        for request in Self.requests {
            let body = request.encodedBody()
            for length in 0..<body.count {
                #expect(throws: WireError.self) {
                    try WireRequest.decode(type: request.type.rawValue, body: Array(body[0..<length]))
                }
            }
            #expect(throws: WireError.self) { try WireRequest.decode(type: request.type.rawValue, body: body + [0]) }
        }
    }

    @Test func everyTruncatedReplyBodyIsRejected() {
        for reply in Self.replies {
            let body = reply.encodedBody()
            // .stat and .device legitimately end after the 8-byte result on failure.
            var resultOnlyIsValid = false
            switch reply {
            case .stat, .device: resultOnlyIsValid = true
            default: break
            }
            for length in 0..<body.count where !(resultOnlyIsValid && length == 8) {
                #expect(throws: WireError.self) { try WireReply.decode(type: reply.frameType, body: Array(body[0..<length])) }
            }
            #expect(throws: WireError.self) { try WireReply.decode(type: reply.frameType, body: body + [0]) }
        }
    }

    @Test func lengthsAreNotTrusted() {
        // An ioctl announcing 4 billion regions in a 25-byte body.
        var w = WireWriter()
        w.i32(3); w.u64(0); w.u64(0); w.u32(.max)
        #expect(throws: WireError.self) { try WireRequest.decode(type: WireMessageType.ioctl.rawValue, body: w.bytes) }
        // A path announcing 4 GiB.
        var p = WireWriter()
        p.u32(.max); p.raw([0x2f, 0x64])
        #expect(throws: WireError.self) { try WireRequest.decode(type: WireMessageType.stat.rawValue, body: p.bytes) }
        // A device list announcing 2^32-1 devices.
        var l = WireWriter()
        l.i64(0); l.u32(.max)
        #expect(throws: WireError.self) { try WireReply.decode(type: WireMessageType.listDevices.replyType, body: l.bytes) }
    }

    @Test func unknownTypesAndBadFieldsAreRejected() {
        #expect(throws: WireError.self) { try WireRequest.decode(type: 0x99, body: []) }
        #expect(throws: WireError.self) { try WireRequest.decode(type: WireMessageType.error.rawValue, body: []) }
        #expect(throws: WireError.self) { try WireReply.decode(type: WireMessageType.close.rawValue, body: [0, 0, 0, 0, 0, 0, 0, 0]) }
        var bad = WireWriter()
        bad.i32(4); bad.u64(0); bad.u8(2); bad.blob([1])  // bool byte 2
        #expect(throws: WireError.self) { try WireRequest.decode(type: WireMessageType.pwrite.rawValue, body: bad.bytes) }
        var utf = WireWriter()
        utf.blob([0xFF, 0xFE])
        #expect(throws: WireError.self) { try WireRequest.decode(type: WireMessageType.stat.rawValue, body: utf.bytes) }
    }

    @Test func randomBodiesNeverCrashTheDecoders() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 64)
            let body = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let type = UInt16(truncatingIfNeeded: generator.next() % 16)
            _ = try? WireRequest.decode(type: type, body: body)
            _ = try? WireReply.decode(type: type | WireProtocol.replyBit, body: body)
        }
    }
}

/// A deterministic generator for fuzzing.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
