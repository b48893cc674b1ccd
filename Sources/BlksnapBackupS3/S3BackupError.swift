import BlksnapBackup
import BlksnapKit
import BlksnapObjectStore
import SystemPackage

extension BackupError {
    /// A failed S3 request as a backup error: the errno that says what it means here
    /// (EACCES for credentials and permissions, ENOENT for a missing bucket or object,
    /// ENOSPC for a full cluster, ETIMEDOUT/EIO for a service that does not answer), the
    /// service's own words, what the code means and the remedy. No secret is in it: S3Error
    /// never holds one.
    ///
    /// A service that does not answer (no HTTP answer, or a 5xx or `SlowDown` still there
    /// after the client's retries) carries ``BlksnapErrorCategory/moduleUnavailable``: the
    /// CLI exits 69 (`EX_UNAVAILABLE`), as for a missing module, so a scheduler can tell
    /// "try again later" from a refusal (exit 1).
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
        return BackupError(
            kind, "\(doing) failed: \(s3.description)", errno: errno,
            category: s3.isServiceUnavailable ? .moduleUnavailable : nil)
    }
}

extension S3Error {
    /// Whether the service did not answer: no HTTP answer, or an answer that says it cannot
    /// serve now (5xx, `SlowDown`). Checked after the retries, so it lasted.
    var isServiceUnavailable: Bool {
        if code == S3Error.transportCode || code == "SlowDown" { return true }
        if let httpStatus { return (500...599).contains(httpStatus) }
        return false
    }
}

extension BackupError {
    /// Settings that cannot make a client (no credentials, a profile that does not exist, a
    /// malformed endpoint) as a backup error: EINVAL, the setting to fix.
    public static func s3Configuration(_ error: S3Error) -> BackupError {
        BackupError(.refused, "the S3 settings cannot be used (EINVAL): \(error.message)", errno: .invalidArgument)
    }
}
