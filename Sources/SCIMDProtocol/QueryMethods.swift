import SCIMJSON

/// A user as a dashboard row.
public struct UserRow: Codable, Sendable, Equatable {
    public var id: String
    public var userName: String
    public var externalId: String?
    public var active: Bool
    public var displayName: String?
    /// Open mapping warnings.
    public var warningCount: Int
    public var updatedAt: String
    /// The linked application user id (`users.link`).
    public var appUserId: String?
    public init(
        id: String, userName: String, externalId: String?, active: Bool, displayName: String?, warningCount: Int, updatedAt: String,
        appUserId: String? = nil
    ) {
        self.appUserId = appUserId
        self.id = id
        self.userName = userName
        self.externalId = externalId
        self.active = active
        self.displayName = displayName
        self.warningCount = warningCount
        self.updatedAt = updatedAt
    }
}

/// A group as a dashboard row.
public struct GroupRow: Codable, Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var externalId: String?
    public var memberCount: Int
    public var warningCount: Int
    public var updatedAt: String
    public init(id: String, displayName: String, externalId: String?, memberCount: Int, warningCount: Int, updatedAt: String) {
        self.id = id
        self.displayName = displayName
        self.externalId = externalId
        self.memberCount = memberCount
        self.warningCount = warningCount
        self.updatedAt = updatedAt
    }
}

/// A group a user belongs to, or a member of a group.
public struct ResourceRef: Codable, Sendable, Equatable {
    public var id: String
    /// `User` or `Group`; nil when the member id matches no stored resource.
    public var resourceType: String?
    /// displayName (groups) or userName (users), when stored.
    public var name: String?
    /// For users: SCIM `active`.
    public var active: Bool?
    public init(id: String, resourceType: String?, name: String?, active: Bool?) {
        self.id = id
        self.resourceType = resourceType
        self.name = name
        self.active = active
    }
}

/// One user or group in full: raw SCIM data, mapped properties, warnings and history.
public struct ResourceDetail: Codable, Sendable, Equatable {
    public var resourceType: String
    public var id: String
    public var name: String
    /// The SCIM resource exactly as stored (compact JSON text, member order as the IdP sent it).
    public var raw: String
    /// The resource as SCIM serves it (with id, meta and, for users, groups).
    public var scim: JSONValue
    /// The mapped properties the application reads.
    public var mapped: JSONValue
    /// The mapping version `mapped` and the warnings hold for: the newest version whose re-map
    /// reached this resource (whether it changed it or found it already right), or that a write
    /// of the resource mapped it with. nil before any mapping reached it.
    public var mappingVersion: Int?
    /// Users: the groups the user is in. Groups: a page of members.
    public var related: [ResourceRef]
    /// Groups: members in all; users: groups in all.
    public var relatedCount: Int
    /// Groups: cursor for the next page of members.
    public var nextRelatedCursor: String?
    public var warnings: [WarningInfo]
    /// The last logged requests that addressed this resource, newest first.
    public var recentRequests: [RequestSummary]
    public var createdAt: String
    public var updatedAt: String
    /// Users: the linked application user id.
    public var appUserId: String?
    public init(
        resourceType: String, id: String, name: String, raw: String, scim: JSONValue, mapped: JSONValue, mappingVersion: Int?,
        related: [ResourceRef], relatedCount: Int, nextRelatedCursor: String?, warnings: [WarningInfo],
        recentRequests: [RequestSummary], createdAt: String, updatedAt: String, appUserId: String? = nil
    ) {
        self.appUserId = appUserId
        self.resourceType = resourceType
        self.id = id
        self.name = name
        self.raw = raw
        self.scim = scim
        self.mapped = mapped
        self.mappingVersion = mappingVersion
        self.related = related
        self.relatedCount = relatedCount
        self.nextRelatedCursor = nextRelatedCursor
        self.warnings = warnings
        self.recentRequests = recentRequests
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// `users.list`: a connection's users in a stable order (creation), paged.
/// Errors: `not_found`, `invalid_params` (bad filter, limit or cursor).
public enum UsersList: RPCMethod {
    public static let name = "users.list"
    public static let summary = "List a connection's users, optionally by SCIM filter, with warnings or by active state; paged."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        /// A SCIM filter (RFC 7644 §3.4.2.2) over the user as SCIM serves it.
        public var filter: String?
        /// What an operator types to find someone: userName or displayName starting with it
        /// (ignoring case), externalId equal to it, or with an `@`, an email starting with it.
        public var search: String?
        /// Only users with open warnings.
        public var withWarnings: Bool?
        /// Only active (true) or inactive (false) users.
        public var active: Bool?
        /// 1…1000, default 50.
        public var limit: Int?
        public var cursor: String?
        public init(
            connection: String, filter: String? = nil, search: String? = nil, withWarnings: Bool? = nil, active: Bool? = nil, limit: Int? = nil,
            cursor: String? = nil
        ) {
            self.connection = connection
            self.search = search
            self.filter = filter
            self.withWarnings = withWarnings
            self.active = active
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var users: [UserRow]
        public var nextCursor: String?
        public init(users: [UserRow], nextCursor: String?) {
            self.users = users
            self.nextCursor = nextCursor
        }
    }
}

/// `users.get`: one user by id or userName. Errors: `not_found`.
public enum UsersGet: RPCMethod {
    public static let name = "users.get"
    public static let summary = "One user: raw SCIM data, mapped properties, groups, open warnings with example requests, recent requests."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        /// The user's id or userName.
        public var id: String
        public init(connection: String, id: String) {
            self.connection = connection
            self.id = id
        }
    }
    public typealias Result = ResourceDetail
}

/// `groups.list`: a connection's groups in a stable order, paged. Errors: `not_found`, `invalid_params`.
public enum GroupsList: RPCMethod {
    public static let name = "groups.list"
    public static let summary = "List a connection's groups with member counts; paged."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        public var filter: String?
        /// displayName starting with it (ignoring case), or externalId equal to it.
        public var search: String?
        public var withWarnings: Bool?
        public var limit: Int?
        public var cursor: String?
        public init(
            connection: String, filter: String? = nil, search: String? = nil, withWarnings: Bool? = nil, limit: Int? = nil, cursor: String? = nil
        ) {
            self.connection = connection
            self.search = search
            self.filter = filter
            self.withWarnings = withWarnings
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var groups: [GroupRow]
        public var nextCursor: String?
        public init(groups: [GroupRow], nextCursor: String?) {
            self.groups = groups
            self.nextCursor = nextCursor
        }
    }
}

/// `groups.get`: one group by id or displayName, with a page of members. Errors: `not_found`.
public enum GroupsGet: RPCMethod {
    public static let name = "groups.get"
    public static let summary = "One group: raw SCIM data, mapped properties, members (paged), warnings, recent requests."
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        /// The group's id or displayName.
        public var id: String
        /// Members per page, 1…1000 (default 100).
        public var membersLimit: Int?
        public var membersCursor: String?
        public init(connection: String, id: String, membersLimit: Int? = nil, membersCursor: String? = nil) {
            self.connection = connection
            self.id = id
            self.membersLimit = membersLimit
            self.membersCursor = membersCursor
        }
    }
    public typealias Result = ResourceDetail
}

// MARK: - OpenRPC documentation

extension ResourceRef: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["resourceType": FieldDoc("The kind of resource; absent when the id matches none stored.", enum: ["User", "Group"])]
    }
}

extension ResourceDetail: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "resourceType": FieldDoc("The kind of resource.", enum: ["User", "Group"]),
            "raw": FieldDoc("The SCIM resource exactly as stored (compact JSON text, member order as the IdP sent it)."),
            "scim": .object("The resource as SCIM serves it (RFC 7643 User or Group, with id, meta and, for users, groups)."),
            "mapped": .object("The mapped properties the application reads: property name → value (as the connection's mapping says)."),
        ]
    }
}

/// The user the examples show (`ada@example.com` of connection `Acme`).
let exampleUserRow: JSONValue = [
    "id": "2819c223-7f76-453a-919d-413861904646", "userName": "ada@example.com", "externalId": "00u1ada", "active": true,
    "displayName": "Ada Lovelace", "warningCount": 0, "updatedAt": "2026-11-30T09:05:00.000Z",
]

extension UsersList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("active", "Active users, first page.", params: ["connection": "Acme", "active": true, "limit": 10],
            result: ["users": [exampleUserRow]])
    }
}
extension UsersList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "filter": FieldDoc("A SCIM filter (RFC 7644 §3.4.2.2) over the user as SCIM serves it."),
            "search": FieldDoc(
                "Search text: userName or displayName starting with it (ignoring case), externalId equal to it, or, with an @, an email value starting with it. Compares stored columns, so it stays fast on large connections where a filter must render every user."),
            "withWarnings": FieldDoc("Only users with open warnings."),
            "active": FieldDoc("Only active (true) or inactive (false) users."),
            "limit": FieldDoc("Page size, 1…1000 (default 50)."),
            "cursor": FieldDoc("The nextCursor of the previous page."),
        ]
    }
}

extension UsersGet {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("by-userName", "A user by userName.", params: ["connection": "Acme", "id": "ada@example.com"],
            result: [
                "resourceType": "User", "id": "2819c223-7f76-453a-919d-413861904646", "name": "ada@example.com",
                "raw": #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com"}"#,
                "scim": [
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "2819c223-7f76-453a-919d-413861904646",
                    "userName": "ada@example.com",
                ],
                "mapped": ["userName": "ada@example.com", "email": "ada@example.com", "active": true],
                "mappingVersion": 1, "related": [["id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "resourceType": "Group", "name": "Engineering"]],
                "relatedCount": 1, "warnings": [], "recentRequests": [exampleRequestSummary],
                "createdAt": "2026-11-30T09:05:00.000Z", "updatedAt": "2026-11-30T09:05:00.000Z",
            ])
    }
}
extension UsersGet.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["connection": FieldDoc("The connection's id or name."), "id": FieldDoc("The user's id or userName.")]
    }
}

extension GroupsList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("all", "Groups, first page.", params: ["connection": "Acme", "limit": 10],
            result: [
                "groups": [
                    [
                        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "displayName": "Engineering", "memberCount": 1, "warningCount": 0,
                        "updatedAt": "2026-11-30T09:05:00.000Z",
                    ]
                ]
            ])
    }
}
extension GroupsList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "filter": FieldDoc("A SCIM filter (RFC 7644 §3.4.2.2) over the group as SCIM serves it."),
            "search": FieldDoc("Search text: displayName starting with it (ignoring case) or externalId equal to it."),
            "withWarnings": FieldDoc("Only groups with open warnings."),
            "limit": FieldDoc("Page size, 1…1000 (default 50)."),
            "cursor": FieldDoc("The nextCursor of the previous page."),
        ]
    }
}

extension GroupsGet {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("by-displayName", "A group by displayName with its first members.", params: ["connection": "Acme", "id": "Engineering", "membersLimit": 10],
            result: [
                "resourceType": "Group", "id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "name": "Engineering",
                "raw": #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineering"}"#,
                "scim": ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "displayName": "Engineering"],
                "mapped": ["displayName": "Engineering"], "mappingVersion": 1,
                "related": [["id": "2819c223-7f76-453a-919d-413861904646", "resourceType": "User", "name": "ada@example.com", "active": true]],
                "relatedCount": 1, "warnings": [], "recentRequests": [], "createdAt": "2026-11-30T09:05:00.000Z",
                "updatedAt": "2026-11-30T09:05:00.000Z",
            ])
    }
}
extension GroupsGet.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "id": FieldDoc("The group's id or displayName."),
            "membersLimit": FieldDoc("Members per page, 1…1000 (default 100)."),
            "membersCursor": FieldDoc("The nextRelatedCursor of the previous page of members."),
        ]
    }
}
