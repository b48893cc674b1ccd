import Foundation
import Testing

/// The two Veeam headers as plain C programs see them: each self-contained and warning-free
/// under `-std=c11 -Wall -Wextra -pedantic -Werror`, with the request numbers of the .txt.
@Suite("Veeam UAPI headers compiled by the system C compiler")
struct HeaderCompileTests {
    /// The package root, found from this file's path.
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // VeeamUAPITests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
    }

    /// The VAL-6.3.1 header under test.
    static var v1Header: String {
        packageRoot.appendingPathComponent("Sources/CVeeamBlkSnapV1UAPI/include/CVeeamBlkSnapV1UAPI.h").path
    }

    /// The VAL-7.0 header under test.
    static var v7Header: String {
        packageRoot.appendingPathComponent("Sources/CVeeamBlksnapUAPI/include/CVeeamBlksnapUAPI.h").path
    }

    /// The v5 header, for the one-translation-unit clash check.
    static var v5Header: String {
        packageRoot.appendingPathComponent("Sources/CBlksnapUAPI/include/CBlksnapUAPI.h").path
    }

    /// The first `cc`, `gcc` or `clang` on the usual paths.
    static var compiler: String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            for name in ["cc", "gcc", "clang"] {
                let path = directory + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    static let v1Program = """
        #include <stddef.h>
        #include "@HEADER@"

        _Static_assert(sizeof(struct blk_snap_cbt_info) == 48, "cbt_info");
        _Static_assert(offsetof(struct blk_snap_cbt_info, device_capacity) == 16, "cbt_info.device_capacity");
        _Static_assert(offsetof(struct blk_snap_cbt_info, snap_number) == 44, "cbt_info.snap_number");
        _Static_assert(sizeof(struct blk_snap_snapshot_event) == 4096, "event");
        _Static_assert(offsetof(struct blk_snap_snapshot_append_storage, ranges) == 32, "append.ranges");
        _Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_CREATE == 0x40205605UL, "CREATE");
        _Static_assert(IOCTL_BLK_SNAP_SNAPSHOT_WAIT_EVENT == 0x5000560bUL, "WAIT_EVENT");
        _Static_assert(IOCTL_BLK_SNAP_GET_SECTOR_STATE == 0x40185622UL, "GET_SECTOR_STATE");
        _Static_assert(blk_snap_event_code_corrupted == 1, "event enum");

        int main(void)
        {
            return (BLK_SNAP_REQ_VERSION == 0x40085600UL && BLK_SNAP_REQ_SETLOG == 0x40185621UL) ? 0 : 1;
        }
        """

    static let v7Program = """
        #include <stddef.h>
        #include "@HEADER@"

        _Static_assert(sizeof(struct bdevfilter_ctl) == 56, "bdevfilter_ctl");
        _Static_assert(offsetof(struct bdevfilter_ctl, cmd) == 40, "bdevfilter_ctl.cmd");
        _Static_assert(sizeof(struct blksnap_snapshot_create) == 32, "snapshot_create");
        _Static_assert(offsetof(struct blksnap_snapshot_append_storage, count) == 24, "append.count");
        _Static_assert(sizeof(struct blksnap_snapshot_event) == 4096, "event");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT == 0x90005605UL, "WAIT_EVENT");
        _Static_assert(BDEVFILTER_CTL == 0xc038468eUL, "BDEVFILTER_CTL");
        _Static_assert(blksnap_event_code_corrupted == 0 && blksnap_event_code_low_free_space == 1, "event enum");

        int main(void)
        {
            return (VEEAMBLKSNAP_REQ_VERSION == 0x80085600UL && BDEVFILTER_REQ_ATTACH == 0xc028468cUL) ? 0 : 1;
        }
        """

    @Test("a C11 program including only the header compiles with -Wall -Wextra -pedantic -Werror and runs",
          arguments: ["v1", "v7"])
    func compilesStandalone(which: String) throws {
        guard let compiler = Self.compilerOrRecord() else { return }
        let header = which == "v1" ? Self.v1Header : Self.v7Header
        let program = which == "v1" ? Self.v1Program : Self.v7Program
        #expect(FileManager.default.fileExists(atPath: header), "header at \(header)")

        let directory = try Self.scratchDirectory("veeam-uapi-\(which)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("uapi.c")
        let binary = directory.appendingPathComponent("uapi")
        try program.replacingOccurrences(of: "@HEADER@", with: header).write(to: source, atomically: true, encoding: .utf8)

        let compile = try Self.run(compiler, ["-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o", binary.path, source.path])
        #expect(compile.status == 0, "compiler output:\n\(compile.output)")
        guard compile.status == 0 else { return }
        let run = try Self.run(binary.path, [])
        #expect(run.status == 0, "the program's request constants differ")
    }

    @Test("the compile check is able to fail: a wrong layout is rejected")
    func rejectsWrongLayout() throws {
        guard let compiler = Self.compilerOrRecord() else { return }
        let directory = try Self.scratchDirectory("veeam-uapi-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("bad.c")
        try """
            #include "\(Self.v1Header)"
            _Static_assert(sizeof(struct blk_snap_cbt_info) == 44, "the i386 size, not ours");
            int main(void) { return 0; }
            """.write(to: source, atomically: true, encoding: .utf8)
        let compile = try Self.run(compiler, ["-std=c11", "-Wall", "-Werror", "-fsyntax-only", source.path])
        #expect(compile.status != 0)
        #expect(compile.output.contains("the i386 size, not ours"))
    }

    @Test("the VAL-7.0 and v5 headers reuse kernel names with other definitions: one translation unit cannot hold both")
    func v7AndV5Clash() throws {
        guard let compiler = Self.compilerOrRecord() else { return }
        let directory = try Self.scratchDirectory("veeam-uapi-clash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("clash.c")
        try """
            #include "\(Self.v5Header)"
            #include "\(Self.v7Header)"
            int main(void) { return 0; }
            """.write(to: source, atomically: true, encoding: .utf8)
        let compile = try Self.run(compiler, ["-std=c11", "-fsyntax-only", source.path])
        #expect(compile.status != 0)
        #expect(compile.output.contains("blksnap_uuid"), "compiler output:\n\(compile.output)")
    }

    /// The compiler, or nil after recording an issue on CI (elsewhere the test is skipped).
    static func compilerOrRecord() -> String? {
        if let compiler { return compiler }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("no C compiler (cc, gcc, clang) found, and CI=true")
        } else {
            print("skipped: no C compiler (cc, gcc, clang) found")
        }
        return nil
    }

    /// A fresh directory under the temporary directory.
    static func scratchDirectory(_ prefix: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs a program, returning its exit status and its merged stdout/stderr.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
