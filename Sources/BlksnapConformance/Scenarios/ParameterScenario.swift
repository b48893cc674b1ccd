extension Harness {
    /// Changes a module parameter at run time and prints whether that worked.
    func setParameter(_ name: String, _ value: UInt32) {
        let ok = backend.setParameter(name, value)
        if ok, name == "chunk_maximum_in_queue" { maxInQueue = Int(value) }
        emit("set \(name)=\(value): " + (ok ? "ok" : "failed"))
    }

    /// Area `params`: parameters changed at run time (§1.1): `chunk_maximum_shift` makes
    /// take fail with EFAULT and the snapshot can be taken once it is raised again (§2.3);
    /// `chunk_maximum_in_queue` and `diff_storage_minimum` are read live (§4.5, §5.3).
    func parameterScenario() {
        transcript.area = "params"
        defer {
            // Back to the values of the run (the v5 defaults where none was given).
            for (name, standard) in [("chunk_maximum_shift", 26), ("chunk_maximum_in_queue", 16),
                                     ("diff_storage_minimum", 2_097_152)] as [(String, UInt32)] {
                setParameter(name, parameters[name] ?? standard)
            }
        }
        attach(orig0)
        guard let snapshot = create(members: [orig0]) else { return }
        append(snapshot.id, storage(chunks: 80))
        setParameter("chunk_maximum_shift", 15)
        take(snapshot.id)
        setParameter("chunk_maximum_shift", 26)
        take(snapshot.id)
        settle()
        // Store batches of 5 instead of 17; the low-space request becomes 2048 sectors.
        setParameter("chunk_maximum_in_queue", 4)
        for n in 0..<40 {
            write(orig0, offset: n * chunkBytes, count: 4096, seed: 7 << 32 | UInt64(n))
            settle()
            if n == 20 { setParameter("diff_storage_minimum", 2048) }
        }
        append(snapshot.id, storage(chunks: 40, at: 80))
        for n in 40..<80 {
            write(orig0, offset: n * chunkBytes, count: 4096, seed: 7 << 32 | UInt64(n))
            settle()
        }
        info(orig0)
        check(orig0, image: snapshot, chunks: 0...3)
        destroy(snapshot.id)
        detach(orig0)
    }
}
