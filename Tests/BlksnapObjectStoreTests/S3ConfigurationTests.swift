import BlksnapObjectStore
import Foundation
import Testing

/// The settings as the AWS tools take them: variables over profiles, `AWS_PROFILE`, the two
/// shared files, and refusals that say what to set.
@Suite struct S3ConfigurationTests {
    /// A temporary HOME with `.aws/credentials` and `.aws/config`.
    struct Home {
        let path: String
        init(credentials: String, config: String) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("s3conf-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
            try credentials.write(toFile: path + "/.aws/credentials", atomically: true, encoding: .utf8)
            try config.write(toFile: path + "/.aws/config", atomically: true, encoding: .utf8)
        }
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    static let credentialsFile = """
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultSecret

        # a comment
        [backup]
        aws_access_key_id=BACKUPKEY
        aws_secret_access_key=backupSecret
        aws_session_token = backupToken
        """
    static let configFile = """
        [default]
        region = eu-west-1

        [profile backup]
        region = default
        endpoint_url = http://127.0.0.1:7480
        s3 =
          addressing_style = path

        [profile onlyconfig]
        region = us-west-2
        aws_access_key_id = CONFIGKEY
        aws_secret_access_key = configSecret
        """

    @Test func environmentVariablesWin() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let configuration = try S3Configuration.fromEnvironment([
            "HOME": home.path, "AWS_ENDPOINT_URL": "http://127.0.0.1:7480", "AWS_REGION": "default",
            "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envSecret", "AWS_SESSION_TOKEN": "envToken",
        ])
        #expect(configuration.endpoint == (try S3Endpoint(url: "http://127.0.0.1:7480")))
        #expect(configuration.region == "default")
        #expect(configuration.credentials == S3Credentials(accessKeyID: "ENVKEY", secretAccessKey: "envSecret", sessionToken: "envToken"))
        #expect(!configuration.description.contains("envSecret") && !configuration.description.contains("envToken"))
    }

    @Test func defaultProfileFromTheSharedFiles() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let configuration = try S3Configuration.fromEnvironment(["HOME": home.path])
        #expect(configuration.credentials == S3Credentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultSecret"))
        #expect(configuration.region == "eu-west-1")
        #expect(configuration.endpoint.description == "https://s3.eu-west-1.amazonaws.com")
    }

    @Test func namedProfileTakesCredentialsRegionAndEndpoint() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let configuration = try S3Configuration.fromEnvironment(["HOME": home.path, "AWS_PROFILE": "backup"])
        #expect(configuration.credentials == S3Credentials(accessKeyID: "BACKUPKEY", secretAccessKey: "backupSecret", sessionToken: "backupToken"))
        #expect(configuration.region == "default")
        #expect(configuration.endpoint.description == "http://127.0.0.1:7480")
        let onlyConfig = try S3Configuration.fromEnvironment(["HOME": home.path, "AWS_PROFILE": "onlyconfig", "AWS_DEFAULT_REGION": "ap-south-1"])
        #expect(onlyConfig.credentials.accessKeyID == "CONFIGKEY")
        #expect(onlyConfig.region == "ap-south-1", "AWS_DEFAULT_REGION is over the profile's region")
    }

    @Test func otherFilesByVariable() throws {
        let home = try Home(credentials: "", config: "")
        defer { home.remove() }
        let elsewhere = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { elsewhere.remove() }
        let configuration = try S3Configuration.fromEnvironment([
            "HOME": home.path, "AWS_PROFILE": "backup",
            "AWS_SHARED_CREDENTIALS_FILE": elsewhere.path + "/.aws/credentials", "AWS_CONFIG_FILE": elsewhere.path + "/.aws/config",
        ])
        #expect(configuration.credentials.accessKeyID == "BACKUPKEY")
        #expect(configuration.endpoint.port == 7480)
    }

    @Test func refusalsNameWhatToSet() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let unknown = #expect(throws: S3Error.self) { try S3Configuration.fromEnvironment(["HOME": home.path, "AWS_PROFILE": "nope"]) }
        #expect(unknown?.code == S3Error.configurationCode)
        #expect(unknown?.description.contains("profile 'nope'") == true)
        let empty = try Home(credentials: "", config: "")
        defer { empty.remove() }
        let none = #expect(throws: S3Error.self) { try S3Configuration.fromEnvironment(["HOME": empty.path]) }
        #expect(none?.description.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") == true)
        let half = #expect(throws: S3Error.self) {
            try S3Configuration.fromEnvironment(["HOME": empty.path, "AWS_ACCESS_KEY_ID": "K"])
        }
        #expect(half?.message.contains("AWS_SECRET_ACCESS_KEY is not") == true)
        let badURL = #expect(throws: S3Error.self) {
            try S3Configuration.fromEnvironment([
                "HOME": empty.path, "AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": "ftp://x",
            ])
        }
        #expect(badURL?.message.contains("not http or https") == true)
    }

    @Test func endpointURLs() throws {
        let ipv6 = try S3Endpoint(url: "http://[::1]:7480/")
        #expect(ipv6.host == "::1" && ipv6.port == 7480 && ipv6.hostHeader == "[::1]:7480")
        let aws = try S3Endpoint(url: "https://s3.amazonaws.com")
        #expect(aws.port == 443 && aws.hostHeader == "s3.amazonaws.com")
        #expect(throws: S3Error.self) { try S3Endpoint(url: "http://host:0") }
        #expect(throws: S3Error.self) { try S3Endpoint(url: "http://host/path") }
        #expect(throws: S3Error.self) { try S3Endpoint(url: "http://user:secret@host") }
        #expect(throws: S3Error.self) { try S3Endpoint(url: "host:7480") }
    }
}
