import Foundation
import SCIMJSON

/// Plain-text tables that fit the terminal: columns shrink from the widest, cut with "…".
enum Table {
    /// Width of the terminal (`COLUMNS`, else the tty's, else 120).
    static var terminalWidth: Int {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 20 { return columns }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }

    static func render(headers: [String], rows: [[String]], rightAligned: Set<Int> = [], width: Int = terminalWidth) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        let gap = 2
        while widths.reduce(0, +) + gap * (widths.count - 1) > width, let widest = widths.indices.max(by: { widths[$0] < widths[$1] }),
            widths[widest] > 6
        {
            widths[widest] -= 1
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let w = widths[i]
                let text = cell.count > w ? String(cell.prefix(w - 1)) + "…" : cell
                let pad = String(repeating: " ", count: w - text.count)
                return rightAligned.contains(i) ? pad + text : text + pad
            }.joined(separator: String(repeating: " ", count: gap)).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

enum Format {
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \(s % 3600 / 60)m" }
        return "\(s / 86_400)d \(s % 86_400 / 3600)h"
    }

    /// "3 min ago" style, or the RFC 3339 text itself with `utc`.
    static func time(_ rfc3339: String, now: Date, utc: Bool) -> String {
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

    static func prettyJSON(_ text: String?) -> String {
        guard let text else { return "(none)" }
        guard let value = try? JSONParser().parse(text) else { return text }
        return JSONSerializer.prettyString(value)
    }
}
