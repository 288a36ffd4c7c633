import SCIMJSON

/// `scim.handle`: one SCIM HTTP request in, one SCIM HTTP response out (RFC 7644).
///
/// A SCIM-level failure (bad token, invalid filter, uniqueness, …) is a normal result with a
/// 4xx/5xx `status` and an RFC 7644 §3.12 error body; RPC errors are only for malformed calls.
public enum SCIMHandle: RPCMethod {
    public static let name = "scim.handle"
    /// The request is the IdP's: a NUL in it gets a SCIM 400 (`invalidValue`), not an RPC error.
    public static var refusesNUL: Bool { false }
    public static let summary = "Serve one SCIM 2.0 HTTP request (method, path, headers, body) for the connection its bearer token names."
    public struct Params: Codable, Sendable, Equatable {
        /// HTTP method: GET, POST, PUT, PATCH or DELETE.
        public var method: String
        /// Path relative to the SCIM base URL, with the percent-encoded query (`/Users?filter=…`).
        /// A leading base prefix (default `/scim/v2`) is stripped.
        public var path: String
        /// Request headers; names are case-insensitive. `Authorization: Bearer <token>` selects the connection.
        public var headers: [String: String]?
        /// The request body exactly as received, or nil for none.
        public var body: String?
        /// For operator tools on the trusted socket (`scimctl replay`): serve the request for this
        /// connection (id or name) without a bearer token. If an `Authorization` header is sent too,
        /// its token must be valid and belong to this connection (else 401). Web tiers forwarding IdP
        /// traffic leave it unset, so the token alone picks the connection.
        public var connection: String?
        public init(method: String, path: String, headers: [String: String]? = nil, body: String? = nil, connection: String? = nil) {
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
            self.connection = connection
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        /// HTTP status to send to the IdP.
        public var status: Int
        /// Response headers: `Content-Type`, and `Location`, `ETag`, `Allow`, `WWW-Authenticate` where they apply.
        public var headers: [String: String]
        /// Response body (SCIM JSON), or nil (204, 304).
        public var body: String?
        /// What the request changed, in order, for the application to act on.
        public var changes: [ResourceChange]
        /// Present (with status 202 and no body) when the connection is in confirm mode and the
        /// request would create, deactivate, reactivate or delete a user: nothing was applied; the
        /// application applies the change on its side, then calls `scim.commit` (or `scim.reject`)
        /// and sends the IdP the response that call returns.
        public var actionRequired: ActionRequired?
        public init(status: Int, headers: [String: String], body: String?, changes: [ResourceChange], actionRequired: ActionRequired? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.changes = changes
            self.actionRequired = actionRequired
        }
    }
}

/// One change a SCIM request made to a stored resource.
public struct ResourceChange: Codable, Sendable, Equatable {
    /// `User` or `Group`.
    public var resourceType: String
    public var id: String
    /// `created`, `updated`, `deactivated`, `reactivated`, `deleted`, `member_added`, `member_removed`.
    public var change: String
    /// The connection the resource belongs to.
    public var connection: String
    /// The resource's `meta.version` after the change (absent for deletions).
    public var version: String?
    /// For `member_added`/`member_removed`: the member's id.
    public var member: String?
    /// The resource's mapped properties after the change (the application's view of it).
    public var mapped: JSONValue?
    /// Properties whose warning this change opened / resolved.
    public var warningsOpened: [String]?
    public var warningsResolved: [String]?
    public init(
        resourceType: String, id: String, change: String, connection: String, version: String? = nil, member: String? = nil,
        mapped: JSONValue? = nil, warningsOpened: [String]? = nil, warningsResolved: [String]? = nil
    ) {
        self.resourceType = resourceType
        self.id = id
        self.change = change
        self.connection = connection
        self.version = version
        self.member = member
        self.mapped = mapped
        self.warningsOpened = warningsOpened
        self.warningsResolved = warningsResolved
    }
}

/// A logged `scim.handle` call, as listed.
public struct RequestSummary: Codable, Sendable, Equatable {
    /// Monotonic id (also the paging key).
    public var id: Int
    public var connection: String
    public var at: String
    public var method: String
    public var path: String
    public var status: Int
    public var durationMicroseconds: Int
    /// The resource the request addressed or created, when there is one.
    public var resourceType: String?
    public var resourceId: String?
    /// The SCIM `scimType` or `detail` of an error response, for a quick read.
    public var error: String?
    public init(
        id: Int, connection: String, at: String, method: String, path: String, status: Int,
        durationMicroseconds: Int, resourceType: String?, resourceId: String?, error: String?
    ) {
        self.id = id
        self.connection = connection
        self.at = at
        self.method = method
        self.path = path
        self.status = status
        self.durationMicroseconds = durationMicroseconds
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.error = error
    }
}

/// A logged request with its bodies (secrets redacted: `password` values, the bearer token).
public struct RequestDetail: Codable, Sendable, Equatable {
    public var summary: RequestSummary
    /// Request headers with `Authorization` redacted.
    public var requestHeaders: [String: String]
    public var requestBody: String?
    public var responseBody: String?
    /// The id the access log and the response's `X-Request-Id` gave this request.
    public var requestId: String?
    public init(
        summary: RequestSummary, requestHeaders: [String: String], requestBody: String?, responseBody: String?, requestId: String? = nil
    ) {
        self.requestId = requestId
        self.summary = summary
        self.requestHeaders = requestHeaders
        self.requestBody = requestBody
        self.responseBody = responseBody
    }
}

/// `requests.list`: a connection's logged SCIM requests, newest first, paged.
/// Errors: `not_found` (connection), `invalid_params` (status, since or cursor).
public enum RequestsList: RPCMethod {
    public static let name = "requests.list"
    public static let summary = "List a connection's logged SCIM requests, newest first, with paging."
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name.
        public var connection: String
        /// `2xx`, `4xx`, `5xx`, `error` (any status ≥ 400) or an exact status such as `409`.
        public var status: String?
        /// Only requests at or after this RFC 3339 time.
        public var since: String?
        /// Only requests before this RFC 3339 time.
        public var until: String?
        /// Only this HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`; any case).
        public var method: String?
        /// Only requests that addressed a `User` or a `Group`.
        public var resourceType: String?
        /// Page size, 1…1000 (default 50).
        public var limit: Int?
        /// Opaque cursor from a previous page's `nextCursor`.
        public var cursor: String?
        public init(
            connection: String, status: String? = nil, since: String? = nil, until: String? = nil, method: String? = nil,
            resourceType: String? = nil, limit: Int? = nil, cursor: String? = nil
        ) {
            self.connection = connection
            self.until = until
            self.method = method
            self.resourceType = resourceType
            self.status = status
            self.since = since
            self.limit = limit
            self.cursor = cursor
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var requests: [RequestSummary]
        /// Present when more requests follow.
        public var nextCursor: String?
        public init(requests: [RequestSummary], nextCursor: String?) {
            self.requests = requests
            self.nextCursor = nextCursor
        }
    }
}

/// `requests.get`: one logged request with bodies. Errors: `not_found`.
public enum RequestsGet: RPCMethod {
    public static let name = "requests.get"
    public static let summary = "One logged SCIM request with its (redacted) request and response bodies."
    public struct Params: Codable, Sendable, Equatable {
        public var id: Int
        public init(id: Int) { self.id = id }
    }
    public typealias Result = RequestDetail
}

// MARK: - OpenRPC documentation

extension SCIMHandle {
    public static var errors: [RPCErrorKind]? { [.storageFull, .unavailable] }
    public static var methodDescription: String? {
        "A SCIM-level failure (bad token, invalid filter, uniqueness, …) is a normal result with a 4xx/5xx status and an RFC 7644 §3.12 error body; RPC errors are only for malformed calls."
    }
    public static var example: RPCExample? {
        RPCExample(
            "lookup", "The IdP's uniqueness lookup before it creates a user, served for a connection named on the trusted socket.",
            params: ["method": "GET", "path": "/Users?filter=userName%20eq%20%22ada%40example.com%22", "connection": "Acme"],
            result: [
                "status": 200, "headers": ["Content-Type": "application/scim+json"],
                "body": #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#,
                "changes": [],
            ])
    }
}
extension SCIMHandle.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "method": FieldDoc("The HTTP method.", enum: ["GET", "POST", "PUT", "PATCH", "DELETE"]),
            "path": FieldDoc("Path relative to the SCIM base URL with the percent-encoded query (/Users?filter=…); a leading /scim/v2 is stripped."),
            "headers": FieldDoc("Request headers (names case-insensitive); Authorization: Bearer <token> selects the connection."),
            "body": FieldDoc("The request body exactly as received; absent for none."),
            "connection": FieldDoc("For operator tools on the trusted socket: serve the request for this connection (id or name) without a bearer token."),
        ]
    }
}
extension SCIMHandle.Result: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "status": FieldDoc("The HTTP status to send to the IdP."),
            "headers": FieldDoc("Response headers: Content-Type, and Location, ETag, Allow, WWW-Authenticate where they apply."),
            "body": FieldDoc("The response body (SCIM JSON text); absent for 204 and 304."),
            "changes": FieldDoc("What the request changed, in order, for the application to act on."),
            "actionRequired": FieldDoc("Present (status 202) when the connection is in confirm mode and the change waits for scim.commit or scim.reject."),
        ]
    }
}
extension ResourceChange: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "resourceType": FieldDoc("The kind of resource.", enum: ["User", "Group"]),
            "change": FieldDoc(
                "What happened to the resource.",
                enum: ["created", "updated", "deactivated", "reactivated", "deleted", "member_added", "member_removed"]),
            "mapped": .object("The resource's mapped properties after the change (property name → value)."),
            "member": FieldDoc("For member_added and member_removed: the member's id."),
            "version": FieldDoc("The resource's meta.version after the change; absent for deletions."),
        ]
    }
}
extension RequestSummary: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["resourceType": FieldDoc("The kind of resource addressed, when there is one.", enum: ["User", "Group"])]
    }
}

extension RequestsList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("recent", "The latest requests of a connection.", params: ["connection": "Acme", "limit": 1],
            result: ["requests": [exampleRequestSummary], "nextCursor": "1"])
    }
}
extension RequestsList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "status": FieldDoc("2xx, 4xx, 5xx, error (any status ≥ 400) or an exact status such as 409."),
            "since": FieldDoc("Only requests at or after this RFC 3339 time."),
            "until": FieldDoc("Only requests before this RFC 3339 time."),
            "method": FieldDoc("Only this HTTP method (GET, POST, PUT, PATCH or DELETE; any case)."),
            "resourceType": FieldDoc("Only requests that addressed a User or a Group.", enum: ["User", "Group"]),
            "limit": FieldDoc("Page size, 1…1000 (default 50)."),
            "cursor": FieldDoc("The nextCursor of the previous page."),
        ]
    }
}

extension RequestsGet {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("one", "One logged request with its bodies.", params: ["id": 1],
            result: [
                "summary": exampleRequestSummary, "requestHeaders": ["Authorization": "[redacted]", "Content-Type": "application/scim+json"],
                "requestBody": #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com"}"#,
                "responseBody": #"{"id":"2819c223-7f76-453a-919d-413861904646","userName":"ada@example.com"}"#,
                "requestId": "c2f1f1de-2f5e-4f3a-8d0e-6a1b2c3d4e5f",
            ])
    }
}
extension RequestsGet.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["id": FieldDoc("The request's id, from requests.list.")]
    }
}

/// The logged request the examples show.
let exampleRequestSummary: JSONValue = [
    "id": 1, "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", "at": "2026-11-30T09:05:00.000Z", "method": "POST",
    "path": "/Users", "status": 201, "durationMicroseconds": 850, "resourceType": "User",
    "resourceId": "2819c223-7f76-453a-919d-413861904646",
]
