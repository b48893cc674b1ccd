import BlksnapBackup
@testable import BlksnapBackupS3
import BlksnapObjectStore
import Foundation
import Testing

/// The pure parts of a repository in a bucket: its URL, its manifests, its key names.
struct S3RepositoryFormatTests {
    @Test func urlsParseAndRefuseSecrets() throws {
        let url = try S3RepositoryURL(parsing: "s3://backups/fleet/prod/")
        #expect(url.bucket == "backups" && url.prefix == "fleet/prod")
        #expect(url.key("manifests", "h/x.qcow2.json") == "fleet/prod/manifests/h/x.qcow2.json")
        #expect(try S3RepositoryURL(parsing: "s3://backups").key("points", "a") == "points/a")
        for bad in ["s3://AKIA:secret@backups/p", "s3://backups/p?X-Amz-Signature=abc", "s3://backups/p#frag", "s3://Bad_Bucket",
                    "s3://ab", "s3://backups/../x", "/tmp/repo"] {
            #expect(throws: BackupError.self, "\(bad)") { try S3RepositoryURL(parsing: bad) }
        }
        do {
            _ = try S3RepositoryURL(parsing: "s3://AKIA:topsecret@backups/p")
            Issue.record("a URL with credentials was accepted")
        } catch {
            #expect(!error.message.contains("topsecret") && !error.message.contains("AKIA"))
        }
    }

    @Test func manifestsRoundTripTheirClusters() throws {
        let clusters = [
            WrittenCluster(fileOffset: 0, guestOffset: nil, kind: .metadata, sha256: Array(repeating: 1, count: 32)),
            WrittenCluster(fileOffset: 65_536, guestOffset: 1 << 40, kind: .data, sha256: (0..<32).map { UInt8($0) }),
            WrittenCluster(fileOffset: 131_172, guestOffset: 0, kind: .data, sha256: Array(repeating: 0xFF, count: 32)),
        ]
        var record = BackupRecord(
            takenAt: Date(timeIntervalSince1970: 1_790_000_000.125), devicePath: "/dev/sda", deviceKey: "path:/dev/sda",
            capacityBytes: 1 << 30, logicalBlockSize: 512, serial: nil, wwn: nil, cbtGeneration: "g", cbtChangesNumber: 3,
            cbtBlockSize: 65_536, type: .incremental, parentId: 7, fullReason: nil, fileName: "h/blksnap-sda-x.qcow2",
            fileSize: 196_608, bytesRead: 65_536, bytesWritten: 196_608, changedBytes: 65_536, dataClusters: 2, zeroClusters: 0,
            consistency: .crash, snapshotId: "s", status: .complete, resyncReason: nil)
        record.id = 9
        let manifest = PointManifest(host: "h", record: record, parentFile: "h/blksnap-sda-w.qcow2", clusters: clusters)
        let decoded = try PointManifest(decoding: manifest.encoded(), key: "k")
        #expect(decoded == manifest)
        #expect(decoded.record.id == nil && decoded.record.parentId == nil, "ids are each catalog's own")
        #expect(decoded.record.takenAt == record.takenAt)
        #expect(try decoded.decodedClusters(key: "k") == clusters)
        #expect(throws: BackupError.self) { try PointManifest(decoding: Array("{}".utf8), key: "k") }
        var other = manifest
        other.format = "blksnap-point-9"
        #expect(throws: BackupError.self) { try PointManifest(decoding: other.encoded(), key: "k") }
        other = manifest
        other.clusters = "AAAA"
        #expect(throws: BackupError.self) { try other.decodedClusters(key: "k") }
    }

    @Test func keysOfVersionsParse() throws {
        let configuration = S3Configuration(endpoint: try S3Endpoint(url: "http://127.0.0.1:9"), region: "us-east-1",
                                            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b"))
        let storage = try S3Storage(url: try S3RepositoryURL(parsing: "s3://bucket/pre"),
                                    bridge: S3BlockingBridge(client: S3Client(configuration: configuration)), host: "h1")
        #expect(storage.parse("pre/manifests/h1/blksnap-a.qcow2.json", area: "manifests")! == ("h1/blksnap-a.qcow2", 0))
        #expect(storage.parse("pre/manifests/h1/blksnap-a.qcow2.v12.json", area: "manifests")! == ("h1/blksnap-a.qcow2", 12))
        #expect(storage.parse("pre/points/h1/blksnap-a.qcow2.v3", area: "points")! == ("h1/blksnap-a.qcow2", 3))
        #expect(storage.parse("pre/points/h1/other.bin", area: "points") == nil)
        #expect(storage.parse("pre/points/h1/blksnap-a.qcow2.v0", area: "points") == nil)
        storage.versions["h1/blksnap-a.qcow2"] = 2
        #expect(storage.objectKey("h1/blksnap-a.qcow2") == "pre/points/h1/blksnap-a.qcow2.v2")
        #expect(storage.manifestKey("h1/blksnap-a.qcow2", version: 0) == "pre/manifests/h1/blksnap-a.qcow2.json")
        #expect(storage.isOwned("h1/x") && !storage.isOwned("h2/x"))
        #expect(throws: BackupError.self) { try S3Storage(url: storage.url, bridge: storage.bridge, host: "bad/host") }
        // 8 MiB parts up to 73 GiB disks; 112 MiB for 1 TiB.
        #expect(storage.partSize(forAtMost: QCOW2Format.maximumFileBytes(virtualSize: 73 << 30)) == 8 << 20)
        #expect(storage.partSize(forAtMost: QCOW2Format.maximumFileBytes(virtualSize: 1 << 40)) == 112 << 20)
        #expect(storage.uploadMemoryBound(forAtMost: QCOW2Format.maximumFileBytes(virtualSize: 1 << 40)) == 672 << 20)
        storage.close()
    }
}
