import Foundation
import Testing

/// The code of BlksnapKit's DocC articles is compiled: every ```swift block of an article in
/// Sources/BlksnapKit/BlksnapKit.docc is, in order, one `// DOC-BEGIN name` … `// DOC-END name`
/// region of the article's file in Tests/Fixtures/DocSnippets, which the build compiles into
/// `blksnap-doc-snippets` (built with the tests, next to the test binary). That program runs
/// the articles' code on the in-process simulator. The guides of docs/ with Swift code are
/// checked the same way.
@Suite("DocC articles")
struct DocCArticleTests {
    /// An article and the snippet file that holds its code.
    struct Article: Sendable, CustomTestStringConvertible {
        /// The article's file name in the catalog, without `.md`.
        var name: String
        /// The snippet file, relative to the package root.
        var snippets: String
        /// The Markdown file, relative to the package root, when it is not in the catalog.
        var guide: String? = nil
        /// The Markdown file, relative to the package root.
        var path: String { guide ?? "\(DocCArticleTests.catalog)/\(name).md" }
        var testDescription: String { name }
    }

    static let articles = [
        Article(name: "TakeASnapshotAndReadItsImage", snippets: "Tests/Fixtures/DocSnippets/TakeASnapshot.swift"),
        Article(name: "IncrementalBackupsWithCBT", snippets: "Tests/Fixtures/DocSnippets/IncrementalBackups.swift"),
        Article(name: "KeepStorageAheadWithASession", snippets: "Tests/Fixtures/DocSnippets/KeepStorageAhead.swift"),
        Article(name: "TestYourToolOnTheSimulator", snippets: "Tests/Fixtures/DocSnippets/TestOnTheSimulator.swift"),
    ]

    /// Guides outside the catalog whose Swift code is compiled.
    static let guides = [
        Article(name: "simulator", snippets: "Tests/Fixtures/DocSnippets/TestWithSimMachine.swift", guide: "docs/simulator.md"),
    ]

    static let catalog = "Sources/BlksnapKit/BlksnapKit.docc"

    static var binary: String { DocumentedCode.binDirectory.appendingPathComponent("blksnap-doc-snippets").path }

    /// The ```swift blocks of a Markdown file, in order (fence lines excluded); nil when a
    /// block is not closed.
    static func swiftBlocks(of relativePath: String) throws -> [[String]]? {
        let text = try DocumentedCode.lines(of: relativePath)
        var blocks: [[String]] = []
        var index = 0
        while index < text.count {
            let fence = text[index].trimmingCharacters(in: .whitespaces)
            if fence == "```swift" {
                guard let close = text[(index + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "```" })
                else { return nil }
                blocks.append(Array(text[(index + 1)..<close]))
                index = close
            }
            index += 1
        }
        return blocks
    }

    /// The regions of a snippet file, in order: name and the lines strictly between its
    /// markers; nil when a region is not closed or regions nest.
    static func regions(of relativePath: String) throws -> [(name: String, lines: [String])]? {
        let source = try DocumentedCode.lines(of: relativePath)
        var regions: [(name: String, lines: [String])] = []
        var index = 0
        while index < source.count {
            if source[index].hasPrefix("// DOC-BEGIN ") {
                let name = String(source[index].dropFirst("// DOC-BEGIN ".count))
                guard let end = source[(index + 1)...].firstIndex(of: "// DOC-END \(name)") else { return nil }
                let body = Array(source[(index + 1)..<end])
                if body.contains(where: { $0.hasPrefix("// DOC-") }) { return nil }
                regions.append((name, body))
                index = end
            }
            index += 1
        }
        return regions
    }

    @Test("every ```swift block of the article is, in order, a marked region of its compiled snippet file",
          arguments: articles + guides)
    func articleMatchesSnippets(article: Article) throws {
        let path = article.path
        let blocks = try #require(try Self.swiftBlocks(of: path), "\(path) has a ```swift block that is not closed")
        let regions = try #require(try Self.regions(of: article.snippets),
                                   "\(article.snippets) has a DOC-BEGIN without its DOC-END, or nested regions")
        #expect(!blocks.isEmpty, "\(path) shows no code")
        #expect(Set(regions.map(\.name)).count == regions.count, "region names repeat in \(article.snippets)")
        #expect(blocks.count == regions.count,
                "\(path) has \(blocks.count) swift blocks, \(article.snippets) \(regions.count) regions (\(regions.map(\.name)))")
        for (index, (block, region)) in zip(blocks, regions).enumerated() {
            #expect(!region.lines.isEmpty, "region \(region.name) is empty")
            #expect(block == region.lines,
                    "swift block \(index + 1) of \(path) differs from region \(region.name) of \(article.snippets); copy the region into the article")
        }
    }

    @Test("every article of the catalog is checked, and the landing page lists each one")
    func catalogIsCovered() throws {
        let directory = DocumentedCode.packageRoot.appendingPathComponent(Self.catalog)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".md") }
        let checked = Set(Self.articles.map { "\($0.name).md" })
        for file in files where file != "BlksnapKit.md" {
            #expect(checked.contains(file), "\(file) is not in DocCArticleTests.articles: its code would not be checked")
        }
        let landing = try DocumentedCode.lines(of: "\(Self.catalog)/BlksnapKit.md")
        #expect(landing.first == "# ``BlksnapKit``")
        #expect(try Self.swiftBlocks(of: "\(Self.catalog)/BlksnapKit.md") == [], "the landing page's code is not checked: move it to an article")
        for article in Self.articles {
            #expect(landing.contains("- <doc:\(article.name)>"), "BlksnapKit.md's Topics do not list \(article.name)")
        }
    }

    @Test("the articles' code runs on the in-process simulator: the simulator article's check passes")
    func snippetsRunOnSimulator() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "built by swift build --build-tests")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0, "stderr: \(err)")
        let lines = out.split(separator: "\n").map(String.init)
        // The simulator article's check: an 8 MiB image equal to the disk at take.
        #expect(lines.contains("ok simulator: point-in-time copy of 8388608 bytes"), "output: \(out)")
        #expect(lines.contains("ok take-and-read: image of 8388608 bytes"), "output: \(out)")
        #expect(lines.contains("ok events: the event sequence ended at destroy"), "output: \(out)")
        // One 4 KiB write after a full backup: the incremental copies one 64 KiB CBT block.
        #expect(lines.contains("ok incremental: full 8388608 bytes, then 65536 bytes (changes number 1 → 2)"), "output: \(out)")
        // The simulator reproduces v5's multi-chunk image-write corruption; the guarded write avoids it.
        #expect(lines.contains("ok image-write: guarded write intact; one unguarded multi-chunk write corrupted"), "output: \(out)")
        // docs/simulator.md's SimMachine test: the image keeps the data at take.
        #expect(lines.contains("ok sim-machine: the image kept the data at take"), "output: \(out)")
        #expect(!err.contains("FAIL"), "stderr: \(err)")
    }
}
