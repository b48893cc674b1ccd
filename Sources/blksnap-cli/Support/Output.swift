import Foundation

/// Prints a command's result as text or as one JSON document.
///
/// JSON field names are snake_case (converted from the Swift property names), keys are
/// sorted, so documents are stable and diff-able. Streaming commands print one document
/// per line (JSON Lines).
struct Output: Sendable {
    /// True under `--json`.
    let json: Bool

    /// Prints `value` as JSON (one line) under `--json`, else the text lines.
    func emit<Value: Encodable>(_ value: Value, text: () -> [String]) {
        if json {
            Diagnostics.print(Self.encode(value))
        } else {
            for line in text() { Diagnostics.print(line) }
        }
    }

    /// One line of JSON: sorted keys, snake_case names, no escaped slashes.
    static func encode<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
