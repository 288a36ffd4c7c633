import SCIMJSON

/// Recursive-descent parser for RFC 7644 §3.4.2.2 filters and §3.5.2 paths (they share
/// `attrPath`, `valuePath` and `valFilter`).
///
/// ```
/// FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
/// valuePath = attrPath "[" valFilter "]"
/// attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
/// logExp    = FILTER SP ("and" / "or") SP FILTER
/// ```
///
/// Precedence, lowest first: `or`, `and`, `not`/parentheses/attribute expressions; `and`/`or`
/// chains associate to the left. Keywords and operators are case-insensitive because ABNF
/// literals are. The parser works on UTF-8 bytes; string literals are JSON strings and are
/// decoded by ``JSONParser`` so every JSON escape works and a `(` inside quotes is just a
/// character. Nesting (parentheses, `not`, value filters) is counted against `maximumDepth`
/// before recursing, so hostile input cannot exhaust the stack.
struct FilterParser {
    let bytes: [UInt8]
    var index = 0
    let maximumDepth: Int
    var depth = 0

    init(_ text: String, maximumDepth: Int) {
        self.bytes = Array(text.utf8)
        self.maximumDepth = maximumDepth
    }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    func fail(_ message: String) -> PathParseError {
        PathParseError("\(message) at offset \(index)")
    }

    func describeCurrent() -> String {
        guard let c = current else { return "end of input" }
        let (word, _) = peekWord(at: index)
        if !word.isEmpty { return "'\(word)'" }
        return "'\(String(decoding: [c], as: UTF8.self))'"
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    static func isDelimiter(_ b: UInt8) -> Bool {
        isSpace(b) || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "[")
            || b == UInt8(ascii: "]") || b == UInt8(ascii: "\"")
    }

    mutating func skipSpaces() {
        while let c = current, Self.isSpace(c) { index += 1 }
    }

    func skippingSpaces(from position: Int) -> Int {
        var j = position
        while j < bytes.count, Self.isSpace(bytes[j]) { j += 1 }
        return j
    }

    /// The maximal run of non-delimiter bytes starting at `position`, and where it ends.
    func peekWord(at position: Int) -> (String, Int) {
        var j = position
        while j < bytes.count, !Self.isDelimiter(bytes[j]) { j += 1 }
        return (String(decoding: bytes[position..<j], as: UTF8.self), j)
    }

    mutating func enter() throws(PathParseError) {
        depth += 1
        if depth > maximumDepth { throw fail("nesting deeper than \(maximumDepth) levels") }
    }

    mutating func leave() { depth -= 1 }

    // MARK: Paths

    /// A complete PATCH/attribute path: nothing may follow it.
    mutating func parseWholePath() throws(PathParseError) -> AttributePath {
        skipSpaces()
        if atEnd { throw PathParseError("empty path") }
        let path = try parsePath(allowValueFilter: true)
        skipSpaces()
        if !atEnd {
            if current == UInt8(ascii: "]") { throw fail("unbalanced ']'") }
            throw fail("unexpected \(describeCurrent()) after the path")
        }
        return path
    }

    /// `attrPath ["[" valFilter "]" ["." ATTRNAME]]`.
    mutating func parsePath(allowValueFilter: Bool) throws(PathParseError) -> AttributePath {
        let (word, end) = peekWord(at: index)
        if word.isEmpty { throw fail("expected an attribute name but found \(describeCurrent())") }
        let parts: (schemaURN: String?, attribute: String, subAttribute: String?)
        do { parts = try PathSyntax.splitName(word) } catch { throw fail(error.message) }
        index = end
        var path = AttributePath(schemaURN: parts.schemaURN, attribute: parts.attribute, subAttribute: parts.subAttribute)
        guard current == UInt8(ascii: "[") else { return path }
        guard allowValueFilter else { throw fail("a value filter cannot contain another value filter") }
        if path.subAttribute != nil || path.isExtensionURN {
            throw fail("a value filter must follow a multi-valued attribute name, not \"\(word)\"")
        }
        index += 1
        try enter()
        skipSpaces()
        if current == UInt8(ascii: "]") { throw fail("empty value filter") }
        if atEnd { throw fail("unbalanced '[' (missing ']')") }
        let filter = try parseOr(inValuePath: true)
        skipSpaces()
        guard current == UInt8(ascii: "]") else {
            if atEnd { throw fail("unbalanced '[' (missing ']')") }
            throw fail("expected ']' but found \(describeCurrent())")
        }
        index += 1
        leave()
        path.valueFilter = filter
        if current == UInt8(ascii: ".") {
            index += 1
            let (sub, subEnd) = peekWord(at: index)
            guard PathSyntax.isAttributeName(sub) else {
                throw fail(sub.isEmpty ? "expected a sub-attribute name after '].'" : "\"\(sub)\" is not a valid sub-attribute name")
            }
            index = subEnd
            path.subAttribute = sub
        }
        return path
    }

    // MARK: Filters

    mutating func parseWholeFilter() throws(PathParseError) -> Filter {
        skipSpaces()
        if atEnd { throw PathParseError("empty filter") }
        let filter = try parseOr(inValuePath: false)
        skipSpaces()
        if !atEnd {
            if current == UInt8(ascii: ")") { throw fail("unbalanced ')'") }
            if current == UInt8(ascii: "]") { throw fail("unbalanced ']'") }
            throw fail("unexpected \(describeCurrent()), expected 'and', 'or' or the end of the filter")
        }
        return filter
    }

    mutating func consumeKeyword(_ keyword: String) -> Bool {
        let start = skippingSpaces(from: index)
        let (word, end) = peekWord(at: start)
        guard word.caseInsensitiveEquals(keyword) else { return false }
        index = end
        return true
    }

    /// Parses `a or b or …`. A chain is built as a balanced tree, not a left-leaning list, so a
    /// filter of thousands of `or` terms nests only log₂(n) deep: evaluating, printing, hashing and
    /// freeing it recurse that far, not once per term (`or` is associative, so the meaning is the same).
    ///
    /// A parenthesized `or` group among the terms is spliced into the chain (`(a or b) or c` is
    /// `a or b or c`), so every spelling of the same chain parses to the same tree, and printing a
    /// filter (which drops those parentheses) and parsing it back gives an equal filter.
    mutating func parseOr(inValuePath: Bool) throws(PathParseError) -> Filter {
        var terms: [Filter] = []
        try parseAnd(inValuePath: inValuePath).appendOrTerms(to: &terms)
        while consumeKeyword("or") {
            try parseAnd(inValuePath: inValuePath).appendOrTerms(to: &terms)
        }
        return Filter.balanced(terms[...], combine: Filter.or)
    }

    /// Parses `a and b and …`, balanced and spliced like ``parseOr(inValuePath:)``.
    mutating func parseAnd(inValuePath: Bool) throws(PathParseError) -> Filter {
        var terms: [Filter] = []
        try parseUnary(inValuePath: inValuePath).appendAndTerms(to: &terms)
        while consumeKeyword("and") {
            try parseUnary(inValuePath: inValuePath).appendAndTerms(to: &terms)
        }
        return Filter.balanced(terms[...], combine: Filter.and)
    }

    mutating func parseParenthesized(inValuePath: Bool) throws(PathParseError) -> Filter {
        // `index` is at "(".
        index += 1
        try enter()
        skipSpaces()
        if current == UInt8(ascii: ")") { throw fail("empty parentheses") }
        let inner = try parseOr(inValuePath: inValuePath)
        skipSpaces()
        guard current == UInt8(ascii: ")") else {
            if atEnd { throw fail("unbalanced '(' (missing ')')") }
            throw fail("expected ')' but found \(describeCurrent())")
        }
        index += 1
        leave()
        return inner
    }

    static let operatorWords: Set<String> = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"]

    mutating func parseUnary(inValuePath: Bool) throws(PathParseError) -> Filter {
        skipSpaces()
        guard let c = current else { throw fail("unexpected end of filter, expected an attribute expression") }
        if c == UInt8(ascii: "(") { return try parseParenthesized(inValuePath: inValuePath) }
        let (word, end) = peekWord(at: index)
        if word.isEmpty { throw fail("expected an attribute expression but found \(describeCurrent())") }
        if word.caseInsensitiveEquals("not") {
            let next = skippingSpaces(from: end)
            if next < bytes.count, bytes[next] == UInt8(ascii: "(") {
                index = next
                try enter()
                let inner = try parseParenthesized(inValuePath: inValuePath)
                leave()
                return .not(inner)
            }
            // An attribute that happens to be called "not" (`not pr`) is still an attribute.
            let (following, _) = peekWord(at: next)
            if !Self.operatorWords.contains(following.lowercased()) {
                index = next
                throw fail("expected '(' after 'not'")
            }
        }
        if word.caseInsensitiveEquals("and") || word.caseInsensitiveEquals("or") {
            throw fail("'\(word)' needs an expression on its left")
        }
        return try parseAttributeExpression(inValuePath: inValuePath)
    }

    mutating func parseAttributeExpression(inValuePath: Bool) throws(PathParseError) -> Filter {
        let path = try parsePath(allowValueFilter: !inValuePath)
        let afterPath = index
        let opStart = skippingSpaces(from: index)
        let (opWord, opEnd) = peekWord(at: opStart)
        let lower = opWord.lowercased()
        if lower == "pr" {
            index = opEnd
            return .present(path)
        }
        if let op = ComparisonOperator(rawValue: lower) {
            index = opEnd
            let value = try parseComparisonValue(after: op)
            // `active gt true` is invalid whatever the data (RFC 7644 §3.4.2.2), so say so now.
            do { try FilterEvaluator.checkLiteral(op, value, path: path) } catch { throw fail(error.detail) }
            return .compare(path, op, value)
        }
        if let filter = path.valueFilter, path.subAttribute == nil {
            index = afterPath
            return .valuePath(path.attributeOnly, filter)
        }
        index = opStart
        if opWord.isEmpty {
            throw fail("expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \"\(path)\" but found \(describeCurrent())")
        }
        throw fail("unknown operator '\(opWord)' after \"\(path)\" (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)")
    }

    mutating func parseComparisonValue(after op: ComparisonOperator) throws(PathParseError) -> JSONValue {
        skipSpaces()
        guard let c = current else { throw fail("expected a comparison value after '\(op.rawValue)'") }
        if c == UInt8(ascii: "\"") { return .string(try parseStringLiteral()) }
        let (word, end) = peekWord(at: index)
        if word.isEmpty { throw fail("expected a comparison value after '\(op.rawValue)' but found \(describeCurrent())") }
        switch word.lowercased() {
        case "true": index = end; return .bool(true)
        case "false": index = end; return .bool(false)
        case "null": index = end; return .null
        default: break
        }
        if let first = word.utf8.first, first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")),
            let number = try? JSONParser().parse(word), number.doubleValue != nil
        {
            index = end
            return number
        }
        throw fail("invalid comparison value '\(word)' (strings must be in double quotes; other values are true, false, null or a JSON number)")
    }

    mutating func parseStringLiteral() throws(PathParseError) -> String {
        let start = index
        var j = index + 1
        while true {
            guard j < bytes.count else {
                index = start
                throw fail("unterminated string")
            }
            let b = bytes[j]
            if b == UInt8(ascii: "\\") {
                j += 2
                continue
            }
            if b == UInt8(ascii: "\"") { break }
            j += 1
        }
        let literal = bytes[start...j]
        let value: JSONValue
        do {
            value = try JSONParser().parse(bytes: literal)
        } catch {
            index = start
            throw fail("invalid string literal (\(error.reason))")
        }
        guard case .string(let s) = value else {
            index = start
            throw fail("invalid string literal")
        }
        // scimd refuses U+0000 in every string it takes in: SQLite's C API would cut a key there.
        guard !s.utf8.contains(0) else {
            index = start
            throw fail("a string may not contain U+0000 (NUL)")
        }
        index = j + 1
        return s
    }
}
