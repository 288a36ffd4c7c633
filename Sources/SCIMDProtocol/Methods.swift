import SCIMJSON

// Every RPC method scimd serves, one definition each. Timestamps on the wire are RFC 3339 strings
// in UTC with milliseconds ("2026-11-29T08:15:02.123Z"); durations are in the unit their name says.

// MARK: - system

/// `system.health`: liveness. Answers as soon as the daemon accepts requests.
public enum SystemHealth: RPCMethod {
    public static let name = "system.health"
    public static let summary = "Liveness and readiness: status (ok or degraded), the checks behind it, version and uptime."
    public typealias Params = Empty
    public struct Result: Codable, Sendable, Equatable {
        /// "ok" when every check passes, "degraded" when one fails (the daemon still answers).
        public var status: String
        public var version: String
        public var uptimeSeconds: Double
        /// What the status was decided from.
        public var checks: [HealthCheck]?
        public init(status: String, version: String, uptimeSeconds: Double, checks: [HealthCheck]? = nil) {
            self.status = status
            self.version = version
            self.uptimeSeconds = uptimeSeconds
            self.checks = checks
        }
    }
}

/// One check behind `system.health`: `storage` (writes succeed; failing while the disk is full).
public struct HealthCheck: Codable, Sendable, Equatable {
    /// Stable name of the check.
    public var name: String
    /// "ok" or "failing".
    public var status: String
    /// Why it fails, for people.
    public var detail: String?
    public init(name: String, status: String, detail: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
    }
}

/// `system.backup`: a consistent copy of the whole database, written while scimd serves.
/// Errors: `invalid_params` (a relative path, a directory that does not exist or cannot be
/// written), `conflict` (the file exists), `storage_full`.
public enum SystemBackup: RPCMethod {
    public static let name = "system.backup"
    public static let summary = "Write a consistent online copy of the database to a new file (restore it with scimd --restore)."
    public struct Params: Codable, Sendable, Equatable {
        /// Absolute path of the file to create, as scimd's own process sees the file system (under
        /// systemd's `ProtectSystem=strict`, only its state directory is writable).
        public var path: String
        public init(path: String) { self.path = path }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var path: String
        /// Size of the copy in bytes.
        public var bytes: Int64
        /// How long the copy took.
        public var milliseconds: Double
        public init(path: String, bytes: Int64, milliseconds: Double) {
            self.path = path
            self.bytes = bytes
            self.milliseconds = milliseconds
        }
    }
}

/// `system.version`: the daemon's version and the SQLite library it runs on.
public enum SystemVersion: RPCMethod {
    public static let name = "system.version"
    public static let summary = "Daemon version, protocol version and SQLite version."
    public typealias Params = Empty
    public struct Result: Codable, Sendable, Equatable {
        public var version: String
        /// Bumped on incompatible changes to this RPC contract.
        public var protocolVersion: Int
        public var sqliteVersion: String
        public init(version: String, protocolVersion: Int, sqliteVersion: String) {
            self.version = version
            self.protocolVersion = protocolVersion
            self.sqliteVersion = sqliteVersion
        }
    }
}

/// `system.stats`: counters since the daemon started.
public enum SystemStats: RPCMethod {
    public static let name = "system.stats"
    public static let summary = "Uptime, socket connections, requests served and stored totals."
    public typealias Params = Empty
    public struct Result: Codable, Sendable, Equatable {
        public var uptimeSeconds: Double
        /// Socket connections open now.
        public var openSocketConnections: Int
        /// Socket connections accepted since start.
        public var acceptedSocketConnections: Int
        /// JSON-RPC requests answered since start (notifications and batch members included).
        public var requestsServed: Int
        /// SCIM connections (customer organizations) configured.
        public var scimConnections: Int
        /// `scim.handle` calls since start.
        public var scimRequests: Int
        /// Connections refused at once because a listener (JSON-RPC or HTTP) was at its
        /// connection limit, since start. Optional so that results from older daemons still decode.
        public var refusedConnections: Int?
        /// SCIM connections whose users, groups and warnings are in memory now (the others load on
        /// their next read). Optional so that results from older daemons still decode.
        public var residentConnections: Int?
        /// Estimated bytes those connections hold in memory (rows' text plus indexes; within about
        /// 10% of the heap for Okta-shaped users).
        public var residentBytes: Int?
        /// `--memory-limit` in bytes, against `residentBytes`; absent when unlimited.
        public var memoryLimitBytes: Int?
        public init(
            uptimeSeconds: Double, openSocketConnections: Int, acceptedSocketConnections: Int, requestsServed: Int,
            scimConnections: Int, scimRequests: Int, refusedConnections: Int? = nil, residentConnections: Int? = nil,
            residentBytes: Int? = nil, memoryLimitBytes: Int? = nil
        ) {
            self.residentConnections = residentConnections
            self.residentBytes = residentBytes
            self.memoryLimitBytes = memoryLimitBytes
            self.uptimeSeconds = uptimeSeconds
            self.openSocketConnections = openSocketConnections
            self.acceptedSocketConnections = acceptedSocketConnections
            self.requestsServed = requestsServed
            self.scimConnections = scimConnections
            self.scimRequests = scimRequests
            self.refusedConnections = refusedConnections
        }
    }
}

/// `rpc.discover`: the OpenRPC 1.2 document describing every method (https://spec.open-rpc.org).
public enum RPCDiscover: RPCMethod {
    public static let name = "rpc.discover"
    public static let summary = "OpenRPC document describing every method, its params and result."
    public typealias Params = Empty
    public typealias Result = OpenRPCDocumentValue
}

/// The result of `rpc.discover`: an OpenRPC 1.2.6 document, carried as JSON.
public struct OpenRPCDocumentValue: Codable, Sendable, Equatable, JSONSchemaDescribing {
    /// The document (see ``OpenRPCDocument/make(methods:notifications:version:)``).
    public var document: JSONValue
    public init(_ document: JSONValue) { self.document = document }
    public init(from decoder: any Decoder) throws { document = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try document.encode(to: encoder) }
    /// Stated, not walked: the document's own schema is the OpenRPC meta-schema.
    public static var jsonSchema: JSONValue {
        [
            "type": "object", "required": ["openrpc", "info", "methods"],
            "description": "An OpenRPC 1.2.6 document (https://spec.open-rpc.org); its schema is the OpenRPC meta-schema.",
        ]
    }
    public static var schemaSample: OpenRPCDocumentValue { OpenRPCDocumentValue(.object([:])) }
}

extension OpenRPCDocumentValue: FastJSONEncodable {
    /// The document as it is: its members keep the order they were built in.
    var fastJSON: JSONValue? { document }
}

// MARK: - connections

/// A SCIM connection (one customer organization) as the dashboard shows it.
public struct ConnectionInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var customerId: String?
    /// Free text naming the identity provider ("Okta", "Entra ID", …).
    public var idp: String?
    /// A disabled connection's token is refused (SCIM 403).
    public var disabled: Bool
    public var createdAt: String
    public var updatedAt: String
    /// Users stored (active and inactive).
    public var users: Int
    public var activeUsers: Int
    public var groups: Int
    /// Open mapping warnings (one per resource and property).
    public var openWarnings: Int
    /// Resources with at least one open warning.
    public var resourcesWithWarnings: Int
    /// `scim.handle` calls logged in the last 24 hours, and those with status ≥ 400.
    public var requests24h: Int
    public var errors24h: Int
    public var lastRequestAt: String?
    public var lastRequestStatus: Int?
    /// When the previous token stops working after a rotation with overlap.
    public var previousTokenExpiresAt: String?
    /// How `sso.resolve` matches logins to users.
    public var sso: SSOStrategy
    /// When true, creating, deactivating, reactivating or deleting a user waits for the
    /// application's `scim.commit` (see `ActionRequired`).
    public var confirmMode: Bool
    /// Seconds a held change waits for `scim.commit` before it is dropped.
    public var commitTimeoutSeconds: Int
    /// The customer's email domains (lowercased): when set, `sso.resolve` refuses email-shaped
    /// claims from any other domain. Empty: no restriction.
    public var domains: [String]

    public init(
        id: String, name: String, customerId: String?, idp: String?, disabled: Bool, createdAt: String,
        updatedAt: String, users: Int = 0, activeUsers: Int = 0, groups: Int = 0, openWarnings: Int = 0,
        resourcesWithWarnings: Int = 0, requests24h: Int = 0, errors24h: Int = 0, lastRequestAt: String? = nil,
        lastRequestStatus: Int? = nil, previousTokenExpiresAt: String? = nil, sso: SSOStrategy = .default,
        confirmMode: Bool = false, commitTimeoutSeconds: Int = 300, domains: [String] = []
    ) {
        self.domains = domains
        self.sso = sso
        self.confirmMode = confirmMode
        self.commitTimeoutSeconds = commitTimeoutSeconds
        self.id = id
        self.name = name
        self.customerId = customerId
        self.idp = idp
        self.disabled = disabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.users = users
        self.activeUsers = activeUsers
        self.groups = groups
        self.openWarnings = openWarnings
        self.resourcesWithWarnings = resourcesWithWarnings
        self.requests24h = requests24h
        self.errors24h = errors24h
        self.lastRequestAt = lastRequestAt
        self.lastRequestStatus = lastRequestStatus
        self.previousTokenExpiresAt = previousTokenExpiresAt
    }
}

/// Params naming one connection by id (or by its unique name).
public struct ConnectionRef: Codable, Sendable, Equatable {
    /// Connection id, or its name. (Was `id` before the naming rule; `id` is still accepted.)
    public var connection: String
    public init(connection: String) { self.connection = connection }
}

/// A connection plus its bearer token, which is returned only here and never again.
public struct ConnectionWithToken: Codable, Sendable, Equatable {
    public var connection: ConnectionInfo
    /// The bearer token for the IdP (`Authorization: Bearer …`). scimd keeps only its SHA-256.
    public var token: String
    public init(connection: ConnectionInfo, token: String) {
        self.connection = connection
        self.token = token
    }
}

/// `connections.create`: a new SCIM connection and its first token.
/// Errors: `conflict` when the name is taken, `invalid_params` for an empty name.
public enum ConnectionsCreate: RPCMethod {
    public static let name = "connections.create"
    public static let summary = "Create a SCIM connection; returns it and its bearer token (shown once)."
    public struct Params: Codable, Sendable, Equatable {
        /// Unique, non-empty display name.
        public var name: String
        public var customerId: String?
        public var idp: String?
        public init(name: String, customerId: String? = nil, idp: String? = nil) {
            self.name = name
            self.customerId = customerId
            self.idp = idp
        }
    }
    public typealias Result = ConnectionWithToken
}

/// `connections.list`: every connection with its dashboard counters, ordered by name.
public enum ConnectionsList: RPCMethod {
    public static let name = "connections.list"
    public static let summary = "List every connection with user, group, warning and request counters."
    public typealias Params = Empty
    public struct Result: Codable, Sendable, Equatable {
        public var connections: [ConnectionInfo]
        public init(connections: [ConnectionInfo]) { self.connections = connections }
    }
}

/// `connections.get`: one connection. Errors: `not_found`.
public enum ConnectionsGet: RPCMethod {
    public static let name = "connections.get"
    public static let summary = "One connection with its counters."
    public static var deprecatedParamNames: [String: String] { ["id": "connection"] }
    public typealias Params = ConnectionRef
    public typealias Result = ConnectionInfo
}

/// `connections.update`: rename, re-label or disable/enable. Errors: `not_found`, `conflict`.
public enum ConnectionsUpdate: RPCMethod {
    public static let name = "connections.update"
    public static let summary = "Change a connection's name, customerId, idp, disabled flag, SSO strategy, email domains or confirm mode."
    public static var deprecatedParamNames: [String: String] { ["id": "connection"] }
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name (was `id`, still accepted).
        public var connection: String
        public var name: String?
        public var customerId: String?
        public var idp: String?
        public var disabled: Bool?
        /// SSO matching strategy for `sso.resolve`.
        public var sso: SSOStrategy?
        /// Hold user lifecycle changes for `scim.commit`.
        public var confirmMode: Bool?
        /// 10…86,400.
        public var commitTimeoutSeconds: Int?
        /// The customer's email domains (`["example.com"]`); `[]` removes the restriction. Each is a
        /// domain name, without `@`; matching ignores case and allows no subdomains.
        public var domains: [String]?
        public init(
            connection: String, name: String? = nil, customerId: String? = nil, idp: String? = nil, disabled: Bool? = nil,
            sso: SSOStrategy? = nil, confirmMode: Bool? = nil, commitTimeoutSeconds: Int? = nil, domains: [String]? = nil
        ) {
            self.domains = domains
            self.sso = sso
            self.confirmMode = confirmMode
            self.commitTimeoutSeconds = commitTimeoutSeconds
            self.connection = connection
            self.name = name
            self.customerId = customerId
            self.idp = idp
            self.disabled = disabled
        }
    }
    public typealias Result = ConnectionInfo
}

/// `connections.delete`: removes the connection and everything it holds. Errors: `not_found`.
public enum ConnectionsDelete: RPCMethod {
    public static let name = "connections.delete"
    public static let summary = "Delete a connection with all its users, groups, requests and mappings."
    public static var deprecatedParamNames: [String: String] { ["id": "connection"] }
    public typealias Params = ConnectionRef
    public struct Result: Codable, Sendable, Equatable {
        public var deleted: Bool
        public var users: Int
        public var groups: Int
        public init(deleted: Bool, users: Int, groups: Int) {
            self.deleted = deleted
            self.users = users
            self.groups = groups
        }
    }
}

/// `connections.rotateToken`: issues a new token; the old one keeps working for `overlapSeconds`
/// (default 0: stops at once). Errors: `not_found`, `invalid_params` for a negative overlap.
public enum ConnectionsRotateToken: RPCMethod {
    public static let name = "connections.rotateToken"
    public static let summary = "Issue a new bearer token; the old one keeps working for overlapSeconds."
    public static var deprecatedParamNames: [String: String] { ["id": "connection"] }
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name (was `id`, still accepted).
        public var connection: String
        /// Seconds the previous token stays valid (0…2,592,000).
        public var overlapSeconds: Int?
        public init(connection: String, overlapSeconds: Int? = nil) {
            self.connection = connection
            self.overlapSeconds = overlapSeconds
        }
    }
    public typealias Result = ConnectionWithToken
}

/// The methods `rpc.discover` documents, in the order it lists them. Extended as families land.
public let allMethods: [any RPCMethod.Type] = [
    SystemHealth.self, SystemVersion.self, SystemStats.self, SystemBackup.self, RPCDiscover.self,
    ConnectionsCreate.self, ConnectionsList.self, ConnectionsGet.self, ConnectionsUpdate.self,
    ConnectionsDelete.self, ConnectionsRotateToken.self,
    SCIMHandle.self, RequestsList.self, RequestsGet.self,
    MappingGet.self, MappingSet.self, MappingPreview.self, MappingHistory.self, MappingRollback.self, MappingSuggest.self,
    WarningsSummary.self, WarningsList.self,
    UsersList.self, UsersGet.self, GroupsList.self, GroupsGet.self,
    EventsList.self, EventsSubscribe.self,
    SSOResolve.self, UsersLink.self, UsersUnlink.self, SCIMCommit.self, SCIMReject.self,
    WebhooksAdd.self, WebhooksList.self, WebhooksRemove.self, WebhooksPause.self, WebhooksResume.self,
    WebhooksRotateSecret.self, WebhooksDeliveries.self, WebhooksRedeliver.self,
    OperatorsAdd.self, OperatorsList.self, OperatorsRemove.self, OperatorsResetPassword.self, OperatorsSetRole.self,
]

// MARK: - OpenRPC documentation (descriptions, errors, examples) of the methods above

extension SystemHealth {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample(
            "healthy", "A daemon whose storage accepts writes.", params: [:],
            result: ["status": "ok", "version": "1.0.0", "uptimeSeconds": 3600.5, "checks": [["name": "storage", "status": "ok"]]])
    }
}
extension SystemHealth.Result: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "status": FieldDoc("ok when every check passes, degraded when one fails (the daemon still answers).", enum: ["ok", "degraded"]),
            "version": FieldDoc("The daemon's version."),
            "uptimeSeconds": FieldDoc("Seconds since the daemon started."),
            "checks": FieldDoc("What the status was decided from."),
        ]
    }
}
extension HealthCheck: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "name": FieldDoc("Stable name of the check (storage: writes succeed)."),
            "status": FieldDoc("The check's outcome.", enum: ["ok", "failing"]),
            "detail": FieldDoc("Why it fails, for people."),
        ]
    }
}

extension SystemVersion {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample("version", "Versions of the daemon, the RPC contract and SQLite.", params: [:],
            result: ["version": "1.0.0", "protocolVersion": 1, "sqliteVersion": "3.46.1"])
    }
}

extension SystemStats {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample("counters", "Counters of a daemon serving one connection.", params: [:],
            result: [
                "uptimeSeconds": 3600.5, "openSocketConnections": 2, "acceptedSocketConnections": 17, "requestsServed": 412,
                "scimConnections": 1, "scimRequests": 380, "refusedConnections": 0,
                "residentConnections": 1, "residentBytes": 4_812_400,
            ])
    }
}

extension SystemBackup {
    public static var errors: [RPCErrorKind]? { [.conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("backup", "A copy into the state directory.", params: ["path": "/var/lib/scimd/backup-2026-11-30.sqlite"],
            result: ["path": "/var/lib/scimd/backup-2026-11-30.sqlite", "bytes": 1_269_760, "milliseconds": 42.7])
    }
}
extension SystemBackup.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["path": FieldDoc("Absolute path of the file to create, as scimd's process sees the file system; it must not exist.")]
    }
}

extension RPCDiscover {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample("discover", "This document (shortened here).", params: [:],
            result: ["openrpc": "1.2.6", "info": ["title": "scimd", "version": "1.0.0"], "methods": []])
    }
}

extension ConnectionInfo: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("The connection's id (a UUID)."),
            "name": FieldDoc("Unique display name."),
            "customerId": FieldDoc("The application's id for the customer organization."),
            "idp": FieldDoc("Free text naming the identity provider (Okta, Entra ID, …)."),
            "disabled": FieldDoc("A disabled connection's token is refused (SCIM 403)."),
        ]
    }
}

extension ConnectionRef: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["connection": FieldDoc("The connection's id or name.")]
    }
}

extension ConnectionsCreate {
    public static var errors: [RPCErrorKind]? { [.conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("create", "A connection for a customer provisioning from Okta.",
            params: ["name": "Globex", "customerId": "cust-77", "idp": "Okta"],
            result: [
                "connection": exampleConnection(id: "5b0c7a52-3d0e-4c55-9d6e-0b8f2f3c9a11", name: "Globex", customerId: "cust-77"),
                "token": "scimd_4q0V3m8kR2sX9yT1wZ6pL5nB7cD0fG3h",
            ])
    }
}
extension ConnectionsCreate.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "name": FieldDoc("Unique, non-empty display name."),
            "customerId": FieldDoc("The application's id for the customer organization (sso.resolve can look connections up by it)."),
            "idp": FieldDoc("Free text naming the identity provider (Okta, Entra ID, …)."),
        ]
    }
}

extension ConnectionsList {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample("list", "One connection.", params: [:], result: ["connections": [exampleConnection()]])
    }
}

extension ConnectionsGet {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("get", "A connection by name.", params: ["connection": "Acme"], result: exampleConnection())
    }
}

extension ConnectionsUpdate {
    public static var errors: [RPCErrorKind]? { [.notFound, .conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("relabel", "Record the identity provider.", params: ["connection": "Acme", "idp": "Okta"], result: exampleConnection())
    }
}
extension ConnectionsUpdate.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "name": FieldDoc("New unique display name."),
            "customerId": FieldDoc("New customer id; empty removes it."),
            "idp": FieldDoc("New identity provider label; empty removes it."),
            "disabled": FieldDoc("true refuses the connection's token (SCIM 403); false accepts it again."),
            "sso": FieldDoc("How sso.resolve matches logins to users."),
            "confirmMode": FieldDoc("Hold user creation, deactivation, reactivation and deletion for scim.commit."),
            "commitTimeoutSeconds": FieldDoc("Seconds a held change waits for scim.commit, 10…86,400."),
            "domains": FieldDoc("The customer's email domains (without @); [] removes the restriction."),
        ]
    }
}

extension ConnectionsDelete {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("delete", "Delete a connection and all it holds.", params: ["connection": "Globex"],
            result: ["deleted": true, "users": 0, "groups": 0])
    }
}

extension ConnectionsRotateToken {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("rotate", "A new token; the old one works for another hour.", params: ["connection": "Acme", "overlapSeconds": 3600],
            result: ["connection": exampleConnection(), "token": "scimd_9Zt2Lw0Qe4Rn7Ub1Yc3Vx5Ma8Ks6Hd2J"])
    }
}
extension ConnectionsRotateToken.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "overlapSeconds": FieldDoc("Seconds the previous token keeps working, 0…2,592,000 (default 0: it stops at once)."),
        ]
    }
}

/// The connection the examples use (`Acme`), as results show it.
func exampleConnection(
    id: String = "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", name: String = "Acme", customerId: String = "cust-42"
) -> JSONValue {
    [
        "id": .string(id), "name": .string(name), "customerId": .string(customerId), "idp": "Okta", "disabled": false,
        "createdAt": "2026-11-30T09:00:00.000Z", "updatedAt": "2026-11-30T09:00:00.000Z", "users": 1, "activeUsers": 1,
        "groups": 1, "openWarnings": 0, "resourcesWithWarnings": 0, "requests24h": 2, "errors24h": 0,
        "lastRequestAt": "2026-11-30T09:05:00.000Z", "lastRequestStatus": 201, "sso": ["kind": "email_userName"],
        "confirmMode": false, "commitTimeoutSeconds": 300, "domains": [],
    ]
}
