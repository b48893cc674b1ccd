/// Every figure of one run, rendered as a table or as one JSON document.
public struct BenchReport: Sendable {
    /// The figures, in the issue's order.
    public var figures: [BenchFigure]
    /// Whether this was the quick run.
    public var quick: Bool
    /// Repetitions per figure.
    public var repetitions: Int
    /// Where the backing files lived.
    public var directory: String
    /// Wall time of the whole run, seconds.
    public var seconds: Double

    /// The figure with key `key`.
    public func figure(_ key: String) -> BenchFigure? { figures.first { $0.key == key } }

    // MARK: Table

    private static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
        var scaled = (value * pow10(decimals)).rounded() / pow10(decimals)
        if scaled == 0 { scaled = 0 }  // no "-0"
        var text = String(scaled)
        if decimals == 0, text.hasSuffix(".0") { text.removeLast(2) }
        if let dot = text.firstIndex(of: "."), decimals > 0 {
            let have = text.distance(from: dot, to: text.endIndex) - 1
            if have < decimals { text += String(repeating: "0", count: decimals - have) }
        }
        return text
    }

    private static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { value, _ in value * 10 } }

    private static func summary(_ summary: BenchSummary?) -> String {
        guard let summary else { return "n/a" }
        if summary.count == 1 { return format(summary.median) }
        return "\(format(summary.median)) [\(format(summary.min))–\(format(summary.max))]"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// A plain-text table: one line per figure, then the notes.
    public func table() -> String {
        var lines: [String] = []
        lines.append("blksnap-bench (\(quick ? "quick" : "full") run, \(repetitions) repetitions, files in \(directory), \(Self.format(seconds)) s)")
        lines.append("value = median [min–max] over the repetitions; ratios are measured in the same run as their baseline")
        let header = Self.pad("figure", 44) + Self.pad("value", 30) + Self.pad("measured | baseline", 44)
            + Self.pad("target", 12) + "ok"
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count + 4))
        for figure in figures {
            var value = Self.summary(figure.value)
            if figure.value != nil { value += " " + figure.unit }
            var detail = ""
            if figure.measured != nil || figure.baseline != nil {
                detail = "\(Self.summary(figure.measured).split(separator: " ").first ?? "n/a") | "
                    + "\(Self.summary(figure.baseline).split(separator: " ").first ?? "n/a") \(figure.measuredUnit)"
                if let ratio = figure.ratio { detail += " (\(Self.format(ratio.median))x)" }
            }
            let ok = figure.meetsTarget.map { $0 ? "yes" : "NO" } ?? "-"
            lines.append(Self.pad(figure.title, 44) + Self.pad(value, 30) + Self.pad(detail, 44)
                         + Self.pad(figure.target ?? "-", 12) + ok)
        }
        lines.append("")
        lines.append("notes:")
        for figure in figures { lines.append("  \(figure.key): \(figure.note)") }
        return lines.joined(separator: "\n")
    }

    // MARK: JSON

    private static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func json(_ value: Double) -> String { value.isFinite ? String(value) : "null" }

    private static func json(_ summary: BenchSummary?) -> String {
        guard let summary else { return "null" }
        return "{\"median\": \(json(summary.median)), \"min\": \(json(summary.min)), \"max\": \(json(summary.max)), \"count\": \(summary.count)}"
    }

    /// One JSON document: run metadata and every figure keyed by its ``BenchFigure/key``.
    public func jsonDocument() -> String {
        var lines: [String] = []
        lines.append("{")
        lines.append("  \"quick\": \(quick),")
        lines.append("  \"repetitions\": \(repetitions),")
        lines.append("  \"directory\": \(Self.json(directory)),")
        lines.append("  \"seconds\": \(Self.json(seconds)),")
        lines.append("  \"figures\": {")
        for (index, figure) in figures.enumerated() {
            var fields: [String] = []
            fields.append("\"title\": \(Self.json(figure.title))")
            fields.append("\"unit\": \(Self.json(figure.unit))")
            fields.append("\"value\": \(Self.json(figure.value))")
            fields.append("\"measured\": \(Self.json(figure.measured))")
            fields.append("\"baseline\": \(Self.json(figure.baseline))")
            fields.append("\"measured_unit\": \(Self.json(figure.measuredUnit))")
            fields.append("\"ratio\": \(Self.json(figure.ratio))")
            fields.append("\"target\": \(figure.target.map { Self.json($0) } ?? "null")")
            fields.append("\"meets_target\": \(figure.meetsTarget.map { String($0) } ?? "null")")
            fields.append("\"note\": \(Self.json(figure.note))")
            let comma = index == figures.count - 1 ? "" : ","
            lines.append("    \(Self.json(figure.key)): {" + fields.joined(separator: ", ") + "}" + comma)
        }
        lines.append("  }")
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}
