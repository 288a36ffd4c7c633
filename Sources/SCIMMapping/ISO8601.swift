import SCIMModel
/// A minimal, allocation-free ISO 8601 / RFC 3339 date and date-time reader (Foundation's
/// formatters are slow, locale-laden and not needed for this grammar).
///
/// Accepted: `YYYY-MM-DD`, optionally followed by `T`/`t`/space, `hh:mm`, optional `:ss`,
/// optional `.` or `,` and 1+ fraction digits, optional zone `Z`/`z`/`±hh`/`±hhmm`/`±hh:mm`.
/// Years are 4 digits (0001–9999); month/day are checked against the calendar (leap years
/// included); hour 0–23, minute and second 0–59, offset hours 0–23.
struct ISO8601Parser {
    var year = 0, month = 0, day = 0
    var hour = 0, minute = 0, second = 0
    /// Fraction digits as ASCII bytes, trailing zeros removed, at most 9.
    var fraction: [UInt8] = []
    /// Zone offset east of UTC, in minutes.
    var offsetMinutes = 0
    var hasTime = false
    /// True when the input is already exactly `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.f]Z` with
    /// no trailing fraction zeros, i.e. what the formatter would produce.
    var isCanonical = false

    static func parse(_ text: Substring) -> ISO8601Parser? {
        if let r = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return r }
        return Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> ISO8601Parser? {
        var p = ISO8601Parser()
        var i = 0
        let n = b.count

        func digits(_ count: Int) -> Int? {
            guard i + count <= n else { return nil }
            var v = 0
            for k in 0..<count {
                let c = b[i + k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += count
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < n, b[i] == c else { return false }
            i += 1
            return true
        }

        guard let y = digits(4), expect(UInt8(ascii: "-")), let mo = digits(2), expect(UInt8(ascii: "-")),
            let d = digits(2)
        else { return nil }
        guard y >= 1, (1...12).contains(mo), d >= 1, d <= daysInMonth(year: y, month: mo) else { return nil }
        p.year = y
        p.month = mo
        p.day = d
        if i == n {
            p.isCanonical = true
            return p
        }
        var canonical = true
        let sep = b[i]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        if sep != UInt8(ascii: "T") { canonical = false }
        i += 1
        guard let h = digits(2), expect(UInt8(ascii: ":")), let mi = digits(2) else { return nil }
        guard h <= 23, mi <= 59 else { return nil }
        p.hasTime = true
        p.hour = h
        p.minute = mi
        if expect(UInt8(ascii: ":")) {
            guard let s = digits(2), s <= 59 else { return nil }
            p.second = s
            if i < n, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
                if b[i] == UInt8(ascii: ",") { canonical = false }
                i += 1
                let start = i
                while i < n, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
                guard i > start else { return nil }
                var end = i
                while end > start, b[end - 1] == 0x30 { end -= 1 }
                if end != i || end == start { canonical = false }  // trailing zeros or all zeros
                if end - start > 9 {
                    end = start + 9
                    while end > start, b[end - 1] == 0x30 { end -= 1 }
                    canonical = false
                }
                p.fraction = Array(b[start..<end])
            }
        } else {
            canonical = false
        }
        if i == n {
            canonical = false  // no zone: UTC assumed, "Z" added
        } else if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            if b[i] == UInt8(ascii: "z") { canonical = false }
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), oh <= 23 else { return nil }
            var om = 0
            if i < n {
                _ = expect(UInt8(ascii: ":"))
                guard let m = digits(2), m <= 59 else { return nil }
                om = m
            }
            p.offsetMinutes = sign * (oh * 60 + om)
            canonical = false
        } else {
            return nil
        }
        guard i == n else { return nil }
        p.isCanonical = canonical
        return p
    }

    // Calendar arithmetic is SCIMModel's (one implementation for filters and mappings).
    static func isLeap(_ y: Int) -> Bool { SCIMDateTime.isLeap(y) }
    static func daysInMonth(year: Int, month: Int) -> Int { SCIMDateTime.daysIn(month: month, year: year) }
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int { SCIMDateTime.daysFromCivil(year: y, month: m, day: d) }
    static func civilFromDays(_ z: Int) -> (year: Int, month: Int, day: Int) { SCIMDateTime.civilFromDays(z) }

    /// `YYYY-MM-DDThh:mm:ss[.f]Z` in UTC, or nil when the UTC year leaves 1–9999.
    func utcString() -> String? {
        var minutes = (hour * 60 + minute) - offsetMinutes
        var days = ISO8601Parser.daysFromCivil(year, month, day)
        if minutes < 0 {
            minutes += 1440
            days -= 1
        } else if minutes >= 1440 {
            minutes -= 1440
            days += 1
        }
        let (y, m, d) = ISO8601Parser.civilFromDays(days)
        guard y >= 1 && y <= 9999 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(21 + fraction.count + 1)
        ISO8601Parser.appendDate(y, m, d, to: &out)
        out.append(UInt8(ascii: "T"))
        ISO8601Parser.append2(minutes / 60, to: &out)
        out.append(UInt8(ascii: ":"))
        ISO8601Parser.append2(minutes % 60, to: &out)
        out.append(UInt8(ascii: ":"))
        ISO8601Parser.append2(second, to: &out)
        if !fraction.isEmpty {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: fraction)
        }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func formatDate(year: Int, month: Int, day: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(10)
        appendDate(year, month, day, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDate(_ y: Int, _ m: Int, _ d: Int, to out: inout [UInt8]) {
        out.append(UInt8(0x30 + y / 1000 % 10))
        out.append(UInt8(0x30 + y / 100 % 10))
        out.append(UInt8(0x30 + y / 10 % 10))
        out.append(UInt8(0x30 + y % 10))
        out.append(UInt8(ascii: "-"))
        append2(m, to: &out)
        out.append(UInt8(ascii: "-"))
        append2(d, to: &out)
    }

    static func append2(_ v: Int, to out: inout [UInt8]) {
        out.append(UInt8(0x30 + v / 10 % 10))
        out.append(UInt8(0x30 + v % 10))
    }
}
