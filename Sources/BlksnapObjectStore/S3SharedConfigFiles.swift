import Foundation

/// The AWS shared files, `~/.aws/credentials` and `~/.aws/config`, read as the AWS CLI and
/// SDKs read them: INI sections of `key = value` lines, `#` and `;` comments; in `credentials`
/// a profile's section is `[name]`, in `config` it is `[profile name]` (`[default]` for the
/// default profile).
public struct S3SharedConfigFiles: Sendable {
    /// `credentials`' sections, by profile name.
    public var credentials: [String: [String: String]]
    /// `config`'s sections, by profile name (the `profile ` prefix removed).
    public var config: [String: [String: String]]

    /// Both files as parsed sections.
    public init(credentials: [String: [String: String]] = [:], config: [String: [String: String]] = [:]) {
        self.credentials = credentials
        self.config = config
    }

    /// Reads the files at the paths the environment names (`AWS_SHARED_CREDENTIALS_FILE`,
    /// `AWS_CONFIG_FILE`), else under `$HOME/.aws`; a missing file reads as empty.
    public static func load(environment: [String: String]) throws(S3Error) -> S3SharedConfigFiles {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config"
        var files = S3SharedConfigFiles()
        files.credentials = parse(try read(credentialsPath))
        for (section, values) in parse(try read(configPath)) {
            if section == "default" {
                files.config["default"] = values
            } else if section.hasPrefix("profile ") {
                files.config[String(section.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces)] = values
            }
        }
        return files
    }

    /// A profile's values: `credentials`' section over `config`'s.
    public func profile(_ name: String) -> [String: String]? {
        let fromCredentials = credentials[name]
        let fromConfig = config[name]
        if fromCredentials == nil && fromConfig == nil { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credential in credential }
    }

    private static func read(_ path: String) throws(S3Error) -> String {
        guard FileManager.default.fileExists(atPath: path) else { return "" }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw S3Error(
                code: S3Error.configurationCode, message: "cannot read \(path): \(error.localizedDescription)",
                operation: "LoadConfiguration")
        }
    }

    /// INI sections of `text`: `[section]` headers, `key = value` lines (keys lower-cased),
    /// whole-line `#`/`;` comments; indented lines (nested settings such as `s3 =`'s) are skipped.
    public static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if rawLine.first == " " || rawLine.first == "\t" { continue }
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current]?[key] = value
        }
        return sections
    }
}
