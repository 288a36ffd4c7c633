import SCIMJSON

// Mapping configurations travel as JSON in the documented shape, so this module stays free of the
// mapping engine: `{"properties": [{"name", "type", "options"?, "of"?, "path", "fallbackPaths",
// "default", "warnIfMissing", "description"?}, …]}` per resource type. scimd validates them and
// answers `invalid_mapping` (with `data.details.property` and `data.details.position`) when they are wrong.
// Their schema in `rpc.discover` is derived from the typed values in MappingDefinition.swift
// (`MappingDefinition`, `RoleRulesDefinition`), which a client may build them with and encode.

/// A connection's mapping at one version.
public struct MappingInfo: Codable, Sendable, Equatable {
    public var connection: String
    /// Increases by one with every change (set or rollback).
    public var version: Int
    /// `{"properties": [...]}` for Users.
    public var users: JSONValue
    /// `{"properties": [...]}` for Groups.
    public var groups: JSONValue
    /// Group → role rules: `{"rules": [{"group", "by": "displayName"|"externalId", "role"}], "defaultRole"?, "mode": "first"|"all"}`;
    /// absent when the connection has none.
    public var roles: JSONValue?
    public var createdAt: String
    public var comment: String?
    /// Who made the change when the caller said: `operator:NAME` for a dashboard operator; absent
    /// for changes made over the socket (`mapping.set` has no such param) and for older versions.
    public var changedBy: String?
    public init(
        connection: String, version: Int, users: JSONValue, groups: JSONValue, roles: JSONValue? = nil, createdAt: String, comment: String?,
        changedBy: String? = nil
    ) {
        self.roles = roles
        self.connection = connection
        self.version = version
        self.users = users
        self.groups = groups
        self.createdAt = createdAt
        self.comment = comment
        self.changedBy = changedBy
    }
}

/// What re-mapping a connection changed (or, for a preview, would change).
public struct RemapSummary: Codable, Sendable, Equatable {
    /// Resources evaluated.
    public var resources: Int
    /// Resources whose mapped properties or warnings differ.
    public var resourcesChanged: Int
    /// Property → resources where it gained / lost / changed a value.
    public var gained: [String: Int]
    public var lost: [String: Int]
    public var changed: [String: Int]
    /// Property → warnings opened / resolved.
    public var warningsOpened: [String: Int]
    public var warningsResolved: [String: Int]
    /// A few changed resources with their differences, for a quick look.
    public var examples: [RemapExample]
    /// Wall time of the re-mapping, in milliseconds.
    public var elapsedMilliseconds: Double
    public init(
        resources: Int, resourcesChanged: Int, gained: [String: Int], lost: [String: Int], changed: [String: Int],
        warningsOpened: [String: Int], warningsResolved: [String: Int], examples: [RemapExample], elapsedMilliseconds: Double
    ) {
        self.resources = resources
        self.resourcesChanged = resourcesChanged
        self.gained = gained
        self.lost = lost
        self.changed = changed
        self.warningsOpened = warningsOpened
        self.warningsResolved = warningsResolved
        self.examples = examples
        self.elapsedMilliseconds = elapsedMilliseconds
    }
}

/// One resource's difference under a new mapping.
public struct RemapExample: Codable, Sendable, Equatable {
    public var resourceType: String
    public var id: String
    /// userName (Users) or displayName (Groups).
    public var name: String?
    /// Property → `{"old": …, "new": …}`.
    public var changes: JSONValue
    public var warningsOpened: [String]
    public var warningsResolved: [String]
    public init(resourceType: String, id: String, name: String?, changes: JSONValue, warningsOpened: [String], warningsResolved: [String]) {
        self.resourceType = resourceType
        self.id = id
        self.name = name
        self.changes = changes
        self.warningsOpened = warningsOpened
        self.warningsResolved = warningsResolved
    }
}

/// `mapping.get`: a connection's current mapping. Errors: `not_found`.
public enum MappingGet: RPCMethod {
    public static let name = "mapping.get"
    public static let summary = "A connection's current mapping configuration and version."
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name.
        public var connection: String
        public init(connection: String) { self.connection = connection }
    }
    public typealias Result = MappingInfo
}

/// Params of `mapping.set` and `mapping.preview`.
public struct MappingChange: Codable, Sendable, Equatable {
    /// Connection id or name.
    public var connection: String
    /// New Users mapping `{"properties": [...]}`; absent keeps the current one.
    public var users: JSONValue?
    /// New Groups mapping; absent keeps the current one.
    public var groups: JSONValue?
    /// New group → role rules (see ``MappingInfo/roles``); absent keeps the current ones,
    /// `{"rules": []}` removes them.
    public var roles: JSONValue?
    /// Optimistic concurrency: fail with `conflict` unless the current version is this one.
    public var expectedVersion: Int?
    /// Free text kept in the history.
    public var comment: String?
    /// Who makes the change, kept in the history (``MappingInfo/changedBy``) and the
    /// `mapping.changed` event: the dashboard passes `operator:NAME`. Set by Swift callers of the
    /// service only: it is not a param of the RPC (not encoded or decoded), so a socket caller
    /// cannot claim to be someone.
    public var changedBy: String? = nil

    /// The members that travel on the wire (`changedBy` does not).
    enum CodingKeys: String, CodingKey {
        case connection, users, groups, roles, expectedVersion, comment
    }

    public init(
        connection: String, users: JSONValue? = nil, groups: JSONValue? = nil, roles: JSONValue? = nil, expectedVersion: Int? = nil,
        comment: String? = nil, changedBy: String? = nil
    ) {
        self.roles = roles
        self.connection = connection
        self.users = users
        self.groups = groups
        self.expectedVersion = expectedVersion
        self.comment = comment
        self.changedBy = changedBy
    }
}

/// `mapping.set`: validates the whole mapping, saves it as a new version and re-maps every stored
/// resource of the connection before returning. Errors: `not_found`, `invalid_mapping`, `conflict`.
public enum MappingSet: RPCMethod {
    public static let name = "mapping.set"
    public static let summary = "Replace a connection's mapping; re-maps stored resources and updates warnings."
    public typealias Params = MappingChange
    public struct Result: Codable, Sendable, Equatable {
        public var mapping: MappingInfo
        public var remap: RemapSummary
        public init(mapping: MappingInfo, remap: RemapSummary) {
            self.mapping = mapping
            self.remap = remap
        }
    }
}

/// `mapping.preview`: what `mapping.set` with the same params would change; changes nothing.
public enum MappingPreview: RPCMethod {
    public static let name = "mapping.preview"
    public static let summary = "Show how many resources would gain or lose values or warnings under a new mapping."
    public typealias Params = MappingChange
    public typealias Result = RemapSummary
}

/// `mapping.history`: every saved version, newest first. Errors: `not_found`.
public enum MappingHistory: RPCMethod {
    public static let name = "mapping.history"
    public static let summary = "A connection's mapping versions, newest first."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        public init(connection: String) { self.connection = connection }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var versions: [MappingInfo]
        public init(versions: [MappingInfo]) { self.versions = versions }
    }
}

/// `mapping.rollback`: makes an earlier version current again (as a new version) and re-maps.
/// Errors: `not_found` (connection or version).
public enum MappingRollback: RPCMethod {
    public static let name = "mapping.rollback"
    public static let summary = "Restore an earlier mapping version (saved as a new version) and re-map."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        public var version: Int
        /// Who makes the change (see ``MappingChange/changedBy``): set by Swift callers of the
        /// service only, never on the wire.
        public var changedBy: String? = nil

        /// The members that travel on the wire (`changedBy` does not).
        enum CodingKeys: String, CodingKey {
            case connection, version
        }

        public init(connection: String, version: Int, changedBy: String? = nil) {
            self.connection = connection
            self.version = version
            self.changedBy = changedBy
        }
    }
    public typealias Result = MappingSet.Result
}

/// A proposed fallback path for a missing property.
public struct PathSuggestionInfo: Codable, Sendable, Equatable {
    /// A SCIM path that yields the value in the stored data.
    public var path: String
    /// How many of the warned resources it would fix.
    public var resourcesFixed: Int
    public var exampleValue: JSONValue?
    public init(path: String, resourcesFixed: Int, exampleValue: JSONValue?) {
        self.path = path
        self.resourcesFixed = resourcesFixed
        self.exampleValue = exampleValue
    }
}

/// `mapping.suggest`: searches the raw data of resources missing `property` for where the value
/// actually lives. Errors: `not_found` (connection or property).
public enum MappingSuggest: RPCMethod {
    public static let name = "mapping.suggest"
    public static let summary = "Propose fallback paths for a property that is missing on some resources."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        public var property: String
        /// `User` (default) or `Group`.
        public var resourceType: String?
        public init(connection: String, property: String, resourceType: String? = nil) {
            self.connection = connection
            self.property = property
            self.resourceType = resourceType
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        /// Resources with an open warning on the property (the ones searched, up to 1,000).
        public var warnedResources: Int
        public var suggestions: [PathSuggestionInfo]
        public init(warnedResources: Int, suggestions: [PathSuggestionInfo]) {
            self.warnedResources = warnedResources
            self.suggestions = suggestions
        }
    }
}

/// Warning totals of one connection.
public struct WarningSummary: Codable, Sendable, Equatable {
    public var connection: String
    public var connectionName: String
    public var openWarnings: Int
    public var resourcesWithWarnings: Int
    /// One entry per (resource type, property) with open warnings, most first.
    public var byProperty: [PropertyWarningCount]
    public init(connection: String, connectionName: String, openWarnings: Int, resourcesWithWarnings: Int, byProperty: [PropertyWarningCount]) {
        self.connection = connection
        self.connectionName = connectionName
        self.openWarnings = openWarnings
        self.resourcesWithWarnings = resourcesWithWarnings
        self.byProperty = byProperty
    }
}

public struct PropertyWarningCount: Codable, Sendable, Equatable {
    public var resourceType: String
    public var property: String
    public var count: Int
    public init(resourceType: String, property: String, count: Int) {
        self.resourceType = resourceType
        self.property = property
        self.count = count
    }
}

/// `warnings.summary`: per connection (all, or the one named).
public enum WarningsSummary: RPCMethod {
    public static let name = "warnings.summary"
    public static let summary = "Open warnings per connection and per property."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String?
        public init(connection: String? = nil) { self.connection = connection }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var connections: [WarningSummary]
        public init(connections: [WarningSummary]) { self.connections = connections }
    }
}

/// The logged request behind a warning.
public struct ExampleRequest: Codable, Sendable, Equatable {
    public var id: Int
    public var method: String
    public var path: String
    public var at: String
    public var status: Int
    /// The request body (redacted).
    public var body: String?
    public init(id: Int, method: String, path: String, at: String, status: Int, body: String?) {
        self.id = id
        self.method = method
        self.path = path
        self.at = at
        self.status = status
        self.body = body
    }
}

/// One open warning.
public struct WarningInfo: Codable, Sendable, Equatable {
    public var property: String
    /// `missing` or `typeMismatch`.
    public var kind: String
    public var detail: String?
    public var firstSeenAt: String
    /// When a write of the resource last found the value missing (a SCIM request, or a re-map
    /// that changed the resource's mapped values or warnings; a re-map that leaves the resource
    /// as it was does not touch it).
    public var lastSeenAt: String
    /// The request that produced the state lacking the value; nil when it came from a mapping change or was pruned.
    public var exampleRequest: ExampleRequest?
    public init(property: String, kind: String, detail: String?, firstSeenAt: String, lastSeenAt: String, exampleRequest: ExampleRequest?) {
        self.property = property
        self.kind = kind
        self.detail = detail
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.exampleRequest = exampleRequest
    }
}

/// A resource with open warnings.
public struct ResourceWarnings: Codable, Sendable, Equatable {
    public var resourceType: String
    public var id: String
    /// userName or displayName.
    public var name: String
    public var warnings: [WarningInfo]
    public init(resourceType: String, id: String, name: String, warnings: [WarningInfo]) {
        self.resourceType = resourceType
        self.id = id
        self.name = name
        self.warnings = warnings
    }
}

/// `warnings.list`: the resources with open warnings (optionally on one property), paged in a stable order.
public enum WarningsList: RPCMethod {
    public static let name = "warnings.list"
    public static let summary = "Users and groups with open warnings and what each is missing, paged."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        public var property: String?
        /// 1…500, default 50.
        public var limit: Int?
        public var cursor: String?
        public init(connection: String, property: String? = nil, limit: Int? = nil, cursor: String? = nil) {
            self.connection = connection
            self.property = property
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var resources: [ResourceWarnings]
        public var nextCursor: String?
        public init(resources: [ResourceWarnings], nextCursor: String?) {
            self.resources = resources
            self.nextCursor = nextCursor
        }
    }
}

// MARK: - OpenRPC documentation

/// The schema of a Users or Groups mapping, derived from ``MappingDefinition``.
private func mappingDoc(_ description: String) -> FieldDoc {
    FieldDoc(description, schema: JSONSchemaGenerator.schema(for: MappingDefinition.self))
}
/// A schema admitting any JSON value, with `description`.
private func anyJSON(_ description: String) -> JSONValue {
    FieldDoc.anyValue(description).schema!.merging(description: description)
}

/// The schema of group → role rules, derived from ``RoleRulesDefinition``.
private func rolesDoc(_ description: String) -> FieldDoc {
    FieldDoc(description, schema: JSONSchemaGenerator.schema(for: RoleRulesDefinition.self))
}

extension MappingInfo: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id."),
            "version": FieldDoc("Increases by one with every change (set or rollback)."),
            "users": mappingDoc("The Users mapping."),
            "groups": mappingDoc("The Groups mapping."),
            "roles": rolesDoc("Group → role rules; absent when the connection has none."),
            "comment": FieldDoc("Free text given with the change."),
            "changedBy": FieldDoc(
                "Who made the change, when known: operator:NAME for a dashboard operator; absent for changes made over the socket."),
        ]
    }
}

extension MappingChange: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "users": mappingDoc("The new Users mapping; absent keeps the current one."),
            "groups": mappingDoc("The new Groups mapping; absent keeps the current one."),
            "roles": rolesDoc("The new group → role rules; absent keeps the current ones, {\"rules\": []} removes them."),
            "expectedVersion": FieldDoc("Fail with conflict unless the current version is this one (optimistic concurrency)."),
            "comment": FieldDoc("Free text kept in the history."),
        ]
    }
}

extension RemapExample: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "resourceType": FieldDoc("The kind of resource.", enum: ["User", "Group"]),
            "changes": FieldDoc(
                "Property → {\"old\", \"new\"} for each mapped property that differs.",
                schema: ["type": "object", "additionalProperties": ["type": "object", "properties": ["old": anyJSON("The value before; absent or null: none."), "new": anyJSON("The value after; absent or null: none.")]]]),
        ]
    }
}

/// The Users mapping the `mapping.set` and `mapping.preview` examples send.
private let exampleUsersMapping: JSONValue = [
    "properties": [
        ["name": "userName", "type": "string", "path": "userName", "warnIfMissing": true],
        [
            "name": "email", "type": "string", "path": "emails[primary eq true].value", "fallbackPaths": ["emails.value"],
            "warnIfMissing": true,
        ],
        ["name": "active", "type": "boolean", "path": "active", "default": true],
        [
            "name": "department", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "description": "From the enterprise extension.",
        ],
        ["name": "level", "type": "enum", "options": ["junior", "senior"], "path": "title", "default": "junior"],
    ]
]

private let exampleRemap: JSONValue = [
    "resources": 2, "resourcesChanged": 1, "gained": ["department": 1], "lost": ["givenName": 1, "familyName": 1, "displayName": 1, "externalId": 1],
    "changed": [:], "warningsOpened": [:], "warningsResolved": [:], "examples": [], "elapsedMilliseconds": 3.2,
]

private func exampleMappingInfo(version: Int, comment: String?) -> JSONValue {
    var info: JSONObject = [
        "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", "version": .int(version), "users": exampleUsersMapping,
        "groups": ["properties": [["name": "displayName", "type": "string", "path": "displayName", "fallbackPaths": [], "default": nil, "warnIfMissing": true]]],
        "createdAt": "2026-11-30T09:10:00.000Z",
    ]
    if let comment { info["comment"] = .string(comment) }
    return .object(info)
}

extension MappingGet {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("current", "The current mapping.", params: ["connection": "Acme"], result: exampleMappingInfo(version: 1, comment: nil))
    }
}
extension MappingGet.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] { ["connection": FieldDoc("The connection's id or name.")] }
}

extension MappingSet {
    public static var errors: [RPCErrorKind]? { [.notFound, .invalidMapping, .conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "department", "Add the enterprise department and a level enum to the Users mapping.",
            params: ["connection": "Acme", "users": exampleUsersMapping, "comment": "Add department and level"],
            result: ["mapping": exampleMappingInfo(version: 2, comment: "Add department and level"), "remap": exampleRemap])
    }
}

extension MappingPreview {
    public static var errors: [RPCErrorKind]? { [.notFound, .invalidMapping, .conflict] }
    public static var example: RPCExample? {
        RPCExample(
            "department", "What adding department and level would change, changing nothing.",
            params: ["connection": "Acme", "users": exampleUsersMapping], result: exampleRemap)
    }
}

extension MappingHistory {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("history", "Every version, newest first.", params: ["connection": "Acme"],
            result: ["versions": [exampleMappingInfo(version: 2, comment: "Add department and level")]])
    }
}
extension MappingHistory.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] { ["connection": FieldDoc("The connection's id or name.")] }
}

extension MappingRollback {
    public static var errors: [RPCErrorKind]? { [.notFound, .invalidMapping, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("back-to-1", "Make version 1 current again (saved as version 3).", params: ["connection": "Acme", "version": 1],
            result: ["mapping": exampleMappingInfo(version: 3, comment: "rollback to version 1"), "remap": exampleRemap])
    }
}
extension MappingRollback.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["connection": FieldDoc("The connection's id or name."), "version": FieldDoc("The version to restore, from mapping.history.")]
    }
}

extension PathSuggestionInfo: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["exampleValue": .anyValue("The value the path yields on one of the resources.")]
    }
}

extension MappingSuggest {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("email", "Where the email of users missing one might be.", params: ["connection": "Acme", "property": "email"],
            result: ["warnedResources": 1, "suggestions": [["path": "userName", "resourcesFixed": 1, "exampleValue": "grace@example.com"]]])
    }
}
extension MappingSuggest.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "property": FieldDoc("The mapped property with warnings."),
            "resourceType": FieldDoc("User (the default) or Group.", enum: ["User", "Group"]),
        ]
    }
}

extension WarningsSummary {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("acme", "Open warnings of one connection.", params: ["connection": "Acme"],
            result: [
                "connections": [
                    [
                        "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", "connectionName": "Acme", "openWarnings": 1,
                        "resourcesWithWarnings": 1, "byProperty": [["resourceType": "User", "property": "email", "count": 1]],
                    ]
                ]
            ])
    }
}
extension WarningsSummary.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] { ["connection": FieldDoc("Only this connection (id or name); absent: all.")] }
}
extension PropertyWarningCount: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["resourceType": FieldDoc("The kind of resource.", enum: ["User", "Group"])]
    }
}
extension WarningInfo: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["kind": FieldDoc("missing: no path yielded a value; typeMismatch: the value could not be coerced.", enum: ["missing", "typeMismatch"])]
    }
}
extension ResourceWarnings: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["resourceType": FieldDoc("The kind of resource.", enum: ["User", "Group"])]
    }
}

extension WarningsList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("acme", "Resources with open warnings, first page.", params: ["connection": "Acme", "limit": 10],
            result: [
                "resources": [
                    [
                        "resourceType": "User", "id": "7d1f5c1e-9a0b-4c2d-8e3f-4a5b6c7d8e9f", "name": "grace",
                        "warnings": [
                            [
                                "property": "email", "kind": "missing", "firstSeenAt": "2026-11-30T09:06:00.000Z",
                                "lastSeenAt": "2026-11-30T09:06:00.000Z",
                            ]
                        ],
                    ]
                ]
            ])
    }
}
extension WarningsList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "property": FieldDoc("Only warnings on this property."),
            "limit": FieldDoc("Page size, 1…500 (default 50)."),
            "cursor": FieldDoc("The nextCursor of the previous page."),
        ]
    }
}
