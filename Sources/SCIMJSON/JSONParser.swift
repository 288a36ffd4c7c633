/// Why scimd parses JSON itself rather than through Foundation's `JSONSerialization`/`JSONDecoder`:
/// SCIM data is stored and shown "as the IdP sent it", so member order must survive (Foundation
/// hands back unordered dictionaries); integers must stay exact and distinct from booleans
/// (Foundation's `NSNumber` bridging blurs `1` and `true` on Linux); hostile input needs a hard
/// nesting limit and duplicate-key rejection with a position in the message; and ingest is the hot
/// path. The grammar is RFC 8259's, and nothing beyond it is accepted.

/// Why a JSON text could not be parsed.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset (0-based) in the input where the problem was found.
    public var offset: Int
    /// What was wrong, for humans.
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

/// Parses RFC 8259 JSON text into ``JSONValue``.
public struct JSONParser: Sendable {
    /// Deepest nesting of arrays/objects accepted; deeper input is rejected, never recursed into.
    public var maximumDepth: Int

    public init(maximumDepth: Int = 256) {
        self.maximumDepth = maximumDepth
    }

    /// Parses one JSON text (surrounding whitespace allowed, nothing else).
    /// Throws ``JSONParseError`` for invalid UTF-8, syntax errors, duplicate keys or excess depth.
    public func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var text = text
        let result: Result<JSONValue, JSONParseError> = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in try parse(bytes: UnsafeRawBufferPointer(buffer), knownValidUTF8: true) }
        }
        return try result.get()
    }

    /// Parses one JSON text from UTF-8 bytes.
    public func parse(bytes: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let contiguous: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try parse(bytes: UnsafeRawBufferPointer(buffer)) }
        }
        if let contiguous { return try contiguous.get() }
        let copy = Array(bytes)
        let result: Result<JSONValue, JSONParseError> = copy.withUnsafeBytes { buffer in
            Result { () throws(JSONParseError) in try parse(bytes: buffer) }
        }
        return try result.get()
    }

    /// Parses a JSON object, keeping only the members whose names `keep` accepts (in their order);
    /// the others' values are skipped without being built, which is what makes this cheaper than
    /// ``parse(_:)`` followed by filtering: a filter over a large connection reads one or two
    /// members of each stored resource.
    ///
    /// Kept members are parsed and checked exactly as ``parse(_:)`` does. Skipped values are only
    /// checked for structure (balanced brackets, terminated strings), not for every rule, so use
    /// this on text that was validated when it was stored. Throws ``JSONParseError`` when the text
    /// is not an object or is malformed where it is read.
    public func parseObject(_ text: String, keepingMembers keep: (String) -> Bool) throws(JSONParseError) -> JSONObject {
        let result = withoutActuallyEscaping(keep) { keep in
            Result { () throws(JSONParseError) in try parseObject(text, selection: PredicateSelection(keep: keep)) }
        }
        return try result.get()
    }

    /// ``parseObject(_:keepingMembers:)`` keeping the members `names` holds (compared ignoring
    /// case as `String.caseInsensitiveEquals` does). An ASCII member name is compared byte by byte
    /// where it lies in `text`, so a skipped member costs no `String`.
    /// Throws what ``parseObject(_:keepingMembers:)`` throws.
    public func parseObject(_ text: String, keepingMembersIn names: JSONMemberNames) throws(JSONParseError) -> JSONObject {
        // The names' arrays are borrowed once per parse, and the selection is a struct passed to
        // a specialized reader: a closure capturing `names` retained and released its three
        // arrays for every member name, a tenth of a filter scan in `perf`.
        let result = names.asciiBytes.withUnsafeBufferPointer { asciiBytes in
            names.asciiRanges.withUnsafeBufferPointer { asciiRanges in
                Result { () throws(JSONParseError) in
                    try parseObject(text, selection: NameSelection(names: names, asciiBytes: asciiBytes, asciiRanges: asciiRanges))
                }
            }
        }
        return try result.get()
    }

    private func parseObject(_ text: String, selection: some MemberSelection) throws(JSONParseError) -> JSONObject {
        var text = text
        let result: Result<JSONObject, JSONParseError> = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) in
                var reader = Reader(bytes: UnsafeRawBufferPointer(buffer), maximumDepth: maximumDepth, knownValidUTF8: true)
                reader.skipWhitespace()
                let object = try reader.parseObject(keeping: selection)
                reader.skipWhitespace()
                if reader.index != buffer.count {
                    throw JSONParseError(offset: reader.index, reason: "unexpected data after the JSON value")
                }
                return object
            }
        }
        return try result.get()
    }

    /// Parses one JSON text from raw UTF-8 bytes.
    public func parse(bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        try parse(bytes: bytes, knownValidUTF8: false)
    }

    private func parse(bytes: UnsafeRawBufferPointer, knownValidUTF8: Bool) throws(JSONParseError) -> JSONValue {
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth, knownValidUTF8: knownValidUTF8)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.index != bytes.count {
            throw JSONParseError(offset: reader.index, reason: "unexpected data after the JSON value")
        }
        return value
    }
}

/// Member names to keep when parsing part of an object
/// (``JSONParser/parseObject(_:keepingMembersIn:)``), prepared once for many parses: a scan over a
/// connection parses one or two members of each of its stored resources.
public struct JSONMemberNames: Sendable {
    /// The names as given.
    public let names: [String]
    /// The ASCII names' bytes, one after another.
    let asciiBytes: [UInt8]
    /// Where each ASCII name lies in `asciiBytes`.
    let asciiRanges: [Range<Int>]
    /// Some name is not ASCII: a key matching no ASCII name is compared with `names` as a String.
    let hasNonASCII: Bool

    /// The same names in arrays of their own, for one thread of a parallel scan: a partial parse
    /// retains the arrays it borrows, and threads sharing them contend for their reference counts
    /// (see `PreparedFilter.resolvedAgain()`).
    public func copied() -> JSONMemberNames {
        JSONMemberNames(names.map { String(decoding: Array($0.utf8), as: UTF8.self) })
    }

    public init(_ names: [String]) {
        self.names = names
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        var hasNonASCII = false
        for name in names {
            if name.utf8.allSatisfy({ $0 < 0x80 }) {
                ranges.append(bytes.count..<(bytes.count + name.utf8.count))
                bytes.append(contentsOf: name.utf8)
            } else {
                hasNonASCII = true
            }
        }
        asciiBytes = bytes
        asciiRanges = ranges
        self.hasNonASCII = hasNonASCII
    }
}

/// Which members a partial parse keeps.
private protocol MemberSelection {
    func keeps(_ key: RawKey) -> Bool
}

private struct PredicateSelection: MemberSelection {
    let keep: (String) -> Bool

    func keeps(_ key: RawKey) -> Bool { keep(key.string) }
}

/// ``JSONMemberNames`` with its arrays borrowed for one parse.
private struct NameSelection: MemberSelection {
    let names: JSONMemberNames
    let asciiBytes: UnsafeBufferPointer<UInt8>
    let asciiRanges: UnsafeBufferPointer<Range<Int>>

    func keeps(_ key: RawKey) -> Bool {
        // Non-ASCII text can lowercase to ASCII (the Kelvin sign to "k"): compared as Strings.
        guard case .bytes(let bytes) = key, !bytes.contains(where: { $0 >= 0x80 }) else {
            return names.names.contains { $0.caseInsensitiveEquals(key.string) }
        }
        for range in asciiRanges
        where range.count == bytes.count && RawKey.asciiCaseInsensitiveEquals(bytes, UnsafeBufferPointer(rebasing: asciiBytes[range])) {
            return true
        }
        guard names.hasNonASCII else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        return names.names.contains { $0.caseInsensitiveEquals(text) }
    }
}

/// A member name as it lies in the text: its bytes when it has no escapes (valid UTF-8: the text
/// is a `String`'s), else decoded.
private enum RawKey {
    case bytes(UnsafeRawBufferPointer)
    case text(String)

    var string: String {
        switch self {
        case .bytes(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .text(let text): return text
        }
    }

    /// Whether the ASCII `bytes` spell `ascii` ignoring ASCII case, as `caseInsensitiveEquals`
    /// decides for two ASCII strings.
    static func asciiCaseInsensitiveEquals(_ bytes: UnsafeRawBufferPointer, _ ascii: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == ascii.count else { return false }
        for i in 0..<ascii.count {
            let p = bytes[i], q = ascii[i]
            if p == q { continue }
            let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
            let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
            if lp != lq { return false }
        }
        return true
    }
}

private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let maximumDepth: Int
    /// The bytes are a Swift `String`'s, so valid UTF-8 already: strings are made without checking
    /// it again. `String(validating:as:)` is generic over the encoding, and its metadata lookups and
    /// checks were a fifth of a filter scan over stored resources in `perf`.
    let knownValidUTF8: Bool
    var index = 0

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int, knownValidUTF8: Bool = false) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
        self.knownValidUTF8 = knownValidUTF8
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let c = current else { throw fail("unexpected end of input") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character '\(printable(c))'")
        }
    }

    func printable(_ c: UInt8) -> String {
        (0x20..<0x7F).contains(c) ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("invalid literal") }
        let p = literal.utf8Start
        for i in 0..<count where bytes[index + i] != p[i] {
            throw fail("invalid literal")
        }
        index += count
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var seen: Set<String>? = nil
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject())
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let keyOffset = index
            let key = try parseString()
            // Small objects: a scan is cheapest. Large ones: a set keeps duplicate checks linear.
            if members.count < 16 {
                if members.contains(where: { $0.key == key }) {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate member name \"\(key)\"")
                }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                if !seen!.insert(key).inserted {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate member name \"\(key)\"")
                }
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after member name") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key: key, value: value))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(JSONObject(uncheckedMembers: members))
            case nil: throw fail("unexpected end of input in object")
            default: throw fail("expected ',' or '}' in object")
            }
        }
    }

    /// The top-level object, with only the members `keep` accepts; see ``JSONParser/parseObject(_:keepingMembers:)``.
    mutating func parseObject(keeping selection: some MemberSelection) throws(JSONParseError) -> JSONObject {
        guard current == UInt8(ascii: "{") else { throw fail("expected an object") }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return JSONObject()
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let keyOffset = index
            let rawKey = try parseKey()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw fail("expected ':' after member name") }
            index += 1
            skipWhitespace()
            if selection.keeps(rawKey) {
                let key = rawKey.string
                if members.contains(where: { $0.key == key }) {
                    throw JSONParseError(offset: keyOffset, reason: "duplicate member name \"\(key)\"")
                }
                members.append((key: key, value: try parseValue(depth: 1)))
            } else {
                try skipValue()
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return JSONObject(uncheckedMembers: members)
            case nil: throw fail("unexpected end of input in object")
            default: throw fail("expected ',' or '}' in object")
            }
        }
    }

    /// Moves past one value without building it: strings to their closing quote (escapes
    /// stepped over), arrays and objects to their matching bracket, anything else to the next
    /// delimiter.
    mutating func skipValue() throws(JSONParseError) {
        var depth = 0
        repeat {
            guard let c = current else { throw fail("unexpected end of input") }
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                while true {
                    let stop = firstQuoteOrBackslash(from: index, orControl: false)
                    guard stop < bytes.count else { throw fail("unterminated string") }
                    index = stop + 1
                    if bytes[stop] == UInt8(ascii: "\"") { break }
                    // A backslash: the escaped byte is stepped over, whatever it is.
                    guard index < bytes.count else { throw fail("unterminated string") }
                    index += 1
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { throw fail("unexpected '\(printable(c))'") }
                depth -= 1
                index += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"), 0x20, 0x09, 0x0A, 0x0D:
                guard depth > 0 else { throw fail("unexpected '\(printable(c))'") }
                index += 1
            default:
                // A number or literal: up to the next delimiter.
                let start = index
                while let d = current, d != UInt8(ascii: ","), d != UInt8(ascii: "}"), d != UInt8(ascii: "]"),
                    d != 0x20, d != 0x09, d != 0x0A, d != 0x0D
                {
                    index += 1
                }
                if index == start { throw fail("unexpected character '\(printable(c))'") }
            }
        } while depth > 0
    }

    /// A member name of text known to be valid UTF-8: where it lies when it has no escapes, else
    /// decoded by ``parseString()``.
    mutating func parseKey() throws(JSONParseError) -> RawKey {
        let start = index + 1
        let end = firstQuoteOrBackslash(from: start, orControl: true)
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            index = end + 1
            return .bytes(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
        // An escape, a control character or the end of the text: parseString decodes or refuses it.
        return .text(try parseString())
    }

    /// The offset of the first `"` or `\` at or after `start` (with `orControl`, also of the
    /// first byte below 0x20), or `bytes.count` when there is none.
    ///
    /// Eight bytes at a time: a byte of `word ^ pattern` is zero where the byte matches, and
    /// `(v - 0x01…01) & ~v & 0x80…80` flags zero bytes. Only bytes above a true zero can be flagged
    /// falsely (by the borrow), so the lowest flag is a true match (little-endian: the first byte).
    /// `skipValue` and `parseKey` spend most of a partial parse here (the members a filter does
    /// not read are strings and small objects to step over), and `parseString` every string.
    func firstQuoteOrBackslash(from start: Int, orControl: Bool) -> Int {
        var i = start
        let count = bytes.count
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let quote = word ^ (ones &* 0x22)
                let backslash = word ^ (ones &* 0x5C)
                var flags = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                if orControl {
                    // A byte below 0x20 has its top three bits clear.
                    let top = word & (ones &* 0xE0)
                    flags |= (top &- ones) & ~top
                }
                flags &= highs
                if flags != 0 { return i + flags.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || (orControl && c < 0x20) { return i }
            i += 1
        }
        return count
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            case nil: throw fail("unexpected end of input in array")
            default: throw fail("expected ',' or ']' in array")
            }
        }
    }

    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, the closing quote found a word at a time.
        index = firstQuoteOrBackslash(from: start, orControl: true)
        if index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // Between two quotes of valid UTF-8 text (a quote is ASCII, never inside a
                // multi-byte sequence), so decoding cannot repair anything.
                if knownValidUTF8 { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(offset: start, reason: "invalid UTF-8 in string")
                }
                return s
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            // A backslash: the slow path below decodes from here.
        }
        // Slow path: copy, decoding escapes.
        var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw JSONParseError(offset: start, reason: "invalid UTF-8 in string")
                }
                return s
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                index += 1
                continue
            }
            index += 1
            guard let e = current else { break }
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // High surrogate: a low surrogate must follow.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw fail("unpaired surrogate in \\u escape") }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw fail("invalid escape '\\\(printable(e))'")
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 0x41 + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        var isInteger = true
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw fail("invalid number")
        }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
                throw fail("invalid number: digits must follow '.'")
            }
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else {
                throw fail("invalid number: digits must follow the exponent")
            }
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { index += 1 }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text), d.isFinite else {
            throw JSONParseError(offset: start, reason: "number out of range")
        }
        return .double(d)
    }
}

extension JSONObject {
    /// Builds an object from members already known to have unique keys (the parser checked).
    init(uncheckedMembers: [(key: String, value: JSONValue)]) {
        self.init()
        self.replaceMembers(uncheckedMembers)
    }
}
