// blksnap-doc-snippets: the code of BlksnapKit's DocC articles, compiled by every build.
//
// Each article of Sources/BlksnapKit/BlksnapKit.docc has a file here whose
// `// DOC-BEGIN name` … `// DOC-END name` regions are, in order, exactly the article's
// ```swift blocks (Tests/BlksnapKitTests/DocCArticleTests.swift compares them), so an
// article cannot show code that does not build.
//
//   blksnap-doc-snippets
//
// Runs the articles' code on the in-process simulator (SimKernelBackend): the simulator
// article's check, then the snapshot, event, incremental-backup and image-write code of
// the others, and docs/simulator.md's SimMachine test.
// Prints one `ok NAME: …` line per check and exits 0; on a failure prints
// `FAIL NAME: error` on standard error and exits 1.
import BlksnapKit
import BlksnapSimulator
import Foundation

/// Runs one named check; exits 1 on its failure.
func check(_ name: String, _ body: () async throws -> String) async {
    do {
        print("ok \(name): \(try await body())")
    } catch {
        FileHandle.standardError.write(Data("FAIL \(name): \(error)\n".utf8))
        exit(1)
    }
}

await check("simulator", simulatorArticle)
await check("take-and-read", takeAndRead)
await check("events", events)
await check("incremental", incremental)
await check("image-write", imageWrite)
await check("sim-machine", simMachineSection)

// The checks are functions, not closures of the top-level code: those would be isolated
// to the main actor, and the articles' functions are nonisolated.

/// "Test your tool on the simulator": the article's own check.
func simulatorArticle() async throws -> String {
    "point-in-time copy of \(try await checkPointInTimeCopy()) bytes"
}

/// docs/simulator.md, "Testing your tool with SimMachine": the section's test.
func simMachineSection() async throws -> String {
    guard try imageKeepsTheDataAtTake() else { throw CheckFailure("the image lost the data at take") }
    return "the image kept the data at take"
}

/// "Take a snapshot and read its image": the whole lifecycle by hand; the image is the disk.
func takeAndRead() async throws -> String {
    let (kernel, disk, storage) = try makeSimulator()
    let content = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 / 4096) }
    try write(content, to: disk, at: 0, kernel: kernel)
    var image: [UInt8] = []
    let size = try snapshotAndRead(disk, storagePath: storage, storage: SectorRange(offsetSectors: 0, countSectors: 65_536),
                                   kernel: kernel) { _, bytes in image += bytes }
    guard size == content.count, image == content else { throw CheckFailure("the image is not the disk") }
    guard try Control(kernel: kernel).collectSnapshots().isEmpty else { throw CheckFailure("snapshot left behind") }
    return "image of \(size) bytes"
}

/// The events: the creation event is there at once, and the sequence ends at destroy.
func events() async throws -> String {
    let (kernel, disk, _) = try makeSimulator()
    let control = try Control(kernel: kernel)
    let device = try BlockDevice(path: disk, kernel: kernel)
    try device.attach()
    let id = try control.createSnapshot()
    guard case .lowFreeSpace? = try nextEvent(of: id, control: control, seconds: 1) else {
        throw CheckFailure("no low_free_space event at creation")
    }
    let printing = Task { try await printEvents(of: id, control: control) }
    try control.destroySnapshot(id)
    try await printing.value  // returns: the snapshot is gone
    return "the event sequence ended at destroy"
}

/// "Incremental backups with CBT": a full backup, a write, then an incremental one that
/// copies only the changed CBT blocks (each inside the session of "Keep storage ahead").
func incremental() async throws -> String {
    let (kernel, disk, storage) = try makeSimulator()
    try write([UInt8](repeating: 1, count: 8 << 20), to: disk, at: 0, kernel: kernel)
    var backup = [UInt8](repeating: 0, count: 8 << 20)
    var copied = 0
    func backUp(since last: BackupPoint?) async throws -> BackupPoint {
        copied = 0
        return try await backUpChanges(of: disk, storagePath: storage, since: last, kernel: kernel) { offset, bytes in
            backup.replaceSubrange(Int(offset)..<Int(offset) + bytes.count, with: bytes)
            copied += bytes.count
        }
    }
    let full = try await backUp(since: nil)
    let fullBytes = copied
    try write([UInt8](repeating: 2, count: 4096), to: disk, at: 3 << 20, kernel: kernel)
    let next = try await backUp(since: full)
    guard fullBytes == 8 << 20, copied > 0, copied < fullBytes, next.generation == full.generation,
          next.changesNumber > full.changesNumber,
          backup == (try read(8 << 20, from: disk, at: 0, kernel: kernel)) else {
        throw CheckFailure("full \(fullBytes) bytes, incremental \(copied) bytes: \(full) → \(next)")
    }
    return "full \(fullBytes) bytes, then \(copied) bytes (changes number \(full.changesNumber) → \(next.changesNumber))"
}

/// Image writes: one write across chunks not copied yet is corrupted (v5, reproduced by
/// the simulator by default); the same bytes through writeToImage(_:imagePath:at:kernel:)
/// are not.
func imageWrite() async throws -> String {
    let (kernel, disk, storage) = try makeSimulator()
    let pattern = (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    return try await withSnapshot(of: [disk], storagePath: storage, kernel: kernel) { images in
        let image = images[0].imagePath
        try writeToImage(pattern, imagePath: image, at: 0, kernel: kernel)
        guard try read(pattern.count, from: image, at: 0, kernel: kernel) == pattern else {
            throw CheckFailure("the guarded write did not reach the image intact")
        }
        try write(pattern, to: image, at: 1 << 20, kernel: kernel)  // one request over 4 chunks
        let unguarded = try read(pattern.count, from: image, at: 1 << 20, kernel: kernel)
        return "guarded write intact; one unguarded multi-chunk write \(unguarded == pattern ? "intact" : "corrupted")"
    }
}
