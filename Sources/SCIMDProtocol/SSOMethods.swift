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
