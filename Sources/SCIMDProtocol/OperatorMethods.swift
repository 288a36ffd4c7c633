import SCIMJSON

// MARK: - operators
//
// Dashboard operators: the people who sign in to scimd's web dashboard. Each has a name, a role
// (`viewer` looks, `admin` also changes configuration) and a password scimd generates and shows
// once (`operators.add`, `operators.resetPassword`); scimd keeps only its scrypt hash. Over the
// socket, which is the trust boundary, these methods manage operators; signing in is the
// dashboard's business.

/// What a dashboard operator may do: `viewer` looks, `admin` also changes configuration.
/// On the wire, the strings `"viewer"` and `"admin"`.
public enum OperatorRole: String, Codable, Sendable, Equatable, CaseIterable, JSONSchemaDescribing {
    /// May look at everything the dashboard shows, and change nothing.
    case viewer
    /// May also change configuration (mappings, connections, …) from the dashboard.
    case admin

    /// Decodes `"viewer"` or `"admin"`; anything else is a decoding error saying which values are
    /// accepted (the dispatcher answers it as `invalid_params` naming the field).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let role = OperatorRole(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "role must be viewer or admin, not '\(text)'")
        }
        self = role
    }

    public static var jsonSchema: JSONValue { ["type": "string", "enum": ["viewer", "admin"]] }
    public static var schemaSample: OperatorRole { .viewer }
}

/// One dashboard operator, as the `operators.*` methods return it. Never holds the password or its hash.
public struct OperatorInfo: Codable, Sendable, Equatable {
    /// Stable id (a lowercase UUID): what a dashboard session remembers.
    public var id: String
    /// The sign-in name (unique ignoring case).
    public var name: String
    /// `viewer` or `admin`.
    public var role: OperatorRole
    /// When the operator was added (RFC 3339, UTC).
    public var createdAt: String
    /// When the password was last set: at `operators.add`, then at each `operators.resetPassword` (RFC 3339, UTC).
    public var passwordChangedAt: String

    public init(id: String, name: String, role: OperatorRole, createdAt: String, passwordChangedAt: String) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.passwordChangedAt = passwordChangedAt
    }
}

/// An operator with a password scimd has just generated: shown this once, never again (scimd
/// keeps only its hash).
public struct OperatorWithPassword: Codable, Sendable, Equatable {
    /// The operator as it now stands.
    public var `operator`: OperatorInfo
    /// The generated password: 20 characters from an alphabet without look-alikes (no 0, O, 1, l, I).
    public var password: String

    public init(operator: OperatorInfo, password: String) {
        self.operator = `operator`
        self.password = password
    }
}

/// Names one operator.
public struct OperatorReference: Codable, Sendable, Equatable {
    /// The operator's name (case does not matter).
    public var name: String
    public init(name: String) { self.name = name }
}

/// `operators.add`: a new dashboard operator with a generated password (shown once).
/// Errors: `conflict` (the name is taken, ignoring case), `invalid_params` (name, role).
public enum OperatorsAdd: RPCMethod {
    public static let name = "operators.add"
    public static let summary = "Add a dashboard operator; answers the generated password, shown only this once."
    public struct Params: Codable, Sendable, Equatable {
        /// 1–64 characters: ASCII letters, digits, `.`, `_`, `-` and `@`; unique ignoring case.
        public var name: String
        /// `viewer` (the default) or `admin`.
        public var role: OperatorRole?
        public init(name: String, role: OperatorRole? = nil) {
            self.name = name
            self.role = role
        }
    }
    public typealias Result = OperatorWithPassword
}

/// `operators.list`: every dashboard operator, by name. Never their passwords or hashes.
public enum OperatorsList: RPCMethod {
    public static let name = "operators.list"
    public static let summary = "List dashboard operators (name, role, when added, when the password was set)."
    public typealias Params = Empty
    public struct Result: Codable, Sendable, Equatable {
        /// The operators, by name (ignoring case).
        public var operators: [OperatorInfo]
        public init(operators: [OperatorInfo]) { self.operators = operators }
    }
}

/// `operators.remove`: deletes an operator; their dashboard sessions stop working at their next
/// request. Errors: `not_found`.
public enum OperatorsRemove: RPCMethod {
    public static let name = "operators.remove"
    public static let summary = "Remove a dashboard operator; their sessions end at their next request."
    public typealias Params = OperatorReference
    public struct Result: Codable, Sendable, Equatable {
        /// Always true (an unknown name is `not_found`).
        public var removed: Bool
        public init(removed: Bool) { self.removed = removed }
    }
}

/// `operators.resetPassword`: a new generated password (shown once); the old one stops working at
/// once. Errors: `not_found`.
public enum OperatorsResetPassword: RPCMethod {
    public static let name = "operators.resetPassword"
    public static let summary = "Give a dashboard operator a new generated password (shown once); the old one stops working."
    public typealias Params = OperatorReference
    public typealias Result = OperatorWithPassword
}

/// `operators.setRole`: changes what an operator may do; takes effect at their next request.
/// Errors: `not_found`, `invalid_params` (role).
public enum OperatorsSetRole: RPCMethod {
    public static let name = "operators.setRole"
    public static let summary = "Change a dashboard operator's role (viewer or admin)."
    public struct Params: Codable, Sendable, Equatable {
        /// The operator's name (case does not matter).
        public var name: String
        /// `viewer` or `admin`.
        public var role: OperatorRole
        public init(name: String, role: OperatorRole) {
            self.name = name
            self.role = role
        }
    }
    public typealias Result = OperatorInfo
}

// MARK: - OpenRPC documentation

/// An operator as the examples show it.
private func exampleOperator(name: String, role: String, passwordChangedAt: String = "2026-11-30T09:00:00.000Z") -> JSONValue {
    [
        "id": "5d0c1a8e-3f7b-4c2e-9a61-0b8e7d4f2c13", "name": .string(name), "role": .string(role),
        "createdAt": "2026-11-30T09:00:00.000Z", "passwordChangedAt": .string(passwordChangedAt),
    ]
}

// scripts/check-openrpc runs these examples against a fresh daemon after adding the operators
// `sam.ops` and `lee.ops` itself, so each example works in any order: `add` makes `dana.ops`,
// `resetPassword` and `setRole` change `sam.ops`, `remove` deletes `lee.ops`.

extension OperatorsAdd {
    public static var errors: [RPCErrorKind]? { [.conflict, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "admin", "Add an admin; the password is shown only here.", params: ["name": "dana.ops", "role": "admin"],
            result: ["operator": exampleOperator(name: "dana.ops", role: "admin"), "password": "Hq7vKcT9mWzR4xPbN2sE"])
    }
}
extension OperatorsAdd.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "name": FieldDoc("The sign-in name: 1–64 ASCII letters, digits, '.', '_', '-' or '@'; unique ignoring case."),
            "role": FieldDoc("viewer (looks; the default) or admin (also changes configuration)."),
        ]
    }
}

extension OperatorsList {
    public static var errors: [RPCErrorKind]? { [] }
    public static var example: RPCExample? {
        RPCExample("all", "Every operator.", params: [:], result: ["operators": [exampleOperator(name: "dana.ops", role: "admin")]])
    }
}

extension OperatorReference: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["name": FieldDoc("The operator's name, as operators.add was given it (case does not matter).")]
    }
}

extension OperatorsRemove {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("remove", "Remove an operator who left.", params: ["name": "lee.ops"], result: ["removed": true])
    }
}

extension OperatorsResetPassword {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "reset", "A forgotten password: a new one, shown only here.", params: ["name": "sam.ops"],
            result: [
                "operator": exampleOperator(name: "sam.ops", role: "viewer", passwordChangedAt: "2026-11-30T10:30:00.000Z"),
                "password": "d8FxWq3LtZr6YmNc5HvB",
            ])
    }
}

extension OperatorsSetRole {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "promote", "Let a viewer change configuration.", params: ["name": "sam.ops", "role": "admin"],
            result: exampleOperator(name: "sam.ops", role: "admin"))
    }
}
extension OperatorsSetRole.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "name": FieldDoc("The operator's name (case does not matter)."),
            "role": FieldDoc("The new role: viewer (looks) or admin (also changes configuration)."),
        ]
    }
}

extension OperatorInfo: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("Stable id (a lowercase UUID)."),
            "name": FieldDoc("The sign-in name (unique ignoring case)."),
            "role": FieldDoc("viewer (looks) or admin (also changes configuration)."),
            "createdAt": FieldDoc("When the operator was added (RFC 3339, UTC)."),
            "passwordChangedAt": FieldDoc("When the password was last set, by operators.add or operators.resetPassword (RFC 3339, UTC)."),
        ]
    }
}

extension OperatorWithPassword: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "operator": FieldDoc("The operator as it now stands."),
            "password": FieldDoc("The generated password (20 characters, no look-alikes); shown only in this answer, never again."),
        ]
    }
}
