import BlksnapBackup
@testable import BlksnapBackupS3
import BlksnapKit
import BlksnapObjectStore
import SystemPackage
import Testing

/// S3 failures as backup errors: the errno and, for a service that does not answer, the
/// category that makes the CLI exit 69 instead of 1.
struct S3BackupErrorTests {
    static let cases: [(code: String, status: Int?, errno: Errno, unavailable: Bool)] = [
        (S3Error.transportCode, nil, .timedOut, true),
        ("SlowDown", 503, .ioError, true),
        ("ServiceUnavailable", 503, .ioError, true),
        ("InternalError", 500, .ioError, true),
        (S3Error.invalidResponseCode, 502, .ioError, true),
        ("SignatureDoesNotMatch", 403, .permissionDenied, false),
        ("InvalidAccessKeyId", 403, .permissionDenied, false),
        ("NoSuchBucket", 404, .noSuchFileOrDirectory, false),
        ("RequestTimeTooSkewed", 403, .invalidArgument, false),
        ("QuotaExceeded", 403, .noSpace, false),
        (S3Error.invalidResponseCode, 200, .ioError, false),
    ]

    @Test("a service that does not answer is 'unavailable' (exit 69); a refusal keeps exit 1", arguments: cases.indices)
    func category(index: Int) {
        let (code, status, errno, unavailable) = Self.cases[index]
        let s3 = S3Error(code: code, message: "m", httpStatus: status, operation: "PutObject", resource: "s3://b/k", attempts: 4)
        let error = BackupError.s3("uploading s3://b/k", s3)
        #expect(error.errno == errno, "\(code) \(status.map(String.init) ?? "-")")
        #expect((error.category == .moduleUnavailable) == unavailable, "\(code) \(status.map(String.init) ?? "-")")
        #expect(error.message.hasPrefix("uploading s3://b/k failed: "))
    }
}
