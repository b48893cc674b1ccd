import ArgumentParser
import BlksnapKit

/// How commands print what BlksnapKit's guards found (see the man page's SAFETY section).
enum SafetyReport {
    /// Prints each warning as one `blksnapctl: warning: …` line on stderr.
    static func warn(_ warnings: [String]) {
        for warning in warnings { Diagnostics.error("warning: " + warning) }
    }

    /// Prints every loss of protection found after take (one line each) and ends the
    /// command with exit 65; does nothing when `losses` is empty.
    static func exitIfLost(_ losses: [BlksnapError], _ backend: Backend) throws {
        guard !losses.isEmpty else { return }
        for loss in losses { Diagnostics.error(backend.failure(loss).message) }
        throw ExitStatus.corrupted.exitCode
    }

    /// The images of snapshot `id`, when they can be attributed to it: v5 does not say
    /// which snapshot an image belongs to, so only while `id` is the only snapshot listed.
    static func imagesOfOnlySnapshot(_ id: SnapshotID, control: Control) -> (DeviceInventory, [DeviceInventory.Entry])? {
        guard let snapshots = try? control.collectSnapshots(), snapshots == [id] else { return nil }
        let inventory = DeviceInventory.read(from: control.kernel)
        return (inventory, inventory.images)
    }
}
