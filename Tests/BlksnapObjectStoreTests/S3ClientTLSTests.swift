import BlksnapObjectStore
import Foundation
import NIOSSL
import Testing

/// An `https` endpoint whose certificate a private CA signed: trusted with
/// ``S3Configuration/caFile`` (`AWS_CA_BUNDLE`, `--ca-file`), refused without it.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") || ProcessInfo.processInfo.environment["CI"] == "true",
                "no /usr/bin/openssl to make a test certificate: install openssl"))
struct S3ClientTLSTests {
    /// A self-signed certificate for 127.0.0.1 and its key, made by openssl in `directory`.
    static func makeCertificate(in directory: String) throws -> (certificate: String, key: String) {
        let certificate = directory + "/cert.pem", key = directory + "/key.pem"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl req failed")
        return (certificate, key)
    }

    @Test func privateCATrustedOnlyWithCAFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = try Self.makeCertificate(in: directory)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        let server = try await FlakyS3Server(failures: 0, tls: try NIOSSLContext(configuration: tls))
        var configuration = S3Configuration(
            endpoint: try S3Endpoint(url: "https://127.0.0.1:\(server.port)"), region: "us-east-1",
            credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            retry: .none, requestTimeout: .seconds(3))
        // The system's CAs do not know the private one: one clear transport error, no secret.
        do {
            try await S3Client.withClient(configuration: configuration) { client in try await client.deleteObject(bucket: "b", key: "k") }
            Issue.record("a certificate of an unknown CA was accepted")
        } catch let error as S3Error {
            #expect(error.code == S3Error.transportCode)
            #expect(error.message.contains("CERTIFICATE_VERIFY_FAILED") && error.message.contains("--ca-file"), "\(error)")
            #expect(!error.description.contains("wJalrXUtnFEMI"))
        }
        #expect(server.requestCount == 0, "no request reached the server over an untrusted connection")
        // With the CA file (as AWS_CA_BUNDLE gives it), the request goes through.
        let environment = ["AWS_ENDPOINT_URL": "https://127.0.0.1:\(server.port)", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                           "AWS_SECRET_ACCESS_KEY": "secret", "AWS_CA_BUNDLE": certificate, "HOME": directory]
        configuration.caFile = try S3Configuration.fromEnvironment(environment).caFile
        #expect(configuration.caFile == certificate)
        try await S3Client.withClient(configuration: configuration) { client in try await client.deleteObject(bucket: "b", key: "k") }
        #expect(server.requestCount == 1)
        try await server.close()
    }
}
