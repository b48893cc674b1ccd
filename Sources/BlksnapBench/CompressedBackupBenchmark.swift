#if canImport(Glibc)
import Glibc
#endif
import BlksnapBackup
import BlksnapKit
import BlksnapSimulator
import Foundation
import SimKernel

/// Figure 8's compressed half: `backup create --compress zstd` (level 3, qemu's default)
/// of an image that compresses as disks do, against `qemu-img convert -c -O qcow2 -o
/// compression_type=zstd` of the same bytes from a raw file — file size and time.
struct CompressedBackupBenchmark {
    /// One repetition's outcome.
    struct Sample {
        /// Seconds of the compressed full backup's copy (plan, read, hash, compress, write, fsync).
        var backupSeconds: Double
        /// Size of its qcow2 file.
        var backupFileBytes: UInt64
        /// Seconds of `qemu-img convert -c` (nil: no qemu-img).
        var qemuImgSeconds: Double?
        /// Size of the file qemu-img wrote.
        var qemuImgFileBytes: UInt64?
    }

    static let compression = BackupCompression.zstd(level: BackupCompression.defaultZstdLevel)

    let configuration: BenchConfiguration
    let scratch: ScratchDirectory

    /// Fills `buffer` as a disk that compresses: per 64 KiB cluster, one in eight zeroes,
    /// two in eight random bytes (they do not shrink), the rest text-like bytes (16 letters,
    /// 4 bits of entropy each).
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, random: inout BenchRandom) {
        let cluster = QCOW2Format.clusterSize
        for start in stride(from: 0, to: buffer.count, by: cluster) {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<min(start + cluster, buffer.count)])
            switch random.below(8) {
            case 0:
                piece.initializeMemory(as: UInt8.self, repeating: 0)
            case 1, 2:
                let words = piece.bindMemory(to: UInt64.self)
                for index in words.indices { words[index] = random.next() }
            default:
                var index = 0
                while index < piece.count {
                    var bits = random.next()
                    for _ in 0..<16 where index < piece.count {
                        piece[index] = 0x61 + UInt8(bits & 0xF)
                        bits >>= 4
                        index += 1
                    }
                }
            }
        }
    }

    func run() throws(BenchError) -> [Sample] {
        let deviceBytes = configuration.backupDeviceBytes
        var random = BenchRandom(seed: 25)
        let disk = try BackupBenchDevice(scratch: scratch, tag: "text", name: "text0", bytes: deviceBytes) { Self.fill($0, random: &random) }
        let converted = "text-convert.qcow2"
        defer {
            disk.remove()
            scratch.unlink([converted])
        }
        var samples: [Sample] = []
        for repetition in 0..<max(1, configuration.repetitions) {
            let repoPath = scratch.file("text-repo-\(repetition)")
            defer { try? FileManager.default.removeItem(atPath: repoPath) }
            do throws(BackupError) {
                let repository = try BackupRepository(directory: repoPath, create: true)
                let result = try disk.backup(repository, full: true, compression: Self.compression)
                guard let record = result.records.first else { throw BackupError(.io, "the compressed backup committed nothing") }
                let qemu = try convert(disk.originalFile, to: scratch.file(converted))
                samples.append(Sample(backupSeconds: result.copySeconds, backupFileBytes: UInt64(record.fileSize),
                                      qemuImgSeconds: qemu?.seconds, qemuImgFileBytes: qemu?.bytes))
            } catch {
                throw BenchError("compressed backup benchmark: \(error.message)")
            }
        }
        return samples
    }

    /// Seconds and output size of `qemu-img convert -c -f raw -O qcow2 -o
    /// compression_type=zstd,cluster_size=65536` of `raw`; nil without qemu-img.
    private func convert(_ raw: String, to output: String) throws(BackupError) -> (seconds: Double, bytes: UInt64)? {
        try QemuImgConvert.run(["-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=65536"],
                               raw: raw, output: output)
    }
}
