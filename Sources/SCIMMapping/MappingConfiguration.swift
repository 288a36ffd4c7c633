import SCIMJSON
import SCIMModel

/// One application property and where to find it in a raw SCIM resource.
///
/// ## JSON shape
///
/// ```json
/// {"name": "group",
///  "type": "string",
///  "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group",
///  "fallbackPaths": ["group"],
///  "default": null,
///  "warnIfMissing": true,
///  "description": "Team the user belongs to"}
/// ```
///
/// The type's members are flattened into the property: an enum property has
/// `"type": "enum", "options": ["red", "green"]`, a list property `"type": "list", "of": "string"`
/// or `"of": {"type": "enum", "options": [...]}` (see ``PropertyType``). `"type"` may also be
/// given as a full type object (`"type": {"type": "enum", "options": [...]}`) when decoding.
///
/// Required when decoding: `name`, `type`, `path`. Optional: `fallbackPaths` (default `[]`),
/// `default` (absent or `null` = no default), `warnIfMissing` (default `false`), `description`.
/// Encoding always writes `fallbackPaths`, `default` (as `null` when unset) and `warnIfMissing`,
/// and writes `description` only when set.
public struct MappingProperty: Sendable, Hashable, Codable {
    /// The application's name for the property; the key in ``MappingResult/properties``.
    /// Non-empty and unique (ignoring case) within a ``Mapping``.
    public var name: String
    /// What the found value is coerced to.
    public var type: PropertyType
    /// The SCIM attribute path tried first (RFC 7644 §3.10 syntax, e.g. `emails[primary eq true].value`
    /// or `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`).
    public var path: String
    /// Paths tried, in order, when ``path`` yields nothing.
    public var fallbackPaths: [String]
    /// Value used when no path yields a value (or the value found could not be coerced).
    /// Must be coercible to ``type``. `nil` = no default.
    public var `default`: JSONValue?
    /// Whether a missing value (and no default) is reported as a ``PropertyIssue``.
    public var warnIfMissing: Bool
    /// Free text for operators.
    public var description: String?

    /// Creates a property; by default a string with no fallbacks, no default, no warning.
    public init(
        name: String, type: PropertyType = .string, path: String, fallbackPaths: [String] = [],
        default: JSONValue? = nil, warnIfMissing: Bool = false, description: String? = nil
    ) {
        self.name = name
        self.type = type
        self.path = path
        self.fallbackPaths = fallbackPaths
        self.default = `default`
        self.warnIfMissing = warnIfMissing
        self.description = description
    }

    /// ``path`` followed by ``fallbackPaths``: every path in the order it is tried.
    public var allPaths: [String] { [path] + fallbackPaths }

    private enum CodingKeys: String, CodingKey {
        case name, type, options, of, path, fallbackPaths, `default`, warnIfMissing, description
    }

    /// Decodes the shape described on the type. Throws `DecodingError` for a missing `name`,
    /// `type` or `path`, an unknown type name, or `enum`/`list` without `options`/`of`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        type = try PropertyType(container: c, typeKey: .type, optionsKey: .options, ofKey: .of)
        path = try c.decode(String.self, forKey: .path)
        fallbackPaths = try c.decodeIfPresent([String].self, forKey: .fallbackPaths) ?? []
        let def = try c.decodeIfPresent(JSONValue.self, forKey: .default)
        self.default = (def?.isNull ?? true) ? nil : def
        warnIfMissing = try c.decodeIfPresent(Bool.self, forKey: .warnIfMissing) ?? false
        description = try c.decodeIfPresent(String.self, forKey: .description)
    }

    /// Encodes the shape described on the type (type members flattened).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try type.encode(into: &c, typeKey: .type, optionsKey: .options, ofKey: .of)
        try c.encode(path, forKey: .path)
        try c.encode(fallbackPaths, forKey: .fallbackPaths)
        try c.encode(self.default ?? .null, forKey: .default)
        try c.encode(warnIfMissing, forKey: .warnIfMissing)
        try c.encodeIfPresent(description, forKey: .description)
    }

    /// Hashes consistently with `==` (a `default` of `1` and `1.0` hash alike).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(type)
        hasher.combine(path)
        hasher.combine(fallbackPaths)
        hashJSON(self.default, into: &hasher)
        hasher.combine(warnIfMissing)
        hasher.combine(description)
    }
}

/// The properties mapped for one resource type. JSON: `{"properties": [<MappingProperty>...]}`.
public struct Mapping: Sendable, Hashable, Codable {
    /// In evaluation and output order.
    public var properties: [MappingProperty]

    /// Creates a mapping of `properties`, in order.
    public init(properties: [MappingProperty]) {
        self.properties = properties
    }

    /// The property named `name` (exact match first, then ignoring case).
    public func property(named name: String) -> MappingProperty? {
        properties.first { $0.name == name } ?? properties.first { $0.name.caseInsensitiveEquals(name) }
    }
}

/// A connection's mapping configuration. JSON: `{"users": <Mapping>, "groups": <Mapping>}`
/// (both required).
public struct MappingConfiguration: Sendable, Hashable, Codable {
    /// Applied to `/Users` resources.
    public var users: Mapping
    /// Applied to `/Groups` resources.
    public var groups: Mapping

    /// Creates a configuration from its two mappings.
    public init(users: Mapping, groups: Mapping) {
        self.users = users
        self.groups = groups
    }

    /// The mapping for `resourceType`.
    public func mapping(for resourceType: SCIMResourceType) -> Mapping {
        switch resourceType {
        case .user: return users
        case .group: return groups
        }
    }

    /// The configuration a new connection starts with.
    ///
    /// Users:
    /// - `userName` (string, `userName`, warns) — required by SCIM, so a warning means a broken client.
    /// - `email` (string, warns): `emails[primary eq true].value`, then `emails[type eq "work"].value`,
    ///   then `emails.value` (the first email of any kind). `userName` is deliberately *not* a fallback:
    ///   many IdPs send a non-email login there; an operator who knows it is an email can add it.
    /// - `givenName` (`name.givenName`), `familyName` (`name.familyName`).
    /// - `displayName`: `displayName`, then `name.formatted`.
    /// - `active` (boolean, `active`, default `true`: SCIM clients often omit it on create).
    /// - `externalId` (`externalId`).
    ///
    /// Groups: `displayName` (warns; required by SCIM) and `externalId`.
    public static let `default` = MappingConfiguration(
        users: Mapping(properties: [
            MappingProperty(
                name: "userName", type: .string, path: "userName", warnIfMissing: true,
                description: "The user's unique login at the identity provider."),
            MappingProperty(
                name: "email", type: .string, path: "emails[primary eq true].value",
                fallbackPaths: ["emails[type eq \"work\"].value", "emails.value"], warnIfMissing: true,
                description: "Primary email, else the work email, else the first email."),
            MappingProperty(
                name: "givenName", type: .string, path: "name.givenName",
                description: "First name."),
            MappingProperty(
                name: "familyName", type: .string, path: "name.familyName",
                description: "Last name."),
            MappingProperty(
                name: "displayName", type: .string, path: "displayName", fallbackPaths: ["name.formatted"],
                description: "Name to show; falls back to the formatted full name."),
            MappingProperty(
                name: "active", type: .boolean, path: "active", default: .bool(true),
                description: "Whether the user may sign in; true when the IdP does not say."),
            MappingProperty(
                name: "externalId", type: .string, path: "externalId",
                description: "The identity provider's own identifier for the user."),
        ]),
        groups: Mapping(properties: [
            MappingProperty(
                name: "displayName", type: .string, path: "displayName", warnIfMissing: true,
                description: "The group's name."),
            MappingProperty(
                name: "externalId", type: .string, path: "externalId",
                description: "The identity provider's own identifier for the group."),
        ])
    )
}
