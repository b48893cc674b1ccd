import SimKernel

/// The simulator wire protocol: how `blksnapctl` talks to a `SimKernel` hosted by
/// `blksnapctl sim serve` (``SimServer``) over a Unix socket.
///
/// # Transport
/// A `SOCK_STREAM` Unix-domain socket, created mode 0600; the server accepts only
/// peers whose uid (`SO_PEERCRED`) is its own or root's. All integers are
/// little-endian. Everything is a *frame*:
///
/// ```
/// offset 0  u32 bodyLength     bytes that follow the 8-byte header; at most
///                              WireProtocol.maximumBodyBytes (64 MiB)
/// offset 4  u16 type           a WireMessageType raw value
/// offset 6  u16 reserved       0
/// offset 8  body[bodyLength]
/// ```
///
/// Primitive encodings inside bodies: `u8/u16/u32/u64/i32/i64` little-endian;
/// `bool` = u8 0/1; `string` = u32 length + UTF-8 bytes (no NUL); `blob` =
/// u32 length + bytes. A body must be consumed exactly: trailing bytes are an error.
///
/// # Conversation
/// The client's first frame is `hello`; the server answers `hello | 0x8000`. Then
/// the client sends one request at a time on a connection and reads its reply; the
/// reply's type is the request's type with bit 15 set. Every reply body starts
/// with `i64 result`: a negative errno, or a non-negative value.
///
/// A client may hold several connections to the same *session* (to run a blocking
/// WAIT_EVENT on one while another issues commands): the first hello carries a zero
/// token and gets a fresh 16-byte session token back; further connections send that
/// token and join the session. A session owns the descriptor table (client fd →
/// SimKernel fd); when its last connection closes, every descriptor it still holds
/// is closed. A request in progress on a connection sees that connection's
/// disconnection as a signal (a sleeping WAIT_EVENT ends with EINTR).
///
/// # Messages (request body → reply body after `i64 result`)
/// | type | name | request body | reply body |
/// |---|---|---|---|
/// | 0x01 | hello | u32 magic "BSNP", u16 version, u16 0, token[16] | u32 magic, u16 version, u16 0, token[16] |
/// | 0x02 | open | string path, i32 flags | u8 node: 0 block device, 1 v5 control, 2 VAL-7.0 control, 3 bdevfilter, 4 VAL-6.x control (result = fd) |
/// | 0x03 | close | i32 fd | — |
/// | 0x04 | ioctl | i32 fd, u64 request, u64 argument, u32 n, n × region | u32 m, m × write |
/// | 0x05 | pread | i32 fd, u64 offsetBytes, u32 lengthBytes | blob bytes (result = count) |
/// | 0x06 | pwrite | i32 fd, u64 offsetBytes, bool nowait, blob bytes | — (result = count) |
/// | 0x07 | stat | string path | u32 mode, u32 major, u32 minor, u64 sizeBytes (if result = 0) |
/// | 0x08 | addDevice | string name, u64 capacitySectors, u32 lbs, u32 pbs, u32 ioMin, u8 backing (0 memory, 1 file, 2 root directory), string backingPath | device (if result = 0) |
/// | 0x09 | listDevices | — | u32 n, n × device |
/// | 0x0A | resizeDevice | string name, u64 capacitySectors | — |
/// | 0x0B | removeDevice | string name | — |
/// | 0x0C | setParam | string name, u32 value | — (EINVAL: unknown name) |
/// | 0x0D | getParams | — | u32 n, n × (string name, u32 value) |
/// | 0xFFFF | error | (server → client only) | string message |
///
/// - `region` = u64 address, bool writable, blob bytes: user memory the client
///   shipped with an ioctl; the server runs the ioctl on a ``MappedUserMemory`` made
///   of these regions, so an address outside them faults with the kernel's errno.
/// - `write` = u64 address, blob bytes: one `copy_to_user` the kernel made, in
///   order; the client copies each back into its own memory. Writes are returned
///   whether the ioctl succeeded or not (COLLECT writes and then fails ENODATA).
/// - `device` = string name, string path, u32 major, u32 minor, u64 capacitySectors,
///   u32 lbs, u32 pbs, u32 ioMin, bool isImage, bool hasFilter, string filter.
///
/// # Errors
/// An unknown type gets an `error` frame with `result` = -EPROTO, a body that does
/// not decode one with -EBADMSG (plus a message); the connection stays usable.
/// These close the connection after an `error` frame: a header announcing more
/// than ``WireProtocol/maximumBodyBytes`` (-EMSGSIZE), a non-zero reserved field or
/// a first frame that is not a hello of this magic and version (-EPROTO), a peer
/// of another uid (-EACCES), an unknown session token (-ENOENT), too many
/// connections (-EMFILE). A stream that ends inside a frame just closes.
/// Decoders never allocate more than the bytes actually received.
public enum WireProtocol {
    /// `"BSNP"` read as a little-endian u32.
    public static let magic: UInt32 = 0x504E_5342
    /// The protocol version this build speaks.
    public static let version: UInt16 = 2

    /// Where the clients of the server on `socketPath` share what their drivers must
    /// remember about snapshots (BlksnapKit's `SnapshotRecords`): beside the socket. The
    /// server removes it when it stops.
    public static func sharedStateDirectory(socketPath: String) -> String { socketPath + ".state" }
    /// Size of a frame header in bytes.
    public static let headerBytes = 8
    /// The largest body a frame may announce (64 MiB).
    public static let maximumBodyBytes = 64 << 20
    /// The most payload bytes one pread/pwrite request carries (leaves room for the
    /// fields around it in a frame).
    public static let maximumTransferBytes = 16 << 20
    /// Size of a session token in bytes.
    public static let sessionTokenBytes = 16
    /// Bit set in a reply's type.
    public static let replyBit: UInt16 = 0x8000
}

/// The type field of a frame (requests; replies add ``WireProtocol/replyBit``).
public enum WireMessageType: UInt16, Sendable, CaseIterable {
    /// Handshake: magic, version, session token.
    case hello = 0x01
    /// `open(2)` in the simulator's namespace.
    case open = 0x02
    /// `close(2)` of a session descriptor.
    case close = 0x03
    /// `ioctl(2)` with the user memory its argument references.
    case ioctl = 0x04
    /// `pread(2)` of a device or image.
    case pread = 0x05
    /// `pwrite(2)` to a device or image.
    case pwrite = 0x06
    /// `stat(2)` in the simulator's namespace.
    case stat = 0x07
    /// Adds a simulated device.
    case addDevice = 0x08
    /// Lists devices and images.
    case listDevices = 0x09
    /// Changes a device's capacity.
    case resizeDevice = 0x0A
    /// Removes a device.
    case removeDevice = 0x0B
    /// Sets a module parameter.
    case setParam = 0x0C
    /// Reads every module parameter.
    case getParams = 0x0D
    /// Server → client: a request could not be decoded or is not known.
    case error = 0x7FFF

    /// The frame type of this message's reply (`error` is sent as 0xFFFF).
    public var replyType: UInt16 { rawValue | WireProtocol.replyBit }
}

/// Why a frame or a body could not be read.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed the connection between frames.
    case closed
    /// The stream ended inside a frame.
    case truncated
    /// A header announced a body larger than ``WireProtocol/maximumBodyBytes``.
    case oversized(bodyBytes: UInt32)
    /// A header or body is not well formed.
    case malformed(String)
    /// A socket call failed with this errno.
    case system(Int32)

    public var description: String {
        switch self {
        case .closed: "connection closed"
        case .truncated: "connection closed inside a frame"
        case .oversized(let bytes): "frame of \(bytes) bytes exceeds the \(WireProtocol.maximumBodyBytes)-byte limit"
        case .malformed(let why): "malformed frame: \(why)"
        case .system(let code): "socket error: \(SimErrno(code))"
        }
    }
}
