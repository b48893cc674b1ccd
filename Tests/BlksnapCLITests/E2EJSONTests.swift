import Foundation
import Testing

/// `--json` of every command, parsed with JSONSerialization: one document on one line,
/// exactly the field names the man page documents (JSON OUTPUT), with the right values.
@Suite(.enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct E2EJSONTests {
    static let simDeviceKeys: Set<String> = [
        "name", "path", "device", "capacity_bytes", "capacity_sectors", "logical_block_size_bytes",
        "physical_block_size_bytes", "is_image",
    ]
    static let cbtInfoKeys: Set<String> = ["device", "capacity_bytes", "block_size_bytes", "block_count", "generation_id", "changes_number"]

    @Test func everyCommandPrintsItsDocumentedDocument() throws {
        let sim = try E2ESimulator()
        var checked: Set<String> = ["sim serve"]
        E2E.expectKeys(sim.ready, ["socket", "root", "pid", "params", "abi"], "sim serve")

        let version = try sim.json(["version"])
        E2E.expectKeys(version, ["version", "major", "minor", "revision", "build", "abi", "module", "backend"], "version")
        #expect(version["version"] as? String == "2.0.0.0" && version["major"] as? Int == 2)
        #expect(version["backend"] as? String == "simulator \(sim.socket)")
        checked.insert("version")

        let added = try sim.json(["sim", "device", "add", "sda", "--size", "4M", "--logical-block-size", "4K"])
        E2E.expectKeys(added, Self.simDeviceKeys, "sim device add")
        #expect(added["path"] as? String == "/dev/sda" && added["capacity_bytes"] as? Int == 4 << 20)
        #expect(added["capacity_sectors"] as? Int == 8192 && added["logical_block_size_bytes"] as? Int == 4096)
        #expect(added["is_image"] as? Bool == false && added["device"] as? String == "240:0")
        checked.insert("sim device add")
        try sim.ok(["sim", "device", "add", "store", "--size", "8M"])

        let written = try sim.json(["sim", "write", "/dev/sda", "--offset", "4K", "--pattern", "9", "--length", "8K"])
        E2E.expectKeys(written, ["device", "offset_bytes", "length_bytes", "checksum"], "sim write")
        #expect(written["offset_bytes"] as? Int == 4096 && written["length_bytes"] as? Int == 8192)
        checked.insert("sim write")
        let output = sim.directory.appendingPathComponent("bytes").path
        let read = try sim.json(["sim", "read", "240:0", "--offset", "4K", "--length", "8K", "--output", output])
        E2E.expectKeys(read, ["device", "offset_bytes", "length_bytes", "checksum", "output"], "sim read")
        #expect(read["device"] as? String == "/dev/sda" && read["checksum"] as? String == written["checksum"] as? String)
        #expect(read["output"] as? String == output && (try? Data(contentsOf: URL(fileURLWithPath: output)).count) == 8192)
        checked.insert("sim read")

        let attached = try sim.json(["tracker", "attach", "/dev/sda"])
        E2E.expectKeys(attached, ["device", "tracked"], "tracker attach")
        #expect(attached["device"] as? String == "/dev/sda" && attached["tracked"] as? Bool == true)
        checked.insert("tracker attach")

        let list = try sim.json(["sim", "device", "list"])
        E2E.expectKeys(list, ["devices"], "sim device list")
        let devices = try #require(list["devices"] as? [[String: Any]])
        #expect(devices.count == 2)
        E2E.expectKeys(devices[0], Self.simDeviceKeys.union(["filter"]), "sim device list (tracked device)")
        #expect(devices[0]["filter"] as? String == "blksnap")
        E2E.expectKeys(devices[1], Self.simDeviceKeys, "sim device list (untracked device: no filter field)")
        checked.insert("sim device list")

        let cbt = try sim.json(["cbt", "info", "/dev/sda"])
        E2E.expectKeys(cbt, Self.cbtInfoKeys, "cbt info")
        #expect(cbt["capacity_bytes"] as? Int == 4 << 20 && cbt["changes_number"] as? Int == 0)
        #expect((cbt["generation_id"] as? String)?.count == 36)
        checked.insert("cbt info")

        let marked = try sim.json(["cbt", "mark-dirty", "/dev/sda", "--range", "0:8", "--range", "64:8"])
        E2E.expectKeys(marked, ["device", "ranges"], "cbt mark-dirty")
        #expect(marked["ranges"] as? [[String: Int]] == [["offset_sectors": 0, "count_sectors": 8], ["offset_sectors": 64, "count_sectors": 8]])
        checked.insert("cbt mark-dirty")

        let map = sim.directory.appendingPathComponent("map").path
        let cbtRead = try sim.json(["cbt", "read", "/dev/sda", "--output", map])
        E2E.expectKeys(cbtRead, ["info", "since", "changed_block_count", "changed_ranges", "output"], "cbt read")
        E2E.expectKeys(try #require(cbtRead["info"] as? [String: Any]), Self.cbtInfoKeys, "cbt read info")
        // Before the first take the changes number is 0: marks (number 0) are not "after 0".
        #expect(cbtRead["since"] as? Int == 0 && cbtRead["changed_block_count"] as? Int == 0 && cbtRead["output"] as? String == map)
        #expect((cbtRead["changed_ranges"] as? [Any])?.isEmpty == true)
        checked.insert("cbt read")

        let created = try sim.json(["snapshot", "create"])
        E2E.expectKeys(created, ["id", "devices"], "snapshot create")
        let id = try #require(created["id"] as? String)
        #expect(created["devices"] as? [[String: Any]] != nil)
        let withDevice = try sim.json(["snapshot", "create", "/dev/store"])
        let member = try #require((withDevice["devices"] as? [[String: Any]])?.first)
        E2E.expectKeys(member, ["device", "attached"], "snapshot create member")
        #expect(member["device"] as? String == "/dev/store" && member["attached"] as? Bool == true)
        checked.insert("snapshot create")

        let addedToSnapshot = try sim.json(["snapshot", "add", id, "/dev/sda"])
        E2E.expectKeys(addedToSnapshot, ["id", "device"], "snapshot add")
        #expect(addedToSnapshot["id"] as? String == id)
        checked.insert("snapshot add")

        let listed = try sim.json(["snapshot", "list"])
        E2E.expectKeys(listed, ["snapshots"], "snapshot list")
        #expect(listed["snapshots"] as? [String] == [id, withDevice["id"] as? String ?? ""], "creation order")
        checked.insert("snapshot list")

        // The store device is in the other snapshot; destroy it to use /dev/store as storage.
        let destroyed = try sim.json(["snapshot", "destroy", try #require(withDevice["id"] as? String)])
        E2E.expectKeys(destroyed, ["id"], "snapshot destroy")
        checked.insert("snapshot destroy")

        // A tracked device is refused as storage: detach it first.
        let detached = try sim.json(["tracker", "detach", "/dev/store"])
        E2E.expectKeys(detached, ["device", "tracked"], "tracker detach")
        #expect(detached["tracked"] as? Bool == false)
        checked.insert("tracker detach")

        let appended = try sim.json(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:8192", "--range", "8192:4096"])
        E2E.expectKeys(appended, ["id", "device", "ranges", "appended_sectors"], "snapshot append-storage")
        #expect(appended["appended_sectors"] as? Int == 12288 && (appended["ranges"] as? [Any])?.count == 2)
        checked.insert("snapshot append-storage")

        let event = try sim.json(["snapshot", "wait-event", id, "--timeout-ms", "0"])
        E2E.expectKeys(event, ["id", "code", "event", "time_label_ns", "requested_sectors", "meaning"], "snapshot wait-event")
        checked.insert("snapshot wait-event")

        let taken = try sim.json(["snapshot", "take", id])
        E2E.expectKeys(taken, ["id"], "snapshot take")
        #expect(taken["id"] as? String == id)
        checked.insert("snapshot take")

        let info = try sim.json(["snapshot", "info", "/dev/sda"])
        E2E.expectKeys(info, ["device", "image", "corrupted", "error_code"], "snapshot info (healthy)")
        #expect(info["image"] as? String == "/dev/blksnap-image_240:0" && info["error_code"] as? Int == 0)
        checked.insert("snapshot info")

        let image = try #require(try sim.json(["sim", "device", "list"])["devices"] as? [[String: Any]]).first { $0["is_image"] as? Bool == true }
        #expect(image?["path"] as? String == "/dev/blksnap-image_240:0", "the image is listed with is_image")

        // Global options may also come first, as the SYNOPSIS shows.
        let first = try CLITestSupport.run(["--sim", sim.socket, "--json", "snapshot", "list"])
        #expect(first.status == 0, "global options first: \(first.stderr)")
        let firstDocument = try E2E.object(first.stdout)
        #expect(firstDocument["snapshots"] as? [String] == [id])

        // demo --json is checked by EndToEndTests.demoPasses.
        #expect(checked.count == 19, "commands checked: \(checked.sorted())")
    }
}
