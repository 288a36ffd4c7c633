import SCIMJSON

/// RFC 7644 §3.4.2.2 attribute operators. Parsed case-insensitively; printed in lower case.
public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case eq, ne, co, sw, ew, gt, ge, lt, le

    /// The ordering operators, which RFC 7644 §3.4.2.2 forbids on boolean and binary attributes.
    public var isOrdering: Bool { self == .gt || self == .ge || self == .lt || self == .le }
    /// The substring operators (`co`, `sw`, `ew`), meaningful for strings only.
    public var isSubstring: Bool { self == .co || self == .sw || self == .ew }
}

/// A SCIM filter (RFC 7644 §3.4.2.2).
///
/// `.valuePath(path, filter)` is the `attrPath "[" valFilter "]"` form (`emails[type eq "work"]`):
/// `path` names the multi-valued attribute (no value filter or sub-attribute of its own) and the
/// inner filter's attribute paths are relative to each value. A comparison whose path carries a
/// value filter and a sub-attribute (`emails[type eq "work"].value eq "a@x"`) is not in the RFC
/// grammar but is accepted and held as `.compare` on that path: it compares the `value` of the
/// work emails only.
public indirect enum Filter: Sendable, Hashable, CustomStringConvertible {
    /// `attrPath compareOp compValue`; the value is a string, number, boolean or null.
    case compare(AttributePath, ComparisonOperator, JSONValue)
    /// `attrPath pr`.
    case present(AttributePath)
    case and(Filter, Filter)
    case or(Filter, Filter)
    case not(Filter)
    /// `attrPath "[" valFilter "]"`.
    case valuePath(AttributePath, Filter)

    /// Parses a filter.
    ///
    /// Throws `SCIMError` `invalidFilter` (RFC 7644 §3.4.2.2, §3.12) with a detail that names the
    /// problem and its byte offset: empty filter, unknown operator, missing comparison value,
    /// unquoted string, unterminated string, unbalanced parentheses or brackets, `not` without
    /// `(`, trailing input, nesting (parentheses, `not`, value filters) deeper than
    /// `maximumDepth`, or more than `maximumLength` Unicode scalars.
    public static func parse(_ text: String, maximumDepth: Int = 64, maximumLength: Int = 16_384) throws(SCIMError) -> Filter {
        if text.utf8.count > maximumLength, text.unicodeScalars.count > maximumLength {
            throw SCIMError.invalidFilter("filter is longer than \(maximumLength) characters")
        }
        var parser = FilterParser(text, maximumDepth: maximumDepth)
        do {
            return try parser.parseWholeFilter()
        } catch {
            throw SCIMError.invalidFilter("invalid filter: \(error.message)")
        }
    }

    /// Canonical text: lower-case operators and keywords, JSON literals, and only the
    /// parentheses needed to keep the tree's shape (`and` binds tighter than `or`; a right
    /// operand of the same operator is parenthesised because chains associate to the left).
    /// Parsing it gives back an equal `Filter`.
    public var description: String {
        switch self {
        case .compare(let path, let op, let value):
            return "\(path) \(op.rawValue) \(JSONSerializer.string(value))"
        case .present(let path):
            return "\(path) pr"
        case .not(let inner):
            return "not (\(inner))"
        case .valuePath(let path, let inner):
            return "\(path)[\(inner)]"
        case .or(let left, let right):
            // `or` binds loosest and is associative: neither side needs parentheses.
            return "\(left) or \(right)"
        case .and(let left, let right):
            // `and` is associative too; only an `or` inside it needs parentheses.
            let l = left.isOr ? "(\(left))" : left.description
            let r = right.isOr ? "(\(right))" : right.description
            return "\(l) and \(r)"
        }
    }

    /// Appends the terms of this `or` chain (itself, when it is not an `or`) in order. Recurses only
    /// as deep as the (balanced) chain.
    func appendOrTerms(to terms: inout [Filter]) {
        if case .or(let left, let right) = self {
            left.appendOrTerms(to: &terms)
            right.appendOrTerms(to: &terms)
        } else {
            terms.append(self)
        }
    }

    /// Appends the terms of this `and` chain (itself, when it is not an `and`) in order.
    func appendAndTerms(to terms: inout [Filter]) {
        if case .and(let left, let right) = self {
            left.appendAndTerms(to: &terms)
            right.appendAndTerms(to: &terms)
        } else {
            terms.append(self)
        }
    }

    /// Combines `terms` (at least one) pairwise into a balanced tree of depth ⌈log₂ n⌉.
    static func balanced(_ terms: ArraySlice<Filter>, combine: (Filter, Filter) -> Filter) -> Filter {
        if terms.count == 1 { return terms[terms.startIndex] }
        let middle = terms.startIndex + terms.count / 2
        return combine(balanced(terms[..<middle], combine: combine), balanced(terms[middle...], combine: combine))
    }

    var isOr: Bool {
        if case .or = self { return true }
        return false
    }

    var isAnd: Bool {
        if case .and = self { return true }
        return false
    }

    /// Hashes consistently with the synthesized `==` (``JSONValue`` itself is not `Hashable`).
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .compare(let path, let op, let value):
            hasher.combine(0)
            hasher.combine(path)
            hasher.combine(op)
            hashJSON(value, into: &hasher)
        case .present(let path):
            hasher.combine(1)
            hasher.combine(path)
        case .and(let l, let r):
            hasher.combine(2)
            hasher.combine(l)
            hasher.combine(r)
        case .or(let l, let r):
            hasher.combine(3)
            hasher.combine(l)
            hasher.combine(r)
        case .not(let inner):
            hasher.combine(4)
            hasher.combine(inner)
        case .valuePath(let path, let inner):
            hasher.combine(5)
            hasher.combine(path)
            hasher.combine(inner)
        }
    }
}

/// Hashes a JSON value consistently with `JSONValue ==` (which equates `1` and `1.0`, and
/// ignores object member order).
func hashJSON(_ value: JSONValue, into hasher: inout Hasher) {
    switch value {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(1); hasher.combine(b)
    case .int, .double: hasher.combine(2); hasher.combine(value.doubleValue ?? 0)
    case .string(let s): hasher.combine(3); hasher.combine(s)
    case .array(let elements):
        hasher.combine(4)
        hasher.combine(elements.count)
        for e in elements { hashJSON(e, into: &hasher) }
    case .object(let object):
        hasher.combine(5)
        hasher.combine(object.count)
        // Order-independent: combine member hashes commutatively.
        var sum = 0
        for (k, v) in object {
            var h = Hasher()
            h.combine(k)
            hashJSON(v, into: &h)
            sum = sum &+ h.finalize()
        }
        hasher.combine(sum)
    }
}
