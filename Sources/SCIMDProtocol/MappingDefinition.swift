import SCIMJSON

// The mapping configuration as typed values, in the wire form the mapping engine (SCIMMapping's
// `Mapping`, `MappingProperty`, `RoleRules`) reads and writes. This module stays free of the
// engine, so the two are separate declarations of one shape: MappingDefinitionTests round-trips
// the default mapping and every form the engine accepts through both, and fails when they part.
// The OpenRPC document derives the schema of `users`, `groups` and `roles` from these types.

/// The properties mapped for one resource type: `{"properties": [<MappingPropertyDefinition>, …]}`.
public struct MappingDefinition: Codable, Sendable, Equatable, JSONSchemaDocumented {
    /// In evaluation and output order; names unique ignoring case.
    public var properties: [MappingPropertyDefinition]
    public init(properties: [MappingPropertyDefinition]) { self.properties = properties }

    public static var fieldDocs: [String: FieldDoc] {
        ["properties": FieldDoc("The application properties, in evaluation and output order; names are unique ignoring case.")]
    }
}

/// One application property and where to find it in a raw SCIM resource:
/// `{"name", "type", "options"?, "of"?, "path", "fallbackPaths"?, "default"?, "warnIfMissing"?, "description"?}`.
///
/// Members the engine defaults when absent stay absent here (nil), so a value round-trips
/// exactly; the engine itself writes `fallbackPaths`, `default` (`null` when unset) and
/// `warnIfMissing` always.
public struct MappingPropertyDefinition: Codable, Sendable, Equatable, JSONSchemaDocumented {
    /// The application's name for the property (the key in mapped values).
    public var name: String
    /// What the value is coerced to.
    public var type: PropertyTypeDefinition
    /// For `type` `enum`: the allowed values (matched ignoring case, produced as spelled here).
    public var options: [String]?
    /// For `type` `list`: the element type.
    public var of: PropertyTypeDefinition?
    /// The SCIM attribute path tried first (RFC 7644 §3.10).
    public var path: String
    /// Paths tried in order when `path` yields nothing (absent: none).
    public var fallbackPaths: [String]?
    /// The value used when no path yields one; `null` or absent: no default.
    public var `default`: JSONValue?
    /// Whether a missing value opens a warning (absent: false).
    public var warnIfMissing: Bool?
    /// Free text for operators.
    public var description: String?

    public init(
        name: String, type: PropertyTypeDefinition, options: [String]? = nil, of: PropertyTypeDefinition? = nil, path: String,
        fallbackPaths: [String]? = nil, default: JSONValue? = nil, warnIfMissing: Bool? = nil, description: String? = nil
    ) {
        self.name = name
        self.type = type
        self.options = options
        self.of = of
        self.path = path
        self.fallbackPaths = fallbackPaths
        self.default = `default`
        self.warnIfMissing = warnIfMissing
        self.description = description
    }

    private enum CodingKeys: String, CodingKey {
        case name, type, options, of, path, fallbackPaths, `default`, warnIfMissing, description
    }

    /// Synthesized decoding but for `default`: an explicit `null` is kept (as ``JSONValue/null``),
    /// not folded into absent, so the engine's own output round-trips unchanged.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        type = try c.decode(PropertyTypeDefinition.self, forKey: .type)
        options = try c.decodeIfPresent([String].self, forKey: .options)
        of = try c.decodeIfPresent(PropertyTypeDefinition.self, forKey: .of)
        path = try c.decode(String.self, forKey: .path)
        fallbackPaths = try c.decodeIfPresent([String].self, forKey: .fallbackPaths)
        if c.contains(.default) {
            // decodeNil first: the schema walk then records `default` as optional.
            self.default = try c.decodeNil(forKey: .default) ? .null : try c.decode(JSONValue.self, forKey: .default)
        } else {
            self.default = nil
        }
        warnIfMissing = try c.decodeIfPresent(Bool.self, forKey: .warnIfMissing)
        description = try c.decodeIfPresent(String.self, forKey: .description)
    }

    public static var fieldDocs: [String: FieldDoc] {
        [
            "name": FieldDoc("The application's name for the property: the key in mapped values. Non-empty, unique ignoring case."),
            "type": FieldDoc("What the found value is coerced to."),
            "options": FieldDoc("For type enum: the allowed values, matched ignoring case and produced as spelled here."),
            "of": FieldDoc("For type list: the element type."),
            "path": FieldDoc("The SCIM attribute path tried first (RFC 7644 §3.10), e.g. emails[primary eq true].value."),
            "fallbackPaths": FieldDoc("Paths tried in order when path yields nothing; absent: none."),
            "default": .anyValue("The value used when no path yields one (coercible to type); null or absent: no default."),
            "warnIfMissing": FieldDoc("Whether a resource lacking the value (and with no default) opens a warning; absent: false."),
            "description": FieldDoc("Free text for operators."),
        ]
    }
}

/// A property type: a name (`"string"`), or the object form `{"type": "enum", "options": [...]}`
/// / `{"type": "list", "of": ...}` (used for a list's element, and accepted for `type`).
public indirect enum PropertyTypeDefinition: Codable, Sendable, Equatable, JSONSchemaDescribing {
    /// `string`, `integer`, `number`, `boolean`, `date`, `dateTime`, `enum` or `list` (the
    /// engine also accepts them in any case, and `int`, `bool`, `enumeration`, `array`).
    case named(String)
    /// The object form.
    case object(type: PropertyTypeDefinition, options: [String]?, of: PropertyTypeDefinition?)

    /// The canonical type names.
    public static let names = ["string", "integer", "number", "boolean", "date", "dateTime", "enum", "list"]

    private enum CodingKeys: String, CodingKey { case type, options, of }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            self = .named(name)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self = .object(
            type: try c.decode(PropertyTypeDefinition.self, forKey: .type),
            options: try c.decodeIfPresent([String].self, forKey: .options),
            of: try c.decodeIfPresent(PropertyTypeDefinition.self, forKey: .of))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .named(let name):
            var single = encoder.singleValueContainer()
            try single.encode(name)
        case .object(let type, let options, let of):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(type, forKey: .type)
            try c.encodeIfPresent(options, forKey: .options)
            try c.encodeIfPresent(of, forKey: .of)
        }
    }

    /// Stated, not walked: the type is recursive (a list of lists) and either a string or an object.
    public static var jsonSchema: JSONValue {
        let name: JSONValue = ["type": "string", "enum": .array(names.map { .string($0) })]
        return [
            "anyOf": [
                name,
                [
                    "type": "object",
                    "required": ["type"],
                    "properties": [
                        "type": name,
                        "options": ["type": "array", "items": ["type": "string"]],
                        "of": ["type": ["string", "object"], "description": "The element type of a list, in either form."],
                    ],
                ],
            ]
        ]
    }
    public static var schemaSample: PropertyTypeDefinition { .named("string") }
}

/// Group → role rules: `{"rules": [<RoleRuleDefinition>], "defaultRole"?, "mode"?}`. A user's
/// `roles` follow from their groups; `{"rules": []}` removes the rules.
public struct RoleRulesDefinition: Codable, Sendable, Equatable, JSONSchemaDocumented {
    /// In priority order (absent: none).
    public var rules: [RoleRuleDefinition]?
    /// The role of a user no rule matches; absent: no role.
    public var defaultRole: String?
    /// `first` (the first matching rule's role; the default) or `all` (every matching rule's role).
    public var mode: String?
    public init(rules: [RoleRuleDefinition]? = nil, defaultRole: String? = nil, mode: String? = nil) {
        self.rules = rules
        self.defaultRole = defaultRole
        self.mode = mode
    }

    public static var fieldDocs: [String: FieldDoc] {
        [
            "rules": FieldDoc("The rules in priority order; absent or empty: none."),
            "defaultRole": FieldDoc("The role of a user no rule matches; absent: no role."),
            "mode": FieldDoc("first: the first matching rule's role (the default); all: every matching rule's role, in rule order.", enum: ["first", "all"]),
        ]
    }
}

/// One group → role rule: `{"group", "by"?, "role"}`.
public struct RoleRuleDefinition: Codable, Sendable, Equatable, JSONSchemaDocumented {
    /// The group's displayName or externalId (see `by`).
    public var group: String
    /// `displayName` (compared ignoring case; the default) or `externalId` (compared exactly).
    public var by: String?
    /// The role a member gets.
    public var role: String
    public init(group: String, by: String? = nil, role: String) {
        self.group = group
        self.by = by
        self.role = role
    }

    public static var fieldDocs: [String: FieldDoc] {
        [
            "group": FieldDoc("The group's displayName or externalId (see by)."),
            "by": FieldDoc("displayName (compared ignoring case; the default) or externalId (compared exactly).", enum: ["displayName", "externalId"]),
            "role": FieldDoc("The role a member of the group gets."),
        ]
    }
}

// MARK: - Typed access to the mapping methods' JSON members

extension MappingInfo {
    /// ``users`` as a typed value. Throws ``RPCError`` `invalid_params` when it is not one (a daemon
    /// speaking another contract).
    public func usersDefinition() throws(RPCError) -> MappingDefinition { try RPCCodec.decode(MappingDefinition.self, from: users) }
    /// ``groups`` as a typed value.
    public func groupsDefinition() throws(RPCError) -> MappingDefinition { try RPCCodec.decode(MappingDefinition.self, from: groups) }
    /// ``roles`` as a typed value; nil when the connection has none.
    public func rolesDefinition() throws(RPCError) -> RoleRulesDefinition? {
        guard let roles, !roles.isNull else { return nil }
        return try RPCCodec.decode(RoleRulesDefinition.self, from: roles)
    }
}

extension MappingChange {
    /// Params of `mapping.set` / `mapping.preview` from typed values (nil keeps the current one).
    /// Throws only if a value cannot be encoded, which these types cannot cause.
    public static func typed(
        connection: String, users: MappingDefinition? = nil, groups: MappingDefinition? = nil, roles: RoleRulesDefinition? = nil,
        expectedVersion: Int? = nil, comment: String? = nil
    ) throws -> MappingChange {
        func json<T: Encodable>(_ value: T?) throws -> JSONValue? {
            guard let value else { return nil }
            return try JSONParser().parse(bytes: try RPCCodec.encode(value))
        }
        return MappingChange(
            connection: connection, users: try json(users), groups: try json(groups), roles: try json(roles),
            expectedVersion: expectedVersion, comment: comment)
    }
}
