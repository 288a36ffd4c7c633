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
        public init(
            uptimeSeconds: Double, openSocketConnections: Int, acceptedSocketConnections: Int, requestsServed: Int,
            scimConnections: Int, scimRequests: Int, refusedConnections: Int? = nil
        ) {
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
    public typealias Result = JSONValue
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
    /// Connection id, or its name.
    public var id: String
    public init(id: String) { self.id = id }
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
    public typealias Params = ConnectionRef
    public typealias Result = ConnectionInfo
}

/// `connections.update`: rename, re-label or disable/enable. Errors: `not_found`, `conflict`.
public enum ConnectionsUpdate: RPCMethod {
    public static let name = "connections.update"
    public static let summary = "Change a connection's name, customerId, idp, disabled flag, SSO strategy, email domains or confirm mode."
    public struct Params: Codable, Sendable, Equatable {
        public var id: String
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
            id: String, name: String? = nil, customerId: String? = nil, idp: String? = nil, disabled: Bool? = nil,
            sso: SSOStrategy? = nil, confirmMode: Bool? = nil, commitTimeoutSeconds: Int? = nil, domains: [String]? = nil
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
        }
    }
    public typealias Result = ConnectionInfo
}

/// `connections.delete`: removes the connection and everything it holds. Errors: `not_found`.
public enum ConnectionsDelete: RPCMethod {
    public static let name = "connections.delete"
    public static let summary = "Delete a connection with all its users, groups, requests and mappings."
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
    public struct Params: Codable, Sendable, Equatable {
        public var id: String
        /// Seconds the previous token stays valid (0…2,592,000).
        public var overlapSeconds: Int?
        public init(id: String, overlapSeconds: Int? = nil) {
            self.id = id
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
]
