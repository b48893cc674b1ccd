import BlksnapConformance
import Testing

/// The sim backend of the conformance runner, in process: the transcript the lane
/// compares with the real module's must be deterministic and cover every area.
@Suite("Conformance transcript (sim backend)")
struct ConformanceTranscriptTests {
    private func run(seed: UInt64 = 20261202, steps: Int = 1000) throws -> Transcript {
        let parameters = ConformanceBackend.laneParameters
        let backend = try ConformanceBackend.simulator(parameters: parameters)
        return try ConformanceRunner(backend: backend, parameters: parameters, seed: seed, steps: steps).run()
    }

    @Test("two runs give the same transcript, with every area and at least 1000 lines")
    func deterministicAndComplete() throws {
        let first = try run()
        let second = try run()
        #expect(first.lines == second.lines)
        #expect(first.lines.count >= 1000)
        let counts = Dictionary(uniqueKeysWithValues: first.countsByArea.map { ($0.area, $0.lines) })
        for area in ConformanceRunner.areas {
            #expect((counts[area] ?? 0) >= 20, "area \(area) has \(counts[area] ?? 0) lines")
        }
        #expect(first.lines.contains { $0.area == "walk" && $0.text == "seed=20261202 steps=1000" })
    }

    @Test("observations the spec fixes appear in the transcript")
    func keyObservations() throws {
        let text = try run(steps: 0).text
        for expected in [
            "lifecycle version: ok 2.0.0.0",
            "lifecycle destroy unknown: ENODEV",
            "lifecycle take S1: EFAULT",
            "lifecycle collect capacity 1: ENODATA count=1 [S1]",
            "filter ctl cmd 6: ENOTTY",
            "events events S11: low_free_space requested=8192",
            // §12.1 item 10 as the real module answers (lane, 2026-12-03); the kit splits the wait.
            "hazards raw wait S20 ticks=0xffffffff: EPERM code=0",
            "hazards raw wait S20 ticks=0xfffffe00: EINTR code=0",
            "hazards kit wait S20 ticks=0xffffffff: ok low_free_space requested=8192",
            // §12.1 item 11: a tracker on an image.
            "hazards attach IMAGE(ORIG0): ok",
        ] {
            #expect(text.contains(expected + "\n"), "missing: \(expected)")
        }
        // Overflow: the ENOSPC corruption is reported and the image fails with EIO.
        #expect(text.contains("corrupted ORIG0 err=ENOSPC"))
        #expect(text.contains("snapshotinfo ORIG0: ok error=-ENOSPC"))
        #expect(text.contains(": EIO"))
    }

    @Test("VAL-6.x on the sim backend: devices fixed at create, CBT map only while taken, a failed take destroys, ENOSPC images")
    func val6Observations() throws {
        let parameters = ConformanceBackend.laneParameters
        let backend = try ConformanceBackend.simulator(parameters: parameters, abi: .val6)
        let first = try ConformanceRunner(backend: backend, parameters: parameters, steps: 200).run()
        let second = try ConformanceRunner(backend: try ConformanceBackend.simulator(parameters: parameters, abi: .val6),
                                           parameters: parameters, steps: 200).run()
        #expect(first.lines == second.lines)
        let text = first.text
        for expected in [
            "cbt create [ORIG0]: ok S1",
            "cbt cbtmap ORIG0: EPERM",
            "cbt events S1: low_free_space requested=8192",
            "multidevice node IMAGE(ORIG0): block device",
            "params take S10: EFAULT",
            "params take S10: ESRCH",
            "detach detach ORIG0: EBUSY",
        ] {
            #expect(text.contains(expected + "\n"), "missing: \(expected)")
        }
        #expect(text.contains("read image ORIG0 chunks 0-3: ENOSPC ENOSPC ENOSPC ENOSPC"))
        #expect(!text.contains("lifecycle "), "v5's raw-request areas do not run on VAL-6.x")
    }

    @Test("VAL-7.0's own lifecycle and filter areas on the sim backend: whole-number dispatch, paths before ids, the kept snapshotinfo bytes")
    func val7RawAreas() throws {
        let parameters = ConformanceBackend.laneParameters
        let backend = try ConformanceBackend.simulator(parameters: parameters, abi: .val7)
        let text = try ConformanceRunner(backend: backend, parameters: parameters, selected: ["lifecycle", "filter"]).run().text
        for expected in [
            "lifecycle version: ok 7.0.0.0",
            "lifecycle request 0x40085600: ENOTTY",  // §2.4: wrong direction bits
            "lifecycle mod: ok flags=0x2 name=standalone",
            "lifecycle create path unterminated: EINVAL",  // strndup_user(PATH_MAX)
            "lifecycle create range limit 0: ok S1",
            "lifecycle wait range limit 0: ENOENT",  // no creation event without a limit
            "lifecycle wait range creation event: ok code=1 payload=8192",
            "lifecycle append unknown id, path unknown: ENOENT",  // §2.4.8: the path before the id
            "lifecycle append unknown id: ESRCH",
            "lifecycle destroy unknown: ENODEV",
            "lifecycle setlog same path again: EALREADY",
            "filter attach ORIG0 again: EALREADY",
            "filter ctl cmd 5: ENOTTY",
            "filter ctl cbtmap too long: ENODATA",
            "filter snapshotinfo before take: error=0 image=caller",  // the caller's bytes are kept
            "filter detach ORIG0 (a member): ok",  // never refused
        ] {
            #expect(text.contains(expected + "\n"), "missing: \(expected)")
        }
    }

    @Test("another seed gives another walk")
    func seedMatters() throws {
        let a = try run(seed: 1, steps: 80).lines.filter { $0.area == "walk" }
        let b = try run(seed: 2, steps: 80).lines.filter { $0.area == "walk" }
        #expect(a != b)
    }
}
