import SystemPackage

extension NBDError {
    /// The NBD error a request failing with `errno` is answered with: the one table from
    /// POSIX errors to the protocol's (nbdkit's `nbd_errno`). Errors the protocol has no
    /// value for are `NBD_EIO`: a source's failure is an I/O error to the client.
    public init(errno: Errno) {
        switch errno {
        case .notPermitted, .readOnlyFileSystem: self = .permissionDenied
        case .ioError: self = .ioError
        case .noMemory: self = .noMemory
        case .invalidArgument: self = .invalidArgument
        case .noSpace, .fileTooLarge, .diskQuotaExceeded: self = .noSpace
        case .overflow: self = .overflow
        case .notSupported, .notSupportedOnSocket: self = .notSupported
        case .socketShutdown: self = .shutdown
        default: self = .ioError
        }
    }
}
