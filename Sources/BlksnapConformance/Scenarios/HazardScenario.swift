import BlksnapKit
import CBlksnapUAPI

extension Harness {
    /// Area `hazards`: the v5 behaviours of spec §12.1 items 10 and 11 in their
    /// deterministic, non-crashing forms (item 9, multi-chunk image writes, is in area
    /// `imagewrite`). Timeouts whose truncated `int` is below −4095 oops v5 and are not
    /// sent here; the lane's end-to-end part checks that `blksnapctl snapshot wait-event`
    /// without a timeout returns an event that comes 30 s later.
    func hazardScenario() {
        transcript.area = "hazards"
        guard let snapshot = create() else { return }
        // §12.1 item 10: WAIT_EVENT with ≥ 2^31 ticks while the creation event is queued.
        // v5 returns the remaining ticks truncated to an int as the result, the event
        // stays queued.
        for ticks: UInt32 in [0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FE00] {
            var event = blksnap_snapshot_event()
            event.id = snapshot.id.uuid
            event.timeout_ms = ticks
            let result = raw(controlFD, BLKSNAP_REQ_SNAPSHOT_WAIT_EVENT, on: &event)
            emit("raw wait \(symbols.snapshot(snapshot.id)) ticks=0x\(String(ticks, radix: 16)): \(result) code=\(event.code)")
        }
        // BlksnapKit's waits of any length are sent as waits of at most 2^31 − 1 ticks.
        waitEvent(snapshot.id, ticks: 0xFFFF_FFFF, label: "kit wait \(symbols.snapshot(snapshot.id)) ticks=0xffffffff")
        destroy(snapshot.id)
        step("kit wait \(symbols.snapshot(snapshot.id)) without timeout after destroy") { () throws(BlksnapError) -> String? in
            describe(try control.waitEventWithoutTimeout(snapshot.id), of: nil)
        }
        // §12.1 item 11: v5 attaches a tracker to an image device (the filter is not
        // refused there), and its CBT starts like an original's.
        let device = orig0
        attach(device)
        guard let imaged = create() else { return }
        add(device, to: imaged.id)
        append(imaged.id, storage(chunks: 64))
        take(imaged.id)
        settle()
        do {
            let image = try BlockDevice(path: device.imagePath, kernel: kernel)
            step("attach IMAGE(\(device.role))") { () throws(BlksnapError) -> String? in try image.attachUnchecked(); return nil }
            step("cbtinfo IMAGE(\(device.role))") { () throws(BlksnapError) -> String? in
                let info = try image.cbtInfo()
                return "capacity=\(info.capacityBytes) block=\(info.blockSizeBytes) count=\(info.blockCount) "
                    + "generation=\(symbols.generation(info.generationID)) changes=\(info.changesNumber)"
            }
            // A write to the original (COW into the image's store), then one through the
            // image: what the image's own tracker counts.
            write(device, offset: 3 * chunkBytes, count: 4096, seed: 0x4841_0001)
            settle()
            step("cbtinfo IMAGE(\(device.role)) after an original write") { () throws(BlksnapError) -> String? in
                let info = try image.cbtInfo()
                return "changes=\(info.changesNumber)"
            }
            writeImage(device, in: imaged, offset: 5 * chunkBytes, count: 4096, seed: 0x4841_0002)
            settle()
            check(device, image: imaged, chunks: 3...5)
            step("detach IMAGE(\(device.role))") { () throws(BlksnapError) -> String? in try image.detach(); return nil }
        } catch {
            emit("open IMAGE(\(device.role)): \(Self.name(error.errno))")
        }
        destroy(imaged.id)
        detach(device)
    }
}
