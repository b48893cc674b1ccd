import Foundation
import Testing

/// The UAPI header as a plain C program sees it: self-contained, warning-free under
/// `-std=c11 -Wall -Werror`, with the v5 layout and request numbers.
@Suite("CBlksnapUAPI.h compiled by the system C compiler")
struct HeaderCompileTests {
    /// `Sources/CBlksnapUAPI/include/CBlksnapUAPI.h`, found from this file's path.
    static var headerPath: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // CBlksnapUAPITests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("Sources/CBlksnapUAPI/include/CBlksnapUAPI.h").path
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

    static let program = """
        #include <stddef.h>
        #include "@HEADER@"

        _Static_assert(sizeof(struct blkfilter_name) == 32, "blkfilter_name");
        _Static_assert(sizeof(struct blkfilter_ctl) == 48, "blkfilter_ctl");
        _Static_assert(offsetof(struct blkfilter_ctl, cmd) == 32, "blkfilter_ctl.cmd");
        _Static_assert(offsetof(struct blkfilter_ctl, optlen) == 36, "blkfilter_ctl.optlen");
        _Static_assert(offsetof(struct blkfilter_ctl, opt) == 40, "blkfilter_ctl.opt");
        _Static_assert(sizeof(struct blksnap_uuid) == 16, "blksnap_uuid");
        _Static_assert(sizeof(struct blksnap_cbtinfo) == 40, "blksnap_cbtinfo");
        _Static_assert(offsetof(struct blksnap_cbtinfo, block_size) == 8, "cbtinfo.block_size");
        _Static_assert(offsetof(struct blksnap_cbtinfo, block_count) == 12, "cbtinfo.block_count");
        _Static_assert(offsetof(struct blksnap_cbtinfo, generation_id) == 16, "cbtinfo.generation_id");
        _Static_assert(offsetof(struct blksnap_cbtinfo, changes_number) == 32, "cbtinfo.changes_number");
        _Static_assert(sizeof(struct blksnap_cbtmap) == 16, "blksnap_cbtmap");
        _Static_assert(offsetof(struct blksnap_cbtmap, buffer) == 8, "cbtmap.buffer");
        _Static_assert(sizeof(struct blksnap_sectors) == 16, "blksnap_sectors");
        _Static_assert(sizeof(struct blksnap_cbtdirty) == 16, "blksnap_cbtdirty");
        _Static_assert(offsetof(struct blksnap_cbtdirty, dirty_sectors) == 8, "cbtdirty.dirty_sectors");
        _Static_assert(sizeof(struct blksnap_snapshotadd) == 16, "blksnap_snapshotadd");
        _Static_assert(sizeof(struct blksnap_snapshotinfo) == 36, "blksnap_snapshotinfo");
        _Static_assert(offsetof(struct blksnap_snapshotinfo, image) == 4, "snapshotinfo.image");
        _Static_assert(sizeof(struct blksnap_version) == 8, "blksnap_version");
        _Static_assert(sizeof(struct blksnap_snapshot_append_storage) == 40, "append_storage");
        _Static_assert(offsetof(struct blksnap_snapshot_append_storage, bdev_path) == 16, "append.bdev_path");
        _Static_assert(offsetof(struct blksnap_snapshot_append_storage, bdev_path_size) == 24, "append.bdev_path_size");
        _Static_assert(offsetof(struct blksnap_snapshot_append_storage, count) == 28, "append.count");
        _Static_assert(offsetof(struct blksnap_snapshot_append_storage, ranges) == 32, "append.ranges");
        _Static_assert(sizeof(struct blksnap_snapshot_collect) == 16, "collect");
        _Static_assert(offsetof(struct blksnap_snapshot_collect, ids) == 8, "collect.ids");
        _Static_assert(sizeof(struct blksnap_snapshot_event) == 4096, "event");
        _Static_assert(offsetof(struct blksnap_snapshot_event, timeout_ms) == 16, "event.timeout_ms");
        _Static_assert(offsetof(struct blksnap_snapshot_event, code) == 20, "event.code");
        _Static_assert(offsetof(struct blksnap_snapshot_event, time_label) == 24, "event.time_label");
        _Static_assert(offsetof(struct blksnap_snapshot_event, data) == 32, "event.data");
        _Static_assert(sizeof(struct blksnap_event_low_free_space) == 8, "low_free_space");
        _Static_assert(sizeof(struct blksnap_event_corrupted) == 12, "corrupted");
        _Static_assert(offsetof(struct blksnap_event_corrupted, err_code) == 8, "corrupted.err_code");
        _Static_assert(IOCTL_BLKSNAP_VERSION == 0x40085600UL, "VERSION");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_CREATE == 0x40105601UL, "CREATE");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_DESTROY == 0x80105602UL, "DESTROY");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE == 0x40285603UL, "APPEND_STORAGE");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_TAKE == 0x80105604UL, "TAKE");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_COLLECT == 0x40105605UL, "COLLECT");
        _Static_assert(IOCTL_BLKSNAP_SNAPSHOT_WAIT_EVENT == 0x50005606UL, "WAIT_EVENT");
        _Static_assert(BLKFILTER_ATTACH == 0xc020128cUL, "BLKFILTER_ATTACH");
        _Static_assert(BLKFILTER_DETACH == 0xc020128dUL, "BLKFILTER_DETACH");
        _Static_assert(BLKFILTER_CTL == 0xc030128eUL, "BLKFILTER_CTL");
        _Static_assert(blkfilter_ctl_blksnap_snapshotinfo == 4, "ctl enum");
        _Static_assert(blksnap_ioctl_snapshot_wait_event == 6, "ioctl enum");
        _Static_assert(blksnap_event_code_corrupted == 1, "event enum");

        int main(void)
        {
            return (BLKSNAP_REQ_VERSION == 0x40085600UL && BLKSNAP_REQ_BLKFILTER_CTL == 0xc030128eUL) ? 0 : 1;
        }
        """

    @Test("a C11 program including only the header compiles with -Wall -Werror and runs")
    func compilesStandalone() throws {
        let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
        guard let compiler = Self.compiler else {
            if isCI { Issue.record("no C compiler (cc, gcc, clang) found, and CI=true") }
            else { print("skipped: no C compiler (cc, gcc, clang) found") }
            return
        }
        #expect(FileManager.default.fileExists(atPath: Self.headerPath), "header at \(Self.headerPath)")

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cblksnap-uapi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("uapi.c")
        let binary = directory.appendingPathComponent("uapi")
        try Self.program.replacingOccurrences(of: "@HEADER@", with: Self.headerPath)
            .write(to: source, atomically: true, encoding: .utf8)

        let compile = try Self.run(compiler, ["-std=c11", "-Wall", "-Wextra", "-Werror", "-o", binary.path, source.path])
        #expect(compile.status == 0, "compiler output:\n\(compile.output)")
        guard compile.status == 0 else { return }
        let run = try Self.run(binary.path, [])
        #expect(run.status == 0, "the program's BLKSNAP_REQ_* values differ")
    }

    @Test("the compile check is able to fail: a wrong layout is rejected")
    func rejectsWrongLayout() throws {
        guard let compiler = Self.compiler else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("no C compiler found, and CI=true") }
            return
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cblksnap-uapi-bad-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("bad.c")
        try """
            #include "\(Self.headerPath)"
            _Static_assert(sizeof(struct blksnap_cbtinfo) == 33, "hand-written mirror size");
            int main(void) { return 0; }
            """.write(to: source, atomically: true, encoding: .utf8)
        let compile = try Self.run(compiler, ["-std=c11", "-Wall", "-Werror", "-fsyntax-only", source.path])
        #expect(compile.status != 0)
        #expect(compile.output.contains("hand-written mirror size"))
    }

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
