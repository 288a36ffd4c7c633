import SCIMJSON

/// Where attribute names are looked up: at the top of a resource, or inside one value of a
/// complex attribute (the attribute paths of a value filter are relative to that value).
struct EvaluationScope {
    var resourceType: SCIMResourceType
    /// The complex attribute whose value is being looked into; `nil` at the top level or when unknown.
    var parent: AttributeDefinition?
    var isNested: Bool

    static func top(_ resourceType: SCIMResourceType) -> EvaluationScope {
        EvaluationScope(resourceType: resourceType, parent: nil, isNested: false)
    }

    func nested(in path: AttributePath) -> EvaluationScope {
        EvaluationScope(resourceType: resourceType, parent: attributeDefinition(path), isNested: true)
    }

    func attributeDefinition(_ path: AttributePath) -> AttributeDefinition? {
        if isNested { return parent?.subAttribute(named: path.attribute) }
        return SCIMSchemas.attributeDefinition(of: path, resourceType: resourceType)
    }

    func leafDefinition(_ path: AttributePath) -> AttributeDefinition? {
        let attribute = attributeDefinition(path)
        guard let sub = path.subAttribute else { return attribute }
        return attribute?.subAttribute(named: sub)
    }
}

extension JSONObject {
    /// Every value found at `path`, flattened: the values of a multi-valued attribute (or of one
    /// of its sub-attributes) each appear once, in order; nulls are left out; `[]` when nothing
    /// is there.
    ///
    /// Names are compared ignoring case (RFC 7643 §2.1). A value filter keeps only the values it
    /// matches (a filter that cannot be evaluated matches nothing). An extension URN prefix
    /// resolves into the extension object stored under that URN (RFC 7643 §3.3); a value some
    /// identity providers put under a literal top-level key spelled with the full path
    /// (`"urn:…:enterprise:2.0:User:department": "x"`) is found as well.
    public func values(at path: AttributePath, resourceType: SCIMResourceType) -> [JSONValue] {
        guard let prepared = try? PreparedPath(path, scope: .top(resourceType)) else { return [] }
        return prepared.values(in: self)
    }
}

/// What one place in a resource holds at the end of a path: its values, and whether they were a
/// JSON array written there (`"skills": ["swift", "sql"]`) rather than one value reached through
/// a multi-valued attribute (`emails[0].value`, `emails[1].value`).
public struct LeafValue: Sendable, Equatable {
    /// The values, nulls left out; one element unless ``isArray``.
    public var values: [JSONValue]
    /// The path ends at an array.
    public var isArray: Bool

    public init(values: [JSONValue], isArray: Bool) {
        self.values = values
        self.isArray = isArray
    }
}

extension JSONObject {
    /// The values at `path` as ``values(at:resourceType:)`` finds them, in the same order, but
    /// grouped by where they sit: each value reached through a multi-valued attribute is a leaf of
    /// its own, and an array at the end of the path is one leaf holding all its elements. A mapping
    /// uses this to tell "the first of several emails" (fine for a single-valued property) from "a
    /// list where one value was expected" (which it must not cut silently).
    public func leaves(at path: AttributePath, resourceType: SCIMResourceType) -> [LeafValue] {
        AttributeReader(path, resourceType: resourceType).leaves(in: self)
    }
}

/// An attribute path resolved once against a resource type's schema (its source key, extension
/// URN, value filter and sub-attribute), then read from any number of resources.
///
/// ``JSONObject/leaves(at:resourceType:)`` resolves the path on every call. The mapping engine
/// reads the same few paths from every resource a re-map evaluates, and resolving them there
/// (schema lookups, a value filter prepared anew) was 17% of a re-map's evaluation (perf, 100k
/// users, a mapping that changes nothing), so ``CompiledMapping`` keeps one reader per path.
public struct AttributeReader: Sendable {
    /// Nil when the path's value filter does not fit the schema (`emails[primary gt 1]`): such a
    /// path reads nothing, as ``JSONObject/leaves(at:resourceType:)`` always had it.
    private let prepared: PreparedPath?

    /// Resolves `path` at the top of a `resourceType` resource.
    public init(_ path: AttributePath, resourceType: SCIMResourceType) {
        prepared = try? PreparedPath(path, scope: .top(resourceType))
    }

    /// What ``JSONObject/leaves(at:resourceType:)`` returns for this path in `resource`.
    public func leaves(in resource: JSONObject) -> [LeafValue] {
        prepared?.leaves(in: resource) ?? []
    }
}

extension Filter {
    /// Whether `resource` (as scimd outputs it: `id`, `meta`, `schemas`, extension objects under
    /// their URN keys) matches this filter, with RFC 7644 §3.4.2.2 semantics:
    ///
    /// - A multi-valued attribute matches if any of its values matches; a comparison on a
    ///   complex attribute without a sub-attribute compares its `value` sub-attribute
    ///   (`emails co "x"`), and is an error when it has none (`name eq "x"`). An object found
    ///   where the schema expects a simple value is compared by its `value` member too.
    /// - Strings compare ignoring case unless the attribute is `caseExact` (`id`, `externalId`,
    ///   `meta.location`…); unknown attributes are case-insensitive. `dateTime` attributes compare
    ///   as instants (offsets and any number of fractional digits). Numbers compare numerically.
    /// - `pr` is false for null, `""`, `[]` and `{}`. `eq null` matches an unassigned attribute,
    ///   `ne null` an assigned one. A comparison with no value at all is false (also `ne`).
    ///
    /// Throws `SCIMError` `invalidFilter` (RFC 7644 §3.4.2.2) when the filter does not fit the
    /// schema, whatever the resource: ordering operators on boolean or binary attributes,
    /// substring operators on non-string attributes, a complex attribute compared without a
    /// sub-attribute, a non-dateTime value compared with a dateTime attribute, a literal of a type
    /// the attribute can never equal (`active eq "yes"`, `userName eq 5`). To match many
    /// resources, make a ``PreparedFilter`` once instead.
    public func matches(_ resource: JSONObject, resourceType: SCIMResourceType) throws(SCIMError) -> Bool {
        try PreparedFilter(self, resourceType: resourceType).matches(resource)
    }

    /// Checks this filter against the schema of `resourceType` without evaluating it, so a
    /// search can be refused with `invalidFilter` even when there is nothing to match.
    /// Throws what ``matches(_:resourceType:)`` throws for schema mismatches.
    public func validate(resourceType: SCIMResourceType) throws(SCIMError) {
        try FilterEvaluator.validate(self, scope: .top(resourceType))
    }
}

extension Filter {
    /// The names of the top-level members of a resource that evaluating this filter can read
    /// (looked up ignoring case): each top-level path's attribute and, for a schema-qualified
    /// path, its URN and the literal `urn:attribute` key. Paths inside a value filter are read
    /// inside the values they select, not at the top. A resource cut down to these members (in
    /// their order) matches exactly when the whole resource does, because
    /// `PreparedPath.anyRawValue` is the only place top-level members are read; a scan
    /// uses this to parse one or two members of each stored resource instead of all of them.
    public var topLevelMemberNames: [String] {
        var names: [String] = []
        func add(_ path: AttributePath) {
            names.append(path.attribute)
            if let urn = path.schemaURN {
                names.append(urn)
                names.append(urn + ":" + path.attribute)
            }
        }
        func walk(_ filter: Filter) {
            switch filter {
            case .compare(let path, _, _), .present(let path), .valuePath(let path, _): add(path)
            case .and(let a, let b), .or(let a, let b):
                walk(a)
                walk(b)
            case .not(let inner): walk(inner)
            }
        }
        walk(self)
        return names
    }
}

enum FilterEvaluator {
    /// -1/0/1 ordering of two values of comparable types, `nil` when they cannot be compared.
    /// `type` and `caseExact` are the attribute's (RFC 7643 §2.2); `nil`/`false` when unknown.
    static func order(_ a: JSONValue, _ b: JSONValue, type: AttributeDefinition.DataType?, caseExact: Bool) -> Int? {
        if type == .dateTime, case .string(let x) = a, case .string(let y) = b {
            guard let dx = SCIMDateTime(x), let dy = SCIMDateTime(y) else { return nil }
            return dx < dy ? -1 : (dx == dy ? 0 : 1)
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return compareStrings(x, y, caseExact: caseExact)
        case (.int(let x), .int(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.int, .double), (.double, .int), (.double, .double):
            let x = a.doubleValue!, y = b.doubleValue!
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.bool(let x), .bool(let y)):
            return x == y ? 0 : (x ? 1 : -1)
        default:
            return nil
        }
    }

    static func compareStrings(_ x: String, _ y: String, caseExact: Bool) -> Int {
        if caseExact {
            return x < y ? -1 : (x == y ? 0 : 1)
        }
        if x.caseInsensitiveEquals(y) { return 0 }
        let lx = x.lowercased(), ly = y.lowercased()
        return lx < ly ? -1 : (lx == ly ? 0 : 1)
    }

    // MARK: Validation

    static func complexWithoutSubAttribute(_ path: AttributePath) -> SCIMError {
        .invalidFilter("\"\(path)\" is a complex attribute: name one of its sub-attributes (RFC 7644 §3.4.2.2)")
    }

    /// Resource-independent checks of a filter against the schema (see ``Filter/matches(_:resourceType:)``).
    static func validate(_ filter: Filter, scope: EvaluationScope) throws(SCIMError) {
        switch filter {
        case .and(let l, let r), .or(let l, let r):
            try validate(l, scope: scope)
            try validate(r, scope: scope)
        case .not(let inner):
            try validate(inner, scope: scope)
        case .present(let path):
            try validatePathFilter(path, scope: scope)
        case .valuePath(let path, let inner):
            if let d = scope.attributeDefinition(path), d.type != .complex {
                throw SCIMError.invalidFilter("\"\(path)\" is not a complex attribute, so it cannot take a value filter")
            }
            try validate(inner, scope: scope.nested(in: path))
        case .compare(let path, let op, let literal):
            try validatePathFilter(path, scope: scope)
            try checkLiteral(op, literal, path: path)
            guard var definition = scope.leafDefinition(path) else { return }
            if definition.type == .complex {
                guard let valueDefinition = definition.subAttribute(named: "value") else { throw complexWithoutSubAttribute(path) }
                definition = valueDefinition
            }
            try checkLiteralType(literal, definition.type, path: path)
            switch definition.type {
            case .boolean:
                if op.isOrdering || op.isSubstring {
                    throw SCIMError.invalidFilter("'\(op.rawValue)' cannot be used on the boolean attribute \"\(path)\" (RFC 7644 §3.4.2.2)")
                }
            case .binary:
                if op.isOrdering {
                    throw SCIMError.invalidFilter("'\(op.rawValue)' cannot be used on the binary attribute \"\(path)\" (RFC 7644 §3.4.2.2)")
                }
            case .integer, .decimal:
                if op.isSubstring {
                    throw SCIMError.invalidFilter("'\(op.rawValue)' cannot be used on the numeric attribute \"\(path)\"")
                }
            case .dateTime:
                if !op.isSubstring, case .string(let s) = literal, SCIMDateTime(s) == nil {
                    throw SCIMError.invalidFilter("\"\(s)\" is not a valid dateTime for \"\(path)\" (expected e.g. 2011-05-13T04:42:34Z)")
                }
            default:
                break
            }
        }
    }

    static func validatePathFilter(_ path: AttributePath, scope: EvaluationScope) throws(SCIMError) {
        guard let inner = path.valueFilter else { return }
        try validate(inner, scope: scope.nested(in: path))
    }

    /// A literal of a type the attribute can never equal is refused rather than matching nothing:
    /// `active eq "yes"` or `userName eq 5` would otherwise answer "no such users", which an IdP
    /// takes as "create it" (RFC 7644 §3.4.2.2: `invalidFilter` for an unsupported comparison).
    /// `null` is always allowed; a boolean attribute also takes the strings `"true"`/`"false"` in
    /// any case (Entra ID sends `active eq "True"`). Attributes the schema does not define are not
    /// checked.
    static func checkLiteralType(_ literal: JSONValue, _ type: AttributeDefinition.DataType, path: AttributePath) throws(SCIMError) {
        switch (type, literal) {
        case (_, .null): return
        case (.boolean, .bool): return
        case (.boolean, .string(let s)) where s.caseInsensitiveEquals("true") || s.caseInsensitiveEquals("false"): return
        case (.boolean, _):
            throw SCIMError.invalidFilter("\"\(path)\" is a boolean attribute: compare it with true or false, not \(JSONSerializer.string(literal))")
        case (.integer, .int), (.integer, .double), (.decimal, .int), (.decimal, .double): return
        case (.integer, _), (.decimal, _):
            throw SCIMError.invalidFilter("\"\(path)\" is a numeric attribute: compare it with a number, not \(JSONSerializer.string(literal))")
        case (.string, .string), (.reference, .string), (.binary, .string), (.dateTime, .string): return
        case (.complex, _): return
        default:
            throw SCIMError.invalidFilter("\"\(path)\" is a \(type.rawValue) attribute: compare it with a quoted string, not \(JSONSerializer.string(literal))")
        }
    }

    /// Checks that need only the operator and the literal (also done when parsing).
    static func checkLiteral(_ op: ComparisonOperator, _ literal: JSONValue, path: AttributePath) throws(SCIMError) {
        switch literal {
        case .null where op != .eq && op != .ne:
            throw SCIMError.invalidFilter("null can only be compared with 'eq' or 'ne' (\"\(path) \(op.rawValue) null\")")
        case .bool where op.isOrdering || op.isSubstring:
            throw SCIMError.invalidFilter("'\(op.rawValue)' cannot be used with a boolean value (\"\(path)\", RFC 7644 §3.4.2.2)")
        case .int, .double, .null, .bool:
            if op.isSubstring {
                throw SCIMError.invalidFilter("'\(op.rawValue)' needs a string value (\"\(path) \(op.rawValue) \(literal)\")")
            }
        default:
            break
        }
    }
}
