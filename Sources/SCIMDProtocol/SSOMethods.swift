import SCIMJSON

/// How `sso.resolve` finds the SCIM user of an SSO login.
///
/// `kind`: `sub_userName` (OIDC `sub` → SCIM `userName`), `sub_externalId` (`sub` → `externalId`),
/// `email_userName` (the default), `email_localpart_userName` (the part of `email` before `@` →
/// `userName`), `preferred_username_userName`, or `claim_property` (claim `claim` → mapped property
/// `property`). Comparisons with `userName` ignore case, as SCIM's do (RFC 7643 §4.1.1);
/// `externalId` is compared exactly (caseExact).
public struct SSOStrategy: Codable, Sendable, Equatable {
    public var kind: String
    /// For `claim_property`: the claim to read.
    public var claim: String?
    /// For `claim_property`: the mapped property to compare with.
    public var property: String?
    public init(kind: String, claim: String? = nil, property: String? = nil) {
        self.kind = kind
        self.claim = claim
        self.property = property
    }
    /// The strategies scimd knows.
    public static let kinds = [
        "sub_userName", "sub_externalId", "email_userName", "email_localpart_userName", "preferred_username_userName",
        "claim_property",
    ]
    public static let `default` = SSOStrategy(kind: "email_userName")
}

/// The user `sso.resolve` matched.
public struct SSOUser: Codable, Sendable, Equatable {
    public var id: String
    public var userName: String
    public var active: Bool
    public var mapped: JSONValue
    public var groups: [ResourceRef]
    /// From the connection's group → role rules (empty when there are none).
    public var roles: [String]
    /// The application's own id for this user (`users.link`).
    public var appUserId: String?
    public init(id: String, userName: String, active: Bool, mapped: JSONValue, groups: [ResourceRef], roles: [String], appUserId: String?) {
        self.id = id
        self.userName = userName
        self.active = active
        self.mapped = mapped
        self.groups = groups
        self.roles = roles
        self.appUserId = appUserId
    }
}

/// `sso.resolve`: which provisioned user an SSO login is, and whether they may log in.
/// Errors: `not_found` (connection / customerId), `invalid_params` (claims lack what the strategy reads),
/// `conflict` (several connections share the customerId).
public enum SSOResolve: RPCMethod {
    public static let name = "sso.resolve"
    public static let summary = "Match SSO claims to a provisioned user and decide: allow, deny_deprovisioned, deny_not_provisioned or ambiguous."
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name; or give `customerId`.
        public var connection: String?
        public var customerId: String?
        /// The ID token's (or SAML assertion's) claims, e.g. `{"sub": "…", "email": "…"}`.
        public var claims: [String: JSONValue]
        public init(connection: String? = nil, customerId: String? = nil, claims: [String: JSONValue]) {
            self.connection = connection
            self.customerId = customerId
            self.claims = claims
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        /// `allow`, `deny_deprovisioned` (SCIM `active` false, or the user was deleted),
        /// `deny_not_provisioned`, or `ambiguous` (more than one match: scimd never guesses).
        public var verdict: String
        public var connection: String
        /// The strategy used, e.g. `email_userName`.
        public var strategy: SSOStrategy
        /// The value that was looked up.
        public var lookedUp: String
        /// The matched user (for `allow` and a deactivated user's `deny_deprovisioned`).
        public var user: SSOUser?
        /// For `ambiguous`: the ids of every match.
        public var candidates: [String]?
        /// Why the login was not allowed, for logs and support: `not_provisioned` (no such
        /// user), `deprovisioned` (deleted), `inactive` (SCIM `active` false), `ambiguous`,
        /// `claim_missing` (the claim the strategy reads is absent or empty), `invalid_claim`
        /// (an email claim that is not `local@domain`), `domain_not_allowed` (the claim's domain is
        /// not one of the connection's `domains`). nil for `allow`.
        public var reason: String?
        public init(
            verdict: String, connection: String, strategy: SSOStrategy, lookedUp: String, user: SSOUser?, candidates: [String]?,
            reason: String? = nil
        ) {
            self.reason = reason
            self.verdict = verdict
            self.connection = connection
            self.strategy = strategy
            self.lookedUp = lookedUp
            self.user = user
            self.candidates = candidates
        }
    }
}

/// Result of `users.link` / `users.unlink`.
public struct LinkResult: Codable, Sendable, Equatable {
    public var id: String
    public var userName: String
    public var appUserId: String?
    public init(id: String, userName: String, appUserId: String?) {
        self.id = id
        self.userName = userName
        self.appUserId = appUserId
    }
}

/// `users.link`: remembers the application's own user id for a SCIM user.
/// Errors: `not_found`, `conflict` (that appUserId is linked to another user of the connection), `invalid_params`.
public enum UsersLink: RPCMethod {
    public static let name = "users.link"
    public static let summary = "Link a SCIM user to the application's own user id."
    public static var deprecatedParamNames: [String: String] { ["user": "id"] }
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        /// The SCIM user's id or userName (was `user`, still accepted).
        public var id: String
        public var appUserId: String
        public init(connection: String, id: String, appUserId: String) {
            self.connection = connection
            self.id = id
            self.appUserId = appUserId
        }
    }
    public typealias Result = LinkResult
}

/// `users.unlink`: forgets a user's application id. Errors: `not_found`.
public enum UsersUnlink: RPCMethod {
    public static let name = "users.unlink"
    public static let summary = "Remove a SCIM user's link to an application user id."
    public static var deprecatedParamNames: [String: String] { ["user": "id"] }
    public struct Params: Codable, Sendable, Equatable {
        public var connection: String
        /// The SCIM user's id or userName (was `user`, still accepted).
        public var id: String
        public init(connection: String, id: String) {
            self.connection = connection
            self.id = id
        }
    }
    public typealias Result = LinkResult
}

/// The change an application must confirm before scimd applies it (connections in confirm mode).
public struct ActionRequired: Codable, Sendable, Equatable {
    /// Pass to `scim.commit` or `scim.reject`.
    public var commitId: String
    /// `link` (a user is being created), `disable`, `enable` or `delete`.
    public var action: String
    /// The user as it will be once applied (SCIM JSON; for `delete`, as it is now).
    public var user: JSONValue
    /// The user's mapped properties after the change.
    public var mapped: JSONValue
    /// When the commit id stops working and the change is dropped.
    public var expiresAt: String
    public init(commitId: String, action: String, user: JSONValue, mapped: JSONValue, expiresAt: String) {
        self.commitId = commitId
        self.action = action
        self.user = user
        self.mapped = mapped
        self.expiresAt = expiresAt
    }
}

/// `scim.commit`: applies a held change and returns the SCIM response to send to the IdP.
/// Errors: `not_found` (unknown or expired commit id).
public enum SCIMCommit: RPCMethod {
    public static let name = "scim.commit"
    public static let summary = "Apply a change held for confirmation; returns the SCIM response for the IdP."
    public struct Params: Codable, Sendable, Equatable {
        public var commitId: String
        /// For `link`: the application's id for the new user, linked at once.
        public var appUserId: String?
        public init(commitId: String, appUserId: String? = nil) {
            self.commitId = commitId
            self.appUserId = appUserId
        }
    }
    public typealias Result = SCIMHandle.Result
}

/// `scim.reject`: drops a held change; the IdP gets a SCIM error carrying `reason`.
/// Errors: `not_found` (unknown or expired commit id), `invalid_params` (empty reason).
public enum SCIMReject: RPCMethod {
    public static let name = "scim.reject"
    public static let summary = "Refuse a change held for confirmation; returns the SCIM error response for the IdP."
    public struct Params: Codable, Sendable, Equatable {
        public var commitId: String
        public var reason: String
        public init(commitId: String, reason: String) {
            self.commitId = commitId
            self.reason = reason
        }
    }
    public typealias Result = SCIMHandle.Result
}

// MARK: - OpenRPC documentation

extension SSOStrategy: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "kind": FieldDoc(
                "Which claim is compared with which user attribute: sub → userName, sub → externalId, email → userName (the default), the part of email before @ → userName, preferred_username → userName, or claim → mapped property.",
                enum: kinds),
            "claim": FieldDoc("For claim_property: the claim to read."),
            "property": FieldDoc("For claim_property: the mapped property to compare with."),
        ]
    }
}

extension SSOUser: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["mapped": .object("The user's mapped properties: property name → value.")]
    }
}

extension SSOResolve {
    public static var errors: [RPCErrorKind]? { [.notFound, .conflict] }
    public static var example: RPCExample? {
        RPCExample(
            "allow", "An OIDC login of a provisioned, active user.",
            params: ["connection": "Acme", "claims": ["sub": "00u1ada", "email": "ada@example.com"]],
            result: [
                "verdict": "allow", "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", "strategy": ["kind": "email_userName"],
                "lookedUp": "ada@example.com",
                "user": [
                    "id": "2819c223-7f76-453a-919d-413861904646", "userName": "ada@example.com", "active": true,
                    "mapped": ["userName": "ada@example.com", "email": "ada@example.com", "active": true],
                    "groups": [["id": "e9e30dba-f08f-4109-8486-d5c6a331660a", "resourceType": "Group", "name": "Engineering"]],
                    "roles": [],
                ],
            ])
    }
}
extension SSOResolve.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name; or give customerId."),
            "customerId": FieldDoc("The connection's customerId, instead of connection."),
            "claims": FieldDoc(
                "The ID token's (or SAML assertion's) claims, e.g. {\"sub\": …, \"email\": …}.",
                schema: ["type": "object", "additionalProperties": FieldDoc.anyValue("A claim's value.").schema!.merging(description: "A claim's value.")]),
        ]
    }
}
extension SSOResolve.Result: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "verdict": FieldDoc(
                "allow; deny_deprovisioned (SCIM active false, deleted, or the connection is disabled); deny_not_provisioned; ambiguous (several matches: scimd never guesses).",
                enum: ["allow", "deny_deprovisioned", "deny_not_provisioned", "ambiguous"]),
            "reason": FieldDoc(
                "Why the login was not allowed; absent for allow.",
                enum: [
                    "not_provisioned", "deprovisioned", "inactive", "connection_disabled", "ambiguous", "claim_missing", "invalid_claim",
                    "domain_not_allowed",
                ]),
            "lookedUp": FieldDoc("The value that was looked up."),
            "candidates": FieldDoc("For ambiguous: the ids of every match."),
        ]
    }
}

extension UsersLink {
    public static var errors: [RPCErrorKind]? { [.notFound, .conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("link", "Remember the application's id for a user.", params: ["connection": "Acme", "id": "ada@example.com", "appUserId": "app-1001"],
            result: ["id": "2819c223-7f76-453a-919d-413861904646", "userName": "ada@example.com", "appUserId": "app-1001"])
    }
}
extension UsersLink.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "connection": FieldDoc("The connection's id or name."),
            "id": FieldDoc("The SCIM user's id or userName."),
            "appUserId": FieldDoc("The application's own id for the user; unique within the connection."),
        ]
    }
}

extension UsersUnlink {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("unlink", "Forget the application's id of a user.", params: ["connection": "Acme", "id": "ada@example.com"],
            result: ["id": "2819c223-7f76-453a-919d-413861904646", "userName": "ada@example.com"])
    }
}
extension UsersUnlink.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["connection": FieldDoc("The connection's id or name."), "id": FieldDoc("The SCIM user's id or userName.")]
    }
}

extension ActionRequired: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "commitId": FieldDoc("Pass to scim.commit or scim.reject."),
            "action": FieldDoc("link: a user is being created; disable, enable or delete an existing one.", enum: ["link", "disable", "enable", "delete"]),
            "user": .object("The user as it will be once applied (an RFC 7643 User; for delete, as it is now)."),
            "mapped": .object("The user's mapped properties after the change: property name → value."),
            "expiresAt": FieldDoc("When the commit id stops working and the change is dropped (RFC 3339)."),
        ]
    }
}

/// The answer `scim.commit` and `scim.reject` examples show: the SCIM response for the IdP.
private let exampleHeldUserResponse: JSONValue = [
    "status": 201, "headers": ["Content-Type": "application/scim+json", "Location": "https://scim.example.com/scim/v2/Users/4f9d7a2c-1c5e-4a8b-9d3e-2b1a0c9f8e7d"],
    "body": #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"4f9d7a2c-1c5e-4a8b-9d3e-2b1a0c9f8e7d","userName":"linus@example.com"}"#,
    "changes": [
        [
            "resourceType": "User", "id": "4f9d7a2c-1c5e-4a8b-9d3e-2b1a0c9f8e7d", "change": "created",
            "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69", "version": "W/\"1\"", "mapped": ["userName": "linus@example.com"],
        ]
    ],
]

extension SCIMCommit {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("commit", "Apply a held user creation and link it to the application's new user.",
            params: ["commitId": "c0mm1t-5e7a-4b1c-9f0d-8e6a2b3c4d5e", "appUserId": "app-1002"], result: exampleHeldUserResponse)
    }
}
extension SCIMCommit.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "commitId": FieldDoc("The commitId of the held change (from scim.handle's actionRequired)."),
            "appUserId": FieldDoc("For link: the application's id for the new user, linked at once."),
        ]
    }
}

extension SCIMReject {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("reject", "Refuse a held user creation; the IdP gets a SCIM error with the reason.",
            params: ["commitId": "c0mm1t-5e7a-4b1c-9f0d-8e6a2b3c4d5e", "reason": "no seats left on this plan"],
            result: [
                "status": 409, "headers": ["Content-Type": "application/scim+json"],
                "body": #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","detail":"no seats left on this plan"}"#,
                "changes": [],
            ])
    }
}
extension SCIMReject.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "commitId": FieldDoc("The commitId of the held change (from scim.handle's actionRequired)."),
            "reason": FieldDoc("Why the change is refused; sent to the IdP in the SCIM error's detail. Non-empty."),
        ]
    }
}
