import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

/// Serves SCIM 2.0 (RFC 7644) for one authenticated connection over the store.
///
/// Every request that changes data runs in a single write transaction (checks, writes and
/// membership edges together), so a request is all-or-nothing and two requests racing on the same
/// group are serialized by SQLite's writer instead of losing a member.
struct SCIMEndpoint: Sendable {
    let store: Store
    let configuration: ServiceConfiguration
    let clock: Clock
    let connectionId: String
    /// Current mappings, read inside each write transaction (see ``MappingRegistry``).
    let mappings: MappingRegistry
    /// The request's log entry, completed and written in the same transaction as a change.
    let log: RequestLogDraft
    let logger: Logger
    /// Confirm mode: user lifecycle changes are worked out, rolled back and held (see ``Held``).
    var confirm = false
    /// For a committed `link`: the id the held preview announced, and the application's id to link.
    var assignedId: String? = nil
    var linkAppUserId: String? = nil

    /// Thrown inside a write transaction to roll it back and hold the change for `scim.commit`.
    struct Held: Error {
        /// What the held change would do; `ActionRequired.action` on the wire.
        enum Action: String, Sendable {
            /// Create a user (and link it to the application's id when `scim.commit` gives one).
            case link
            /// Deactivate a user (`active` false).
            case disable
            /// Reactivate a user.
            case enable
            /// Delete a user.
            case delete
        }

        var action: Action
        var id: String
        var user: JSONObject
        var mapped: JSONObject
    }

    /// Base URL for `meta.location`: from `X-Forwarded-Host`/`Host` when sent, else the base path
    /// alone; the scheme from `X-Forwarded-Proto`, else the door's (``SCIMRequest/scheme``).
    func baseURL(_ request: SCIMRequest) -> String {
        guard let host = request.headers["x-forwarded-host"] ?? request.headers["host"] else {
            return configuration.scimBasePath
        }
        let scheme = request.headers["x-forwarded-proto"] ?? request.scheme
        return "\(scheme)://\(host)\(configuration.scimBasePath)"
    }

    func handle(_ request: SCIMRequest) async -> SCIMResponse {
        do {
            return try await route(request)
        } catch {
            return response(for: error, request: request)
        }
    }

    /// Answers `request` without waiting, when that is possible: a read of a connection in memory
    /// that an index or list order serves (no scan), and any request refused before it reaches the
    /// data. Nil when it must go through ``handle(_:)``: a change, a scan, a connection not in
    /// memory. Runs on the event loop that read the call (see `SynchronousAnswerer`), so it takes
    /// only the connection's lock, for microseconds, as ``handle(_:)`` does for the same reads.
    func handleImmediately(_ request: SCIMRequest) -> SCIMResponse? {
        do {
            switch try Route(request, endpoint: self) {
            case .answered(let response): return response
            case .list(let types, let query): return try listImmediately(types: types, query: query, request: request)
            case .get(let type, let id): return try getImmediately(type: type, id: id, request: request)
            case .create, .replace, .patch, .delete: return nil
            }
        } catch {
            return response(for: error, request: request)
        }
    }

    /// The SCIM response to an error thrown while serving `request`.
    private func response(for error: any Error, request: SCIMRequest) -> SCIMResponse {
        switch error {
        case let error as SCIMError:
            return SCIMResponse(error: error)
        case let held as Held:
            var response = SCIMResponse(status: 202, body: nil)
            response.headers = [:]
            response.held = held
            response.resourceType = "User"
            response.resourceId = held.id
            return response
        case is StorageFullError:
            // The store logged the episode once; nothing of this request was applied.
            return StorageFull.scimResponse()
        case _ where StoreFailure(error) == .constraintViolation:
            // Defence in depth: the unique index backs the in-transaction uniqueness check.
            logger.warning("uniqueness enforced by the index", metadata: ["error": "\(error)"])
            return SCIMResponse(error: .uniqueness("a resource with that name already exists"))
        default:
            logger.error("SCIM request failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
            return SCIMResponse(error: SCIMError(status: 500, scimType: nil, detail: "internal error; see the daemon's log"))
        }
    }

    /// What a request asks for, worked out from its method and path alone (RFC 7644 §3.2).
    enum Route {
        /// Answered without the connection's data: a refusal, a 501, the discovery endpoints.
        case answered(SCIMResponse)
        /// GET on a resource type, or POST to `.search` (one type, or both at the root).
        case list([SCIMResourceType], ListQuery)
        case get(SCIMResourceType, id: String)
        case create(SCIMResourceType)
        case replace(SCIMResourceType, id: String)
        case patch(SCIMResourceType, id: String)
        case delete(SCIMResourceType, id: String)

        /// Throws `SCIMError` for a path no endpoint serves (404), a NUL in the path or query, and
        /// a list query that does not parse (`invalidFilter`, `invalidValue`).
        init(_ request: SCIMRequest, endpoint: SCIMEndpoint) throws {
            let configuration = endpoint.configuration
            let s = request.segments
            // U+0000 is refused in every string scimd takes in (see `JSONValue.pathOfFirstNUL`); in the
            // URI it can only come from a percent-encoded `%00`.
            if let parameter = request.query.first(where: { $0.name.utf8.contains(0) || $0.value.utf8.contains(0) }) {
                let detail = "the query parameter '\(parameter.name)' contains U+0000 (NUL), which scimd refuses in every string"
                throw parameter.name.caseInsensitiveEquals("filter") ? SCIMError.invalidFilter(detail) : SCIMError.invalidValue(detail)
            }
            if s.contains(where: { $0.utf8.contains(0) }) {
                throw SCIMError.invalidValue("the request path contains U+0000 (NUL), which scimd refuses in every string")
            }
            guard let first = s.first else {
                throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
            }
            let type: SCIMResourceType? =
                first.caseInsensitiveEquals("Users") ? .user : first.caseInsensitiveEquals("Groups") ? .group : nil
            if let type {
                if s.count == 1 {
                    switch request.method {
                    case "GET": self = .list([type], try ListQuery(request: request, configuration: configuration))
                    case "POST": self = .create(type)
                    default: self = .answered(endpoint.methodNotAllowed(["GET", "POST"]))
                    }
                    return
                }
                if s.count == 2, s[1].caseInsensitiveEquals(".search") {
                    guard request.method == "POST" else {
                        self = .answered(endpoint.methodNotAllowed(["POST"]))
                        return
                    }
                    self = .list([type], try ListQuery(searchBody: request.body, configuration: configuration))
                    return
                }
                if s.count == 2 {
                    let id = s[1]
                    switch request.method {
                    case "GET": self = .get(type, id: id)
                    case "PUT": self = .replace(type, id: id)
                    case "PATCH": self = .patch(type, id: id)
                    case "DELETE": self = .delete(type, id: id)
                    default: self = .answered(endpoint.methodNotAllowed(["GET", "PUT", "PATCH", "DELETE"]))
                    }
                    return
                }
                throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
            }
            let base = endpoint.baseURL(request)
            switch first.lowercased() {
            case "serviceproviderconfig" where s.count == 1:
                guard request.method == "GET" else {
                    self = .answered(endpoint.methodNotAllowed(["GET"]))
                    return
                }
                self = .answered(
                    SCIMResponse(
                        status: 200,
                        body: SCIMSchemas.serviceProviderConfig(
                            baseURL: base, maxResults: configuration.maxResults, maxOperations: configuration.maxPatchOperations,
                            maxPayloadSize: configuration.maxBodyBytes)))
            case "schemas", "resourcetypes":
                guard request.method == "GET" else {
                    self = .answered(endpoint.methodNotAllowed(["GET"]))
                    return
                }
                let documents =
                    first.lowercased() == "schemas"
                    ? SCIMSchemas.schemaDocuments(baseURL: base) : SCIMSchemas.resourceTypeDocuments(baseURL: base)
                if s.count == 1 {
                    self = .answered(endpoint.listResponse(documents, total: documents.count, startIndex: 1))
                } else if s.count == 2, let match = documents.first(where: { ($0["id"]?.stringValue ?? "").caseInsensitiveEquals(s[1]) }) {
                    self = .answered(SCIMResponse(status: 200, body: match))
                } else {
                    throw SCIMError.notFound("no \(first) entry '\(s.dropFirst().joined(separator: "/"))'")
                }
            case ".search" where s.count == 1:
                guard request.method == "POST" else {
                    self = .answered(endpoint.methodNotAllowed(["POST"]))
                    return
                }
                self = .list([.user, .group], try ListQuery(searchBody: request.body, configuration: configuration))
            case "bulk" where s.count == 1:
                self = .answered(
                    SCIMResponse(
                        error: SCIMError(status: 501, scimType: nil, detail: "bulk operations are not supported (see /ServiceProviderConfig)")))
            case "me" where s.count == 1:
                self = .answered(SCIMResponse(error: SCIMError(status: 501, scimType: nil, detail: "/Me is not supported")))
            default:
                throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
            }
        }
    }

    private func route(_ request: SCIMRequest) async throws -> SCIMResponse {
        switch try Route(request, endpoint: self) {
        case .answered(let response): return response
        case .list(let types, let query): return try await list(types: types, query: query, request: request)
        case .get(let type, let id): return try await get(type: type, id: id, request: request)
        case .create(let type): return try await create(type: type, request: request)
        case .replace(let type, let id): return try await replace(type: type, id: id, request: request)
        case .patch(let type, let id): return try await patch(type: type, id: id, request: request)
        case .delete(let type, let id): return try await delete(type: type, id: id, request: request)
        }
    }

    func methodNotAllowed(_ allowed: [String]) -> SCIMResponse {
        var response = SCIMResponse(
            error: SCIMError(status: 405, scimType: nil, detail: "method not allowed here; allowed: \(allowed.joined(separator: ", "))"))
        response.headers["Allow"] = allowed.joined(separator: ", ")
        return response
    }
}
