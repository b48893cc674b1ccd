/// `transform:` for `--storage`.
enum StorageSpecTransform {
    static func storage(_ text: String) throws -> StorageSpec { try StorageSpec.parse(text) }
}
