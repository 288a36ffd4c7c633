import Foundation
import SCIMJSON

/// Plain-text tables that fit the terminal: columns shrink from the widest, cut with "…".
public enum Table {
    /// Width of the terminal (`COLUMNS`, else the tty's); unlimited when stdout is not a terminal,
    /// so output piped to a file or `grep` keeps every character (a mapping's long extension paths).
    public static var terminalWidth: Int {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 20 { return columns }
        guard isatty(STDOUT_FILENO) != 0 else { return Int.max / 2 }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }

    /// Renders `rows` under `headers`, two spaces between columns, within `width` characters.
    /// Cells may carry ANSI colour codes (see ``Style``); they do not count towards widths.
    /// `maximumWidths`: column index → the most characters it shows even when the output is not a
    /// terminal (a request's path can be 50,000 characters, and every row was padded to it).
    public static func render(
        headers: [String], rows: [[String]], rightAligned: Set<Int> = [], width: Int = terminalWidth, maximumWidths: [Int: Int] = [:]
    ) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], Style.visibleCount(cell)) }
        }
        for (i, limit) in maximumWidths where i < widths.count { widths[i] = min(widths[i], max(limit, headers[i].count, 4)) }
        let gap = 2
        while widths.reduce(0, +) + gap * (widths.count - 1) > width, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }),
            widths[widest] > 3
        {
            widths[widest] -= 1
        }
        func line(_ cells: [String]) -> String {
            let text = cells.enumerated().map { i, cell in
                let w = widths[i]
                let visible = Style.visibleCount(cell)
                let fitted = visible > w ? Style.truncate(cell, to: w - 1) + "…" : cell
                let pad = String(repeating: " ", count: max(0, w - Style.visibleCount(fitted)))
                return rightAligned.contains(i) ? pad + fitted : fitted + pad
            }.joined(separator: String(repeating: " ", count: gap))
            var trimmed = Substring(text)
            while trimmed.last == " " { trimmed.removeLast() }
            return String(trimmed)
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

/// ANSI colour, used only when stdout is a terminal and `NO_COLOR` is unset (https://no-color.org).
public struct Style: Sendable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }

    /// On when stdout is a TTY and NO_COLOR is unset or empty.
    public static var automatic: Style {
        let noColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return Style(enabled: isatty(STDOUT_FILENO) != 0 && !noColor)
    }

    public func warn(_ s: String) -> String { enabled ? "\u{1B}[33m\(s)\u{1B}[0m" : s }
    public func error(_ s: String) -> String { enabled ? "\u{1B}[31m\(s)\u{1B}[0m" : s }
    public func bold(_ s: String) -> String { enabled ? "\u{1B}[1m\(s)\u{1B}[0m" : s }
    public func dim(_ s: String) -> String { enabled ? "\u{1B}[2m\(s)\u{1B}[0m" : s }

    /// Characters shown, ANSI escape sequences excluded.
    static func visibleCount(_ s: String) -> Int {
        var count = 0
        var inEscape = false
        for c in s.unicodeScalars {
            if inEscape {
                if c == "m" { inEscape = false }
            } else if c == "\u{1B}" {
                inEscape = true
            } else {
                count += 1
            }
        }
        return count
    }

    /// The first `n` visible characters, escapes kept (and a reset appended when any were cut).
    static func truncate(_ s: String, to n: Int) -> String {
        var out = ""
        var count = 0
        var inEscape = false
        var sawEscape = false
        for c in s.unicodeScalars {
            if inEscape {
                out.unicodeScalars.append(c)
                if c == "m" { inEscape = false }
            } else if c == "\u{1B}" {
                inEscape = true
                sawEscape = true
                out.unicodeScalars.append(c)
            } else {
                if count == n { break }
                out.unicodeScalars.append(c)
                count += 1
            }
        }
        return sawEscape ? out + "\u{1B}[0m" : out
    }
}

/// Human formats for durations, times and JSON.
public enum Format {
    /// Bytes in binary units: "512 B", "3.2 MiB", "1.50 GiB".
    public static func bytes(_ count: Int) -> String {
        let value = Double(count)
        if count < 1024 { return "\(count) B" }
        if count < 1_048_576 { return String(format: "%.1f KiB", value / 1024) }
        if count < 1_073_741_824 { return String(format: "%.1f MiB", value / 1_048_576) }
        return String(format: "%.2f GiB", value / 1_073_741_824)
    }

    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \(s % 3600 / 60)m" }
        return "\(s / 86_400)d \(s % 86_400 / 3600)h"
    }

    /// "3 min ago" style, or the RFC 3339 text itself with `utc`.
    public static func time(_ rfc3339: String, now: Date, utc: Bool) -> String {
        if utc { return rfc3339 }
        guard let date = try? Date(rfc3339, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else {
            return rfc3339
        }
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 5 { return "just now" }
        if seconds < 60 { return "\(seconds) s ago" }
        if seconds < 3600 { return "\(seconds / 60) min ago" }
        if seconds < 86_400 { return "\(seconds / 3600) h ago" }
        return "\(seconds / 86_400) d ago"
    }

    /// Indented JSON of a text, member order kept; the text itself when it is not JSON.
    public static func prettyJSON(_ text: String?) -> String {
        guard let text else { return "(none)" }
        guard let value = try? JSONParser().parse(text) else { return text }
        return JSONSerializer.prettyString(value)
    }
}
