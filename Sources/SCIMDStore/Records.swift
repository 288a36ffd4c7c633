import Foundation
import GRDB

/// Milliseconds since the Unix epoch, the store's unit of time.
public typealias Milliseconds = Int64

/// A SCIM connection row. The bearer token itself is never stored: only its SHA-256.
public struct ConnectionRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "connection"
    public var id: String
    public var name: String
    public var customerId: String?
    public var idp: String?
    public var disabled: Bool
    public var createdAt: Milliseconds
    public var updatedAt: Milliseconds
    /// SHA-256 of the current token (32 bytes).
    public var tokenHash: Data
    /// SHA-256 of the previous token while a rotation overlap lasts.
    public var previousTokenHash: Data?
    public var previousTokenExpiresAt: Milliseconds?
    /// Connection settings as JSON (SSO matching strategy, confirm mode, …); `{}` for defaults.
    public var settings: String = "{}"

    public init(
        id: String, name: String, customerId: String?, idp: String?, disabled: Bool, createdAt: Milliseconds,
        updatedAt: Milliseconds, tokenHash: Data, previousTokenHash: Data? = nil, previousTokenExpiresAt: Milliseconds? = nil
    ) {
        self.id = id
        self.name = name
        self.customerId = customerId
        self.idp = idp
        self.disabled = disabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.tokenHash = tokenHash
        self.previousTokenHash = previousTokenHash
        self.previousTokenExpiresAt = previousTokenExpiresAt
    }
}

/// A stored SCIM resource (User or Group): the raw JSON as the IdP sent it (minus write-only and
/// server-owned attributes), plus the indexed columns queries need.
public struct ResourceRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "resource"
    public var connectionId: String
    /// "User" or "Group".
    public var resourceType: String
    public var id: String
    /// The uniqueness key, folded for case-insensitive matching: `userName` for Users,
    /// `displayName` for Groups (NFC-normalized, lowercased).
    public var nameKey: String
    public var externalId: String?
    public var displayName: String?
    public var active: Bool?
    public var createdAt: Milliseconds
    public var updatedAt: Milliseconds
    /// Incremented on every change; `meta.version` is `W/"<version>"`.
    public var version: Int
    /// The resource JSON (compact).
    public var raw: String
    /// The mapped properties (compact JSON object), as of `mappingVersion`.
    public var mapped: String?
    public var mappingVersion: Int?
    /// Open warnings of this resource.
    public var warningCount: Int
    /// The application's own id for this user (`users.link`), returned by `sso.resolve`.
    public var appUserId: String? = nil

    public init(
        connectionId: String, resourceType: String, id: String, nameKey: String, externalId: String?,
        displayName: String?, active: Bool?, createdAt: Milliseconds, updatedAt: Milliseconds, version: Int, raw: String,
        mapped: String? = nil, mappingVersion: Int? = nil, warningCount: Int = 0
    ) {
        self.mapped = mapped
        self.mappingVersion = mappingVersion
        self.warningCount = warningCount
        self.connectionId = connectionId
        self.resourceType = resourceType
        self.id = id
        self.nameKey = nameKey
        self.externalId = externalId
        self.displayName = displayName
        self.active = active
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.raw = raw
    }
}

extension ResourceRecord {
    /// The mapping version the resource's mapped values and warnings are known to hold for: its
    /// own `mappingVersion` (the version that last changed them), or `remapped` — the newest
    /// version whose re-map looked at every resource and left this one as it was — when that is
    /// newer. nil when neither is known.
    public func effectiveMappingVersion(remapped: Int?) -> Int? {
        guard let remapped else { return mappingVersion }
        return max(mappingVersion ?? remapped, remapped)
    }
}

/// One member of a Group. A Group's `members` live only here, not in its stored JSON: a
/// membership change writes one row, and `User.groups` and member counts need no JSON.
public struct GroupMemberRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "groupMember"
    public var connectionId: String
    public var groupId: String
    /// The member's `value` (a User or Group id).
    public var memberId: String
    /// Where the member sits in the Group's `members` (ascending; gaps allowed).
    public var position: Int64
    /// The member as the IdP sent it, in the stored form (JSON object text: `value`, and
    /// `display`, `type`, `$ref` when sent); nil only for rows written before v4.
    public var member: String?
    public init(connectionId: String, groupId: String, memberId: String, position: Int64, member: String?) {
        self.connectionId = connectionId
        self.groupId = groupId
        self.memberId = memberId
        self.position = position
        self.member = member
    }
}

/// One logged `scim.handle` call (bodies already redacted by the caller).
public struct RequestLogRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "requestLog"
    public var id: Int64?
    public var connectionId: String
    public var at: Milliseconds
    public var method: String
    public var path: String
    public var status: Int
    public var durationMicroseconds: Int
    public var resourceType: String?
    public var resourceId: String?
    public var error: String?
    /// Request headers as a JSON object, `Authorization` redacted.
    public var requestHeaders: String
    public var requestBody: String?
    public var responseBody: String?

    public init(
        id: Int64? = nil, connectionId: String, at: Milliseconds, method: String, path: String, status: Int,
        durationMicroseconds: Int, resourceType: String?, resourceId: String?, error: String?, requestHeaders: String,
        requestBody: String?, responseBody: String?
    ) {
        self.id = id
        self.connectionId = connectionId
        self.at = at
        self.method = method
        self.path = path
        self.status = status
        self.durationMicroseconds = durationMicroseconds
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.error = error
        self.requestHeaders = requestHeaders
        self.requestBody = requestBody
        self.responseBody = responseBody
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// One saved version of a connection's mapping configuration (append-only history).
public struct MappingVersionRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "mappingVersion"
    public var connectionId: String
    public var version: Int
    /// The `MappingConfiguration` as JSON.
    public var configuration: String
    public var createdAt: Milliseconds
    public var comment: String?
    /// Who made the change, when the caller said (`operator:NAME` for a dashboard operator); nil
    /// for changes made over the socket and for versions saved before v6.
    public var changedBy: String?
    /// When the re-map of this version had looked at every stored resource of the connection
    /// (Unix ms); nil while it runs, if it failed or was cut short, and for versions saved before
    /// v8. A re-map writes only the resources whose mapped values or warnings change, so a
    /// resource's own `mappingVersion` is the version that last changed them; from the newest
    /// version with `remappedAt` on, every resource is known to be mapped with it
    /// (``StoreReader/remappedVersion(connectionId:)``).
    public var remappedAt: Milliseconds? = nil

    enum CodingKeys: String, CodingKey {
        case connectionId, version, configuration, createdAt, comment, remappedAt
        case changedBy = "changed_by"
    }

    public init(
        connectionId: String, version: Int, configuration: String, createdAt: Milliseconds, comment: String?, changedBy: String? = nil
    ) {
        self.connectionId = connectionId
        self.version = version
        self.configuration = configuration
        self.createdAt = createdAt
        self.comment = comment
        self.changedBy = changedBy
    }
}

/// An open warning: a property marked *warn if missing* that a resource lacks (or whose value
/// does not fit its type). It disappears when a request or a mapping change makes the value appear.
public struct WarningRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "warning"
    public var connectionId: String
    public var resourceType: String
    public var resourceId: String
    public var property: String
    /// `missing` or `typeMismatch`.
    public var kind: String
    public var detail: String?
    public var firstSeenAt: Milliseconds
    public var lastSeenAt: Milliseconds
    /// The logged request that produced the resource state lacking the value (nil when the
    /// state came from a mapping change rather than a request).
    public var requestId: Int64?
    public init(
        connectionId: String, resourceType: String, resourceId: String, property: String, kind: String, detail: String?,
        firstSeenAt: Milliseconds, lastSeenAt: Milliseconds, requestId: Int64?
    ) {
        self.connectionId = connectionId
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.property = property
        self.kind = kind
        self.detail = detail
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.requestId = requestId
    }
}

/// One entry of the change feed. `sequence` increases monotonically and is the resume cursor.
public struct EventRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "event"
    public var sequence: Int64?
    public var at: Milliseconds
    public var connectionId: String
    /// e.g. `user.created`, `group.member_added`, `warning.opened`, `mapping.changed`.
    public var type: String
    public var resourceType: String?
    public var resourceId: String?
    /// JSON object: the resource's mapped view and the change's details (never secrets).
    public var data: String

    public init(at: Milliseconds, connectionId: String, type: String, resourceType: String?, resourceId: String?, data: String) {
        self.at = at
        self.connectionId = connectionId
        self.type = type
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.data = data
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }
}

/// What remains of a deleted resource, so SSO can tell "deprovisioned" from "never provisioned".
public struct TombstoneRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "tombstone"
    public var connectionId: String
    public var resourceType: String
    public var id: String
    public var nameKey: String
    public var externalId: String?
    public var appUserId: String?
    public var deletedAt: Milliseconds
    public init(connectionId: String, resourceType: String, id: String, nameKey: String, externalId: String?, appUserId: String?, deletedAt: Milliseconds) {
        self.connectionId = connectionId
        self.resourceType = resourceType
        self.id = id
        self.nameKey = nameKey
        self.externalId = externalId
        self.appUserId = appUserId
        self.deletedAt = deletedAt
    }
}

/// A SCIM request held until the application confirms (`scim.commit`) or refuses (`scim.reject`) it.
public struct PendingCommitRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "pendingCommit"
    public var id: String
    public var connectionId: String
    /// `link`, `disable`, `enable` or `delete`.
    public var action: String
    /// The `scim.handle` params as JSON (Authorization removed).
    public var request: String
    /// The user as it would be after the change (JSON).
    public var userPreview: String
    public var createdAt: Milliseconds
    public var expiresAt: Milliseconds
    public init(id: String, connectionId: String, action: String, request: String, userPreview: String, createdAt: Milliseconds, expiresAt: Milliseconds) {
        self.id = id
        self.connectionId = connectionId
        self.action = action
        self.request = request
        self.userPreview = userPreview
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
