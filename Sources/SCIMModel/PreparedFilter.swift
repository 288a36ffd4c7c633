import SCIMJSON

/// A filter checked against a resource type's schema, with every attribute path resolved once:
/// for matching many resources with one filter.
///
/// ``Filter/matches(_:resourceType:)`` looks each path's ``AttributeDefinition`` up in the schema
/// (a case-insensitive search over some 25 attributes, then their sub-attributes) and copies it
/// out. Done for every resource, those lookups and the reference counting of the shared schema
/// arrays were more than a third of a filter scan over a connection's stored users in `perf`, and
/// both scanning threads retained the same schema objects. A prepared filter holds what matching
/// needs as plain values: each path's member names and extension URN (with its literal
/// `urn:attribute` key already spelled), each comparison's data type, `caseExact`, and its
/// literal already coerced (a boolean for `active eq "true"`, a parsed instant for a `dateTime`,
/// a lowercased needle for a case-insensitive `co`/`sw`/`ew`).
///
/// Matching has the semantics documented on ``Filter/matches(_:resourceType:)`` and cannot fail:
/// every error is found when preparing.
public struct PreparedFilter: Sendable {
    /// The filter as parsed.
    public let filter: Filter
    /// The resource type whose schema the paths were resolved in.
    public let resourceType: SCIMResourceType
    let root: PreparedNode

    /// Checks `filter` against the schema of `resourceType` and resolves its paths.
    ///
    /// Throws `SCIMError` `invalidFilter` (RFC 7644 §3.4.2.2) for what
    /// ``Filter/validate(resourceType:)`` refuses: ordering operators on boolean or binary
    /// attributes, substring operators on non-string attributes, a complex attribute compared
    /// without a sub-attribute, a non-dateTime value compared with a dateTime attribute, a
    /// literal of a type the attribute can never equal (`active eq "yes"`, `userName eq 5`).
    public init(_ filter: Filter, resourceType: SCIMResourceType) throws(SCIMError) {
        let scope = EvaluationScope.top(resourceType)
        try FilterEvaluator.validate(filter, scope: scope)
        self.filter = filter
        self.resourceType = resourceType
        self.root = try PreparedNode(filter, scope: scope)
    }

    /// Whether `resource` (as scimd outputs it, or cut down to the members
    /// ``Filter/topLevelMemberNames`` names) matches the filter.
    public func matches(_ resource: JSONObject) -> Bool {
        root.matches(resource)
    }

    /// The same filter resolved again into nodes and comparisons of its own, for one thread of a
    /// parallel scan. Matching retains the nodes it walks; with one prepared filter shared by the
    /// threads, both cores kept incrementing the same reference counts, and the cache line
    /// bouncing between them cost a fifth of a scan's CPU (perf and `perf stat`, 100k users on 2
    /// cores: 3.35 s of CPU for ten scans, 2.72 s for the same scans pinned to one core).
    public func resolvedAgain() -> PreparedFilter {
        // It resolved once, so it resolves again; `self` is the fallback all the same.
        (try? PreparedFilter(filter, resourceType: resourceType)) ?? self
    }
}

/// One node of a ``PreparedFilter``: ``Filter``'s shape, with resolved paths and comparisons.
indirect enum PreparedNode: Sendable {
    case and(PreparedNode, PreparedNode)
    case or(PreparedNode, PreparedNode)
    case not(PreparedNode)
    case present(PreparedPath)
    /// `attrPath "[" valFilter "]"`: true when a value passes the value filter (held by the path).
    case anyValue(PreparedPath)
    case compare(PreparedComparison)

    /// Resolves `filter` in `scope`. Throws `invalidFilter` for a complex attribute without a
    /// `value` sub-attribute compared as a whole (the one schema error that resolving finds; the
    /// others are ``FilterEvaluator/validate(_:scope:)``'s).
    init(_ filter: Filter, scope: EvaluationScope) throws(SCIMError) {
        switch filter {
        case .and(let l, let r): self = .and(try PreparedNode(l, scope: scope), try PreparedNode(r, scope: scope))
        case .or(let l, let r): self = .or(try PreparedNode(l, scope: scope), try PreparedNode(r, scope: scope))
        case .not(let inner): self = .not(try PreparedNode(inner, scope: scope))
        case .present(let path): self = .present(try PreparedPath(path, scope: scope))
        case .valuePath(let path, let inner):
            var withFilter = path
            withFilter.valueFilter = inner
            self = .anyValue(try PreparedPath(withFilter, scope: scope))
        case .compare(let path, let op, let literal):
            self = .compare(try PreparedComparison(path, op, literal, scope: scope))
        }
    }

    func matches(_ object: JSONObject) -> Bool {
        switch self {
        case .and(let l, let r): return l.matches(object) && r.matches(object)
        case .or(let l, let r): return l.matches(object) || r.matches(object)
        case .not(let inner): return !inner.matches(object)
        case .present(let path): return path.anyValue(in: object, where: Self.isPresent)
        case .anyValue(let path): return path.anyValue(in: object) { _ in true }
        case .compare(let comparison): return comparison.matches(object)
        }
    }

    /// RFC 7644 §3.4.2.2 `pr`: "has a non-empty value, or if it contains a non-empty node for
    /// complex attributes".
    static func isPresent(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return false
        case .string(let s): return !s.isEmpty
        case .array(let a): return a.contains(where: isPresent)
        case .object(let o): return o.contains { isPresent($0.value) }
        default: return true
        }
    }
}

/// An attribute path resolved in a scope: where its values are found in a resource or in one
/// value of a complex attribute.
struct PreparedPath: Sendable {
    /// Where the attribute's raw values are read from.
    enum Source: Sendable {
        /// The member named like the attribute (at the top, or inside a complex value).
        case member
        /// A path qualified with the core schema's URN: the member, and the literal
        /// `urn:attribute` key some identity providers send.
        case core(literalKey: String)
        /// A path in an extension: the attribute inside the object stored under the URN, and the
        /// literal `urn:attribute` key (RFC 7643 §3.3).
        case `extension`(urn: String, literalKey: String)
    }

    let attribute: String
    let source: Source
    /// Keeps only the values it matches (`emails[type eq "work"]`).
    let valueFilter: PreparedNode?
    let subAttribute: String?

    /// Throws what ``PreparedNode/init(_:scope:)`` throws for the path's value filter.
    init(_ path: AttributePath, scope: EvaluationScope) throws(SCIMError) {
        attribute = path.attribute
        if scope.isNested || path.schemaURN == nil {
            source = .member
        } else if let urn = path.schemaURN, urn.caseInsensitiveEquals(scope.resourceType.coreSchemaURN) {
            source = .core(literalKey: urn + ":" + path.attribute)
        } else {
            let urn = path.schemaURN!
            source = .extension(urn: urn, literalKey: urn + ":" + path.attribute)
        }
        if let filter = path.valueFilter {
            valueFilter = try PreparedNode(filter, scope: scope.nested(in: path))
        } else {
            valueFilter = nil
        }
        subAttribute = path.subAttribute
    }

    /// Calls `body` with each raw value of the attribute (before flattening) until it returns
    /// true; returns whether it did. The only place a resource's top-level members are read (see
    /// ``Filter/topLevelMemberNames``).
    func anyRawValue(in object: JSONObject, where body: (JSONValue) -> Bool) -> Bool {
        switch source {
        case .member:
            guard let v = object[caseInsensitive: attribute] else { return false }
            return body(v)
        case .core(let literalKey):
            if let v = object[caseInsensitive: attribute], body(v) { return true }
            guard let literal = object[caseInsensitive: literalKey] else { return false }
            return body(literal)
        case .extension(let urn, let literalKey):
            if let ext = object[caseInsensitive: urn]?.objectValue, let v = ext[caseInsensitive: attribute], body(v) { return true }
            guard let literal = object[caseInsensitive: literalKey] else { return false }
            return body(literal)
        }
    }

    /// Like ``anyRawValue(in:where:)`` over the attribute's values flattened (an array's
    /// elements one by one, nulls left out) and kept by the value filter.
    func anyElement(in object: JSONObject, where body: (JSONValue) -> Bool) -> Bool {
        anyRawValue(in: object) { raw in
            Self.anyFlattened(raw) { element in
                if let valueFilter {
                    guard case .object(let o) = element, valueFilter.matches(o) else { return false }
                }
                return body(element)
            }
        }
    }

    /// Like ``anyElement(in:where:)`` over the values at the end of the path: each element's
    /// sub-attribute, flattened, when the path names one.
    func anyValue(in object: JSONObject, where body: (JSONValue) -> Bool) -> Bool {
        guard let subAttribute else { return anyElement(in: object, where: body) }
        return anyElement(in: object) { element in
            guard case .object(let o) = element, let v = o[caseInsensitive: subAttribute] else { return false }
            return Self.anyFlattened(v, where: body)
        }
    }

    static func anyFlattened(_ value: JSONValue, where body: (JSONValue) -> Bool) -> Bool {
        switch value {
        case .null: return false
        case .array(let elements):
            for e in elements where !e.isNull {
                if body(e) { return true }
            }
            return false
        default: return body(value)
        }
    }

    /// See ``JSONObject/values(at:resourceType:)``.
    func values(in object: JSONObject) -> [JSONValue] {
        var out: [JSONValue] = []
        _ = anyValue(in: object) { value in
            out.append(value)
            return false
        }
        return out
    }

    /// See ``JSONObject/leaves(at:resourceType:)``.
    func leaves(in object: JSONObject) -> [LeafValue] {
        var out: [LeafValue] = []
        func add(_ value: JSONValue) {
            switch value {
            case .null: return
            case .array(let elements): out.append(LeafValue(values: elements.filter { !$0.isNull }, isArray: true))
            default: out.append(LeafValue(values: [value], isArray: false))
            }
        }
        if valueFilter == nil && subAttribute == nil {
            _ = anyRawValue(in: object) { raw in
                add(raw)
                return false
            }
            return out
        }
        // A value filter or a sub-attribute walks into the attribute's values one by one.
        _ = anyElement(in: object) { element in
            if let subAttribute {
                if case .object(let o) = element, let v = o[caseInsensitive: subAttribute] { add(v) }
            } else {
                add(element)
            }
            return false
        }
        return out
    }
}

/// `attrPath compareOp compValue`, resolved: the data type and `caseExact` of what is compared,
/// and the literal prepared for them.
///
/// A class: matching a resource reads its comparison out of ``PreparedNode``'s box, and a struct
/// was copied out whole there, its strings and arrays retained and released, for every resource a
/// scan evaluates (callgrind, `emails[type eq "work" and value ew "@example.com"]` over 100k users:
/// 1,567M → 1,413M instructions with the partial parse). ``PreparedPath`` stays a struct: it is
/// prepared once per path (a filter's nodes, ``AttributeReader`` for the mapping engine) and read
/// where it is held.
final class PreparedComparison: Sendable {
    let path: PreparedPath
    let op: ComparisonOperator
    /// The literal, coerced for the attribute (`"True"` is `true` for a boolean attribute).
    let operand: JSONValue
    /// The compared attribute's type (the `value` sub-attribute's for a complex one); `nil` when
    /// the schema does not define it.
    let type: AttributeDefinition.DataType?
    let caseExact: Bool
    /// `operand` as an instant, for a `dateTime` attribute.
    let instant: SCIMDateTime?
    /// For `co`/`sw`/`ew` with a string literal.
    let needle: SubstringNeedle?

    /// Throws `invalidFilter` when the path names a complex attribute without a `value`
    /// sub-attribute (`name eq "x"`).
    init(_ path: AttributePath, _ op: ComparisonOperator, _ literal: JSONValue, scope: EvaluationScope) throws(SCIMError) {
        var definition = scope.leafDefinition(path)
        if let d = definition, d.type == .complex {
            guard let valueDefinition = d.subAttribute(named: "value") else {
                throw FilterEvaluator.complexWithoutSubAttribute(path)
            }
            definition = valueDefinition
        }
        self.path = try PreparedPath(path, scope: scope)
        self.op = op
        self.type = definition?.type
        self.caseExact = definition?.caseExact ?? false
        var operand = literal
        if type == .boolean, case .string(let s) = literal {
            if s.caseInsensitiveEquals("true") { operand = .bool(true) }
            if s.caseInsensitiveEquals("false") { operand = .bool(false) }
        }
        self.operand = operand
        if type == .dateTime, case .string(let s) = operand { instant = SCIMDateTime(s) } else { instant = nil }
        if op.isSubstring, case .string(let s) = operand { needle = SubstringNeedle(s, caseExact: caseExact) } else { needle = nil }
    }

    func matches(_ object: JSONObject) -> Bool {
        if operand.isNull {
            let assigned = anyComparedValue(in: object) { _ in true }
            return op == .eq ? !assigned : assigned
        }
        return anyComparedValue(in: object, where: compare)
    }

    /// The values the comparison looks at: those at the path, with an object (a complex value,
    /// or one sent where a simple value belongs) standing for its `value` sub-attribute.
    func anyComparedValue(in object: JSONObject, where body: (JSONValue) -> Bool) -> Bool {
        path.anyValue(in: object) { value in
            guard case .object(let o) = value else { return body(value) }
            guard let inner = o[caseInsensitive: "value"] else { return false }
            return PreparedPath.anyFlattened(inner, where: body)
        }
    }

    func compare(_ value: JSONValue) -> Bool {
        if op.isSubstring {
            guard case .string(let hay) = value, let needle else { return false }
            return needle.isFound(in: hay, op)
        }
        let order: Int?
        switch (value, operand) {
        case (.string(let x), .string(let y)):
            if type == .dateTime {
                guard let literal = instant, let v = SCIMDateTime(x) else { return op == .ne }
                order = v < literal ? -1 : (v == literal ? 0 : 1)
            } else if op == .eq || op == .ne {
                let equal = caseExact ? x == y : x.caseInsensitiveEquals(y)
                return equal == (op == .eq)
            } else {
                order = FilterEvaluator.compareStrings(x, y, caseExact: caseExact)
            }
        default:
            order = FilterEvaluator.order(value, operand, type: type, caseExact: caseExact)
        }
        guard let order else { return op == .ne }
        switch op {
        case .eq: return order == 0
        case .ne: return order != 0
        case .gt: return order > 0
        case .ge: return order >= 0
        case .lt: return order < 0
        case .le: return order <= 0
        default: return false
        }
    }
}

/// The literal of a `co`, `sw` or `ew` comparison, lowercased once unless the attribute is
/// `caseExact`.
///
/// Text compares as Swift `String`s do (by extended grapheme cluster, after `lowercased()`). When
/// both sides are ASCII that is the same as comparing bytes with ASCII case folding, which needs
/// no lowercased copy of every value; the one ASCII grapheme longer than a byte is CR LF, so a
/// needle holding CR or LF always takes the `String` path.
struct SubstringNeedle: Sendable {
    /// The needle, lowercased unless `caseExact`.
    let text: String
    /// `text`'s bytes when it is ASCII without CR or LF.
    let asciiBytes: [UInt8]?
    let caseExact: Bool

    init(_ needle: String, caseExact: Bool) {
        self.caseExact = caseExact
        text = caseExact ? needle : needle.lowercased()
        let bytes = Array(text.utf8)
        asciiBytes = bytes.allSatisfy { $0 < 0x80 && $0 != 0x0A && $0 != 0x0D } ? bytes : nil
    }

    /// Whether `hay` contains (`co`), starts with (`sw`) or ends with (`ew`) the needle.
    func isFound(in hay: String, _ op: ComparisonOperator) -> Bool {
        if let asciiBytes, let decided = hay.utf8.withContiguousStorageIfAvailable({ Self.asciiFound(asciiBytes, in: $0, op, fold: !caseExact) }),
            let decided
        {
            return decided
        }
        // By Character, spelt out: which `String.contains(String)` this called changed when an
        // unrelated file joined the module, and the one it came to call found "\r" inside the
        // one Character "\r\n" (docs/DESIGN-NOTES.md, "Resource ids are UUIDv7").
        let h = Array(caseExact ? hay : hay.lowercased()), n = Array(text)
        switch op {
        case .co: return n.isEmpty || (n.count <= h.count && (0...(h.count - n.count)).contains { h[$0..<($0 + n.count)].elementsEqual(n) })
        case .sw: return h.starts(with: n)
        default: return h.reversed().starts(with: n.reversed())
        }
    }

    /// The byte comparison; `nil` when `hay` is not ASCII.
    static func asciiFound(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>, _ op: ComparisonOperator, fold: Bool) -> Bool? {
        for byte in hay where byte >= 0x80 { return nil }
        @inline(__always) func same(_ h: UInt8, _ n: UInt8) -> Bool {
            if h == n { return true }
            return fold && h >= 0x41 && h <= 0x5A && h | 0x20 == n
        }
        @inline(__always) func found(at start: Int) -> Bool {
            for i in 0..<needle.count where !same(hay[start + i], needle[i]) { return false }
            return true
        }
        guard needle.count <= hay.count else { return false }
        switch op {
        case .sw: return found(at: 0)
        case .ew: return found(at: hay.count - needle.count)
        default:
            if needle.isEmpty { return true }
            for start in 0...(hay.count - needle.count) where found(at: start) { return true }
            return false
        }
    }
}
