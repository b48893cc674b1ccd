#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import SimKernel
import Testing

/// The one quirk list: complete with respect to the code's `Quirk.<id>` references.
@Suite("Quirk list")
struct QuirkListTests {
    @Test("Ids are unique across the whole list and every entry names a spec section")
    func unique() {
        let ids = SimKernel.allQuirks.map(\.id)
        #expect(ids.count == SimKernel.quirks.count + SimKernel.cowEngineQuirks.count)
        #expect(Set(ids).count == ids.count)
        #expect(SimKernel.allQuirks.allSatisfy { $0.specSection.hasPrefix("§") && !$0.summary.isEmpty })
        #expect(SimKernel.quirks.contains { $0.id == "controlNumberSeven" && $0.handling == .diverged })
        #expect(SimKernel.quirks.contains { $0.id == "ctlCommandFive" && $0.handling == .diverged })
    }

    @Test("Every `Quirk.<id>` mentioned in Sources/SimKernel (and its folders) is in the list")
    func referencesResolve() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/SimKernel").standardized
        let files = try #require(FileManager.default.subpaths(atPath: directory.path)).filter { $0.hasSuffix(".swift") }
        let known = Set(SimKernel.allQuirks.map(\.id))
        var referenced: Set<String> = []
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            var rest = Substring(text)
            while let range = rest.range(of: "Quirk.") {
                let id = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber }
                if !id.isEmpty { referenced.insert(String(id)) }
                rest = rest[range.upperBound...]
            }
        }
        #expect(referenced.count >= 10)
        #expect(referenced.subtracting(known).isEmpty, "unknown quirk ids: \(referenced.subtracting(known))")
    }
}

/// The memory a tracked huge sparse device costs (CBT maps only; media pages are lazy).
@Suite("Memory cost", .serialized)
struct MemoryCostTests {
    static func residentBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (UInt64(fields[1]) ?? 0) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("A tracked 16 TiB memory device costs about 2 × 2 MiB of CBT maps")
    func sixteenTiBResident() {
        let sim = Sim(params: Params())
        let fd = sim.device("huge", sectors: 16 << 31)
        let before = Self.residentBytes()
        #expect(sim.attach(fd) == 0)
        let after = Self.residentBytes()
        let growth = after > before ? after - before : 0
        // Zero-filled arrays are touched: the maps are resident (parallel tests add noise).
        #expect(growth < 64 << 20, "resident growth \(growth) bytes")
        #expect(sim.kernel.cbtState(device: "huge")?.mapMemoryBytes == 4 << 20)
        print("MEMORY: tracked 16 TiB sparse device: CBT maps \(4 << 20) bytes, RSS growth at attach \(growth) bytes")
    }
}
