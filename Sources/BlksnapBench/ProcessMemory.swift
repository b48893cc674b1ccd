#if canImport(Glibc)
import Glibc
#endif
import CBenchSupport

/// This process's memory, for the memory figures.
enum ProcessMemory {
    /// Bytes held from malloc (glibc `mallinfo2`: in-use arena bytes + mmapped blocks).
    static func heapBytes() -> Int { Int(bench_heap_allocated_bytes()) }

    /// Resident set size from `/proc/self/statm` (second field, pages), in bytes.
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: " ")
        guard fields.count >= 2, let residentPages = Int(fields[1]) else { return 0 }
        return residentPages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Routes every thread's allocations to the main arena so `heapBytes` sees them.
    static func useSingleArena() { bench_use_single_arena() }
}
