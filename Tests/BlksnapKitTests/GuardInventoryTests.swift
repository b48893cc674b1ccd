import BlksnapKit
import Testing

/// DeviceInventory: partition ↔ whole-disk relations (real kernel: from sysfs) and image
/// names, without a kernel.
@Suite("Guard: device inventory")
struct GuardInventoryTests {
    let disk = DeviceNumber(major: 8, minor: 0)
    let part1 = DeviceNumber(major: 8, minor: 1)
    let part2 = DeviceNumber(major: 8, minor: 2)
    let other = DeviceNumber(major: 8, minor: 16)

    var inventory: DeviceInventory {
        DeviceInventory(entries: [
            .init(path: "/dev/sda", number: disk, isTracked: false),
            .init(path: "/dev/sda1", number: part1, isTracked: true, wholeDisk: disk),
            .init(path: "/dev/sda2", number: part2, isTracked: false, wholeDisk: disk),
            .init(path: "/dev/sdb", number: other, isTracked: true),
            .init(path: "/dev/blksnap-image_8:1", number: DeviceNumber(major: 259, minor: 0), isTracked: false,
                  imageOriginal: DeviceInventory.imageOriginal(ofName: "blksnap-image_8:1")),
        ])
    }

    @Test("a partition relates to itself and its whole disk; a whole disk to its partitions; images never")
    func related() {
        #expect(inventory.related(to: part2).map(\.path) == ["/dev/sda", "/dev/sda2"])
        #expect(inventory.related(to: disk).map(\.path) == ["/dev/sda", "/dev/sda1", "/dev/sda2"])
        #expect(inventory.related(to: other).map(\.path) == ["/dev/sdb"])
        #expect(inventory.related(to: DeviceNumber(major: 9, minor: 9)).isEmpty)
    }

    @Test("image names give the original's number")
    func images() {
        #expect(inventory.images.map(\.imageOriginal) == [part1])
        #expect(DeviceInventory.imageOriginal(ofName: "blksnap-image_253:12") == DeviceNumber(major: 253, minor: 12))
        #expect(DeviceInventory.imageOriginal(ofName: "sda") == nil)
        #expect(DeviceInventory.imageOriginal(ofName: "blksnap-image_x") == nil)
    }

    @Test("an unknown kernel gives an incomplete, empty inventory")
    func unknownKernel() {
        let inventory = DeviceInventory.read(from: RecordingKernel())
        #expect(!inventory.isComplete && inventory.entries.isEmpty)
    }
}
