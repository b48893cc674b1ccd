// backup-to-file: copy a point-in-time image of a block device into a regular file.
//
//   backup-to-file DEVICE OUTPUT --storage STORAGE_DEVICE [--sim SOCKET]
//
// Snapshots DEVICE with a Session (difference storage on STORAGE_DEVICE, extended as the
// kernel asks), copies the snapshot image to OUTPUT while DEVICE stays writable, then
// cancels the session: the snapshot is destroyed and the storage released, in order.
// With --sim it talks to `blksnapctl sim serve` instead of the kernel.
#if canImport(Glibc)
import Glibc
#endif
import BlksnapKit
import BlksnapSimulator

@main
struct BackupToFile {
    static func main() async {
        do {
            let bytes = try await run(arguments: Array(CommandLine.arguments.dropFirst()))
            print("copied \(bytes) bytes")
        } catch {
            warn("backup-to-file: \(error)")
            exit(1)
        }
    }

    /// One line on standard error.
    static func warn(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static func run(arguments: [String]) async throws -> UInt64 {
        var positionals: [String] = []
        var storagePath: String?
        var simSocket: String?
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--storage": storagePath = rest.popFirst()
            case "--sim": simSocket = rest.popFirst()
            default: positionals.append(argument)
            }
        }
        guard positionals.count == 2, let storagePath else {
            throw UsageError(description: "usage: backup-to-file DEVICE OUTPUT --storage STORAGE_DEVICE [--sim SOCKET]")
        }
        let (devicePath, outputPath) = (positionals[0], positionals[1])

        // The backend: the real kernel, or a simulator for tests and demos.
        let kernel: any KernelInterface = try simSocket.map { try SimClient(socketPath: $0) } ?? LinuxKernel()

        // A session keeps the snapshot alive and its storage ahead of the writers.
        let storage = try DeviceRangeProvider(kernel: kernel, devicePath: storagePath)
        let (events, deliver) = SessionEventStream.make()
        let session = Session(kernel: kernel, configuration: SessionConfiguration(devices: [devicePath]),
                              storage: storage, onEvent: deliver)
        let running = Task { try await session.run() }

        // Wait until the snapshot is taken and its image exists.
        var imagePath: String?
        for await event in events {
            if case .started(_, let images, _, _) = event {
                imagePath = images.first?.imagePath
                break
            }
            if case .ended(let reason) = event { throw UsageError(description: "session ended: \(reason)") }
        }
        guard let imagePath else {
            _ = try await running.value  // the session failed to start: its error
            throw UsageError(description: "the session ended before its image appeared")
        }

        // Copy the image; whatever happens, cancelling tears the session down.
        defer { running.cancel() }
        let copied = try copy(image: imagePath, kernel: kernel, to: outputPath)
        running.cancel()
        let reason = try await running.value
        warn("session: \(reason)")
        return copied
    }

    /// Copies the whole image, 1 MiB at a time, into a new file at `path`.
    static func copy(image: String, kernel: any KernelInterface, to path: String) throws -> UInt64 {
        let source = try BlockDevice(path: image, kernel: kernel)
        defer { try? source.close() }
        let sizeBytes = try source.capacityBytes()
        let output = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard output >= 0 else { throw UsageError(description: "cannot create \(path): errno \(errno)") }
        defer { close(output) }
        let imageFD = try kernel.open(image, flags: O_RDONLY)
        defer { try? kernel.close(imageFD) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: UInt64 = 0
        while offset < sizeBytes {
            let want = Int(min(UInt64(buffer.count), sizeBytes - offset))
            let got = try buffer.withUnsafeMutableBytes { raw in
                try kernel.pread(imageFD, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<want]), at: offset)
            }
            guard got > 0 else { break }
            let written = buffer.withUnsafeBytes { write(output, $0.baseAddress, got) }
            guard written == got else { throw UsageError(description: "cannot write \(path): errno \(errno)") }
            offset += UInt64(got)
        }
        return offset
    }
}
