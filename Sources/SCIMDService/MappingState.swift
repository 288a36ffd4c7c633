import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

/// A connection's mapping configuration at one version, compiled once and shared by every request.
struct ActiveMapping: Sendable {
    var version: Int
    var configuration: MappingConfiguration
    /// Group → role rules; nil when the connection has none (then users have no `roles` property).
    var roles: RoleRules?
    var users: CompiledMapping
    var groups: CompiledMapping

    /// Compiles `configuration`. Throws `MappingError` when it (or the role rules) is invalid.
    init(version: Int, configuration: MappingConfiguration, roles: RoleRules? = nil) throws(MappingError) {
        self.version = version
        self.configuration = configuration
        try roles?.validate()
        if let roles, configuration.users.property(named: "roles") != nil, !roles.rules.isEmpty || roles.defaultRole != nil {
            throw MappingError(property: "roles", message: "the user mapping already has a property named roles; rename it to use role rules")
        }
        self.roles = roles.flatMap { $0.rules.isEmpty && $0.defaultRole == nil ? nil : $0 }
        self.users = try CompiledMapping(configuration.users, resourceType: .user)
        self.groups = try CompiledMapping(configuration.groups, resourceType: .group)
        self.groupsReadMembers = groups.reads(attribute: "members")
        self.usersReadGroups = users.reads(attribute: "groups")
        self.userInputMembers = JSONMemberNames(users.topLevelMemberNames + ["userName"])
        self.groupInputMembers = JSONMemberNames(groups.topLevelMemberNames + ["displayName"])
    }

    /// The members of a stored resource that evaluating it can read, and the name a re-map
    /// reports it by (`userName`, `displayName`): a re-map parses only these
    /// (``ReplicaResource/object(keepingMembersIn:)``), not the whole stored JSON.
    func inputMembers(for type: SCIMResourceType) -> JSONMemberNames {
        type == .user ? userInputMembers : groupInputMembers
    }

    private let userInputMembers: JSONMemberNames
    private let groupInputMembers: JSONMemberNames

    /// Whether the user mapping reads `groups` (`groups.display`, `groups[type eq "direct"].value`):
    /// a User's groups are not in what the IdP sent but computed from memberships (RFC 7643
    /// §4.1.2, read-only), so they are added to the input, and kept current like `roles`.
    let usersReadGroups: Bool

    /// Whether the group mapping reads `members`: a Group's members are stored as rows, not in
    /// its JSON, so they are loaded for evaluation only when a path needs them.
    let groupsReadMembers: Bool

    /// The same mapping compiled again: equal, but sharing none of its compiled parts with
    /// `self`. Each thread of a parallel re-map evaluates with its own, so that the reference
    /// counts evaluation retains and releases are not one cache line both cores write (as for a
    /// filter scan, `PreparedFilter.resolvedAgain()`).
    func compiledAgain() -> ActiveMapping {
        // It compiled once, so it compiles again; `self` is the fallback all the same.
        (try? ActiveMapping(version: version, configuration: configuration, roles: roles)) ?? self
    }

    func compiled(for type: SCIMResourceType) -> CompiledMapping {
        type == .user ? users : groups
    }

    /// Maps a stored resource. The mapping sees the resource as the IdP sent it plus its `id`
    /// (not `meta`), and for a User whose mapping reads `groups` (``usersReadGroups``) the groups it
    /// is in, as `GET /Users/{id}` shows them: `{"value": id, "display": displayName, "type":
    /// "direct"}`. A user's `roles` come from the groups they are in (see ``RoleRules``). Callers
    /// load `groups` only when ``dependsOnGroups``. A Group's `members` (stored as rows) are passed
    /// in `members`; callers load them only when ``groupsReadMembers``.
    func evaluate(raw: JSONObject, id: String, type: SCIMResourceType, groups: [MemberOf], members: [JSONValue] = []) -> MappingResult {
        var result = compiled(for: type).evaluate(input(raw: raw, id: id, type: type, groups: groups, members: members))
        if type == .user, let roles {
            let names = roles.roles(for: groups.map { (displayName: $0.displayName, externalId: $0.externalId) })
            result.properties["roles"] = .array(names.map(JSONValue.string))
        }
        return result
    }

    /// The step-by-step account of ``evaluate(raw:id:type:groups:members:)`` for the same input
    /// (role rules, which apply after the properties, are not part of it).
    func trace(raw: JSONObject, id: String, type: SCIMResourceType, groups: [MemberOf], members: [JSONValue] = []) -> [PropertyTrace] {
        compiled(for: type).trace(input(raw: raw, id: id, type: type, groups: groups, members: members))
    }

    /// What the mapping sees of a stored resource (see ``evaluate(raw:id:type:groups:members:)``).
    private func input(raw: JSONObject, id: String, type: SCIMResourceType, groups: [MemberOf], members: [JSONValue]) -> JSONObject {
        var input = raw
        input["id"] = .string(id)
        if type == .group, !members.isEmpty { input["members"] = .array(members) }
        if type == .user, usersReadGroups {
            input["groups"] = .array(groups.map { group in
                var value: JSONObject = ["value": .string(group.id)]
                if let display = group.displayName { value["display"] = .string(display) }
                value["type"] = "direct"
                return .object(value)
            })
        }
        return input
    }

    /// Whether users' mapped properties depend on their groups (role rules, or a property reading
    /// `groups`): memberships and group names then re-map the users they touch.
    var dependsOnGroups: Bool { roles != nil || usersReadGroups }
}

/// What mapping one resource changed in its warnings.
struct WarningChanges: Sendable {
    var opened: [String] = []
    var resolved: [String] = []
}

/// Writes a mapping result into a resource row and its warning rows; nothing else.
enum MappingWriter {
    /// Sets `record.mapped`, `mappingVersion` and `warningCount` (the caller saves the record) and
    /// brings the resource's warning rows in line with `result.issues`: new issues open with
    /// `requestId` as their example; issues still present get `lastSeenAt` (and, when a request
    /// caused this state, that request as the example); vanished ones are deleted (resolved).
    static func apply(
        _ result: MappingResult, version: Int, to record: inout ResourceRecord, requestId: Int64?, now: Milliseconds,
        db: StoreTransaction
    ) throws -> WarningChanges {
        record.mapped = JSONSerializer.string(.object(result.properties))
        record.mappingVersion = version
        let hadWarnings = record.warningCount > 0
        record.warningCount = result.issues.count
        var changes = WarningChanges()
        if !hadWarnings && result.issues.isEmpty { return changes }
        let existing = try db.warnings(connectionId: record.connectionId, type: record.resourceType, resourceId: record.id)
        var byProperty: [String: WarningRecord] = [:]
        for w in existing { byProperty[w.property] = w }
        for issue in result.issues {
            if var warning = byProperty.removeValue(forKey: issue.property) {
                warning.kind = issue.kind.rawValue
                warning.detail = issue.detail
                warning.lastSeenAt = now
                if let requestId { warning.requestId = requestId }
                try warning.updateRow(db)
            } else {
                try WarningRecord(
                    connectionId: record.connectionId, resourceType: record.resourceType, resourceId: record.id,
                    property: issue.property, kind: issue.kind.rawValue, detail: issue.detail, firstSeenAt: now,
                    lastSeenAt: now, requestId: requestId
                ).insertRow(db)
                changes.opened.append(issue.property)
            }
        }
        for (_, gone) in byProperty {
            try gone.deleteRow(db)
            changes.resolved.append(gone.property)
        }
        return changes
    }

    /// Removes every warning of a deleted resource.
    static func deleteWarnings(_ db: StoreTransaction, connectionId: String, type: String, resourceId: String) throws {
        try db.deleteWarnings(connectionId: connectionId, type: type, resourceId: resourceId)
    }
}

/// Mapping configurations as stored and sent over RPC: `{"users": {"properties": [...]}, "groups": {...}}`.
enum MappingCodec {
    /// The stored form: `{"users", "groups", "roles"?}`.
    private struct Stored: Codable {
        var users: Mapping
        var groups: Mapping
        var roles: RoleRules?
    }

    static func encode(_ configuration: MappingConfiguration, roles: RoleRules? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Stored(users: configuration.users, groups: configuration.groups, roles: roles)), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> MappingConfiguration {
        try decodeWithRoles(text).0
    }

    static func decodeWithRoles(_ text: String) throws -> (MappingConfiguration, RoleRules?) {
        let stored = try JSONDecoder().decode(Stored.self, from: Data(text.utf8))
        return (MappingConfiguration(users: stored.users, groups: stored.groups), stored.roles)
    }

    static func json(_ roles: RoleRules) throws -> JSONValue {
        try JSONParser().parse(bytes: Array(try JSONEncoder().encode(roles)))
    }

    /// The configuration as a JSON value (member order as the encoder wrote it is not significant).
    static func json(_ configuration: MappingConfiguration) throws -> JSONValue {
        try JSONParser().parse(try encode(configuration))
    }

    static func json(_ mapping: Mapping) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try JSONParser().parse(bytes: Array(try encoder.encode(mapping)))
    }
}

/// Each connection's current compiled mapping, readable from inside database transactions.
///
/// Why not an actor property: an ingest transaction must map with the mapping that is current
/// *when it writes*, not when the request arrived, or a `mapping.set` racing with ingest could
/// leave a row mapped by the old version after the re-map passed it. Reads and writes go through
/// a lock (`NIOLockedValueBox`); only ``SCIMDService`` changes it.
///
/// A connection's stored mapping is compiled the first time it is needed, not at startup: a daemon
/// with a thousand connections would otherwise spend most of its cold start compiling mappings of
/// connections that send nothing for hours.
final class MappingRegistry: Sendable {
    private enum Entry: Sendable {
        /// Compiled, with the version as saved (nil only for a mapping set without one: tests).
        case compiled(ActiveMapping, saved: MappingVersionRecord?)
        /// Loaded from the store, compiled on first use; `logger` reports a mapping that does not compile.
        case stored(MappingVersionRecord, logger: Logger)
    }

    private let state = NIOLockedValueBox<[String: Entry]>([:])

    /// The connection's mapping; the default (version 0) for a connection without one.
    func current(_ connectionId: String) -> ActiveMapping {
        state.withLockedValue { entries in
            switch entries[connectionId] {
            case .compiled(let active, _):
                return active
            case .stored(let version, let logger):
                let active = Self.compile(version, logger: logger)
                entries[connectionId] = .compiled(active, saved: version)
                return active
            case nil:
                return Self.fallback
            }
        }
    }

    /// The connection's current mapping version as saved (`mapping.get`): what SQLite holds as its
    /// newest `mappingVersion` row, from memory. Nil for an unknown connection. Its `remappedAt`
    /// is as it was when the version was installed or loaded (re-maps mark the row, not this copy):
    /// `mapping.get` does not show it.
    func saved(_ connectionId: String) -> MappingVersionRecord? {
        state.withLockedValue { entries in
            switch entries[connectionId] {
            case .compiled(_, let saved): saved
            case .stored(let version, _): version
            case nil: nil
            }
        }
    }

    /// Makes `mapping` (saved as `saved`, once its transaction committed) the connection's
    /// current one; nil forgets the connection.
    func set(_ mapping: ActiveMapping?, saved: MappingVersionRecord?, for connectionId: String) {
        state.withLockedValue { $0[connectionId] = mapping.map { Entry.compiled($0, saved: saved) } }
    }

    /// Registers a stored mapping version, to be compiled when first needed.
    func setStored(_ version: MappingVersionRecord, logger: Logger) {
        state.withLockedValue { $0[version.connectionId] = .stored(version, logger: logger) }
    }

    /// Compiles a stored version; a stored mapping that no longer compiles (a bug, or a database
    /// edited by hand) is logged and replaced by the default at that version number.
    static func compile(_ version: MappingVersionRecord, logger: Logger) -> ActiveMapping {
        if let (configuration, roles) = try? MappingCodec.decodeWithRoles(version.configuration),
            let active = try? ActiveMapping(version: version.version, configuration: configuration, roles: roles)
        {
            return active
        }
        logger.error("stored mapping does not compile; using the default", metadata: ["connection": "\(version.connectionId)"])
        return (try? ActiveMapping(version: version.version, configuration: .default)) ?? fallback
    }

    /// The default configuration compiles by construction (it is tested); version 0 marks it as unsaved.
    private static let fallback: ActiveMapping = try! ActiveMapping(version: 0, configuration: .default)
}
