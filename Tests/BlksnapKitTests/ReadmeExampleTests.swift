import Foundation
import Testing

/// README.md's library example is the marked region of Tests/Fixtures/ReadmeExample/main.swift,
/// which the build compiles into `blksnap-readme-example` (built with the tests, next to
/// the test binary): the text must match, and the program must fail cleanly.
@Suite("README library example")
struct ReadmeExampleTests {
    /// The heading the example lives under in README.md.
    static let heading = "## Library example"

    static var binary: String { DocumentedCode.binDirectory.appendingPathComponent("blksnap-readme-example").path }

    /// The first ```swift block after the library-example heading of README.md.
    static func readmeBlock() throws -> [String]? {
        let readme = try DocumentedCode.lines(of: "README.md")
        guard let heading = readme.firstIndex(where: { $0.hasPrefix(Self.heading) }),
              let open = readme[heading...].firstIndex(of: "```swift"),
              let close = readme[(open + 1)...].firstIndex(of: "```")
        else { return nil }
        return Array(readme[(open + 1)..<close])
    }

    /// The lines strictly between `// README-BEGIN` and `// README-END` of the fixture.
    static func markedRegion() throws -> [String]? {
        let source = try DocumentedCode.lines(of: "Tests/Fixtures/ReadmeExample/main.swift")
        guard let begin = source.firstIndex(of: "// README-BEGIN"),
              let end = source[(begin + 1)...].firstIndex(of: "// README-END")
        else { return nil }
        return Array(source[(begin + 1)..<end])
    }

    /// Runs a program; returns how it ended and what it printed.
    static func run(_ arguments: [String]) throws -> (status: Int32, reason: Process.TerminationReason, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason,
                String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test("README.md's swift block under the library-example heading is the fixture's marked region")
    func readmeMatchesFixture() throws {
        let block = try #require(try Self.readmeBlock(), "README.md has no ```swift block under \(Self.heading)")
        let region = try #require(try Self.markedRegion(), "main.swift has no // README-BEGIN … // README-END region")
        #expect(!region.isEmpty)
        #expect(block == region, "README.md and Tests/Fixtures/ReadmeExample/main.swift differ; copy the marked region into README.md")
        #expect(region.contains("import BlksnapKit"))
    }

    @Test("the example is built next to the tests and exits 64 with a usage line on wrong arguments")
    func usage() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "built by swift build --build-tests")
        let ran = try Self.run([])
        #expect(ran.reason == .exit)
        #expect(ran.status == 64)
        #expect(ran.output.isEmpty)
        #expect(ran.error == "usage: blksnap-readme-example DEVICE STORAGE OUTPUT\n")
    }

    @Test("a device that does not exist, or storage that is not a block device: exit 1, one clear line, no output file",
          arguments: [
              (["/nonexistent/blksnap-readme/sdz", "/nonexistent/blksnap-readme/store"], "/nonexistent/blksnap-readme/store"),
              (["/nonexistent/blksnap-readme/sdz", "/dev/null"], "/dev/null is not a block device"),
          ])
    func failsCleanly(paths: [String], mention: String) throws {
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("blksnap-readme-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let ran = try Self.run(paths + [output])
        #expect(ran.reason == .exit, "killed by signal \(ran.status) instead of exiting")
        #expect(ran.status == 1)
        #expect(ran.output.isEmpty)
        #expect(ran.error.hasPrefix("blksnap-readme-example: "))
        #expect(ran.error.contains(mention), "stderr: \(ran.error)")
        #expect(ran.error.filter { $0 == "\n" }.count == 1, "one line: \(ran.error)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
