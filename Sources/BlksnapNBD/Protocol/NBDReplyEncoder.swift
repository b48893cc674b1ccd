/// Encodes transmission replies: simple replies, structured reply chunks.
public enum NBDReplyEncoder {
    /// Bytes of a structured chunk header.
    public static let chunkHeaderBytes = 20
    /// Bytes of an `NBD_REPLY_TYPE_OFFSET_DATA` chunk before its data.
    public static let offsetDataHeaderBytes = 28

    /// A simple reply: magic, error (0: success), handle. A successful read's data follows.
    public static func simpleReply(handle: UInt64, error: NBDError?) -> [UInt8] {
        var writer = NBDByteWriter(capacity: 16)
        writer.u32(NBDMagic.simpleReply)
        writer.u32(error?.rawValue ?? 0)
        writer.u64(handle)
        return writer.bytes
    }

    /// A structured chunk header.
    public static func chunkHeader(flags: UInt16, type: NBDReplyType, handle: UInt64, lengthBytes: UInt32) -> [UInt8] {
        var writer = NBDByteWriter(capacity: 20)
        writer.u32(NBDMagic.structuredReply)
        writer.u16(flags)
        writer.u16(type.rawValue)
        writer.u64(handle)
        writer.u32(lengthBytes)
        return writer.bytes
    }

    /// The header of an `NBD_REPLY_TYPE_OFFSET_DATA` chunk of `dataBytes` bytes at `offsetBytes`.
    public static func offsetDataHeader(handle: UInt64, offsetBytes: UInt64, dataBytes: UInt32, done: Bool) -> [UInt8] {
        var writer = NBDByteWriter(capacity: 28)
        writer.append(chunkHeader(flags: done ? nbdReplyFlagDone : 0, type: .offsetData, handle: handle, lengthBytes: dataBytes + 8))
        writer.u64(offsetBytes)
        return writer.bytes
    }

    /// `NBD_REPLY_TYPE_NONE` with `NBD_REPLY_FLAG_DONE`: success without data.
    public static func noneChunk(handle: UInt64) -> [UInt8] {
        chunkHeader(flags: nbdReplyFlagDone, type: .none, handle: handle, lengthBytes: 0)
    }

    /// `NBD_REPLY_TYPE_ERROR` with `NBD_REPLY_FLAG_DONE`: the error and a message for the client's log.
    public static func errorChunk(handle: UInt64, error: NBDError, message: String) -> [UInt8] {
        let text = Array(message.utf8.prefix(NBDLimits.maximumStringBytes))
        var writer = NBDByteWriter(capacity: 26 + text.count)
        writer.append(chunkHeader(flags: nbdReplyFlagDone, type: .error, handle: handle, lengthBytes: UInt32(6 + text.count)))
        writer.u32(error.rawValue)
        writer.u16(UInt16(text.count))
        writer.append(text)
        return writer.bytes
    }

    /// An `NBD_REPLY_TYPE_BLOCK_STATUS` chunk for one context, the extents as given (an
    /// ``NBDExtentBuilder`` made them). Each extent's length must fit in 32 bits (requests
    /// are at most 4 GiB, so extents clipped to one do).
    public static func blockStatusChunk(handle: UInt64, contextID: UInt32, extents: [NBDExtent], done: Bool) -> [UInt8] {
        var writer = NBDByteWriter(capacity: 24 + 8 * extents.count)
        writer.append(chunkHeader(flags: done ? nbdReplyFlagDone : 0, type: .blockStatus, handle: handle,
                                  lengthBytes: UInt32(4 + 8 * extents.count)))
        writer.u32(contextID)
        for extent in extents {
            writer.u32(UInt32(truncatingIfNeeded: extent.lengthBytes))
            writer.u32(extent.flags)
        }
        return writer.bytes
    }
}
