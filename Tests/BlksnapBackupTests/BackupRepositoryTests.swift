@testable import BlksnapBackup
import Foundation
import SystemPackage
import Testing

/// Creating a repository directory: missing parents made, and a failure that names the
/// component and its errno (Foundation's own codes, such as 512, are no errno).
@Suite("backup repository directory")
struct BackupRepositoryTests {
    @Test("missing parents are made, like mkdir -p")
    func makesParents() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/a/b/repo"
        let repository = try BackupRepository(directory: path, create: true)
        #expect(repository.directory == path)
        var status = stat()
        #expect(stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR)
    }

    @Test("a file in the way: EEXIST, naming it")
    func fileInTheWay() throws {
        let directory = try TemporaryDirectory()
        let blocker = directory.path + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        let error = #expect(throws: BackupError.self) {
            try BackupRepository(directory: blocker + "/repo", create: true)
        }
        #expect(error?.errno == .fileExists)
        #expect(error?.message.contains("(at \(blocker))") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\(blocker) is a file, not a directory") == true)
    }

    @Test("a parent that cannot exist: ENOENT")
    func impossibleParent() throws {
        let error = #expect(throws: BackupError.self) {
            try BackupRepository(directory: "/proc/no-such-process-dir/repo", create: true)
        }
        #expect(error?.errno == .noSuchFileOrDirectory, "\(error?.message ?? "")")
    }
}
