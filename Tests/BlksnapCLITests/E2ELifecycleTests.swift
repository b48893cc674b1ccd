import Foundation
import Testing

/// The whole snapshot story through the built binary and `sim serve`, as a backup script
/// would run it: several devices, data verified by checksum, CBT between snapshots,
/// mark-dirty, events and their exit codes.
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct E2ELifecycleTests {
    /// Three devices in one snapshot; after take every original is overwritten and every
    /// image must still return the bytes of take time (checksums), while the originals
    /// return the new bytes. Destroy removes the images and leaves the trackers.
    @Test func threeDevicesImagesKeepTheOldDataAfterOverwrite() throws {
        let sim = try E2ESimulator()
        let sizes = ["sda": "2M", "sdb": "1M", "sdc": "512K"]
        var numbers: [String: String] = [:]
        var before: [String: String] = [:]
        for (index, name) in ["sda", "sdb", "sdc"].enumerated() {
            let added = try sim.json(["sim", "device", "add", name, "--size", sizes[name]!])
            numbers[name] = try #require(added["device"] as? String)
            let written = try sim.json(["sim", "write", "/dev/\(name)", "--offset", "0", "--pattern", "\(100 + index)",
                                        "--length", sizes[name]!])
            before[name] = try #require(written["checksum"] as? String)
            #expect(try sim.checksum("/dev/\(name)", length: sizes[name]!) == before[name], "write/read round trip")
        }
        try sim.ok(["sim", "device", "add", "store", "--size", "16M"])

        // `create` with devices attaches the trackers and adds them, printing only the id.
        let id = try sim.ok(["snapshot", "create", "/dev/sda", "/dev/sdb", numbers["sdc"]!])
        #expect(id.count == 36 && !id.contains("\n"), "create prints just the id: \(id)")
        try sim.ok(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"])
        try sim.ok(["snapshot", "take", id])

        var overwritten: [String: String] = [:]
        for (index, name) in ["sda", "sdb", "sdc"].enumerated() {
            let info = try sim.json(["snapshot", "info", "/dev/\(name)"])
            #expect(info["image"] as? String == "/dev/blksnap-image_\(numbers[name]!)")
            #expect(info["corrupted"] as? Bool == false)
            let written = try sim.json(["sim", "write", "/dev/\(name)", "--offset", "0", "--pattern", "\(200 + index)",
                                        "--length", sizes[name]!])
            overwritten[name] = try #require(written["checksum"] as? String)
            #expect(overwritten[name] != before[name])
        }
        for name in ["sda", "sdb", "sdc"] {
            #expect(try sim.checksum("/dev/\(name)", length: sizes[name]!) == overwritten[name], "\(name) holds the new data")
            #expect(try sim.checksum("/dev/blksnap-image_\(numbers[name]!)", length: sizes[name]!) == before[name],
                    "the image of \(name) still holds the data of take time")
        }
        // The image can be saved to a file as a backup would (raw bytes on stdout).
        let raw = try sim.ctl(["sim", "read", "/dev/blksnap-image_\(numbers["sdc"]!)", "--offset", "0", "--length", "512K", "--output", "-"])
        #expect(raw.status == 0 && raw.stdout.utf8.count > 0, "raw image bytes on stdout")

        try sim.ok(["snapshot", "destroy", id])
        #expect(try sim.json(["snapshot", "list"])["snapshots"] as? [String] == [])
        let devices = try #require(try sim.json(["sim", "device", "list"])["devices"] as? [[String: Any]])
        #expect(!devices.contains { $0["is_image"] as? Bool == true }, "destroy removed every image")
        #expect(devices.filter { $0["filter"] as? String == "blksnap" }.count == 3, "trackers stay attached")
        #expect(sim.stop() == 0)
    }

    /// An incremental backup between two snapshots: `cbt read --since N` lists exactly the
    /// blocks written after take N, and `cbt mark-dirty` adds ranges to the next list.
    @Test func cbtBetweenSnapshotsAndMarkDirty() throws {
        let sim = try E2ESimulator()
        try sim.ok(["sim", "device", "add", "disk", "--size", "8M"])
        try sim.ok(["sim", "device", "add", "store", "--size", "16M"])
        try sim.ok(["tracker", "attach", "/dev/disk"])
        let generation = try #require(try sim.json(["cbt", "info", "/dev/disk"])["generation_id"] as? String)

        // First (full) backup: take 1.
        let first = try sim.ok(["snapshot", "create", "/dev/disk"])
        try sim.ok(["snapshot", "append-storage", first, "--device", "/dev/store", "--range", "0:16384"])
        try sim.ok(["snapshot", "take", first])
        try sim.ok(["snapshot", "destroy", first])
        #expect(try sim.json(["cbt", "info", "/dev/disk"])["changes_number"] as? Int == 1)

        // Between the snapshots: write 128 KiB at 1 MiB (2 blocks of 64 KiB, sectors
        // 2048..2303) and mark sectors 8192..8199 dirty by hand.
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "1M", "--pattern", "3", "--length", "128K"])
        let marked = try sim.json(["cbt", "mark-dirty", "/dev/disk", "--range", "8192:8"])
        #expect(marked["ranges"] as? [[String: Int]] == [["offset_sectors": 8192, "count_sectors": 8]])

        // The map read is the copy made at the last take: the write shows only after
        // take 2, while mark-dirty also marks that copy (with the current number, 1), so
        // it shows at once.
        let early = try sim.json(["cbt", "read", "/dev/disk", "--since", "0"])
        #expect(early["changed_ranges"] as? [[String: Int]] == [["offset_sectors": 8192, "count_sectors": 128]],
                "mark-dirty is visible in cbt read before the next take")
        #expect(try sim.json(["cbt", "read", "/dev/disk", "--since", "1"])["changed_block_count"] as? Int == 0)

        let second = try sim.ok(["snapshot", "create", "/dev/disk"])
        try sim.ok(["snapshot", "append-storage", second, "--device", "/dev/store", "--range", "0:16384"])
        try sim.ok(["snapshot", "take", second])
        let incremental = try sim.json(["cbt", "read", "/dev/disk", "--since", "1"])
        #expect(incremental["changed_ranges"] as? [[String: Int]] == [
            ["offset_sectors": 2048, "count_sectors": 256], ["offset_sectors": 8192, "count_sectors": 128],
        ])
        #expect(incremental["changed_block_count"] as? Int == 3)
        let info = try #require(incremental["info"] as? [String: Any])
        #expect(info["changes_number"] as? Int == 2 && info["generation_id"] as? String == generation,
                "same generation: an incremental backup is valid")
        #expect((try sim.json(["cbt", "read", "/dev/disk", "--since", "2"])["changed_block_count"] as? Int) == 0)

        // The text form names the same ranges, one per line; --output saves one byte per block.
        let map = sim.directory.appendingPathComponent("map.bin").path
        let text = try sim.ok(["cbt", "read", "/dev/disk", "--since", "1", "--output", map])
        #expect(text.contains("changed sectors 2048:256") && text.contains("changed sectors 8192:128"))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: map)))
        #expect(bytes.count == 128 && bytes[16] == 2 && bytes[17] == 2 && bytes[64] == 2 && bytes[0] == 0)
        try sim.ok(["snapshot", "destroy", second])
    }

    /// wait-event prints JSON Lines; with nothing queued it exits 75 after the timeout.
    @Test func waitEventJSONLinesAndTimeout() throws {
        let sim = try E2ESimulator()
        try sim.ok(["sim", "device", "add", "disk", "--size", "4M"])
        let id = try sim.ok(["snapshot", "create", "/dev/disk"])
        // v5 queues one low_free_space event at creation.
        let event = try sim.ctl(["snapshot", "wait-event", id, "--timeout-ms", "1000", "--json"])
        #expect(event.status == 0)
        let records = try E2E.lines(event.stdout)
        #expect(records.count == 1)
        E2E.expectKeys(records[0], ["id", "code", "event", "time_label_ns", "requested_sectors", "meaning"], "wait-event")
        #expect(records[0]["id"] as? String == id && records[0]["event"] as? String == "low_free_space")
        #expect(records[0]["code"] as? Int == 0 && records[0]["requested_sectors"] as? Int == 8192)

        let started = Date()
        let timedOut = try sim.ctl(["snapshot", "wait-event", id, "--timeout-ms", "300"])
        #expect(timedOut.status == 75)
        #expect(Date().timeIntervalSince(started) >= 0.25, "the wait lasted about the timeout")
        #expect(timedOut.stdout.isEmpty)
        #expect(timedOut.stderr.contains("no event within 300 ms") && timedOut.stderr.contains(id))
        let polled = try sim.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0", "--json"])
        #expect(polled.status == 75 && polled.stdout.isEmpty, "a poll with nothing queued also exits 75")
        try sim.ok(["snapshot", "destroy", id])
    }

    /// Overflowing the difference storage corrupts the snapshot: `snapshot info` exits 65
    /// with ENOSPC, wait-event prints the corrupted event last and exits 65, the image
    /// reads fail with EIO, and destroy still works.
    @Test func overflowIsCorruptedEventAndExit65() throws {
        let sim = try E2ESimulator(params: ["chunk_minimum_shift=16", "diff_storage_minimum=128"])
        try sim.ok(["sim", "device", "add", "disk", "--size", "4M"])
        try sim.ok(["sim", "device", "add", "tiny", "--size", "1M"])
        let id = try sim.ok(["snapshot", "create", "/dev/disk"])
        try sim.ok(["snapshot", "append-storage", id, "--device", "/dev/tiny", "--range", "0:128"])
        try sim.ok(["snapshot", "take", id])
        try sim.ok(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "5", "--length", "2M"])

        var info = try sim.ctl(["snapshot", "info", "/dev/disk", "--json"])
        let deadline = Date().addingTimeInterval(10)
        while info.status == 0 && Date() < deadline {  // chunks are stored asynchronously
            usleep(50_000)
            info = try sim.ctl(["snapshot", "info", "/dev/disk", "--json"])
        }
        #expect(info.status == 65)
        let document = try E2E.object(info.stdout)
        #expect(document["corrupted"] as? Bool == true && document["error_name"] as? String == "ENOSPC")
        #expect(document["error_code"] as? Int == -28)
        let text = try sim.ctl(["snapshot", "info", "/dev/disk"])
        #expect(text.status == 65 && text.stdout.contains("difference storage overflowed"))

        let events = try sim.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0", "--drain", "--json"])
        #expect(events.status == 65)
        let records = try E2E.lines(events.stdout)
        #expect(records.count >= 2, "JSON Lines: the creation event and the corruption")
        let corrupted = try #require(records.last)
        E2E.expectKeys(corrupted, ["id", "code", "event", "time_label_ns", "device", "errno", "errno_name", "meaning"], "corrupted event")
        #expect(corrupted["event"] as? String == "corrupted" && corrupted["errno_name"] as? String == "ENOSPC")
        #expect(corrupted["device"] as? String == "240:0")

        let read = try sim.ctl(["sim", "read", "/dev/blksnap-image_240:0", "--offset", "0", "--length", "4K"])
        #expect(read.status == 1 && read.stderr.contains("EIO") && read.stderr.contains("corrupted"))
        try sim.ok(["snapshot", "destroy", id])
    }

    /// The `sim serve` process: a private socket, one JSON ready line, and a clean stop on
    /// SIGTERM that removes the socket; afterwards commands exit 69 naming the socket.
    @Test func serverStopsCleanlyAndClientsThenExit69() throws {
        let sim = try E2ESimulator()
        E2E.expectKeys(sim.ready, ["socket", "root", "pid", "params", "abi"], "sim serve")
        #expect(sim.ready["socket"] as? String == sim.socket)
        #expect(sim.ready["pid"] as? Int32 == sim.process.processIdentifier)
        #expect((sim.ready["params"] as? [String: Any])?["diff_storage_minimum"] as? Int == 8192)
        #expect(sim.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: sim.socket), "socket removed")
        let after = try sim.ctl(["snapshot", "list"])
        #expect(after.status == 69)
        #expect(after.stderr.contains(sim.socket) && after.stderr.contains("sim serve"))
    }
}
