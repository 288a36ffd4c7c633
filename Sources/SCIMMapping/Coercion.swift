import SCIMJSON

/// Why a value could not be coerced: a sentence fragment for ``PropertyIssue/detail``,
/// e.g. `is not one of the enum options (red, green)`.
struct CoercionFailure: Error, Sendable, Equatable {
    var reason: String
}

/// A ``PropertyType`` prepared for fast, allocation-free coercion of the common cases.
///
/// Rules (also documented on ``CompiledMapping``):
/// - `string`: strings as they are; integers and numbers as their JSON text; booleans as
///   `"true"`/`"false"`. Objects fail.
/// - `integer`: integers; numbers with no fractional part (`42.0`); strings holding either
///   (`" 42 "`, `"42.0"`; surrounding whitespace ignored). `4.2`, booleans, objects fail.
/// - `number`: integers and numbers; strings holding a decimal number (`"-1.5e3"`). `NaN`,
///   infinities, hex notation, booleans fail.
/// - `boolean`: booleans; the strings `true`/`false` in any case (Entra sends `"False"`) and
///   `"1"`/`"0"`; the integers `1`/`0`. Anything else (`"yes"`) fails.
/// - `date`: an ISO 8601 date `YYYY-MM-DD`, or a date-time of which the date *as written* is kept
///   (`2024-03-01T23:30:00-05:00` → `2024-03-01`: a calendar date is not shifted by time zone).
/// - `dateTime`: an ISO 8601 / RFC 3339 date-time `YYYY-MM-DDThh:mm[:ss[.f…]][Z|±hh[:]mm]`
///   (`T`, `t` or a space between date and time; no zone = UTC), normalized to UTC
///   `YYYY-MM-DDThh:mm:ssZ`; fractional seconds are kept (at most 9 digits, trailing zeros
///   dropped): `2024-01-02T04:04:05.120+01:00` → `2024-01-02T03:04:05.12Z`. A bare date is
///   midnight UTC. Leap seconds, hour 24 and results outside years 1–9999 fail.
/// - `enum`: a string (or number/boolean, by its JSON text) equal to an option ignoring case and
///   surrounding whitespace, produced in the option's spelling.
/// - `list`: each element by the element type.
indirect enum Coercer: Sendable {
    case string, integer, number, boolean, date, dateTime
    /// `options` as configured; `folded` the same lowercased, for matching.
    case enumeration(options: [String], folded: [String])
    case list(Coercer)

    init(_ type: PropertyType) {
        switch type {
        case .string: self = .string
        case .integer: self = .integer
        case .number: self = .number
        case .boolean: self = .boolean
        case .date: self = .date
        case .dateTime: self = .dateTime
        case .enumeration(let options): self = .enumeration(options: options, folded: options.map { $0.lowercased() })
        case .list(let element): self = .list(Coercer(element))
        }
    }

    var isList: Bool {
        if case .list = self { return true }
        return false
    }

    /// Coerces one scalar value (for a list, the element coercer is used per element by the caller;
    /// called on a list coercer with an array, it coerces every element).
    func coerce(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        switch self {
        case .string: return Coercer.toString(value)
        case .integer: return Coercer.toInteger(value)
        case .number: return Coercer.toNumber(value)
        case .boolean: return Coercer.toBoolean(value)
        case .date: return Coercer.toDate(value)
        case .dateTime: return Coercer.toDateTime(value)
        case .enumeration(let options, let folded): return Coercer.toEnum(value, options: options, folded: folded)
        case .list(let element):
            let elements: [JSONValue]
            if case .array(let a) = value { elements = a } else { elements = [value] }
            var out: [JSONValue] = []
            out.reserveCapacity(elements.count)
            for e in elements {
                switch element.coerce(e) {
                case .success(let v): out.append(v)
                case .failure(let f): return .failure(CoercionFailure(reason: "element \(Coercer.quote(e)) \(f.reason)"))
                }
            }
            return .success(.array(out))
        }
    }

    // MARK: Scalars

    static func toString(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        switch value {
        case .string: return .success(value)
        case .int(let i): return .success(.string(String(i)))
        case .double: return .success(.string(JSONSerializer.string(value)))
        case .bool(let b): return .success(.string(b ? "true" : "false"))
        default: return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not a string"))
        }
    }

    static func toInteger(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        switch value {
        case .int: return .success(value)
        case .double(let d):
            if let i = exactInt(d) { return .success(.int(i)) }
            return .failure(CoercionFailure(reason: "is not a whole number"))
        case .string(let s):
            let t = trimmed(s)
            if let i = Int(t) { return .success(.int(i)) }
            if isDecimalNumber(t), let d = Double(t) {
                if let i = exactInt(d) { return .success(.int(i)) }
                return .failure(CoercionFailure(reason: "is not a whole number"))
            }
            return .failure(CoercionFailure(reason: "is not an integer"))
        default: return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not an integer"))
        }
    }

    static func toNumber(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        switch value {
        case .int: return .success(value)
        case .double(let d):
            return d.isFinite ? .success(value) : .failure(CoercionFailure(reason: "is not a finite number"))
        case .string(let s):
            let t = trimmed(s)
            if let i = Int(t) { return .success(.int(i)) }
            if isDecimalNumber(t), let d = Double(t), d.isFinite { return .success(.double(d)) }
            return .failure(CoercionFailure(reason: "is not a number"))
        default: return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not a number"))
        }
    }

    static func toBoolean(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        switch value {
        case .bool: return .success(value)
        case .int(let i) where i == 0 || i == 1: return .success(.bool(i == 1))
        case .string(let s):
            let t = trimmed(s)
            if asciiCaseInsensitiveEquals(t, "true") || t == "1" { return .success(.bool(true)) }
            if asciiCaseInsensitiveEquals(t, "false") || t == "0" { return .success(.bool(false)) }
            return .failure(CoercionFailure(reason: "is not a boolean (true/false/1/0)"))
        default: return .failure(CoercionFailure(reason: "is not a boolean (true/false/1/0)"))
        }
    }

    static func toDate(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        guard case .string(let s) = value else {
            return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not a date string"))
        }
        guard let parsed = ISO8601Parser.parse(trimmed(s)) else {
            return .failure(CoercionFailure(reason: "is not a date (YYYY-MM-DD)"))
        }
        if parsed.hasTime == false && parsed.isCanonical && s.utf8.count == 10 { return .success(value) }
        return .success(.string(ISO8601Parser.formatDate(year: parsed.year, month: parsed.month, day: parsed.day)))
    }

    static func toDateTime(_ value: JSONValue) -> Result<JSONValue, CoercionFailure> {
        guard case .string(let s) = value else {
            return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not a date-time string"))
        }
        let t = trimmed(s)
        guard let parsed = ISO8601Parser.parse(t) else {
            return .failure(CoercionFailure(reason: "is not an ISO 8601 date-time"))
        }
        if parsed.isCanonical && parsed.hasTime && t.utf8.count == s.utf8.count { return .success(value) }
        guard let text = parsed.utcString() else {
            return .failure(CoercionFailure(reason: "is outside the years 1-9999 in UTC"))
        }
        return .success(.string(text))
    }

    static func toEnum(_ value: JSONValue, options: [String], folded: [String]) -> Result<JSONValue, CoercionFailure> {
        let text: Substring
        switch value {
        case .string(let s): text = trimmed(s)
        case .int, .double, .bool:
            guard case .success(.string(let s)) = toString(value) else {
                return .failure(CoercionFailure(reason: "is not one of the enum options"))
            }
            text = Substring(s)
        default:
            return .failure(CoercionFailure(reason: "is \(article(value.typeName)), not one of the enum options"))
        }
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            for (i, option) in options.enumerated() where asciiCaseInsensitiveEquals(text, option) {
                return .success(.string(options[i]))
            }
        } else {
            let lowered = text.lowercased()
            for (i, f) in folded.enumerated() where f == lowered {
                return .success(.string(options[i]))
            }
        }
        return .failure(CoercionFailure(reason: "is not one of the enum options (\(options.joined(separator: ", ")))"))
    }

    // MARK: Helpers

    /// `d` as an `Int` when it is whole and comfortably inside `Int`'s range.
    static func exactInt(_ d: Double) -> Int? {
        guard d.isFinite, d.rounded(.towardZero) == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// Decimal number syntax only (sign, digits, one dot, exponent): keeps `Double(_:)` from
    /// accepting `nan`, `inf` or hex floats.
    static func isDecimalNumber(_ s: Substring) -> Bool {
        var sawDigit = false, sawDot = false, sawExp = false, previous: UInt8 = 0
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                if !(previous == 0 || previous == UInt8(ascii: "e") || previous == UInt8(ascii: "E")) { return false }
            case UInt8(ascii: "."):
                if sawDot || sawExp { return false }
                sawDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                if sawExp || !sawDigit { return false }
                sawExp = true
            default: return false
            }
            previous = c
        }
        return sawDigit
    }

    /// `s` without leading/trailing ASCII whitespace, without copying.
    static func trimmed(_ s: String) -> Substring {
        let u = s.utf8
        var start = u.startIndex, end = u.endIndex
        while start < end, isSpace(u[start]) { start = u.index(after: start) }
        while end > start, isSpace(u[u.index(before: end)]) { end = u.index(before: end) }
        return s[start..<end]
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D
    }

    /// True when `s` is empty or only ASCII whitespace — treated as "no value".
    static func isBlank(_ s: String) -> Bool {
        for c in s.utf8 where !isSpace(c) { return false }
        return true
    }

    /// Case-insensitive equality for ASCII (`b` is ASCII); no allocation.
    static func asciiCaseInsensitiveEquals(_ a: Substring, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) {
            let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
            let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
            if lp != lq { return false }
        }
        return true
    }

    /// `"blue"` for strings, the JSON text otherwise (truncated to 80 characters), for messages.
    static func quote(_ value: JSONValue) -> String {
        let text = JSONSerializer.string(value)
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }

    static func article(_ typeName: String) -> String {
        switch typeName.first {
        case "a", "e", "i", "o", "u": return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }
}
