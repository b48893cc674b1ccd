#if canImport(Glibc)
import Glibc
#endif

/// A private directory for backing files, removed with everything in it at `remove()`.
final class ScratchDirectory {
    /// The directory's path.
    let path: String

    /// Makes `base/blksnap-bench.XXXXXX`.
    init(base: String) throws(BenchError) {
        var template = Array((base + "/blksnap-bench.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BenchError("cannot make a scratch directory in \(base)", errno: errno) }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The path of file `name` in the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// Unlinks the files named `names` (missing ones are ignored).
    func unlink(_ names: [String]) { for name in names { _ = Glibc.unlink(file(name)) } }

    /// Removes every file and the directory itself.
    func remove() {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." { _ = Glibc.unlink(file(name)) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}
