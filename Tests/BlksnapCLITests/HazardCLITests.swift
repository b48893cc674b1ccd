import BlksnapKit
import Foundation
import Testing

/// The v5 hazards of spec §12.1 through the built blksnapctl on `sim serve`, whose
/// SimKernel reproduces them: the CLI must not walk into them.
@Suite("§12.1 hazards: blksnapctl on the simulator")
struct HazardCLITests {
    /// `sda` (8 MiB) with a taken snapshot on storage `store`; returns the id.
    func takenSnapshot(_ sim: E2ESimulator) throws -> String {
        try sim.ok(["sim", "device", "add", "sda", "--size", "8M"])
        try sim.ok(["sim", "device", "add", "store", "--size", "32M"])
        let id = try sim.ok(["snapshot", "create", "/dev/sda"])
        try sim.ok(["snapshot", "append-storage", id, "--device", "/dev/store", "--range", "0:65536"])
        try sim.ok(["snapshot", "take", id])
        return id
    }

    @Test("wait-event without --timeout-ms returns the queued creation event (one UInt32.max wait would fail EPERM)")
    func waitWithoutTimeout() throws {
        let sim = try E2ESimulator()
        try sim.ok(["sim", "device", "add", "sda", "--size", "8M"])
        let id = try sim.ok(["snapshot", "create", "/dev/sda"])
        let outcome = try sim.ctl(["snapshot", "wait-event", id])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("low_free_space"))
        #expect(!outcome.stderr.contains("EPERM"))
    }

    @Test("sim write of three 64 KiB chunks to an image at chunks 10, 40, 80 reads back intact (split at 4 KiB)")
    func simWriteToImageIsSplit() throws {
        let sim = try E2ESimulator()
        _ = try takenSnapshot(sim)
        let image = "/dev/blksnap-image_240:0"
        for (seed, chunk) in [(10, 10), (40, 40), (80, 80)] {
            let offset = String(chunk * 65_536)
            let written = try sim.json(["sim", "write", image, "--offset", offset, "--pattern", String(seed), "--length", "192K"])
            let checksum = try #require(written["checksum"] as? String)
            #expect(try sim.checksum(image, offset: offset, length: "192K") == checksum, "chunk \(chunk)")
        }
        let info = try sim.json(["snapshot", "info", "/dev/sda"])
        #expect(info["error_code"] as? Int == 0)
    }

    @Test("The simulator knows fix_multichunk_image_write (default 0)")
    func parameterListed() throws {
        let sim = try E2ESimulator(params: ["chunk_minimum_shift=16", "fix_multichunk_image_write=1"])
        try sim.ok(["sim", "device", "add", "sda", "--size", "8M"])
    }

    @Test("tracker attach on an image succeeds as on v5; snapshot add of it is refused with a reason, not exit 69")
    func trackerOnImage() throws {
        let sim = try E2ESimulator()
        _ = try takenSnapshot(sim)
        let image = "/dev/blksnap-image_240:0"
        let attach = try sim.ctl(["tracker", "attach", image])
        #expect(attach.status == 0, "\(attach.stderr)")
        #expect(!attach.stderr.contains("sim serve"))
        let info = try sim.json(["cbt", "info", image])
        #expect(info["block_count"] as? Int == 128)
        let second = try sim.ok(["snapshot", "create"])
        let add = try sim.ctl(["snapshot", "add", second, image])
        #expect(add.status != 0 && add.status != 69, "\(add.status) \(add.stderr)")
        #expect(add.stderr.contains("image"), "\(add.stderr)")
        try sim.ok(["tracker", "detach", image])
    }
}
