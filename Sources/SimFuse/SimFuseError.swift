#if canImport(Glibc)
import Glibc
#endif

/// Why the FUSE export of a simulator could not start.
public enum SimFuseError: Error, CustomStringConvertible, Sendable {
    /// `stat` of the mount point fails with `ENOTCONN`: a FUSE server that mounted there died.
    case staleMount(path: String)
    /// Something is already mounted on the mount point.
    case alreadyMounted(path: String, type: String, source: String)
    /// The mount point cannot be used (missing and not creatable, not a directory, ...).
    case mountPoint(path: String, errno: Int32)
    /// libfuse refused the options or could not mount (it printed its reason on stderr).
    case fuse(path: String, step: String)

    /// The message, with the remedy.
    public var description: String {
        switch self {
        case .staleMount(let path):
            return "\(path) is a stale FUSE mount (ENOTCONN: the server that mounted it is gone): "
                + "run 'fusermount3 -u \(path)' (or 'umount -l \(path)') first"
        case .alreadyMounted(let path, let type, let source):
            return "\(path) is already a mount point (\(type) from \(source)): unmount it or choose another --mount (EBUSY)"
        case .mountPoint(let path, let code):
            return "cannot use \(path) as mount point: \(String(cString: strerror(code)))"
        case .fuse(let path, let step):
            return "cannot mount the FUSE filesystem on \(path): \(step) failed "
                + "(is /dev/fuse there and fuse3 installed? see the message above)"
        }
    }
}
