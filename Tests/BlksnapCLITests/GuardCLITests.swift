import BlksnapKit
import BlksnapSimulator
import Foundation
import Testing

/// blksnapctl's safety guards end to end through `sim serve`: each refusal prints one
/// line naming the operation, the object, the hazard and the remedy, exits 1 and changes
/// nothing; each loss of protection found after take exits 65. (The silent kernel
/// behaviour behind each guard is shown with raw ioctls in BlksnapKitTests/Guard*Tests.)
@Suite(.serialized, .enabled(if: CLITestSupport.binaryAvailable, "blksnapctl is not built (swift build)"))
struct GuardCLITests {
    /// A server with `/dev/sda`, `/dev/sdb` (8 MiB), `/dev/store` (32 MiB) and
    /// `/dev/store4k` (logical blocks of 4 KiB).
    final class Fixture {
        let server: SimServeTests.Server
        let client: SimClient

        init() throws {
            server = try SimServeTests.Server()
            _ = try server.readyLine()
            client = try SimClient(socketPath: server.socket)
            for (name, size) in [("sda", "8M"), ("sdb", "8M"), ("store", "32M")] {
                #expect(try ctl(["sim", "device", "add", name, "--size", size]).status == 0)
            }
            #expect(try ctl(["sim", "device", "add", "store4k", "--size", "32M", "--logical-block-size", "4096"]).status == 0)
        }

        func ctl(_ arguments: [String]) throws -> CLITestSupport.Outcome {
            try CLITestSupport.run(arguments + ["--sim", server.socket])
        }

        /// Creates a snapshot of `devices` with 16 MiB of `/dev/store`, takes it, returns its id.
        func takenSnapshot(_ devices: [String] = ["/dev/sda"]) throws -> String {
            let created = try ctl(["snapshot", "create"] + devices)
            #expect(created.status == 0, "\(created.stderr)")
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"]).status == 0)
            let take = try ctl(["snapshot", "take", id])
            #expect(take.status == 0, "\(take.stderr)")
            return id
        }

        /// Devices (with filters and images), snapshots, and the CBT of every tracked device.
        func state() throws -> String {
            var parts = [try ctl(["sim", "device", "list", "--json"]).stdout, try ctl(["snapshot", "list", "--json"]).stdout]
            for device in try client.listDevices() where device.filter != nil {
                parts.append(try ctl(["cbt", "info", device.path, "--json"]).stdout)
            }
            return parts.joined()
        }
    }

    @Test("tracker detach: refused (exit 1, nothing changed) while in a taken snapshot; --force says what is lost; wait-event then exits 65")
    func detach() throws {
        let f = try Fixture()
        let id = try f.takenSnapshot()
        let before = try f.state()
        let refused = try f.ctl(["tracker", "detach", "/dev/sda"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "blksnapctl: BLKFILTER_DETACH on /dev/sda: device /dev/sda is in a taken snapshot (image /dev/blksnap-image_240:0): v5 would detach silently and later writes would show through in the image with no event; destroy the snapshot first, or force the detach (EBUSY)\n")
        #expect(try f.state() == before, "nothing changed")

        let forced = try f.ctl(["tracker", "detach", "/dev/sda", "--force"])
        #expect(forced.status == 0)
        #expect(forced.stderr.contains("warning: forced detach of /dev/sda: image /dev/blksnap-image_240:0 no longer receives copy-on-write"))
        let wait = try f.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0"])
        #expect(wait.status == 65, "\(wait.stderr)")
        #expect(wait.stdout.contains("low_free_space"), "the event is still printed")
        #expect(wait.stderr.contains("device /dev/sda was detached while in a taken snapshot"))
        #expect(try f.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0"]).status == 65, "a timeout with a lost member is 65, not 75")
        // snapshot info finds the orphaned image whether the device is untracked or tracked anew.
        let untracked = try f.ctl(["snapshot", "info", "/dev/sda"])
        #expect(untracked.status == 65, "\(untracked.stderr)")
        #expect(untracked.stderr.contains("device /dev/sda was detached while in a taken snapshot"), "\(untracked.stderr)")
        #expect(try f.ctl(["tracker", "attach", "/dev/sda"]).status == 0)
        let reattached = try f.ctl(["snapshot", "info", "/dev/sda"])
        #expect(reattached.status == 65, "\(reattached.stderr)")
        #expect(reattached.stderr.contains("device /dev/sda was detached and re-attached while in a taken snapshot"), "\(reattached.stderr)")
        #expect(try f.ctl(["snapshot", "destroy", id]).status == 0)
        // Once the image is gone, an untracked device is plainly not tracked again.
        #expect(try f.ctl(["tracker", "detach", "/dev/sda"]).status == 0)
        #expect(try f.ctl(["snapshot", "info", "/dev/sda"]).status == 1)
        #expect(f.server.terminate() == 0)
    }

    @Test("snapshot take exits 65 when a member was detached before take (it gets an image that is never protected)")
    func takeWithDetachedMember() throws {
        let f = try Fixture()
        let created = try f.ctl(["snapshot", "create", "/dev/sda", "/dev/sdb"])
        let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try f.ctl(["tracker", "detach", "/dev/sdb"]).status == 0, "a not-taken membership cannot be seen (documented)")
        #expect(try f.ctl(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:32768"]).status == 0)
        let take = try f.ctl(["snapshot", "take", id])
        #expect(take.status == 65)
        #expect(take.stdout.contains("snapshot \(id) taken"))
        #expect(take.stderr.contains("device /dev/sdb was detached while in a taken snapshot"))
        #expect(!take.stderr.contains("/dev/sda "), "the protected member is not reported")
        #expect(f.server.terminate() == 0)
    }

    @Test("snapshot info and wait-event exit 65 when a member grew or shrank after take")
    func resize() throws {
        let f = try Fixture()
        let id = try f.takenSnapshot()
        #expect(try f.ctl(["snapshot", "info", "/dev/sda"]).status == 0)
        try f.client.resizeDevice(name: "sda", capacitySectors: 16_384 + 8)
        let info = try f.ctl(["snapshot", "info", "/dev/sda"])
        #expect(info.status == 65)
        #expect(info.stderr == "blksnapctl: snapshot corruption on /dev/sda: device /dev/sda grew from 8388608 to 8392704 bytes after take: the snapshot no longer protects it (a write past the old end disables copy-on-write without an event); destroy the snapshot and take a new one (ESTALE)\n")
        try f.client.resizeDevice(name: "sda", capacitySectors: 16_000)
        let wait = try f.ctl(["snapshot", "wait-event", id, "--timeout-ms", "0"])
        #expect(wait.status == 65 && wait.stderr.contains("device /dev/sda shrank from 8388608 to 8192000 bytes"))
        #expect(f.server.terminate() == 0)
    }

    @Test("snapshot add after take: refused, exit 1, nothing changed")
    func addAfterTake() throws {
        let f = try Fixture()
        let id = try f.takenSnapshot()
        #expect(try f.ctl(["tracker", "attach", "/dev/sdb"]).status == 0)
        let before = try f.state()
        let refused = try f.ctl(["snapshot", "add", id, "/dev/sdb"])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("blksnapctl: BLKFILTER_CTL snapshotadd on /dev/sdb, snapshot \(id): snapshot \(id) is already taken: v5 would accept /dev/sdb but give it no image"))
        #expect(refused.stderr.hasSuffix("(EALREADY)\n"))
        #expect(try f.state() == before)
        let other = try f.ctl(["snapshot", "create", "/dev/sdb"])
        #expect(other.status == 0, "sdb was not made busy: \(other.stderr)")
        #expect(f.server.terminate() == 0)
    }

    @Test("tracker attach of a zero-sector device: refused before the ioctl, exit 1")
    func zeroSector() throws {
        let f = try Fixture()
        _ = try f.client.addDevice(name: "empty", capacitySectors: 0)
        let before = try f.state()
        let refused = try f.ctl(["tracker", "attach", "/dev/empty"])
        #expect(refused.status == 1)
        #expect(refused.stderr == "blksnapctl: BLKFILTER_ATTACH on /dev/empty: device /dev/empty has 0 sectors: v5 would fail with ENOMEM after a kernel WARNING (a panic under panic_on_warn); give the device a size first (EINVAL)\n")
        #expect(try f.ctl(["snapshot", "create", "/dev/empty"]).status == 1)
        #expect(try f.state() == before)
        #expect(f.server.terminate() == 0)
    }

    @Test("append-storage: tracked device, past the end, misaligned, overlapping, larger blocks; --allow-same-device")
    func storage() throws {
        let f = try Fixture()
        let id = try f.ctl(["snapshot", "create", "/dev/sda"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try f.state()
        func append(_ device: String, _ ranges: [String], _ extra: [String] = []) throws -> CLITestSupport.Outcome {
            try f.ctl(["snapshot", "append-storage", id, "--device", device, "--range"] + ranges + extra)
        }
        let same = try append("/dev/sda", ["8192:8192"])
        #expect(same.status == 1)
        #expect(same.stderr.contains("IOCTL_BLKSNAP_SNAPSHOT_APPEND_STORAGE on /dev/sda, snapshot \(id): storage /dev/sda: it is tracked by blksnap"))
        #expect(same.stderr.hasSuffix("use another device, or allow the same device explicitly (EBUSY)\n"))
        let past = try append("/dev/store", ["65536:8"])
        #expect(past.status == 1 && past.stderr.contains("ends past the device's last sector (65536 sectors)") && past.stderr.contains("(ERANGE)"))
        let misaligned = try append("/dev/store4k", ["4:8"])
        #expect(misaligned.status == 1 && misaligned.stderr.contains("is not aligned to its 4096-byte logical blocks"))
        let overlap = try append("/dev/store", ["0:128", "64:128"])
        #expect(overlap.status == 1 && overlap.stderr.contains("ranges 0:128 and 64:128 of /dev/store overlap"))
        #expect(try f.state() == before, "nothing appended")

        let larger = try append("/dev/store4k", ["0:32768"])
        #expect(larger.status == 0)
        #expect(larger.stderr.contains("warning: storage /dev/store4k has 4096-byte logical blocks, larger than the 512-byte blocks of /dev/sda"))
        let allowed = try append("/dev/sda", ["8192:8192"], ["--allow-same-device"])
        #expect(allowed.status == 0)
        #expect(allowed.stderr.contains("warning: storage /dev/sda: it is tracked by blksnap") && allowed.stderr.contains("(allowed)"))
        #expect(f.server.terminate() == 0)
    }

    @Test("session: storage on a tracked device refused (exit 1, nothing left); --allow-same-device runs it with a warning")
    func sessionStorage() throws {
        let f = try Fixture()
        #expect(try f.ctl(["tracker", "attach", "/dev/sdb"]).status == 0)
        let before = try f.state()
        // --sim must come before "--" (everything after it is the command): use the environment.
        func session(_ arguments: [String]) throws -> CLITestSupport.Outcome {
            try CLITestSupport.run(["session"] + arguments, environment: ["BLKSNAPCTL_SIM": f.server.socket])
        }
        let refused = try session(["/dev/sda", "--storage", "/dev/sdb:0:16384", "--", "/bin/true"])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("storage /dev/sdb: it is tracked by blksnap"))
        #expect(refused.stderr.contains("(EBUSY)"))
        #expect(try f.state() == before, "rolled back")
        let allowed = try session(["/dev/sda", "--storage", "/dev/sdb:0:16384", "--allow-same-device", "--json", "--", "/bin/true"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("(allowed)"))
        #expect(f.server.terminate() == 0)
    }
}
