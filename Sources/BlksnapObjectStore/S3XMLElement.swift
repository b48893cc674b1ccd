/// An element of an S3 XML document (a response body), parsed by ``S3XMLElement/parse(_:)``.
///
/// S3 answers in a small, regular subset of XML: a declaration, nested elements, text with
/// the five predefined entities and character references, no DTD. This reader takes exactly
/// that (comments, CDATA and attributes too) and refuses anything else with
/// ``S3XMLElement/ParseError``, so the package needs no XML library.
public struct S3XMLElement: Sendable, Equatable {
    /// The element's name without namespace prefix handling (`ListBucketResult`).
    public var name: String
    /// The attributes, by name (`xmlns` among them).
    public var attributes: [String: String]
    /// The child elements in document order.
    public var children: [S3XMLElement]
    /// The element's own text, entities decoded (the concatenation of its text nodes).
    public var text: String

    /// An element from its parts.
    public init(name: String, attributes: [String: String] = [:], children: [S3XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public subscript(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

    /// Every child named `name`, in document order.
    public func all(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func string(_ name: String) -> String? { self[name]?.text }

    /// Why a body is not the XML S3 sends, with the byte offset where reading stopped.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// The offset in the UTF-8 bytes of the body.
        public var offset: Int
        /// `not S3 XML at byte N: reason`.
        public var description: String { "not S3 XML at byte \(offset): \(reason)" }
    }

    /// The document element of `bytes`.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws(ParseError) -> S3XMLElement where Bytes.Element == UInt8 {
        var reader = Reader(bytes: Array(bytes))
        reader.skipMisc()
        guard reader.peek() == UInt8(ascii: "<") else { throw ParseError(reason: "no root element", offset: reader.index) }
        let root = try reader.element()
        reader.skipMisc()
        guard reader.index == reader.bytes.count else {
            throw ParseError(reason: "content after the root element", offset: reader.index)
        }
        return root
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func peek(_ offset: Int = 0) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }

        func starts(with literal: String) -> Bool {
            let utf8 = Array(literal.utf8)
            return index + utf8.count <= bytes.count && Array(bytes[index..<index + utf8.count]) == utf8
        }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// Skips `terminator`-ended constructs (declarations, comments) and whitespace.
        mutating func skipMisc() {
            while true {
                skipWhitespace()
                if starts(with: "<?") {
                    skip(past: "?>")
                } else if starts(with: "<!--") {
                    skip(past: "-->")
                } else {
                    return
                }
            }
        }

        mutating func skip(past terminator: String) {
            while index < bytes.count, !starts(with: terminator) { index += 1 }
            index = min(bytes.count, index + terminator.utf8.count)
        }

        mutating func name() throws(ParseError) -> String {
            let start = index
            while let byte = peek(), !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D),
                byte != UInt8(ascii: ">"), byte != UInt8(ascii: "/"), byte != UInt8(ascii: "="),
                byte != UInt8(ascii: "<")
            {
                index += 1
            }
            guard index > start else { throw ParseError(reason: "a name was expected", offset: index) }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func element() throws(ParseError) -> S3XMLElement {
            index += 1  // "<"
            let elementName = try name()
            var element = S3XMLElement(name: elementName)
            while true {
                skipWhitespace()
                guard let byte = peek() else { throw ParseError(reason: "unterminated tag <\(element.name)", offset: index) }
                if byte == UInt8(ascii: "/") {
                    guard peek(1) == UInt8(ascii: ">") else { throw ParseError(reason: "'/' not followed by '>'", offset: index) }
                    index += 2
                    return element
                }
                if byte == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                let attribute = try name()
                skipWhitespace()
                guard peek() == UInt8(ascii: "=") else { throw ParseError(reason: "attribute \(attribute) has no value", offset: index) }
                index += 1
                skipWhitespace()
                guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                    throw ParseError(reason: "attribute \(attribute)'s value is not quoted", offset: index)
                }
                index += 1
                let start = index
                while let next = peek(), next != quote { index += 1 }
                guard peek() == quote else { throw ParseError(reason: "unterminated attribute value", offset: start) }
                element.attributes[attribute] = try decode(bytes[start..<index], at: start)
                index += 1
            }
            var text: [UInt8] = []
            while true {
                guard let byte = peek() else { throw ParseError(reason: "<\(element.name)> is not closed", offset: index) }
                if byte != UInt8(ascii: "<") {
                    text.append(byte)
                    index += 1
                } else if starts(with: "</") {
                    index += 2
                    let closing = try name()
                    guard closing == element.name else {
                        throw ParseError(reason: "</\(closing)> closes <\(element.name)>", offset: index)
                    }
                    skipWhitespace()
                    guard peek() == UInt8(ascii: ">") else { throw ParseError(reason: "'>' expected", offset: index) }
                    index += 1
                    element.text = try decode(text[...], at: index)
                    return element
                } else if starts(with: "<![CDATA[") {
                    index += 9
                    while index < bytes.count, !starts(with: "]]>") {
                        // CDATA is literal: escape '&' so that decode leaves it as it is.
                        if bytes[index] == UInt8(ascii: "&") { text += Array("&amp;".utf8) } else { text.append(bytes[index]) }
                        index += 1
                    }
                    guard starts(with: "]]>") else { throw ParseError(reason: "unterminated CDATA", offset: index) }
                    index += 3
                } else if starts(with: "<!--") {
                    skip(past: "-->")
                } else if starts(with: "<?") {
                    skip(past: "?>")
                } else if starts(with: "<!") {
                    throw ParseError(reason: "DTDs are not accepted", offset: index)
                } else {
                    element.children.append(try self.element())
                }
            }
        }

        /// Decodes the entities of `raw` (text or attribute value).
        func decode(_ raw: ArraySlice<UInt8>, at offset: Int) throws(ParseError) -> String {
            guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
            var out: [UInt8] = []
            var i = raw.startIndex
            while i < raw.endIndex {
                guard raw[i] == UInt8(ascii: "&") else {
                    out.append(raw[i])
                    i += 1
                    continue
                }
                guard let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")) else {
                    throw ParseError(reason: "'&' without ';'", offset: offset)
                }
                let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    let value: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        value = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        value = UInt32(entity.dropFirst(1))
                    } else {
                        value = nil
                    }
                    guard let value, let scalar = Unicode.Scalar(value) else {
                        throw ParseError(reason: "unknown entity &\(entity);", offset: offset)
                    }
                    out += Array(String(Character(scalar)).utf8)
                }
                i = semicolon + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
