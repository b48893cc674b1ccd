// The code of the article "Take a snapshot and read its image"
// (Sources/BlksnapKit/BlksnapKit.docc/TakeASnapshotAndReadItsImage.md). Each region between
// `// DOC-BEGIN name` and `// DOC-END name` is one ```swift block of the article, in order;
// DocCArticleTests checks that they are identical, and main.swift runs this code on the simulator.

// DOC-BEGIN take-and-read
import BlksnapKit

/// Takes a snapshot of the block device `devicePath`, with difference storage on the
/// sectors `storage` of the block device `storagePath`; hands every block of the
/// point-in-time image to `consume` while the device stays in use; destroys the
/// snapshot. Returns the image's size in bytes.
func snapshotAndRead(
    _ devicePath: String, storagePath: String, storage: SectorRange,
    kernel: any KernelInterface = LinuxKernel(),
    consume: (_ offsetBytes: UInt64, _ bytes: UnsafeRawBufferPointer) throws -> Void
) throws -> UInt64 {
    let control = try Control(kernel: kernel)    // /dev/blksnap-control
    let device = try BlockDevice(path: devicePath, kernel: kernel)
    if try MemberStatus.probe(device) == .untracked {
        try device.attach()  // the tracker: copy-on-write and CBT from now on
    }                                   // (a device tracked already keeps its CBT)

    let id = try control.createSnapshot()
    defer { try? control.destroySnapshot(id) }   // the images vanish, the storage is unused
    try device.addToSnapshot(id)
    // APPEND_STORAGE checks nothing in v5: appendStorage refuses ranges it would fail on later.
    try control.appendStorage(id, devicePath: storagePath, ranges: [storage], knownMembers: [devicePath])
    try control.takeSnapshot(id)

    // The image node appears after take (through udev on the real kernel): wait for it.
    if let imagePath = try device.snapshotInfo().imagePath {
        try KernelStatImageWatcher(kernel: kernel).waitForNode(imagePath, timeout: .seconds(10))
    }
    let image = try SnapshotImageReader(imageOf: device)  // ENODEV if the device has no image
    defer { try? image.close() }
    try image.forEachBlock(of: image.wholeImage) { offset, bytes in try consume(offset, bytes) }
    return image.capacityBytes
}
// DOC-END take-and-read

// DOC-BEGIN watch-events
/// Prints the events of snapshot `id` until it is destroyed (the sequence then ends)
/// or the calling task is cancelled.
func printEvents(of id: SnapshotID, control: Control) async throws {
    for try await event in control.events(of: id) {
        switch event {
        case .lowFreeSpace(let sectors, _):
            print("the kernel asks for \(sectors) more sectors of difference storage")
        case .corrupted(let device, let errno, _):
            print("the image of \(device) is corrupted: \(errno)")
        case .unknown(let code, _, _):
            print("event code \(code)")
        }
    }
}
// DOC-END watch-events

// DOC-BEGIN wait-event
/// Waits up to `seconds` for the next event of `id` on a kernel running at `hz` ticks
/// per second; nil when none came.
func nextEvent(of id: SnapshotID, control: Control, seconds: UInt64, hz: UInt32 = 250) throws -> SnapshotEvent? {
    // v5 reads `timeout_ms` as jiffies and fails or crashes at 2^31 of them: the kit
    // converts, and sends a long wait as waits of at most Control.maximumTimeoutTicks.
    try control.waitEvent(id, timeoutMilliseconds: seconds * 1000, hz: hz)
}
// DOC-END wait-event

// DOC-BEGIN write-image
import Glibc

/// Writes `bytes` at `offsetBytes` of the snapshot image `imagePath` in pieces that
/// never cross a 4 KiB boundary of the image, which v5 writes correctly.
func writeToImage(_ bytes: [UInt8], imagePath: String, at offsetBytes: UInt64,
                  kernel: any KernelInterface = LinuxKernel()) throws {
    let fd = try kernel.open(imagePath, flags: O_WRONLY)
    defer { try? kernel.close(fd) }
    try bytes.withUnsafeBytes { all in
        try kernel.writeAll(fd, from: all, at: offsetBytes) { offset, remaining in
            ImageWriteGuard.pieceLength(offsetBytes: offset, remainingBytes: remaining)
        }
    }
}
// DOC-END write-image
