/// One imported struct's layout as Swift sees it.
struct TypeLayout: Sendable, CustomStringConvertible {
    var name: String
    var size: Int
    var alignment: Int
    var stride: Int
    var description: String { name }
}

/// One imported field's offset and size as Swift sees it.
struct FieldLayout: Sendable, CustomStringConvertible {
    var name: String
    var offset: Int?
    var size: Int
    var description: String { name }
}
