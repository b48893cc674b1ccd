// The numbers of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md), named once.
// This folder imports nothing but the standard library, so scripts/fuzz.sh compiles it alone.

/// Magic numbers and protocol limits.
public enum NBDMagic {
    /// `NBDMAGIC`: the first 8 bytes the server sends.
    public static let server: UInt64 = 0x4e42_444d_4147_4943
    /// `IHAVEOPT`: newstyle negotiation, and the prefix of every client option.
    public static let option: UInt64 = 0x4948_4156_454f_5054
    /// Prefix of every option reply.
    public static let optionReply: UInt64 = 0x0003_e889_0455_65a9
    /// Prefix of every transmission request.
    public static let request: UInt32 = 0x2560_9513
    /// Prefix of a simple reply.
    public static let simpleReply: UInt32 = 0x6744_6698
    /// Prefix of a structured reply chunk.
    public static let structuredReply: UInt32 = 0x668e_33ef
}

/// Handshake flags the server sends after the magic (16 bits).
public struct NBDHandshakeFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `NBD_FLAG_FIXED_NEWSTYLE`: every option gets a reply.
    public static let fixedNewstyle = NBDHandshakeFlags(rawValue: 1 << 0)
    /// `NBD_FLAG_NO_ZEROES`: the 124 zero bytes after `NBD_OPT_EXPORT_NAME` may be left out.
    public static let noZeroes = NBDHandshakeFlags(rawValue: 1 << 1)
}

/// Client flags, the client's answer to the handshake flags (32 bits).
public struct NBDClientFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `NBD_FLAG_C_FIXED_NEWSTYLE`.
    public static let fixedNewstyle = NBDClientFlags(rawValue: 1 << 0)
    /// `NBD_FLAG_C_NO_ZEROES`.
    public static let noZeroes = NBDClientFlags(rawValue: 1 << 1)
}

/// Transmission flags of an export (16 bits).
public struct NBDTransmissionFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `NBD_FLAG_HAS_FLAGS`: always set.
    public static let hasFlags = NBDTransmissionFlags(rawValue: 1 << 0)
    /// `NBD_FLAG_READ_ONLY`.
    public static let readOnly = NBDTransmissionFlags(rawValue: 1 << 1)
    /// `NBD_FLAG_SEND_FLUSH`.
    public static let sendFlush = NBDTransmissionFlags(rawValue: 1 << 2)
    /// `NBD_FLAG_SEND_FUA`.
    public static let sendFUA = NBDTransmissionFlags(rawValue: 1 << 3)
    /// `NBD_FLAG_SEND_TRIM`.
    public static let sendTrim = NBDTransmissionFlags(rawValue: 1 << 5)
    /// `NBD_FLAG_SEND_WRITE_ZEROES`.
    public static let sendWriteZeroes = NBDTransmissionFlags(rawValue: 1 << 6)
    /// `NBD_FLAG_SEND_DF`: the server honours `NBD_CMD_FLAG_DF` on reads.
    public static let sendDF = NBDTransmissionFlags(rawValue: 1 << 7)
    /// `NBD_FLAG_CAN_MULTI_CONN`: several connections see the same data.
    public static let canMultiConn = NBDTransmissionFlags(rawValue: 1 << 8)
    /// `NBD_FLAG_SEND_CACHE`.
    public static let sendCache = NBDTransmissionFlags(rawValue: 1 << 10)
}

/// Option codes (`NBD_OPT_*`).
public enum NBDOption: UInt32, Sendable, CaseIterable {
    case exportName = 1
    case abort = 2
    case list = 3
    case peekExport = 4
    case startTLS = 5
    case info = 6
    case go = 7
    case structuredReply = 8
    case listMetaContext = 9
    case setMetaContext = 10
    case extendedHeaders = 11

    /// The option's name in the specification, for logs.
    public var specName: String {
        switch self {
        case .exportName: "NBD_OPT_EXPORT_NAME"
        case .abort: "NBD_OPT_ABORT"
        case .list: "NBD_OPT_LIST"
        case .peekExport: "NBD_OPT_PEEK_EXPORT"
        case .startTLS: "NBD_OPT_STARTTLS"
        case .info: "NBD_OPT_INFO"
        case .go: "NBD_OPT_GO"
        case .structuredReply: "NBD_OPT_STRUCTURED_REPLY"
        case .listMetaContext: "NBD_OPT_LIST_META_CONTEXT"
        case .setMetaContext: "NBD_OPT_SET_META_CONTEXT"
        case .extendedHeaders: "NBD_OPT_EXTENDED_HEADERS"
        }
    }
}

/// Option reply types (`NBD_REP_*`); errors have bit 31 set.
public enum NBDOptionReply: UInt32, Sendable {
    case ack = 1
    case server = 2
    case info = 3
    case metaContext = 4
    /// `NBD_REP_ERR_UNSUP`: the option is unknown to this server.
    case errUnsupported = 0x8000_0001
    /// `NBD_REP_ERR_POLICY`: forbidden by the server's configuration.
    case errPolicy = 0x8000_0002
    /// `NBD_REP_ERR_INVALID`: malformed, or not allowed now.
    case errInvalid = 0x8000_0003
    /// `NBD_REP_ERR_PLATFORM`.
    case errPlatform = 0x8000_0004
    /// `NBD_REP_ERR_TLS_REQD`: negotiate TLS first.
    case errTLSRequired = 0x8000_0005
    /// `NBD_REP_ERR_UNKNOWN`: no such export.
    case errUnknown = 0x8000_0006
    /// `NBD_REP_ERR_SHUTDOWN`.
    case errShutdown = 0x8000_0007
    /// `NBD_REP_ERR_BLOCK_SIZE_REQD`.
    case errBlockSizeRequired = 0x8000_0008
    /// `NBD_REP_ERR_TOO_BIG`: the option's data is larger than the server accepts.
    case errTooBig = 0x8000_0009
}

/// Information types of `NBD_OPT_INFO` / `NBD_OPT_GO` (`NBD_INFO_*`).
public enum NBDInfoType: UInt16, Sendable {
    case export = 0
    case name = 1
    case description = 2
    case blockSize = 3
}

/// Transmission commands (`NBD_CMD_*`).
public enum NBDCommand: UInt16, Sendable, CaseIterable {
    case read = 0
    case write = 1
    case disconnect = 2
    case flush = 3
    case trim = 4
    case cache = 5
    case writeZeroes = 6
    case blockStatus = 7
    case resize = 8

    /// The command's name in the specification, for logs and error messages.
    public var specName: String {
        switch self {
        case .read: "NBD_CMD_READ"
        case .write: "NBD_CMD_WRITE"
        case .disconnect: "NBD_CMD_DISC"
        case .flush: "NBD_CMD_FLUSH"
        case .trim: "NBD_CMD_TRIM"
        case .cache: "NBD_CMD_CACHE"
        case .writeZeroes: "NBD_CMD_WRITE_ZEROES"
        case .blockStatus: "NBD_CMD_BLOCK_STATUS"
        case .resize: "NBD_CMD_RESIZE"
        }
    }
}

/// Command flags of a request (16 bits, `NBD_CMD_FLAG_*`).
public struct NBDCommandFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// `NBD_CMD_FLAG_FUA`.
    public static let fua = NBDCommandFlags(rawValue: 1 << 0)
    /// `NBD_CMD_FLAG_NO_HOLE`.
    public static let noHole = NBDCommandFlags(rawValue: 1 << 1)
    /// `NBD_CMD_FLAG_DF`: answer a read with one content chunk.
    public static let dontFragment = NBDCommandFlags(rawValue: 1 << 2)
    /// `NBD_CMD_FLAG_REQ_ONE`: answer a block status query with one descriptor per context.
    public static let requestOne = NBDCommandFlags(rawValue: 1 << 3)
    /// `NBD_CMD_FLAG_FAST_ZERO`.
    public static let fastZero = NBDCommandFlags(rawValue: 1 << 4)
}

/// Structured reply chunk types (`NBD_REPLY_TYPE_*`).
public enum NBDReplyType: UInt16, Sendable {
    case none = 0
    case offsetData = 1
    case offsetHole = 2
    case blockStatus = 5
    case error = 0x8001
    case errorOffset = 0x8002
}

/// `NBD_REPLY_FLAG_DONE`: the last chunk of a reply.
public let nbdReplyFlagDone: UInt16 = 1 << 0

/// The error values of the protocol (not the host's errno: the spec fixes these numbers).
public enum NBDError: UInt32, Sendable, CaseIterable {
    /// `NBD_EPERM`: operation not permitted (a write to a read-only export).
    case permissionDenied = 1
    /// `NBD_EIO`: input/output error (the image cannot be read).
    case ioError = 5
    /// `NBD_ENOMEM`.
    case noMemory = 12
    /// `NBD_EINVAL`: a malformed request (bounds, length, flags, unknown command).
    case invalidArgument = 22
    /// `NBD_ENOSPC`.
    case noSpace = 28
    /// `NBD_EOVERFLOW`: too large to send unfragmented.
    case overflow = 75
    /// `NBD_ENOTSUP`.
    case notSupported = 95
    /// `NBD_ESHUTDOWN`: the server is shutting down.
    case shutdown = 108

    /// The errno name, for messages: `EPERM`, `EIO`...
    public var name: String {
        switch self {
        case .permissionDenied: "EPERM"
        case .ioError: "EIO"
        case .noMemory: "ENOMEM"
        case .invalidArgument: "EINVAL"
        case .noSpace: "ENOSPC"
        case .overflow: "EOVERFLOW"
        case .notSupported: "ENOTSUP"
        case .shutdown: "ESHUTDOWN"
        }
    }
}

/// Block status flags of the `base:allocation` context.
public enum NBDAllocationState {
    /// `NBD_STATE_HOLE`: not allocated.
    public static let hole: UInt32 = 1 << 0
    /// `NBD_STATE_ZERO`: reads as zeroes.
    public static let zero: UInt32 = 1 << 1
}

/// `NBD_STATE_DIRTY`: bit 0 of a `qemu:dirty-bitmap:NAME` extent.
public let nbdStateDirty: UInt32 = 1 << 0

/// Limits this server enforces.
public enum NBDLimits {
    /// Largest string (export name, context query) the protocol allows (`NBD_MAX_STRING`).
    public static let maximumStringBytes = 4096
    /// Largest option data accepted; more is skipped and answered `NBD_REP_ERR_TOO_BIG`.
    public static let maximumOptionBytes = 65536
    /// Largest read, advertised as the maximum block size: 32 MiB.
    public static let maximumPayloadBytes: UInt32 = 32 << 20
    /// Smallest block size advertised.
    public static let minimumBlockBytes: UInt32 = 512
    /// Extents in one block status reply per context, as qemu (1 MiB of descriptors).
    public static let maximumExtentsPerReply = (1 << 20) / 8
}
