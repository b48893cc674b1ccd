import BlksnapKit

/// The smallest program a backup tool could be: it imports only BlksnapKit, asks the
/// running kernel for blksnap's version and says what it got. The size of this binary,
/// and the absence of simulator symbols in it (checked with `nm` by
/// `ProductSplitTests`), are what "BlksnapKit links no simulator" means.
@main
struct KitOnly {
    static func main() {
        let path = CommandLine.arguments.dropFirst().first ?? Control.defaultPath
        do {
            let control = try Control(path: path)
            defer { try? control.close() }
            print("blksnap \(try control.version())")
        } catch {
            print("no blksnap: \(error.category)")
        }
    }
}
