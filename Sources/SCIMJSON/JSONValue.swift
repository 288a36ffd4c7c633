/// A JSON value (RFC 8259) as scimd holds it: objects keep the order in which their members
/// arrived, integers stay exact (`Int`), and other numbers are `Double`.
///
/// scimd stores what an identity provider sent "verbatim", so member order is preserved from
/// parse to serialization; equality of objects ignores order, as JSON's does.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in 64 bits.
    case int(Int)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The integer, when this is an integer (or a double with no fractional part that fits).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }

    /// The number as a `Double`, when this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, when this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's JSON type, for error messages ("string", "object", …).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Looks up an object member by exact key; `nil` when absent or not an object.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.int, .double), (.double, .int), (.double, .double):
            return lhs.doubleValue == rhs.doubleValue
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a == b
        default: return false
        }
    }
}

/// A JSON object whose members keep their insertion order.
///
/// Lookups are linear: SCIM resources have tens of members, where a scan beats hashing, and
/// SCIM needs case-insensitive lookups (RFC 7643 §2.1) that a hash on exact keys cannot serve.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The members in order. Keys are unique (the parser rejects duplicates; setters replace).
    public internal(set) var members: [(key: String, value: JSONValue)]

    public init() { members = [] }

    public init(_ members: [(key: String, value: JSONValue)]) {
        self.members = []
        self.members.reserveCapacity(members.count)
        for (k, v) in members { self[k] = v }
    }

    /// Members the caller already knows to have distinct keys, taken as they are: no check per
    /// member, which makes building a large object linear (``init(_:)`` is quadratic). Passing a
    /// key twice is a programming error, caught in debug builds.
    public init(uniqueMembers members: [(key: String, value: JSONValue)]) {
        assert(Set(members.map(\.key)).count == members.count, "JSONObject(uniqueMembers:) given a key twice")
        self.members = members
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }

    mutating func replaceMembers(_ newMembers: [(key: String, value: JSONValue)]) {
        members = newMembers
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// Exact-key member access; assigning `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get {
            for m in members where m.key == key { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    /// The key as stored that equals `key` ignoring case (SCIM attribute names are case-insensitive).
    public func storedKey(caseInsensitive key: String) -> String? {
        for m in members where m.key.caseInsensitiveEquals(key) { return m.key }
        return nil
    }

    /// Case-insensitive member access; assigning replaces the matching member in place
    /// (keeping its stored spelling) or appends; assigning `nil` removes it.
    public subscript(caseInsensitive key: String) -> JSONValue? {
        get {
            for m in members where m.key.caseInsensitiveEquals(key) { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key.caseInsensitiveEquals(key) }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key: key, value: newValue))
            }
        }
    }

    /// Removes members for which `shouldRemove` is true.
    public mutating func removeAll(where shouldRemove: (String, JSONValue) -> Bool) {
        members.removeAll { shouldRemove($0.key, $0.value) }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (k, v) in lhs.members {
            guard let other = rhs[k], other == v else { return false }
        }
        return true
    }
}

extension String {
    /// ASCII-fast case-insensitive equality, falling back to Unicode lowercasing.
    @inlinable
    ///
    /// Byte by byte over the contiguous UTF-8 (a filter scan calls this for every attribute name it
    /// resolves: through the generic `UTF8View` it was a fifth of a scan's CPU). Bytes that are
    /// equal need no folding; a difference that is not an ASCII letter's case decides, unless
    /// either byte is non-ASCII, which sends the pair to Unicode lowercasing.
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        var a = self, b = other
        let decided: Bool? = a.withUTF8 { x in
            b.withUTF8 { y -> Bool? in
                guard x.count == y.count else {
                    // ASCII case folding never changes length, so only non-ASCII text can still be equal.
                    for byte in x where byte >= 0x80 { return nil }
                    for byte in y where byte >= 0x80 { return nil }
                    return false
                }
                for i in 0..<x.count {
                    let p = x[i], q = y[i]
                    if p == q { continue }
                    if p >= 0x80 || q >= 0x80 { return nil }
                    let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
                    let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
                    if lp != lq { return false }
                }
                return true
            }
        }
        return decided ?? (self.lowercased() == other.lowercased())
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace as Foundation's
    /// `trimmingCharacters(in: .whitespaces)` defines it (U+0009, U+200B and the Unicode space
    /// separators, category Zs; not line breaks), without Foundation: its `CharacterSet` bridging was 3% of a
    /// SCIM lookup's CPU in perf, for query parameters and the bearer token of every request.
    public func trimmingWhitespace() -> String {
        let text = String(self)
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, Self.isHorizontalWhitespace(scalars[start]) { start = scalars.index(after: start) }
        while end > start, Self.isHorizontalWhitespace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        if start == scalars.startIndex && end == scalars.endIndex { return text }
        return String(scalars[start..<end])
    }

    /// Whether the text is empty or only whitespace (see ``trimmingWhitespace()``).
    public var isBlank: Bool { unicodeScalars.allSatisfy(Self.isHorizontalWhitespace) }

    private static func isHorizontalWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || scalar == "\t" }
        // swift-corelibs-foundation's set also holds U+200B ZERO WIDTH SPACE (category Cf).
        return scalar == "\u{200B}" || scalar.properties.generalCategory == .spaceSeparator
    }
}
