import SCIMJSON

/// A JSON-RPC 2.0 request id: a string or an integer (JSON-RPC 2.0 §4). `null` ids are not
/// issued by scimd's client and are answered as if the id were absent where the spec requires it.
public enum RequestID: Hashable, Sendable, Codable, CustomStringConvertible {
    case number(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let i = try? container.decode(Int.self) {
            self = .number(i)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let i): try container.encode(i)
        case .string(let s): try container.encode(s)
        }
    }

    /// The id as a JSON value.
    public var json: JSONValue {
        switch self {
        case .number(let i): return .int(i)
        case .string(let s): return .string(s)
        }
    }

    public var description: String {
        switch self {
        case .number(let i): return String(i)
        case .string(let s): return "\"\(s)\""
        }
    }
}

/// A JSON-RPC 2.0 error code (JSON-RPC 2.0 §5.1). The standard codes, plus scimd's application
/// range (-32000…-32099, "server error" in the spec) where each code pairs with a stable
/// `data.kind` string that clients should switch on.
public struct JSONRPCErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Invalid JSON was received.
    public static let parseError = JSONRPCErrorCode(rawValue: -32700)
    /// The JSON sent is not a valid Request object (or the line was too long).
    public static let invalidRequest = JSONRPCErrorCode(rawValue: -32600)
    /// The method does not exist.
    public static let methodNotFound = JSONRPCErrorCode(rawValue: -32601)
    /// Invalid method parameters; `data.field` names the offending field.
    public static let invalidParams = JSONRPCErrorCode(rawValue: -32602)
    /// A fault inside scimd. Never caused by client input.
    public static let internalError = JSONRPCErrorCode(rawValue: -32603)

    /// The named thing (connection, user, request, …) does not exist. kind `not_found`.
    public static let notFound = JSONRPCErrorCode(rawValue: -32004)
    /// The change conflicts with current state (duplicate name, stale `expectedVersion`). kind `conflict`.
    public static let conflict = JSONRPCErrorCode(rawValue: -32009)
    /// A mapping configuration is invalid. kind `invalid_mapping`.
    public static let invalidMapping = JSONRPCErrorCode(rawValue: -32022)
    /// Credentials were refused. kind `unauthorized`.
    public static let unauthorized = JSONRPCErrorCode(rawValue: -32001)
    /// The daemon is shutting down or over a limit. kind `unavailable`.
    public static let unavailable = JSONRPCErrorCode(rawValue: -32003)
    /// The database's disk is full: nothing was written; retry once space is freed. kind `storage_full`.
    public static let storageFull = JSONRPCErrorCode(rawValue: -32010)

    public var description: String { String(rawValue) }
}

/// An error as carried in a JSON-RPC response: `{"code", "message", "data": {"kind", "field"?, "details"?}}`.
///
/// Both ends use it: the daemon's service layer throws it, the transport serializes it in one
/// place, and ``SCIMDClient`` rethrows it to callers.
public struct RPCError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var code: JSONRPCErrorCode
    public var message: String
    public var data: ErrorData?

    /// Machine-readable detail. `kind` is stable across versions.
    public struct ErrorData: Sendable, Equatable, Codable {
        /// Stable error kind: one of ``RPCErrorKind``'s raw values.
        public var kind: String
        /// The parameter at fault, as a dotted path (`invalid_params`, `invalid_mapping`).
        public var field: String?
        /// Extra structured detail (e.g. the mapping property and path position).
        public var details: JSONValue?

        public init(kind: String, field: String? = nil, details: JSONValue? = nil) {
            self.kind = kind
            self.field = field
            self.details = details
        }
    }

    public init(code: JSONRPCErrorCode, message: String, kind: String, field: String? = nil, details: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = ErrorData(kind: kind, field: field, details: details)
    }

    /// The stable kind, or "unknown" when the peer sent none.
    public var kind: String { data?.kind ?? "unknown" }

    public var description: String { "\(message) (\(kind), code \(code.rawValue))" }

    public static func parseError(_ message: String) -> RPCError {
        RPCError(code: .parseError, message: message, kind: "parse_error")
    }
    public static func invalidRequest(_ message: String) -> RPCError {
        RPCError(code: .invalidRequest, message: message, kind: "invalid_request")
    }
    public static func lineTooLong(limit: Int) -> RPCError {
        RPCError(
            code: .invalidRequest, message: "message exceeds the maximum line length of \(limit) bytes; closing the connection",
            kind: "line_too_long")
    }
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: .methodNotFound, message: "method not found: \(method)", kind: "method_not_found")
    }
    public static func invalidParams(_ message: String, field: String? = nil) -> RPCError {
        RPCError(code: .invalidParams, message: message, kind: "invalid_params", field: field)
    }
    public static func internalError(_ message: String) -> RPCError {
        RPCError(code: .internalError, message: message, kind: "internal")
    }
    public static func notFound(_ message: String) -> RPCError {
        RPCError(code: .notFound, message: message, kind: "not_found")
    }
    public static func conflict(_ message: String) -> RPCError {
        RPCError(code: .conflict, message: message, kind: "conflict")
    }
    public static func unauthorized(_ message: String) -> RPCError {
        RPCError(code: .unauthorized, message: message, kind: "unauthorized")
    }
    /// The write was refused because the database's disk is full; `details.retryAfterSeconds`
    /// suggests when to try again. Nothing of the call was applied.
    public static func storageFull(_ message: String, retryAfterSeconds: Int) -> RPCError {
        RPCError(code: .storageFull, message: message, kind: "storage_full", details: ["retryAfterSeconds": .int(retryAfterSeconds)])
    }
    public static func unavailable(_ message: String) -> RPCError {
        RPCError(code: .unavailable, message: message, kind: "unavailable")
    }
    public static func invalidMapping(_ message: String, field: String? = nil, details: JSONValue? = nil) -> RPCError {
        RPCError(code: .invalidMapping, message: message, kind: "invalid_mapping", field: field, details: details)
    }

    /// The error object as JSON.
    public var json: JSONValue {
        var object: JSONObject = ["code": .int(code.rawValue), "message": .string(message)]
        if let data {
            var d: JSONObject = ["kind": .string(data.kind)]
            if let field = data.field { d["field"] = .string(field) }
            if let details = data.details { d["details"] = details }
            object["data"] = .object(d)
        }
        return .object(object)
    }

    /// Reads an error object; `nil` if `json` is not one.
    public init?(json: JSONValue) {
        guard let code = json["code"]?.intValue, let message = json["message"]?.stringValue else { return nil }
        self.code = JSONRPCErrorCode(rawValue: code)
        self.message = message
        if let data = json["data"], let kind = data["kind"]?.stringValue {
            self.data = ErrorData(kind: kind, field: data["field"]?.stringValue, details: data["details"])
        } else {
            self.data = nil
        }
    }
}

/// One RPC method: its wire name, its typed params and result, and a one-line summary for the
/// OpenRPC document. The dispatcher, `rpc.discover` and the client all use these definitions.
public protocol RPCMethod: Sendable {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    /// The JSON-RPC method name, e.g. `connections.create`.
    static var name: String { get }
    /// One line for humans (OpenRPC `summary`).
    static var summary: String { get }
    /// Whether the dispatcher refuses params holding U+0000 in any string (`invalid_params` naming
    /// the field). True for every method but those whose params carry an IdP's SCIM request, which
    /// the SCIM layer judges by the same rule and answers with a SCIM 400 the IdP understands.
    static var refusesNUL: Bool { get }
    /// Old param name → the name that replaced it, for params renamed to the naming rule
    /// (`connection` names a connection, `id` the resource inside it). The dispatcher accepts an
    /// old name as the new one (both at once is `invalid_params`); the document lists it as a
    /// deprecated param.
    static var deprecatedParamNames: [String: String] { get }
    /// More than the summary, when there is more to say (OpenRPC `description`).
    static var methodDescription: String? { get }
    /// The error kinds the method itself can answer with, besides `invalid_params` and `internal`
    /// (which every method can). nil means "not stated", which the contract test refuses: a method
    /// that only fails in those two ways says `[]`.
    static var errors: [RPCErrorKind]? { get }
    /// One call and its answer, for the OpenRPC document. The contract test (scripts/check-openrpc)
    /// makes the call against a real daemon and validates params and answer against the schemas.
    static var example: RPCExample? { get }
}

extension RPCMethod {
    public static var refusesNUL: Bool { true }
    public static var deprecatedParamNames: [String: String] { [:] }
    public static var methodDescription: String? { nil }
    public static var errors: [RPCErrorKind]? { nil }
    public static var example: RPCExample? { nil }

    /// The param names the method accepts: the top-level members `Params` decodes (derived from
    /// the same walk as the document) and the deprecated names.
    public static var acceptedParamNames: Set<String> {
        JSONSchemaGenerator.memberNames(of: Params.self).union(deprecatedParamNames.keys)
    }

    /// `params` as `Params` will decode it: a deprecated name renamed to its current one.
    /// Throws `invalid_params` naming the field for a name not in `accepted` (pass
    /// ``acceptedParamNames``, computed once), and for an old and a new name given together.
    public static func normalizedParams(_ params: JSONValue?, accepted: Set<String>) throws(RPCError) -> JSONValue? {
        guard case .object(let given)? = params else { return params }
        for (key, _) in given where !accepted.contains(key) {
            let known = accepted.sorted().joined(separator: ", ")
            throw RPCError.invalidParams(
                "unknown param '\(key)' for \(name) (accepted: \(known.isEmpty ? "none" : known))", field: key)
        }
        // The common case (scim.handle's hot path among them) hands the params on untouched.
        let renames = deprecatedParamNames
        guard !renames.isEmpty, renames.keys.contains(where: { given[$0] != nil }) else { return params }
        var object = given
        for (old, current) in renames.sorted(by: { $0.key < $1.key }) {
            guard let value = object[old] else { continue }
            if object[current] != nil {
                throw RPCError.invalidParams(
                    "give '\(current)' or its deprecated name '\(old)', not both", field: old)
            }
            object[old] = nil
            object[current] = value
        }
        return .object(object)
    }
}

/// One example call of a method: params by name and the result it answers with.
public struct RPCExample: Sendable {
    /// Short name of the example (OpenRPC `examplePairing.name`).
    public var name: String
    /// What the example shows.
    public var description: String
    /// The params, in order.
    public var params: JSONObject
    /// A result the call answers with (values such as ids and times differ on each daemon).
    public var result: JSONValue

    public init(_ name: String, _ description: String, params: JSONObject, result: JSONValue) {
        self.name = name
        self.description = description
        self.params = params
        self.result = result
    }
}

/// The stable error kinds (`data.kind`) and the JSON-RPC code each comes with.
public enum RPCErrorKind: String, CaseIterable, Sendable {
    case parseError = "parse_error"
    case invalidRequest = "invalid_request"
    case lineTooLong = "line_too_long"
    case methodNotFound = "method_not_found"
    case invalidParams = "invalid_params"
    case internalError = "internal"
    case notFound = "not_found"
    case conflict
    case invalidMapping = "invalid_mapping"
    case unauthorized
    case unavailable
    case storageFull = "storage_full"

    /// The JSON-RPC error code this kind is sent with.
    public var code: JSONRPCErrorCode {
        switch self {
        case .parseError: return .parseError
        case .invalidRequest, .lineTooLong: return .invalidRequest
        case .methodNotFound: return .methodNotFound
        case .invalidParams: return .invalidParams
        case .internalError: return .internalError
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .invalidMapping: return .invalidMapping
        case .unauthorized: return .unauthorized
        case .unavailable: return .unavailable
        case .storageFull: return .storageFull
        }
    }

    /// What the kind means, for the OpenRPC error object's `message`.
    public var meaning: String {
        switch self {
        case .parseError: return "The line is not valid JSON."
        case .invalidRequest: return "The message is not a valid JSON-RPC 2.0 request."
        case .lineTooLong: return "The line exceeds the maximum length; the connection is closed."
        case .methodNotFound: return "No such method."
        case .invalidParams: return "A param is missing, unknown, of the wrong type or out of range; data.field names it."
        case .internalError: return "A fault inside scimd (logged there); never caused by the params."
        case .notFound: return "The named connection, resource, request, version or commit does not exist."
        case .conflict: return "The change conflicts with the current state (a name taken, a stale expectedVersion)."
        case .invalidMapping: return "The mapping is invalid; data.field and data.details say where."
        case .unauthorized: return "Credentials were refused."
        case .unavailable: return "scimd is shutting down or over a limit; retry later."
        case .storageFull: return "The disk is full; nothing was written. data.details.retryAfterSeconds says when to retry."
        }
    }

    /// The OpenRPC error object: `{"code", "message", "data": {"kind"}}`.
    public var errorObject: JSONValue {
        ["code": .int(code.rawValue), "message": .string(meaning), "data": ["kind": .string(rawValue)]]
    }
}

/// A notification the daemon pushes on a socket connection (JSON-RPC 2.0 §4.1: no id, no answer).
public protocol RPCNotification: Sendable {
    associatedtype Params: Codable & Sendable
    /// The JSON-RPC method name of the notification, e.g. `events.event`.
    static var name: String { get }
    /// One line for humans.
    static var summary: String { get }
}

/// An error a lower layer throws that has a JSON-RPC form of its own (not `internal`): the
/// dispatcher sends ``rpcError`` instead of hiding it behind -32603.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

/// Params or result with no members: `{}` (absent params are treated as `{}`).
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}
