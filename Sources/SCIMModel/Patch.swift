import SCIMJSON

/// RFC 7644 §3.5.2 PATCH operation names. Parsed case-insensitively: Entra sends `"Replace"`,
/// `"Add"`, `"Remove"`, others lower case.
public enum PatchOperationKind: String, Sendable, Hashable {
    case add, remove, replace
}

/// One element of a PatchOp `Operations` array.
public struct PatchOperation: Sendable, Equatable {
    /// `add`, `remove` or `replace`.
    public var op: PatchOperationKind
    /// `nil` for path-less add/replace, whose `value` is an object of attributes (RFC 7644 §3.5.2.1).
    public var path: AttributePath?
    /// Required for add and replace (`.null` means "unassign" for replace); optional for remove,
    /// where a value array names the values of a multi-valued attribute to remove.
    public var value: JSONValue?

    /// Creates an operation (``PatchRequest/parse(_:maximumOperations:)`` builds them from a body).
    public init(op: PatchOperationKind, path: AttributePath? = nil, value: JSONValue? = nil) {
        self.op = op
        self.path = path
        self.value = value
    }
}

/// A parsed RFC 7644 §3.5.2 PatchOp request body.
public struct PatchRequest: Sendable, Equatable {
    /// The operations, applied in order.
    public var operations: [PatchOperation]

    /// Creates a request from operations.
    public init(operations: [PatchOperation]) {
        self.operations = operations
    }

    /// Parses a PatchOp body:
    /// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"…","value":…}]}`.
    ///
    /// Member names are matched ignoring case (`operations`, `Op`, `Path`, `Value`), op names
    /// too; `schemas` is not required because some clients omit it, and the operations say
    /// what the body is. A `path` of `null` or `""` counts as absent.
    ///
    /// Throws `SCIMError`:
    /// - `invalidSyntax` if the body is not an object, has no non-empty `Operations` array, an
    ///   operation is not an object, its `op` is missing or not `add`/`remove`/`replace`, or an
    ///   add/replace has no `value`;
    /// - `invalidPath` if a `path` is not a string or not a valid path (``AttributePath/parse(_:)``);
    /// - `tooMany` if there are more than `maximumOperations` operations.
    public static func parse(_ body: JSONValue, maximumOperations: Int = 1_000) throws(SCIMError) -> PatchRequest {
        guard case .object(let object) = body else {
            throw SCIMError.invalidSyntax("a PATCH body must be a JSON object with an \"Operations\" array (RFC 7644 §3.5.2), not \(body.typeName)")
        }
        guard let operationsValue = object[caseInsensitive: "Operations"] else {
            throw SCIMError.invalidSyntax("the PATCH body has no \"Operations\" array (RFC 7644 §3.5.2)")
        }
        guard case .array(let elements) = operationsValue else {
            throw SCIMError.invalidSyntax("\"Operations\" must be an array, not \(operationsValue.typeName)")
        }
        if elements.isEmpty { throw SCIMError.invalidSyntax("\"Operations\" must contain at least one operation (RFC 7644 §3.5.2)") }
        if elements.count > maximumOperations {
            throw SCIMError.tooMany("the PATCH request has \(elements.count) operations; at most \(maximumOperations) are accepted")
        }
        var operations: [PatchOperation] = []
        operations.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            operations.append(try parseOperation(element, index: index))
        }
        return PatchRequest(operations: operations)
    }

    static func parseOperation(_ element: JSONValue, index: Int) throws(SCIMError) -> PatchOperation {
        let name = "Operations[\(index)]"
        guard case .object(let o) = element else {
            throw SCIMError.invalidSyntax("\(name) must be an object, not \(element.typeName)")
        }
        guard let opValue = o[caseInsensitive: "op"] else {
            throw SCIMError.invalidSyntax("\(name) has no \"op\" (add, remove or replace)")
        }
        guard case .string(let opText) = opValue, let kind = PatchOperationKind(rawValue: opText.lowercased()) else {
            throw SCIMError.invalidSyntax("\(name).op \(JSONSerializer.string(opValue)) is not add, remove or replace (RFC 7644 §3.5.2)")
        }
        var path: AttributePath? = nil
        switch o[caseInsensitive: "path"] {
        case nil, .null?:
            break
        case .string(let text)? where text.allSatisfy(\.isWhitespace):
            break
        case .string(let text)?:
            do { path = try AttributePath.parse(text) } catch {
                throw SCIMError.invalidPath("\(name).path: \(error.detail)")
            }
        case let other?:
            throw SCIMError.invalidPath("\(name).path must be a string, not \(other.typeName)")
        }
        let value = o[caseInsensitive: "value"]
        if kind != .remove, value == nil {
            throw SCIMError.invalidSyntax("\(name) (\(kind.rawValue)) has no \"value\" (RFC 7644 §3.5.2.\(kind == .add ? 1 : 3))")
        }
        return PatchOperation(op: kind, path: path, value: value)
    }
}

/// Applies PATCH requests (RFC 7644 §3.5.2) to resources in the stored form.
///
/// Besides the RFC, it implements what identity providers depend on:
/// - A value filter that matches nothing in an `add` or `replace`
///   (`emails[type eq "work"].value`) creates the value from the filter's `eq` terms
///   (`{"type":"work","value":…}`) instead of failing with `noTarget`: Entra sets a work email or
///   phone this way whether or not one exists. Filters that are not `eq` terms joined by `and`
///   still fail with `noTarget`.
/// - `remove` with a path to a multi-valued attribute and a `value` (Entra without
///   `aadOptscim062020`, OneLogin: `{"op":"Remove","path":"members","value":[{"value":"id"}]}`)
///   removes only the listed values (matched on `value`), not the whole attribute.
/// - A `remove` whose value filter matches nothing succeeds without change (a repeated member
///   removal is idempotent), where the RFC would allow `noTarget`.
/// - `add` of a value equal to an existing one (same `value`, and same `type` when both have
///   one) does not duplicate it, so re-adding a group member is a no-op.
/// - Path-less values may have attribute paths as keys (`"name.givenName"`, full extension
///   paths) and extension objects, which are merged; read-only attributes there (`id`, `meta`,
///   User `groups`) are ignored, like in PUT.
/// - Values are coerced like in ``SCIMResource/prepareForStorage(_:resourceType:)``
///   (`"False"` → `false`); `replace` with `null` unassigns.
/// Setting a value's `primary` to true sets it to false on the other values (RFC 7644 §3.5.2).
public enum PatchEngine {
    /// Applies every operation in order to a copy of `resource` (the stored form: no `id`/`meta`)
    /// and returns the result, normalized with ``SCIMResource/normalizeAttributes(_:resourceType:)``.
    /// A failure anywhere throws and nothing is applied (the request is atomic, RFC 7644 §3.5.2).
    ///
    /// Throws `SCIMError` (the detail names the operation):
    /// - `noTarget`: `remove` without a path (RFC 7644 §3.5.2.2); a value filter that matches
    ///   nothing and cannot be used to create a value;
    /// - `mutability`: a path to a readOnly attribute (`id`, `meta`, User `groups`);
    /// - `invalidPath`: a value filter on a single-valued attribute, a sub-attribute of a simple one;
    /// - `invalidValue`: a value of the wrong type (`"active": "sometimes"`), a missing value,
    ///   a path-less add/replace whose value is not an object, or a result missing `userName`
    ///   / `displayName`;
    /// - `invalidFilter`: a value filter that does not fit the schema.
    public static func apply(_ request: PatchRequest, to resource: JSONObject, resourceType: SCIMResourceType) throws(SCIMError) -> JSONObject {
        var applier = PatchApplier(resourceType: resourceType, resource: resource)
        for (index, operation) in request.operations.enumerated() {
            do {
                try applier.apply(operation)
            } catch {
                var e = error
                e.detail = "operation \(index + 1) (\(operation.op.rawValue)\(operation.path.map { " \($0)" } ?? "")): \(error.detail)"
                throw e
            }
        }
        return try SCIMResource.normalizeAttributes(applier.resource, resourceType: resourceType)
    }

    /// Whether two values of a multi-valued attribute are the same value: equal `value`
    /// sub-attributes (and equal `type` when both have one) for complex values, equality otherwise.
    /// This is how `add` finds an existing value and `remove` with a value finds its targets.
    public static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        PatchApplier.sameValue(a, b)
    }
}

struct PatchApplier {
    let resourceType: SCIMResourceType
    var resource: JSONObject

    mutating func apply(_ operation: PatchOperation) throws(SCIMError) {
        guard let path = operation.path else {
            switch operation.op {
            case .remove:
                throw SCIMError.noTarget("remove needs a \"path\" (RFC 7644 §3.5.2.2)")
            case .add, .replace:
                guard case .object(let members)? = operation.value else {
                    throw SCIMError.invalidValue("\(operation.op.rawValue) without a path needs an object of attributes as its value (RFC 7644 §3.5.2)")
                }
                for (key, value) in members { try applyPathless(operation.op, key: key, value: value) }
            }
            return
        }
        if let definition = SCIMSchemas.attributeDefinition(of: path, resourceType: resourceType), definition.mutability == .readOnly {
            throw SCIMError.mutability("\(definition.name) is readOnly and cannot be modified (RFC 7643 §7)")
        }
        if operation.op != .remove, operation.value == nil {
            throw SCIMError.invalidValue("\(operation.op.rawValue) needs a value")
        }
        try applyPath(operation.op, path, value: operation.value)
    }

    var schemaList: [String] { SCIMResource.schemaList(resource) }

    func isExtensionKey(_ key: String, _ value: JSONValue) -> Bool {
        if resource[caseInsensitive: key]?.objectValue != nil, value.objectValue != nil { return true }
        return PathSyntax.isExtensionMember(key, value, schemas: schemaList, resource: resource, resourceType: resourceType)
    }

    mutating func applyPathless(_ kind: PatchOperationKind, key: String, value: JSONValue) throws(SCIMError) {
        if key.caseInsensitiveEquals("schemas") {
            let urns = try Normalizer.schemaURNs(value)
            var list = kind == .replace ? [] : schemaList
            for u in urns where !list.contains(where: { $0.caseInsensitiveEquals(u) }) { list.append(u) }
            resource[caseInsensitive: "schemas"] = .array(list.map { .string($0) })
            return
        }
        if case .object(let members) = value, isExtensionKey(key, value) {
            try applyToExtension(kind, urn: key, members: members)
            return
        }
        guard let path = try? AttributePath.parse(key) else {
            // Not an attribute path (e.g. a name with spaces): keep it as the client sent it.
            resource[caseInsensitive: key] = Normalizer.stripUnassigned(value)
            return
        }
        if let definition = SCIMSchemas.attributeDefinition(of: path, resourceType: resourceType), definition.mutability == .readOnly {
            return
        }
        try applyPath(kind, path, value: value)
    }

    /// Applies each member of an extension object value as `URN:member`.
    mutating func applyToExtension(_ kind: PatchOperationKind, urn: String, members: JSONObject) throws(SCIMError) {
        if members.isEmpty {
            if kind == .add || kind == .replace { addSchema(urn) }
            return
        }
        for (name, memberValue) in members {
            if let (attribute, sub) = try? PathSyntax.splitDotted(name) {
                try applyPath(kind, AttributePath(schemaURN: urn, attribute: attribute, subAttribute: sub), value: memberValue)
            } else {
                let key = extensionKey(urn)
                var ext = resource[key]?.objectValue ?? JSONObject()
                ext[caseInsensitive: name] = Normalizer.stripUnassigned(memberValue)
                resource[key] = ext.isEmpty ? nil : .object(ext)
                addSchema(urn)
            }
        }
    }

    func extensionKey(_ urn: String) -> String {
        if let stored = resource.storedKey(caseInsensitive: urn) { return stored }
        for known in SCIMSchemas.extensionURNs(resourceType) where known.caseInsensitiveEquals(urn) { return known }
        return urn
    }

    mutating func addSchema(_ urn: String) {
        var list = schemaList
        if list.contains(where: { $0.caseInsensitiveEquals(urn) }) { return }
        if list.isEmpty { list.append(resourceType.coreSchemaURN) }
        list.append(urn)
        resource[caseInsensitive: "schemas"] = .array(list.map { .string($0) })
    }

    mutating func removeSchema(_ urn: String) {
        let list = schemaList.filter { !$0.caseInsensitiveEquals(urn) }
        if resource[caseInsensitive: "schemas"] != nil { resource[caseInsensitive: "schemas"] = .array(list.map { .string($0) }) }
    }

    mutating func applyPath(_ kind: PatchOperationKind, _ path: AttributePath, value: JSONValue?) throws(SCIMError) {
        if path.isExtensionURN {
            try applyWholeExtension(kind, urn: path.attribute, value: value)
            return
        }
        if let urn = path.schemaURN, !urn.caseInsensitiveEquals(resourceType.coreSchemaURN) {
            let key = extensionKey(urn)
            var ext: JSONObject
            switch resource[key] {
            case nil, .null?: ext = JSONObject()
            case .object(let o)?: ext = o
            case let other?:
                throw SCIMError.invalidValue("\(urn) holds \(other.typeName), not an extension object")
            }
            // A value an identity provider stored under a literal "URN:attribute" key is moved
            // into the extension object, so the operation sees it and no stale copy remains.
            if let literal = resource.storedKey(caseInsensitive: urn + ":" + path.attribute) {
                if ext[caseInsensitive: path.attribute] == nil, let v = resource[literal] { ext[path.attribute] = v }
                resource[literal] = nil
            }
            let definition = SCIMSchemas.extensionAttributes(urn, resourceType: resourceType).flatMap { SCIMSchemas.lookup(path.attribute, in: $0) }
            let scope = EvaluationScope(resourceType: resourceType, parent: definition, isNested: true)
            try Self.apply(kind, path, value: value, in: &ext, definition: definition, filterScope: scope)
            if ext.isEmpty {
                resource[key] = nil
            } else {
                resource[key] = .object(ext)
                addSchema(key)
            }
            return
        }
        let definition = SCIMSchemas.attributeDefinition(of: path, resourceType: resourceType)
        let scope = EvaluationScope.top(resourceType).nested(in: path)
        try Self.apply(kind, path, value: value, in: &resource, definition: definition, filterScope: scope)
    }

    mutating func applyWholeExtension(_ kind: PatchOperationKind, urn: String, value: JSONValue?) throws(SCIMError) {
        switch kind {
        case .remove:
            if let key = resource.storedKey(caseInsensitive: urn) { resource[key] = nil }
            resource.removeAll { k, _ in k.count > urn.count && String(k.prefix(urn.count + 1)).caseInsensitiveEquals(urn + ":") }
            removeSchema(urn)
        case .add, .replace:
            switch value {
            case .object(let members)?:
                try applyToExtension(kind, urn: urn, members: members)
            case .null? where kind == .replace:
                try applyWholeExtension(.remove, urn: urn, value: nil)
            case .null?:
                return
            default:
                throw SCIMError.invalidValue("the value for the extension \(urn) must be an object")
            }
        }
    }

    // MARK: Operations on one attribute of a container (the resource or an extension object)

    static func coerce(_ value: JSONValue, _ definition: AttributeDefinition?, path: String) throws(SCIMError) -> JSONValue? {
        try Normalizer.coerceOrStrip(value, definition, path: path)
    }

    /// Coerces one value of a multi-valued attribute.
    static func coerceElement(_ value: JSONValue, _ definition: AttributeDefinition?, path: String) throws(SCIMError) -> JSONValue? {
        if let definition { return try Normalizer.coerceSingle(value, to: definition, path: path) }
        return Normalizer.stripUnassigned(value)
    }

    static func apply(
        _ kind: PatchOperationKind, _ path: AttributePath, value: JSONValue?, in container: inout JSONObject,
        definition: AttributeDefinition?, filterScope: EvaluationScope
    ) throws(SCIMError) {
        let key = container.storedKey(caseInsensitive: path.attribute) ?? definition?.name ?? path.attribute
        let existing = container[key]
        if let filter = path.valueFilter {
            try applyFiltered(kind, path, filter: filter, value: value, key: key, in: &container, definition: definition, filterScope: filterScope)
            return
        }
        let isMultiValued = definition?.multiValued ?? (existing?.arrayValue != nil || (existing == nil && value?.arrayValue != nil))
        if let sub = path.subAttribute {
            try applySub(kind, path, sub: sub, value: value, key: key, isMultiValued: isMultiValued, in: &container, definition: definition)
            return
        }
        let name = path.attribute
        switch kind {
        case .remove:
            if let v = value, !v.isNull, isMultiValued, case .array(var elements)? = existing {
                // Entra/OneLogin: remove only the listed values, not the whole attribute.
                let targets = v.arrayValue ?? [v]
                elements.removeAll { e in targets.contains { sameValue($0, e) } }
                container[key] = elements.isEmpty ? nil : .array(elements)
            } else {
                container[key] = nil
            }
        case .add:
            guard let v = value, !v.isNull else { return }
            if isMultiValued {
                let added = try coerce(v, definition, path: name)?.arrayValue ?? (Normalizer.stripUnassigned(v).map { $0.arrayValue ?? [$0] } ?? [])
                var elements = existing?.arrayValue ?? existing.map { [$0] } ?? []
                var touched: [Int] = []
                for n in added {
                    if let i = elements.firstIndex(where: { sameValue(n, $0) }) {
                        if case .object(var merged) = elements[i], case .object(let o) = n {
                            for (k, sv) in o { merged[caseInsensitive: k] = sv }
                            elements[i] = .object(merged)
                        }
                        touched.append(i)
                    } else {
                        elements.append(n)
                        touched.append(elements.count - 1)
                    }
                }
                enforceSinglePrimary(&elements, preferring: touched)
                container[key] = elements.isEmpty ? nil : .array(elements)
            } else {
                container[key] = try mergedOrReplaced(v, existing: existing, definition: definition, path: name)
            }
        case .replace:
            guard let v = value, !v.isNull else {
                container[key] = nil
                return
            }
            if isMultiValued {
                var elements = try coerce(v, definition, path: name)?.arrayValue ?? []
                if definition == nil, elements.isEmpty, let stripped = Normalizer.stripUnassigned(v) { elements = stripped.arrayValue ?? [stripped] }
                container[key] = elements.isEmpty ? nil : .array(elements)
            } else {
                container[key] = try mergedOrReplaced(v, existing: existing, definition: definition, path: name)
            }
        }
    }

    /// add/replace on a single-valued attribute: a complex value's sub-attributes are merged
    /// into the existing ones (RFC 7644 §3.5.2.1, §3.5.2.3); anything else replaces it.
    static func mergedOrReplaced(_ value: JSONValue, existing: JSONValue?, definition: AttributeDefinition?, path: String) throws(SCIMError) -> JSONValue? {
        let coerced = try coerce(value, definition, path: path)
        guard case .object(let new)? = coerced, case .object(var merged)? = existing,
            definition == nil || definition?.type == .complex
        else { return coerced }
        for (k, v) in new { merged[caseInsensitive: k] = v }
        return .object(merged)
    }

    static func applySub(
        _ kind: PatchOperationKind, _ path: AttributePath, sub: String, value: JSONValue?, key: String, isMultiValued: Bool,
        in container: inout JSONObject, definition: AttributeDefinition?
    ) throws(SCIMError) {
        if let definition, definition.type != .complex {
            throw SCIMError.invalidPath("\(definition.name) is not a complex attribute, so it has no sub-attribute \"\(sub)\"")
        }
        let subDefinition = definition?.subAttribute(named: sub)
        let subName = subDefinition?.name ?? sub
        let coerced: JSONValue?
        if kind == .remove { coerced = nil } else if let value { coerced = try coerce(value, subDefinition, path: "\(path.attribute).\(subName)") } else { coerced = nil }
        if kind == .add, coerced == nil { return }
        let existing = container[key]
        if isMultiValued || existing?.arrayValue != nil {
            var elements = existing?.arrayValue ?? (existing.map { [$0] } ?? [])
            if elements.isEmpty {
                if let coerced { elements = [.object([subName: coerced])] }
            } else {
                for i in elements.indices {
                    guard case .object(var o) = elements[i] else { continue }
                    o[caseInsensitive: sub] = coerced
                    elements[i] = .object(o)
                }
            }
            elements.removeAll { $0.objectValue?.isEmpty == true }
            container[key] = elements.isEmpty ? nil : .array(elements)
            return
        }
        var parent: JSONObject
        switch existing {
        case nil, .null?: parent = JSONObject()
        case .object(let o)?: parent = o
        case let other?:
            throw SCIMError.invalidPath("\(path.attribute) holds \(other.typeName), so it has no sub-attribute \"\(sub)\"")
        }
        if let stored = parent.storedKey(caseInsensitive: sub) {
            parent[stored] = coerced
        } else {
            parent[subName] = coerced
        }
        container[key] = parent.isEmpty ? nil : .object(parent)
    }

    static func applyFiltered(
        _ kind: PatchOperationKind, _ path: AttributePath, filter: Filter, value: JSONValue?, key: String,
        in container: inout JSONObject, definition: AttributeDefinition?, filterScope: EvaluationScope
    ) throws(SCIMError) {
        if let definition, !definition.multiValued {
            throw SCIMError.invalidPath("\(definition.name) is not multi-valued, so it cannot take a value filter")
        }
        try FilterEvaluator.validate(filter, scope: filterScope)
        let prepared = try PreparedNode(filter, scope: filterScope)
        let existing = container[key]
        var elements: [JSONValue]
        switch existing {
        case nil, .null?: elements = []
        case .array(let a)?: elements = a
        case let other?: elements = [other]
        }
        var matched: [Int] = []
        for (i, e) in elements.enumerated() {
            if case .object(let o) = e, prepared.matches(o) { matched.append(i) }
        }
        let subDefinition = path.subAttribute.flatMap { definition?.subAttribute(named: $0) }
        let elementPath = path.subAttribute.map { "\(path.attribute).\($0)" } ?? path.attribute

        switch kind {
        case .remove:
            if let sub = path.subAttribute {
                for i in matched {
                    guard case .object(var o) = elements[i] else { continue }
                    o[caseInsensitive: sub] = nil
                    elements[i] = .object(o)
                }
                elements.removeAll { $0.objectValue?.isEmpty == true }
            } else {
                for i in matched.reversed() { elements.remove(at: i) }
            }
        case .add, .replace:
            guard let value else { throw SCIMError.invalidValue("\(kind.rawValue) needs a value") }
            if let sub = path.subAttribute {
                let coerced = try coerce(value, subDefinition, path: elementPath)
                if matched.isEmpty {
                    guard let coerced else { return }
                    guard var element = equalityTemplate(filter) else { throw noMatch(path, filter) }
                    element[subDefinition?.name ?? sub] = coerced
                    try appendCreated(element, to: &elements, definition: definition, path: path)
                } else {
                    for i in matched {
                        guard case .object(var o) = elements[i] else { continue }
                        if let stored = o.storedKey(caseInsensitive: sub) { o[stored] = coerced } else { o[subDefinition?.name ?? sub] = coerced }
                        elements[i] = .object(o)
                    }
                    if sub.caseInsensitiveEquals("primary"), coerced == .bool(true) {
                        enforceSinglePrimary(&elements, preferring: matched)
                    }
                }
            } else {
                if value.isNull {
                    if kind == .replace { for i in matched.reversed() { elements.remove(at: i) } }
                    break
                }
                guard case .object = value, case .object(let new)? = try coerceElement(value, definition, path: elementPath) else {
                    throw SCIMError.invalidValue("the value for \(path) must be an object (a value of \(path.attribute))")
                }
                if matched.isEmpty {
                    guard var element = equalityTemplate(filter) else { throw noMatch(path, filter) }
                    for (k, v) in new { element[caseInsensitive: k] = v }
                    try appendCreated(element, to: &elements, definition: definition, path: path)
                } else {
                    for i in matched {
                        if kind == .replace {
                            elements[i] = .object(new)
                        } else if case .object(var o) = elements[i] {
                            for (k, v) in new { o[caseInsensitive: k] = v }
                            elements[i] = .object(o)
                        }
                    }
                    if new[caseInsensitive: "primary"] == .bool(true) { enforceSinglePrimary(&elements, preferring: matched) }
                }
            }
        }
        container[key] = elements.isEmpty ? nil : .array(elements)
    }

    static func noMatch(_ path: AttributePath, _ filter: Filter) -> SCIMError {
        .noTarget("no value of \(path.attribute) matches [\(filter)], and a value can only be created from 'eq' terms joined by 'and'")
    }

    static func appendCreated(_ element: JSONObject, to elements: inout [JSONValue], definition: AttributeDefinition?, path: AttributePath) throws(SCIMError) {
        guard let coerced = try coerceElement(.object(element), definition, path: path.attribute) else { return }
        elements.append(coerced)
        if coerced.objectValue?[caseInsensitive: "primary"] == .bool(true) {
            enforceSinglePrimary(&elements, preferring: [elements.count - 1])
        }
    }

    /// The value a filter of `eq` terms joined by `and` describes (`type eq "work"` →
    /// `{"type":"work"}`), or `nil` when it does not describe one.
    static func equalityTemplate(_ filter: Filter) -> JSONObject? {
        switch filter {
        case .compare(let p, .eq, let v) where p.schemaURN == nil && p.valueFilter == nil && p.subAttribute == nil && !v.isNull:
            return [p.attribute: v]
        case .and(let l, let r):
            guard var a = equalityTemplate(l), let b = equalityTemplate(r) else { return nil }
            for (k, v) in b {
                if let existing = a[caseInsensitive: k] {
                    guard existing == v else { return nil }
                } else {
                    a[k] = v
                }
            }
            return a
        default:
            return nil
        }
    }

    /// Whether two values of a multi-valued attribute are the same value: equal `value`
    /// sub-attributes (and equal `type` when both have one) for complex values, equality otherwise.
    static func sameValue(_ a: JSONValue, _ b: JSONValue) -> Bool {
        guard case .object(let x) = a, case .object(let y) = b else { return a == b }
        guard let vx = x[caseInsensitive: "value"], let vy = y[caseInsensitive: "value"] else { return x == y }
        guard vx == vy else { return false }
        if let tx = x[caseInsensitive: "type"]?.stringValue, let ty = y[caseInsensitive: "type"]?.stringValue {
            return tx.caseInsensitiveEquals(ty)
        }
        return true
    }

    /// RFC 7644 §3.5.2: setting a value's `primary` to true sets it to false on the others.
    /// The winner is the last of `preferring` that is primary; nothing changes otherwise.
    static func enforceSinglePrimary(_ elements: inout [JSONValue], preferring: [Int]) {
        let primaries = elements.indices.filter { elements[$0].objectValue?[caseInsensitive: "primary"] == .bool(true) }
        guard primaries.count > 1, let winner = preferring.last(where: { primaries.contains($0) }) else { return }
        for i in primaries where i != winner {
            guard case .object(var o) = elements[i] else { continue }
            o[caseInsensitive: "primary"] = .bool(false)
            elements[i] = .object(o)
        }
    }
}
