import Foundation

/// A repository's files in a directory of this host.
///
/// A new file is written as `.tmp-NAME`, `fsync`ed, renamed to `NAME` and the directory
/// `fsync`ed; a crash leaves at most a temporary file, or a renamed file the catalog does
/// not name, and ``removeLeftovers(keeping:)`` deletes both.
public final class DirectoryStorage: BackupStorage {
    /// The directory (no trailing slash).
    public let directory: String
    /// Prefix of files being written.
    public static let temporaryPrefix = ".tmp-"

    /// The files of `directory` (which must exist).
    public init(directory: String) {
        self.directory = directory
    }

    public var location: String { directory }
    public var localDirectory: String? { directory }
    /// The root: one host writes the directory.
    public var newFileFolder: String { "" }

    /// The path of file `name`.
    public func path(of name: String) -> String { directory + "/" + name }

    public func describe(_ name: String) -> String { path(of: name) }

    public func exists(_ name: String) throws(BackupError) -> Bool { HostFile.exists(path(of: name)) }

    public func openForReading(_ name: String) throws(BackupError) -> any BackupFileInput {
        try HostFileInput(path: path(of: name))
    }

    public func create(_ name: String, maximumBytes: UInt64) throws(BackupError) -> any BackupFileOutput {
        try HostFileOutput(path: path(of: Self.temporaryPrefix + name))
    }

    public func publish(_ temporary: String, as name: String) throws(BackupError) {
        try HostFile.rename(temporary, to: path(of: name))
        try HostFile.syncDirectory(directory)
    }

    public func remove(_ name: String) throws(BackupError) {
        HostFile.remove(path(of: name))
        try HostFile.syncDirectory(directory)
    }

    public func removeLeftovers(keeping known: Set<String>) throws(BackupError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw BackupError(.io, "listing the repository \(directory) failed: \(error.localizedDescription)")
        }
        var removed: [String] = []
        for name in names.sorted() {
            let leftover = name.hasPrefix(Self.temporaryPrefix)
                || (name.hasPrefix(BackupRepository.filePrefix) && name.hasSuffix(".qcow2") && !known.contains(name))
            if leftover {
                HostFile.remove(path(of: name))
                removed.append(name)
            }
        }
        if !removed.isEmpty { try HostFile.syncDirectory(directory) }
        return removed
    }

    /// Nothing: the catalog in the directory is the repository's record of its points.
    public func commitPoint(_ record: BackupRecord, clusters: [WrittenCluster], parentFileName: String?) throws(BackupError) {}
}
