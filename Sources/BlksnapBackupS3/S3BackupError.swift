import BlksnapBackup
import BlksnapObjectStore
import SystemPackage

extension BackupError {
    /// A failed S3 request as a backup error: the errno that says what it means here
    /// (EACCES for credentials and permissions, ENOENT for a missing bucket or object,
    /// ENOSPC for a full cluster, ETIMEDOUT/EIO for a service that does not answer), the
    /// service's own words, what the code means and the remedy. No secret is in it: S3Error
    /// never holds one.
    static func s3(_ doing: String, _ error: any Error) -> BackupError {
        if let failure = error as? BackupError { return failure }
        if let stream = error as? S3StreamError {
            return BackupError(.io, "\(doing) failed: \(stream.description)", errno: .ioError)
        }
        guard let s3 = error as? S3Error else {
            return BackupError(.io, "\(doing) failed: \(error)", errno: .ioError)
        }
        let (kind, errno): (BackupError.Kind, Errno) = switch s3.code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied": (.refused, .permissionDenied)
        case "NoSuchBucket", "NoSuchKey", "NotFound": (.refused, .noSuchFileOrDirectory)
        case "QuotaExceeded", "InsufficientCapacity", "EntityTooLarge": (.io, .noSpace)
        case "RequestTimeTooSkewed": (.refused, .invalidArgument)
        case S3Error.configurationCode: (.refused, .invalidArgument)
        case S3Error.transportCode: (.io, .timedOut)
        default: (.io, .ioError)
        }
        return BackupError(kind, "\(doing) failed: \(s3.description)", errno: errno)
    }
}

extension BackupError {
    /// Settings that cannot make a client (no credentials, a profile that does not exist, a
    /// malformed endpoint) as a backup error: EINVAL, the setting to fix.
    public static func s3Configuration(_ error: S3Error) -> BackupError {
        BackupError(.refused, "the S3 settings cannot be used (EINVAL): \(error.message)", errno: .invalidArgument)
    }
}
