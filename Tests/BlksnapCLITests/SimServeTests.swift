import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `blksnapctl sim serve` in a subprocess, driven by other `blksnapctl --sim` processes.
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct SimServeTests {
    /// A running `sim serve` process.
    final class Server {
        let process = Process()
        let socket: String
        let root: URL
        let stdout = Pipe()

        /// Runs blksnapctl against this server.
        func ctl(_ arguments: [String]) throws -> CLITestSupport.Outcome {
            try CLITestSupport.run(arguments + ["--sim", socket])
        }

        /// The one JSON object an outcome printed.
        func json(_ outcome: CLITestSupport.Outcome) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        }

        init(diffStorageMinimumSectors: Int = 8192, abi: String? = nil) throws {
            root = try CLITestSupport.temporaryDirectory()
            socket = root.appendingPathComponent("sim.sock").path
            guard let binary = CLITestSupport.binary else {
                throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: CLITestSupport.binDirectory.path + "/blksnapctl"])
            }
            process.executableURL = binary
            process.arguments = ["sim", "serve", "--root", root.appendingPathComponent("state").path, "--socket", socket,
                                 "--param", "chunk_minimum_shift=16", "--param", "diff_storage_minimum=\(diffStorageMinimumSectors)", "--json"]
                + (abi.map { ["--abi", $0] } ?? [])
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// The JSON line the server prints once it accepts connections.
        func readyLine() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: E2E.firstLine(of: stdout)) as? [String: Any])
        }

        /// SIGTERM, then the exit status.
        func terminate() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(at: root)
        }
    }

    /// Starts `sim serve --abi ABI`; checks that its ready line and `blksnapctl version` name
    /// that module; adds `/dev/sda` (8 MiB) and `/dev/store` (16 MiB) and writes pattern 5 to
    /// sda's first 256 KiB. Returns the server and that write's checksum.
    static func serveWithDisks(abi: String, moduleVersion: String) throws -> (Server, Any?) {
        let server = try Server(abi: abi)
        let ready = try server.readyLine()
        #expect(ready["abi"] as? String == abi)
        let version = try server.ctl(["version", "--json"])
        #expect(try server.json(version)["version"] as? String == moduleVersion && server.json(version)["abi"] as? String == abi)
        #expect(try server.ctl(["sim", "device", "add", "sda", "--size", "8M"]).status == 0)
        #expect(try server.ctl(["sim", "device", "add", "store", "--size", "16M"]).status == 0)
        let old = try server.json(try server.ctl(["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "5", "--length", "256K", "--json"]))["checksum"]
        return (server, old)
    }

    @Test("sim serve --abi val7: blksnapctl detects VAL-7.0 and runs a snapshot through /dev/bdevfilter and /dev/veeamblksnap")
    func val7ThroughTheSocket() throws {
        let (server, old) = try Self.serveWithDisks(abi: "val7", moduleVersion: "7.0.0.0")
        #expect(try server.ctl(["tracker", "attach", "/dev/sda"]).status == 0)
        #expect(try server.ctl(["tracker", "attach", "/dev/sda"]).status == 1, "EALREADY")
        let created = try server.ctl(["snapshot", "create", "/dev/sda", "--limit", "64M"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The creation event, code 1 on VAL-7.0, reported with the kernel's real increase.
        let event = try server.json(try server.ctl(["snapshot", "wait-event", id, "--timeout-ms", "100", "--json"]))
        #expect(event["event"] as? String == "low_free_space")
        #expect(event["requested_sectors"] as? Int == 16384)
        #expect(try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"]).status == 0)
        // The storage's device cannot join: refused before the module would take it as a member
        // (the append above was another blksnapctl process: the record is shared beside the socket).
        #expect(try server.ctl(["tracker", "attach", "/dev/store"]).status == 0)
        let storageMember = try server.ctl(["snapshot", "add", id, "/dev/store"])
        #expect(storageMember.status == 1 && storageMember.stderr.contains("holds the difference storage"))
        #expect(try server.ctl(["snapshot", "take", id]).status == 0)
        let info = try server.json(try server.ctl(["snapshot", "info", "/dev/sda", "--json"]))
        let image = try #require(info["image"] as? String)
        #expect(image.hasPrefix("/dev/veeamblksnapimg_"))
        #expect(try server.ctl(["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "6", "--length", "256K"]).status == 0)
        let read = try server.json(try server.ctl(["sim", "read", image, "--offset", "0", "--length", "256K", "--json"]))
        #expect(read["checksum"] as? String == old as? String, "the image keeps the data at take")
        #expect(try server.ctl(["cbt", "mark-dirty", "/dev/sda", "--range", "0:8", "--range", "8192:8"]).status == 0)
        #expect(try server.ctl(["snapshot", "destroy", id]).status == 0)
        #expect(try server.ctl(["snapshot", "list"]).stdout.isEmpty)
        #expect(FileManager.default.fileExists(atPath: server.socket + ".state/val7"), "the clients' shared records")
        #expect(server.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: server.socket + ".state"), "removed with the socket")
    }

    @Test("sim serve --abi val6: blksnapctl detects VAL-6.x and runs a snapshot through /dev/veeamblksnap, devices by number")
    func val6ThroughTheSocket() throws {
        let (server, old) = try Self.serveWithDisks(abi: "val6", moduleVersion: "1.0.0.0")
        // Attach is a create and destroy of the device alone: tracking survives the destroy.
        let attached = try server.ctl(["tracker", "attach", "/dev/sda"])
        #expect(attached.status == 0, "\(attached.stderr)")
        #expect(try server.ctl(["tracker", "attach", "/dev/sda"]).status == 1, "EALREADY: tracked already")
        let created = try server.ctl(["snapshot", "create", "/dev/sda"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The creation event, code 0 on VAL-6.x, diff_storage_minimum.
        let event = try server.json(try server.ctl(["snapshot", "wait-event", id, "--timeout-ms", "100", "--json"]))
        #expect(event["event"] as? String == "low_free_space")
        #expect(event["requested_sectors"] as? Int == 8192)
        // A second snapshot would orphan this one: refused before the module sees it.
        let second = try server.ctl(["snapshot", "create", "/dev/store"])
        #expect(second.status != 0 && second.stderr.contains("orphans"), "\(second.stderr)")
        #expect(try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"]).status == 0)
        let taken = try server.ctl(["snapshot", "take", id])
        #expect(taken.status == 0, "\(taken.stderr)")
        let info = try server.json(try server.ctl(["snapshot", "info", "/dev/sda", "--json"]))
        let image = try #require(info["image"] as? String)
        #expect(image == "/dev/veeamblksnapimg0")
        #expect(try server.ctl(["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "6", "--length", "256K"]).status == 0)
        let read = try server.json(try server.ctl(["sim", "read", image, "--offset", "0", "--length", "256K", "--json"]))
        #expect(read["checksum"] as? String == old as? String, "the image keeps the data at take")
        #expect(try server.ctl(["cbt", "mark-dirty", "/dev/sda", "--range", "0:8", "--range", "8192:8"]).status == 0)
        #expect(try server.ctl(["snapshot", "destroy", id]).status == 0)
        #expect(try server.ctl(["snapshot", "list"]).stdout.isEmpty)
        #expect(try server.ctl(["tracker", "detach", "/dev/sda"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: server.socket + ".state/val6"), "the clients' shared records")
        #expect(server.terminate() == 0)
    }

    @Test func lifecycleThroughTheSocket() throws {
        let server = try Server()
        let ready = try server.readyLine()
        #expect(ready["socket"] as? String == server.socket)
        #expect((ready["params"] as? [String: Any])?["chunk_minimum_shift"] as? Int == 16)
        var status = Glibc.stat()
        #expect(lstat(server.socket, &status) == 0 && status.st_mode & 0o777 == 0o600, "socket is private")


        let version = try server.ctl(["version", "--json"])
        #expect(version.status == 0)
        #expect(try server.json(version)["version"] as? String == "2.0.0.0")

        let disk = try server.ctl(["sim", "device", "add", "sda", "--size", "8M", "--json"])
        #expect(disk.status == 0, "\(disk.stderr)")
        let diskNumber = try #require(try server.json(disk)["device"] as? String)
        #expect(try server.ctl(["sim", "device", "add", "store", "--size", "16M"]).status == 0)
        #expect(try server.ctl(["sim", "device", "add", "sda", "--size", "8M"]).status == 1, "duplicate name refused")
        let list = try server.ctl(["sim", "device", "list", "--json"])
        #expect((try server.json(list)["devices"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["sda", "store"])

        let before = try server.ctl(["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "11", "--length", "256K", "--json"])
        #expect(before.status == 0)
        let oldChecksum = try #require(try server.json(before)["checksum"] as? String)

        #expect(try server.ctl(["cbt", "info", "/dev/sda"]).status == 1, "not tracked yet: ENOENT refused")
        #expect(try server.ctl(["tracker", "attach", "/dev/sda"]).status == 0)
        #expect(try server.ctl(["tracker", "attach", "/dev/sda"]).status == 1, "EALREADY")

        let created = try server.ctl(["snapshot", "create"])
        #expect(created.status == 0)
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 36)
        #expect(try server.ctl(["snapshot", "list"]).stdout.contains(id))
        #expect(try server.ctl(["snapshot", "add", id, diskNumber]).status == 0, "MAJ:MIN resolved in the simulator")
        #expect(try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"]).status == 0)
        let firstEvent = try server.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0", "--json"])
        #expect(firstEvent.status == 0)
        #expect(try server.json(firstEvent)["event"] as? String == "low_free_space")
        #expect(try server.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0"]).status == 75)
        #expect(try server.ctl(["snapshot", "take", id]).status == 0)
        #expect(try server.ctl(["snapshot", "take", id]).status == 1, "EALREADY")

        let info = try server.ctl(["snapshot", "info", "/dev/sda", "--json"])
        #expect(info.status == 0)
        let image = try #require(try server.json(info)["image"] as? String)
        #expect(image == "/dev/blksnap-image_\(diskNumber)")

        let overwrite = try server.ctl(["sim", "write", "/dev/sda", "--offset", "0", "--pattern", "12", "--length", "256K", "--json"])
        #expect(overwrite.status == 0)
        let original = try server.ctl(["sim", "read", "/dev/sda", "--offset", "0", "--length", "256K", "--json"])
        #expect(try server.json(original)["checksum"] as? String == server.json(overwrite)["checksum"] as? String)
        let snapshot = try server.ctl(["sim", "read", image, "--offset", "0", "--length", "256K", "--json"])
        #expect(snapshot.status == 0)
        #expect(try server.json(snapshot)["checksum"] as? String == oldChecksum, "the image keeps the data of take time")

        let cbt = try server.ctl(["cbt", "info", "/dev/sda", "--json"])
        #expect(try server.json(cbt)["changes_number"] as? Int == 1)

        #expect(try server.ctl(["snapshot", "destroy", id]).status == 0)
        let again = try server.ctl(["snapshot", "destroy", id])
        #expect(again.status == 1 && again.stderr.contains("ENODEV"))
        #expect(try server.ctl(["sim", "read", image, "--offset", "0", "--length", "4K"]).status == 64, "image gone: unknown device")
        #expect(try server.ctl(["tracker", "detach", "/dev/sda"]).status == 0)

        #expect(server.terminate() == 0)
        #expect(access(server.socket, F_OK) != 0, "socket removed on SIGTERM")
    }

    @Test func overflowIsCorruptionExit65() throws {
        let server = try Server(diffStorageMinimumSectors: 128)
        _ = try server.readyLine()
        #expect(try server.ctl(["sim", "device", "add", "disk", "--size", "8M"]).status == 0)
        #expect(try server.ctl(["sim", "device", "add", "tiny", "--size", "1M"]).status == 0)
        let id = try server.ctl(["snapshot", "create", "/dev/disk"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // One 64 KiB chunk of storage, then 4 MiB of overwrites: the storage overflows.
        #expect(try server.ctl(["snapshot", "append-storage", id, "--device", "/dev/tiny", "--range", "0:128"]).status == 0)
        #expect(try server.ctl(["snapshot", "take", id]).status == 0)
        #expect(try server.ctl(["sim", "write", "/dev/disk", "--offset", "0", "--pattern", "5", "--length", "4M"]).status == 0)
        var info = try server.ctl(["snapshot", "info", "/dev/disk", "--json"])
        let deadline = Date().addingTimeInterval(10)
        while info.status == 0 && Date() < deadline {  // the store worker may finish after the write
            usleep(50_000)
            info = try server.ctl(["snapshot", "info", "/dev/disk", "--json"])
        }
        #expect(info.status == 65)
        #expect(info.stdout.contains(#""error_name":"ENOSPC""#) && info.stdout.contains(#""corrupted":true"#))
        let events = try server.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0", "--drain", "--json"])
        #expect(events.status == 65)
        let lines = events.stdout.split(separator: "\n")
        #expect(lines.count >= 2, "JSON Lines: one document per event")
        #expect(lines.last?.contains(#""event":"corrupted""#) == true)
        let read = try server.ctl(["sim", "read", "/dev/blksnap-image_240:0", "--offset", "0", "--length", "4K"])
        #expect(read.status == 1 && read.stderr.contains("EIO"))
        #expect(try server.ctl(["snapshot", "destroy", id]).status == 0)
        #expect(server.terminate() == 0)
    }

    @Test func failedCreateIsRolledBack() throws {
        let server = try Server()
        _ = try server.readyLine()
        #expect(try server.ctl(["sim", "device", "add", "one", "--size", "4M"]).status == 0)
        let failed = try server.ctl(["snapshot", "create", "/dev/one", "/dev/missing"])
        #expect(failed.status == 64, "an unknown device is a usage error")
        #expect(failed.stderr.contains("/dev/missing") && failed.stderr.contains("ENOENT") && failed.stderr.contains("destroyed again"))
        #expect(failed.stdout.isEmpty)
        let list = try server.ctl(["snapshot", "list", "--json"])
        #expect(list.stdout.contains(#""snapshots":[]"#), "no snapshot left behind")
        #expect(try server.ctl(["snapshot", "create", "/dev/one"]).status == 0, "the device is free again")
        #expect(server.terminate() == 0)
    }
}
