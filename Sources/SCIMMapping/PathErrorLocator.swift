import SCIMModel

/// Finds the character position of a path syntax error for ``MappingError/position``.
///
/// `AttributePath.parse` reports `… at offset N` (a UTF-8 byte offset into the text) in its
/// `SCIMError.detail`. For errors inside a name (`name..givenName`, `a.b.c`, `given name`) that
/// offset is the start of the word; this refines it to the first offending character by a
/// lexical check of that word against RFC 7644's `ATTRNAME` rules. It does not evaluate paths.
enum PathErrorLocator {
    /// 0-based character offset in `text`, or nil when the error carries no offset.
    static func position(in text: String, error: SCIMError) -> Int? {
        guard var offset = byteOffset(in: error.detail) else { return nil }
        let bytes = Array(text.utf8)
        offset = min(max(offset, 0), bytes.count)
        if let refined = firstBadByte(in: bytes, wordStart: offset) { offset = refined }
        return characterOffset(in: bytes, byteOffset: offset)
    }

    /// The number after the last "at offset " in `detail`.
    static func byteOffset(in detail: String) -> Int? {
        let marker = Array("at offset ".utf8)
        let d = Array(detail.utf8)
        guard d.count >= marker.count else { return nil }
        var i = d.count - marker.count
        while i >= 0 {
            if Array(d[i..<i + marker.count]) == marker {
                var j = i + marker.count
                var value = 0
                var digits = 0
                while j < d.count, d[j] >= 0x30 && d[j] <= 0x39, digits < 9 {
                    value = value * 10 + Int(d[j] - 0x30)
                    j += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            i -= 1
        }
        return nil
    }

    static func isDelimiter(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == UInt8(ascii: "(") || b == UInt8(ascii: ")")
            || b == UInt8(ascii: "[") || b == UInt8(ascii: "]") || b == UInt8(ascii: "\"")
    }

    static func isAlpha(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// When the word starting at `wordStart` is not a valid `[URN:]name[.name]`, the byte offset
    /// of the first problem in it; nil when the word looks fine (the error is elsewhere).
    static func firstBadByte(in bytes: [UInt8], wordStart: Int) -> Int? {
        var end = wordStart
        while end < bytes.count, !isDelimiter(bytes[end]) { end += 1 }
        guard end > wordStart else { return nil }
        var nameStart = wordStart
        let prefix = bytes[wordStart..<min(wordStart + 4, end)].map { $0 | 0x20 }
        if prefix == Array("urn:".utf8), let lastColon = bytes[wordStart..<end].lastIndex(of: UInt8(ascii: ":")) {
            nameStart = lastColon + 1
        }
        var segmentStart = nameStart
        var dots = 0
        var i = nameStart
        while i <= end {
            if i == end || bytes[i] == UInt8(ascii: ".") {
                if i == segmentStart { return i }  // empty segment: a name was expected here
                if i < end {
                    dots += 1
                    if dots > 1 { return i }  // a.b.c: second level of sub-attribute
                    segmentStart = i + 1
                }
            } else {
                let b = bytes[i]
                let ok = i == segmentStart
                    ? isAlpha(b) || b == UInt8(ascii: "$")
                    : isAlpha(b) || isDigit(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
                if !ok { return i }
            }
            i += 1
        }
        return nil
    }

    static func characterOffset(in bytes: [UInt8], byteOffset: Int) -> Int {
        String(decoding: bytes[0..<byteOffset], as: UTF8.self).count
    }
}
