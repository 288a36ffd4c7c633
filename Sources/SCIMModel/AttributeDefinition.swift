import SCIMJSON

/// One attribute of a SCIM schema, with the characteristics of RFC 7643 §2.2 and §7.
///
/// scimd uses these to coerce and validate values (`type`), to compare strings in filters and
/// sorting (`caseExact`), to refuse PATCHes of read-only attributes (`mutability`), to shape
/// responses (`returned`), and to serve `/Schemas` (``document``).
public struct AttributeDefinition: Sendable, Hashable {
    /// RFC 7643 §2.3 data types.
    public enum DataType: String, Sendable, Hashable {
        case string, boolean, decimal, integer, dateTime, reference, complex, binary
    }

    /// RFC 7643 §7 `mutability`.
    public enum Mutability: String, Sendable, Hashable {
        case readOnly, readWrite, immutable, writeOnly
    }

    /// RFC 7643 §7 `returned`.
    public enum Returned: String, Sendable, Hashable {
        case always, never, `default`, request
    }

    /// RFC 7643 §7 `uniqueness`.
    public enum Uniqueness: String, Sendable, Hashable {
        case none, server, global
    }

    /// The attribute name, in its schema spelling (lookups ignore case).
    public var name: String
    /// The data type (RFC 7643 §2.3).
    public var type: DataType
    /// Whether the value is an array of values (RFC 7643 §2.4).
    public var multiValued: Bool
    /// Human-readable description served at `/Schemas`.
    public var description: String
    /// Whether a resource must have a value for it (scimd enforces this for `userName` and Group `displayName`).
    public var required: Bool
    /// Whether string comparisons (filters, sorting) respect case.
    public var caseExact: Bool
    /// Suggested values, e.g. `work`/`home` for `emails.type` (advisory, not enforced).
    public var canonicalValues: [String]
    /// For `reference` attributes: `User`, `Group`, `external`, `uri` (RFC 7643 §7).
    public var referenceTypes: [String]
    /// Whether and when clients may change it; PATCH refuses `readOnly` paths.
    public var mutability: Mutability
    /// When it appears in responses; `never` attributes are never output.
    public var returned: Returned
    /// The uniqueness the service provider enforces (the service checks `userName`).
    public var uniqueness: Uniqueness
    /// Sub-attributes of a `complex` attribute (never complex themselves, RFC 7643 §2.3.8).
    public var subAttributes: [AttributeDefinition]

    /// Creates a definition; the defaults are RFC 7643 §2.2's (`readWrite`, `default`, `none`, not required, not caseExact).
    public init(
        name: String, type: DataType, multiValued: Bool = false, description: String = "",
        required: Bool = false, caseExact: Bool = false, canonicalValues: [String] = [],
        referenceTypes: [String] = [], mutability: Mutability = .readWrite, returned: Returned = .default,
        uniqueness: Uniqueness = .none, subAttributes: [AttributeDefinition] = []
    ) {
        self.name = name
        self.type = type
        self.multiValued = multiValued
        self.description = description
        self.required = required
        self.caseExact = caseExact
        self.canonicalValues = canonicalValues
        self.referenceTypes = referenceTypes
        self.mutability = mutability
        self.returned = returned
        self.uniqueness = uniqueness
        self.subAttributes = subAttributes
    }

    /// The sub-attribute with this name, ignoring case (RFC 7643 §2.1).
    public func subAttribute(named name: String) -> AttributeDefinition? {
        subAttributes.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// The RFC 7643 §7 attribute representation served at `/Schemas`: `name`, `type`,
    /// `multiValued`, `description`, `required`, `caseExact` (string-like types), `canonicalValues`
    /// and `referenceTypes` when set, `mutability`, `returned`, `uniqueness` (simple types) and
    /// `subAttributes` (complex).
    public var document: JSONValue {
        var o: JSONObject = [
            "name": .string(name), "type": .string(type.rawValue), "multiValued": .bool(multiValued),
            "description": .string(description), "required": .bool(required),
        ]
        if type != .complex && type != .boolean && type != .integer && type != .decimal {
            o["caseExact"] = .bool(caseExact)
        }
        if !canonicalValues.isEmpty { o["canonicalValues"] = .array(canonicalValues.map { .string($0) }) }
        if type == .reference { o["referenceTypes"] = .array(referenceTypes.map { .string($0) }) }
        o["mutability"] = .string(mutability.rawValue)
        o["returned"] = .string(returned.rawValue)
        if type != .complex { o["uniqueness"] = .string(uniqueness.rawValue) }
        if type == .complex { o["subAttributes"] = .array(subAttributes.map(\.document)) }
        return .object(o)
    }
}
