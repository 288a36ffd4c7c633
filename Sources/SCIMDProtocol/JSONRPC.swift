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
        /// Stable error kind: `parse_error`, `invalid_request`, `method_not_found`, `invalid_params`,
        /// `internal`, `not_found`, `conflict`, `invalid_mapping`, `unauthorized`, `line_too_long`, `unavailable`,
        /// `storage_full`.
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
}

extension RPCMethod {
    public static var refusesNUL: Bool { true }
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
