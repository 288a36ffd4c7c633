import SCIMJSON

/// The order of a `sortBy` (RFC 7644 §3.4.2.3 `sortOrder`).
public enum SCIMSortOrder: String, Sendable, Hashable {
    case ascending, descending
}

/// The result of ``SCIMResource/compareForSort(_:_:by:resourceType:)``.
public enum SCIMSortComparison: Sendable, Hashable {
    /// The first resource sorts before the second.
    case orderedAscending
    case orderedSame
    /// The first resource sorts after the second.
    case orderedDescending
}

/// Operations on SCIM resources as JSON objects: turning request bodies into the stored form,
/// shaping responses, and sorting.
///
/// The **stored form** is the resource without `id` and `meta` (the service adds them on
/// output), without `password` (write-only, RFC 7643 §4.1.1: scimd never keeps it) and without
/// User `groups` (read-only, derived from Group membership). Everything else the client sent is
/// kept, including unknown attributes and extensions, with these normalizations:
/// null, `[]` and `{}` are dropped because RFC 7643 §2.5 makes them equivalent to "unassigned"
/// (and Entra re-sends updates forever when a server echoes nulls back); values of known
/// attributes are coerced to their schema type; known attribute names get their schema spelling.
public enum SCIMResource {
    /// Turns a POST or PUT body into the stored form (see ``SCIMResource``). For PUT nothing of
    /// the old resource is kept (RFC 7644 §3.5.1): the service re-adds `id` and `meta`.
    ///
    /// - Dropped silently: `id`, `meta` (readOnly, RFC 7643 §3.1: clients such as Entra and Okta
    ///   send them), `password`, User `groups`.
    /// - Kept verbatim: unknown attributes (`favorite_color`), unknown extension objects under
    ///   their URN (their URN is added to `schemas` when missing, as Entra omits it), and
    ///   `schemas` entries this server does not know (Google's `urn:scim:schemas:core:1.0`).
    ///   The core schema URN is added to `schemas` when missing.
    /// - Coerced: `"True"`/`"false"` (any case) to booleans on boolean attributes (`active`,
    ///   `emails[].primary` …); numbers and booleans to strings on string attributes; a bare value
    ///   given for a complex attribute that has a `value` sub-attribute (`"manager": "id"`) to
    ///   `{"value": …}`; a single value given for a multi-valued attribute to a one-element
    ///   array; a one-element array given for a single-valued attribute to its element.
    /// - Folded: a top-level key spelled as a full extension path
    ///   (`"urn:…:enterprise:2.0:User:department": "x"`) is moved into the extension object.
    ///
    /// Throws `SCIMError`:
    /// - `invalidSyntax` if `body` is not an object, or an attribute name appears twice with
    ///   different case;
    /// - `invalidValue` if `userName` (User) or `displayName` (Group) is missing, empty or not a
    ///   string (RFC 7643 §4.1.1, §4.2), or a value cannot be coerced to its attribute's type
    ///   (`"active": "sometimes"`, `"name": "x"`, `"schemas": 5`).
    public static func prepareForStorage(_ body: JSONValue, resourceType: SCIMResourceType) throws(SCIMError) -> JSONObject {
        guard case .object(let object) = body else {
            throw SCIMError.invalidSyntax("a \(resourceType.rawValue) must be a JSON object, not \(body.typeName)")
        }
        return try normalizeAttributes(object, resourceType: resourceType)
    }

    /// The same dropping, coercion and validation as ``prepareForStorage(_:resourceType:)`` for
    /// a resource that is already an object (used after PATCH). Throws the same errors.
    public static func normalizeAttributes(_ resource: JSONObject, resourceType: SCIMResourceType) throws(SCIMError) -> JSONObject {
        var normalizer = Normalizer(resourceType: resourceType)
        return try normalizer.normalize(resource)
    }

    /// Coerces the value of one top-level core attribute (`"members"`, `"emails"`) the way
    /// ``prepareForStorage(_:resourceType:)`` would inside a resource: a multi-valued attribute
    /// becomes an array, sub-attribute names canonical, unassigned values dropped. nil when the
    /// result is unassigned, or when `attribute` is not a core attribute of `resourceType`.
    /// Throws `invalidValue` when the value cannot be coerced (`"members": 5`).
    public static func normalizeValue(_ value: JSONValue, attribute: String, resourceType: SCIMResourceType) throws(SCIMError) -> JSONValue? {
        guard let definition = SCIMSchemas.topLevelDefinition(named: attribute, resourceType: resourceType) else { return nil }
        return try Normalizer.coerce(value, to: definition, path: definition.name)
    }

    /// Attribute names the stored form never holds (see ``prepareForStorage(_:resourceType:)``).
    public static func droppedAttributeNames(_ resourceType: SCIMResourceType) -> [String] {
        resourceType == .user ? ["id", "meta", "password", "groups"] : ["id", "meta"]
    }

    // MARK: Projection

    /// Applies RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` to a resource as output
    /// (with `id` and `meta`).
    ///
    /// With `attributes`, only the named attributes are returned, plus those whose `returned`
    /// is `always` (`id`, `schemas`); a sub-attribute path (`name.givenName`, `emails.value`)
    /// keeps only that sub-attribute (of every value of a multi-valued attribute); an extension
    /// path keeps that attribute inside the extension object; a whole extension URN keeps the
    /// extension object. `meta` is returned only if named. With `excludedAttributes`, the named
    /// attributes or sub-attributes are removed, except `id` and `schemas`, which cannot be
    /// excluded. `password` (`returned: never`) is never returned. Names are case-insensitive.
    /// Value filters in the paths are ignored (the RFC does not define them here).
    public static func project(
        _ resource: JSONObject, attributes: [AttributePath], excludedAttributes: [AttributePath], resourceType: SCIMResourceType
    ) -> JSONObject {
        Projector(resourceType: resourceType, schemas: schemaList(resource)).project(
            resource, attributes: attributes, excludedAttributes: excludedAttributes)
    }

    static func schemaList(_ resource: JSONObject) -> [String] {
        resource[caseInsensitive: "schemas"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    // MARK: Sorting

    /// The value a resource sorts by for `sortBy` `path` (RFC 7644 §3.4.2.3): for a
    /// multi-valued attribute the value marked `primary`, else the first; for a complex value
    /// without a sub-attribute in the path, its `value` sub-attribute. `nil` when unassigned.
    public static func sortKey(_ resource: JSONObject, by path: AttributePath, resourceType: SCIMResourceType) -> JSONValue? {
        var attributePath = path
        attributePath.subAttribute = nil
        let elements = resource.values(at: attributePath, resourceType: resourceType)
        guard var chosen = elements.first(where: { $0.objectValue?[caseInsensitive: "primary"] == .bool(true) }) ?? elements.first
        else { return nil }
        if let sub = path.subAttribute {
            guard let v = chosen.objectValue?[caseInsensitive: sub] else { return nil }
            chosen = v
        } else if let o = chosen.objectValue {
            guard let v = o[caseInsensitive: "value"] else { return nil }
            chosen = v
        }
        if case .array(let a) = chosen { chosen = a.first ?? .null }
        return chosen.isNull ? nil : chosen
    }

    /// A total order for `sortBy` (RFC 7644 §3.4.2.3), ascending: compares the
    /// ``sortKey(_:by:resourceType:)`` of both resources; a resource without one sorts last;
    /// strings compare ignoring case unless the attribute is `caseExact`; `dateTime` values as
    /// instants; numbers numerically. Values of different JSON types order booleans < numbers <
    /// strings < others. Equal keys give `orderedSame`: callers wanting stable pages break ties
    /// (e.g. by `id`).
    public static func compareForSort(_ a: JSONObject, _ b: JSONObject, by path: AttributePath, resourceType: SCIMResourceType) -> SCIMSortComparison {
        let ka = sortKey(a, by: path, resourceType: resourceType)
        let kb = sortKey(b, by: path, resourceType: resourceType)
        switch (ka, kb) {
        case (nil, nil): return .orderedSame
        case (nil, _): return .orderedDescending
        case (_, nil): return .orderedAscending
        case (let x?, let y?):
            var definition = SCIMSchemas.definition(of: path, resourceType: resourceType)
            if definition?.type == .complex { definition = definition?.subAttribute(named: "value") }
            let order = FilterEvaluator.order(x, y, type: definition?.type, caseExact: definition?.caseExact ?? false) ?? fallbackOrder(x, y)
            return order < 0 ? .orderedAscending : (order == 0 ? .orderedSame : .orderedDescending)
        }
    }

    /// `sort(by:)` predicate for `sortBy`/`sortOrder`. Descending reverses the ascending order
    /// entirely, so resources without a value come first, as RFC 7644 §3.4.2.3 asks.
    public static func areInIncreasingOrder(
        _ a: JSONObject, _ b: JSONObject, by path: AttributePath, resourceType: SCIMResourceType, sortOrder: SCIMSortOrder = .ascending
    ) -> Bool {
        switch sortOrder {
        case .ascending: return compareForSort(a, b, by: path, resourceType: resourceType) == .orderedAscending
        case .descending: return compareForSort(b, a, by: path, resourceType: resourceType) == .orderedAscending
        }
    }

    static func typeRank(_ v: JSONValue) -> Int {
        switch v {
        case .bool: return 0
        case .int, .double: return 1
        case .string: return 2
        default: return 3
        }
    }

    static func fallbackOrder(_ x: JSONValue, _ y: JSONValue) -> Int {
        let rx = typeRank(x), ry = typeRank(y)
        if rx != ry { return rx < ry ? -1 : 1 }
        if case .string(let sx) = x, case .string(let sy) = y {
            // Reached only for invalid dateTimes: compare as text.
            return sx < sy ? -1 : (sx == sy ? 0 : 1)
        }
        let tx = JSONSerializer.string(x), ty = JSONSerializer.string(y)
        return tx < ty ? -1 : (tx == ty ? 0 : 1)
    }
}

// MARK: - Normalization

struct Normalizer {
    let resourceType: SCIMResourceType

    init(resourceType: SCIMResourceType) {
        self.resourceType = resourceType
    }

    mutating func normalize(_ resource: JSONObject) throws(SCIMError) -> JSONObject {
        var schemas: [String]? = nil
        for (key, value) in resource where key.caseInsensitiveEquals("schemas") {
            schemas = try Self.schemaURNs(value)
        }
        let dropped = SCIMResource.droppedAttributeNames(resourceType)
        var result = JSONObject()
        var extensionKeys: [String] = []
        var folded: [(AttributePath, JSONValue)] = []
        // Folded names: a set rather than comparing each key with every earlier one.
        var seen: Set<String> = []

        for (key, value) in resource {
            if key.caseInsensitiveEquals("schemas") || dropped.contains(where: { $0.caseInsensitiveEquals(key) }) { continue }
            guard seen.insert(SCIMSchemas.foldedName(key)).inserted else {
                throw SCIMError.invalidSyntax("attribute \"\(key)\" appears more than once (attribute names are case-insensitive)")
            }
            if let definition = SCIMSchemas.topLevelDefinition(named: key, resourceType: resourceType) {
                if let v = try Self.coerce(value, to: definition, path: definition.name) { result[definition.name] = v }
                continue
            }
            if PathSyntax.hasURNPrefix(key) {
                if case .object(let ext) = value,
                    PathSyntax.isExtensionMember(key, value, schemas: schemas ?? [], resource: resource, resourceType: resourceType)
                {
                    let canonical = canonicalExtensionKey(key)
                    if let normalized = try normalizeExtension(ext, urn: canonical) {
                        result[canonical] = .object(normalized)
                        extensionKeys.append(canonical)
                    }
                    continue
                }
                if let path = try? AttributePath.parse(key), path.schemaURN != nil, path.valueFilter == nil {
                    folded.append((path, value))
                    continue
                }
            }
            if let v = Self.stripUnassigned(value) { result[key] = v }
        }

        for (path, value) in folded {
            try fold(value, at: path, into: &result, extensionKeys: &extensionKeys)
        }

        try checkRequired(result)

        var schemaList = schemas ?? []
        let core = resourceType.coreSchemaURN
        if !schemaList.contains(where: { $0.caseInsensitiveEquals(core) }) { schemaList.insert(core, at: 0) }
        for key in extensionKeys where !schemaList.contains(where: { $0.caseInsensitiveEquals(key) }) {
            schemaList.append(key)
        }
        var output = JSONObject()
        output["schemas"] = .array(schemaList.map { .string($0) })
        for (k, v) in result { output[k] = v }
        return output
    }

    /// The enterprise URN in its schema spelling; other URNs as the client wrote them.
    func canonicalExtensionKey(_ key: String) -> String {
        for urn in SCIMSchemas.extensionURNs(resourceType) where urn.caseInsensitiveEquals(key) { return urn }
        return key
    }

    func normalizeExtension(_ ext: JSONObject, urn: String) throws(SCIMError) -> JSONObject? {
        let normalized: JSONObject
        if let definitions = SCIMSchemas.extensionAttributes(urn, resourceType: resourceType) {
            normalized = try Self.normalizeObject(ext, definitions: definitions, path: urn)
        } else {
            normalized = Self.stripUnassigned(.object(ext))?.objectValue ?? JSONObject()
        }
        return normalized.isEmpty ? nil : normalized
    }

    /// Moves a top-level `urn:…:attribute[.sub]` key into place.
    func fold(_ value: JSONValue, at path: AttributePath, into result: inout JSONObject, extensionKeys: inout [String]) throws(SCIMError) {
        guard let urn = path.schemaURN else { return }
        if urn.caseInsensitiveEquals(resourceType.coreSchemaURN) {
            let definition = SCIMSchemas.topLevelDefinition(named: path.attribute, resourceType: resourceType)
            if let d = definition, SCIMResource.droppedAttributeNames(resourceType).contains(d.name) { return }
            try Self.set(value, attribute: path.attribute, sub: path.subAttribute, definition: definition, in: &result, path: path.description)
            return
        }
        let key = result.storedKey(caseInsensitive: urn) ?? canonicalExtensionKey(urn)
        var ext = result[key]?.objectValue ?? JSONObject()
        let definition = SCIMSchemas.extensionAttributes(urn, resourceType: resourceType).flatMap { SCIMSchemas.lookup(path.attribute, in: $0) }
        try Self.set(value, attribute: path.attribute, sub: path.subAttribute, definition: definition, in: &ext, path: path.description)
        if !ext.isEmpty {
            result[key] = .object(ext)
            if !extensionKeys.contains(where: { $0.caseInsensitiveEquals(key) }) { extensionKeys.append(key) }
        }
    }

    /// Sets `attribute[.sub]` in `object` to `value` coerced by `definition`.
    static func set(
        _ value: JSONValue, attribute: String, sub: String?, definition: AttributeDefinition?, in object: inout JSONObject, path: String
    ) throws(SCIMError) {
        let name = object.storedKey(caseInsensitive: attribute) ?? definition?.name ?? attribute
        guard let sub else {
            object[name] = try coerceOrStrip(value, definition, path: path)
            return
        }
        var parent = object[name]?.objectValue ?? JSONObject()
        let subDefinition = definition?.subAttribute(named: sub)
        let subName = parent.storedKey(caseInsensitive: sub) ?? subDefinition?.name ?? sub
        parent[subName] = try coerceOrStrip(value, subDefinition, path: path)
        object[name] = parent.isEmpty ? nil : .object(parent)
    }

    static func coerceOrStrip(_ value: JSONValue, _ definition: AttributeDefinition?, path: String) throws(SCIMError) -> JSONValue? {
        if let definition { return try coerce(value, to: definition, path: path) }
        return stripUnassigned(value)
    }

    func checkRequired(_ result: JSONObject) throws(SCIMError) {
        let (name, section) = resourceType == .user ? ("userName", "RFC 7643 §4.1.1") : ("displayName", "RFC 7643 §4.2")
        guard let value = result[name] else {
            throw SCIMError.invalidValue("\(name) is required for a \(resourceType.rawValue) (\(section))")
        }
        guard case .string(let s) = value, !s.isEmpty else {
            throw SCIMError.invalidValue("\(name) must be a non-empty string (\(section))")
        }
    }

    static func schemaURNs(_ value: JSONValue) throws(SCIMError) -> [String] {
        let elements: [JSONValue]
        switch value {
        case .null: return []
        case .string: elements = [value]
        case .array(let a): elements = a
        default: throw SCIMError.invalidValue("schemas must be an array of schema URIs, not \(value.typeName)")
        }
        var out: [String] = []
        for e in elements {
            guard case .string(let s) = e else {
                throw SCIMError.invalidValue("schemas must contain only URI strings, found \(e.typeName)")
            }
            if !out.contains(where: { $0.caseInsensitiveEquals(s) }) { out.append(s) }
        }
        return out
    }

    /// Drops null, `[]` and `{}` (unassigned, RFC 7643 §2.5) at every depth; keeps the rest as is.
    static func stripUnassigned(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null: return nil
        case .array(let a):
            var out: [JSONValue] = []
            for e in a { if let s = stripUnassigned(e) { out.append(s) } }
            return out.isEmpty ? nil : .array(out)
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o { if let s = stripUnassigned(v) { out[k] = s } }
            return out.isEmpty ? nil : .object(out)
        default:
            return value
        }
    }

    /// Normalizes the members of a complex value or extension object against `definitions`.
    static func normalizeObject(_ object: JSONObject, definitions: [AttributeDefinition], path: String) throws(SCIMError) -> JSONObject {
        var out = JSONObject()
        var seen: Set<String> = []
        for (key, value) in object {
            guard seen.insert(SCIMSchemas.foldedName(key)).inserted else {
                throw SCIMError.invalidSyntax("attribute \"\(path).\(key)\" appears more than once (attribute names are case-insensitive)")
            }
            if let definition = SCIMSchemas.lookup(key, in: definitions) {
                if let v = try coerce(value, to: definition, path: "\(path).\(definition.name)") { out[definition.name] = v }
            } else if let v = stripUnassigned(value) {
                out[key] = v
            }
        }
        return out
    }

    /// Coerces a value to an attribute's type (see ``SCIMResource/prepareForStorage(_:resourceType:)``);
    /// `nil` when it is unassigned. Throws `invalidValue` naming `path` when it cannot.
    static func coerce(_ value: JSONValue, to definition: AttributeDefinition, path: String) throws(SCIMError) -> JSONValue? {
        if value.isNull { return nil }
        if definition.multiValued {
            let elements = value.arrayValue ?? [value]
            var out: [JSONValue] = []
            for e in elements {
                if let c = try coerceSingle(e, to: definition, path: path) { out.append(c) }
            }
            return out.isEmpty ? nil : .array(out)
        }
        if case .array(let a) = value {
            let assigned = a.filter { !$0.isNull }
            if assigned.isEmpty { return nil }
            if assigned.count == 1 { return try coerceSingle(assigned[0], to: definition, path: path) }
            throw SCIMError.invalidValue("\(path) is single-valued but was given \(assigned.count) values")
        }
        return try coerceSingle(value, to: definition, path: path)
    }

    static func coerceSingle(_ value: JSONValue, to definition: AttributeDefinition, path: String) throws(SCIMError) -> JSONValue? {
        func wrongType(_ expected: String) -> SCIMError {
            .invalidValue("\(path) must be \(expected), not \(JSONSerializer.string(value).prefix(100))")
        }
        switch (definition.type, value) {
        case (_, .null):
            return nil
        case (.complex, .object(let o)):
            let n = try normalizeObject(o, definitions: definition.subAttributes, path: path)
            return n.isEmpty ? nil : .object(n)
        case (.complex, .string), (.complex, .int), (.complex, .double), (.complex, .bool):
            guard let valueDefinition = definition.subAttribute(named: "value") else { throw wrongType("an object") }
            return try coerceSingle(value, to: valueDefinition, path: path + ".value").map { .object(["value": $0]) }
        case (.complex, _):
            throw wrongType("an object")
        case (.boolean, .bool):
            return value
        case (.boolean, .string(let s)):
            if s.caseInsensitiveEquals("true") { return .bool(true) }
            if s.caseInsensitiveEquals("false") { return .bool(false) }
            throw wrongType("a boolean (true or false)")
        case (.boolean, _):
            throw wrongType("a boolean (true or false)")
        case (.integer, .int):
            return value
        case (.integer, .double), (.integer, .string):
            if let i = value.intValue { return .int(i) }
            if case .string(let s) = value, let i = Int(s) { return .int(i) }
            throw wrongType("an integer")
        case (.integer, _):
            throw wrongType("an integer")
        case (.decimal, .int), (.decimal, .double):
            return value
        case (.decimal, .string(let s)):
            if let d = Double(s), d.isFinite { return .double(d) }
            throw wrongType("a number")
        case (.decimal, _):
            throw wrongType("a number")
        case (.dateTime, .string(let s)):
            if SCIMDateTime(s) != nil { return value }
            throw wrongType("a dateTime such as 2011-05-13T04:42:34Z")
        case (.dateTime, _):
            throw wrongType("a dateTime string")
        case (_, .string):
            return value
        case (_, .int), (_, .double), (_, .bool):
            // A string attribute given a scalar (`"employeeNumber": 480212`): keep its JSON text.
            return .string(JSONSerializer.string(value))
        case (_, .object), (_, .array):
            throw wrongType("a string")
        }
    }
}

// MARK: - Projection

struct Projector {
    let resourceType: SCIMResourceType
    let schemas: [String]

    /// What a path designates within one top-level member.
    enum Target {
        case whole
        case sub(String)
        /// A path inside an extension object, relative to it.
        case inner(AttributePath)
    }

    func isExtensionKey(_ key: String, _ value: JSONValue) -> Bool {
        guard value.objectValue != nil, PathSyntax.hasURNPrefix(key) else { return false }
        return PathSyntax.isWholeSchemaURN(key) || schemas.contains { $0.caseInsensitiveEquals(key) }
    }

    func target(of path: AttributePath, key: String, value: JSONValue) -> Target? {
        if isExtensionKey(key, value) {
            if path.isExtensionURN, path.attribute.caseInsensitiveEquals(key) { return .whole }
            if let urn = path.schemaURN, urn.caseInsensitiveEquals(key) {
                return .inner(AttributePath(attribute: path.attribute, subAttribute: path.subAttribute))
            }
            return nil
        }
        if path.schemaURN == nil || path.schemaURN!.caseInsensitiveEquals(resourceType.coreSchemaURN),
            path.attribute.caseInsensitiveEquals(key)
        {
            return path.subAttribute.map { .sub($0) } ?? .whole
        }
        if let urn = path.schemaURN, (urn + ":" + path.attribute).caseInsensitiveEquals(key) {
            return path.subAttribute.map { .sub($0) } ?? .whole
        }
        return nil
    }

    func project(_ resource: JSONObject, attributes: [AttributePath], excludedAttributes: [AttributePath]) -> JSONObject {
        var out = JSONObject()
        for (key, value) in resource {
            if key.caseInsensitiveEquals("password") { continue }
            if key.caseInsensitiveEquals("schemas") || key.caseInsensitiveEquals("id") {
                out[key] = value
                continue
            }
            var kept: JSONValue? = value
            if !attributes.isEmpty {
                kept = include(value, targets: attributes.compactMap { target(of: $0, key: key, value: value) })
            }
            if let current = kept, !excludedAttributes.isEmpty {
                kept = exclude(current, targets: excludedAttributes.compactMap { target(of: $0, key: key, value: value) })
            }
            if let kept { out[key] = kept }
        }
        return out
    }

    func include(_ value: JSONValue, targets: [Target]) -> JSONValue? {
        if targets.isEmpty { return nil }
        var subs: [String] = []
        var inner: [AttributePath] = []
        for t in targets {
            switch t {
            case .whole: return value
            case .sub(let s): subs.append(s)
            case .inner(let p): inner.append(p)
            }
        }
        if !inner.isEmpty, case .object(let ext) = value {
            let projected = Projector(resourceType: resourceType, schemas: []).projectInner(ext, attributes: inner)
            return projected.isEmpty ? nil : .object(projected)
        }
        return mapComplex(value) { o in
            var kept = JSONObject()
            for (k, v) in o where subs.contains(where: { $0.caseInsensitiveEquals(k) }) { kept[k] = v }
            return kept
        }
    }

    func exclude(_ value: JSONValue, targets: [Target]) -> JSONValue? {
        if targets.isEmpty { return value }
        var subs: [String] = []
        var inner: [AttributePath] = []
        for t in targets {
            switch t {
            case .whole: return nil
            case .sub(let s): subs.append(s)
            case .inner(let p): inner.append(p)
            }
        }
        var current = value
        if !inner.isEmpty, case .object(var ext) = current {
            for (k, v) in ext {
                let relevant = inner.filter { $0.attribute.caseInsensitiveEquals(k) }
                if relevant.isEmpty { continue }
                ext[k] = exclude(v, targets: relevant.map { $0.subAttribute.map(Target.sub) ?? .whole })
            }
            if ext.isEmpty { return nil }
            current = .object(ext)
        }
        if subs.isEmpty { return current }
        func removeSubs(_ o: JSONObject) -> JSONObject {
            var kept = o
            kept.removeAll { k, _ in subs.contains(where: { $0.caseInsensitiveEquals(k) }) }
            return kept
        }
        switch current {
        case .object(let o):
            let kept = removeSubs(o)
            return kept.isEmpty ? nil : .object(kept)
        case .array(let elements):
            var out: [JSONValue] = []
            for e in elements {
                guard case .object(let o) = e else {
                    out.append(e)
                    continue
                }
                let kept = removeSubs(o)
                if !kept.isEmpty { out.append(.object(kept)) }
            }
            return out.isEmpty ? nil : .array(out)
        default:
            // A simple value has no sub-attributes to exclude.
            return current
        }
    }

    /// Inclusion inside an extension object, where paths are relative to it.
    func projectInner(_ ext: JSONObject, attributes: [AttributePath]) -> JSONObject {
        var out = JSONObject()
        for (k, v) in ext {
            let relevant = attributes.filter { $0.attribute.caseInsensitiveEquals(k) }
            if let kept = include(v, targets: relevant.map { $0.subAttribute.map(Target.sub) ?? .whole }) { out[k] = kept }
        }
        return out
    }

    /// Applies `transform` to a complex value or to each complex value of a multi-valued one,
    /// dropping what becomes empty. Simple values have no sub-attributes, so nothing is kept.
    func mapComplex(_ value: JSONValue, _ transform: (JSONObject) -> JSONObject) -> JSONValue? {
        switch value {
        case .object(let o):
            let t = transform(o)
            return t.isEmpty ? nil : .object(t)
        case .array(let elements):
            var out: [JSONValue] = []
            for e in elements {
                if case .object(let o) = e {
                    let t = transform(o)
                    if !t.isEmpty { out.append(.object(t)) }
                }
            }
            return out.isEmpty ? nil : .array(out)
        default:
            return nil
        }
    }
}
