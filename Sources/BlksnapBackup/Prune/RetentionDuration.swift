import Foundation

/// A `--keep-within` span as restic writes it: a number and a unit, repeated — `y`
/// (years), `m` (months), `w` (weeks), `d` (days), `h` (hours) — e.g. `2y5m7d3h`, `36h`, `1w`.
///
/// Applied in UTC calendar arithmetic: years and months move the calendar date, so `1m`
/// before March 31 is February 28 (the day clamped to the month's length), not "30 days".
public struct RetentionDuration: Sendable, Hashable, CustomStringConvertible {
    /// Years.
    public var years: Int
    /// Months.
    public var months: Int
    /// Days (weeks count 7).
    public var days: Int
    /// Hours.
    public var hours: Int

    /// Creates a span.
    public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
        self.years = years
        self.months = months
        self.days = days
        self.hours = hours
    }

    /// Parses `2y5m7d3h`; nil for an empty text, a unit other than y/m/w/d/h, a number
    /// without a unit, or a span of zero.
    public init?(parsing text: String) {
        var span = RetentionDuration()
        var number = ""
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            guard let value = Int(number), value <= 100_000 else { return nil }
            number = ""
            switch character {
            case "y": span.years += value
            case "m": span.months += value
            case "w": span.days += 7 * value
            case "d": span.days += value
            case "h": span.hours += value
            default: return nil
            }
        }
        guard number.isEmpty, span != RetentionDuration() else { return nil }
        self = span
    }

    /// The instant this span before `date` (UTC calendar).
    public func before(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var components = DateComponents()
        components.year = -years
        components.month = -months
        components.day = -days
        components.hour = -hours
        return calendar.date(byAdding: components, to: date) ?? date
    }

    /// `2y5m7d3h`, units with a zero left out.
    public var description: String {
        var text = ""
        if years > 0 { text += "\(years)y" }
        if months > 0 { text += "\(months)m" }
        if days > 0 { text += "\(days)d" }
        if hours > 0 { text += "\(hours)h" }
        return text
    }
}
