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
        } catch let error as SCIMError {
            return SCIMResponse(error: error)
        } catch let held as Held {
            var response = SCIMResponse(status: 202, body: nil)
            response.headers = [:]
            response.held = held
            response.resourceType = "User"
            response.resourceId = held.id
            return response
        } catch is StorageFullError {
            // The store logged the episode once; nothing of this request was applied.
            return StorageFull.scimResponse()
        } catch where StoreFailure(error) == .constraintViolation {
            // Defence in depth: the unique index backs the in-transaction uniqueness check.
            logger.warning("uniqueness enforced by the index", metadata: ["error": "\(error)"])
            return SCIMResponse(error: .uniqueness("a resource with that name already exists"))
        } catch {
            logger.error("SCIM request failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
            return SCIMResponse(error: SCIMError(status: 500, scimType: nil, detail: "internal error; see the daemon's log"))
        }
    }

    private func route(_ request: SCIMRequest) async throws -> SCIMResponse {
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
                case "GET": return try await list(type: type, query: try ListQuery(request: request, configuration: configuration), request: request)
                case "POST": return try await create(type: type, request: request)
                default: return methodNotAllowed(["GET", "POST"])
                }
            }
            if s.count == 2, s[1].caseInsensitiveEquals(".search") {
                guard request.method == "POST" else { return methodNotAllowed(["POST"]) }
                return try await list(type: type, query: try ListQuery(searchBody: request.body, configuration: configuration), request: request)
            }
            if s.count == 2 {
                let id = s[1]
                switch request.method {
                case "GET": return try await get(type: type, id: id, request: request)
                case "PUT": return try await replace(type: type, id: id, request: request)
                case "PATCH": return try await patch(type: type, id: id, request: request)
                case "DELETE": return try await delete(type: type, id: id, request: request)
                default: return methodNotAllowed(["GET", "PUT", "PATCH", "DELETE"])
                }
            }
            throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
        }
        let base = baseURL(request)
        switch first.lowercased() {
        case "serviceproviderconfig" where s.count == 1:
            guard request.method == "GET" else { return methodNotAllowed(["GET"]) }
            return SCIMResponse(
                status: 200,
                body: SCIMSchemas.serviceProviderConfig(
                    baseURL: base, maxResults: configuration.maxResults, maxOperations: configuration.maxPatchOperations,
                    maxPayloadSize: configuration.maxBodyBytes))
        case "schemas", "resourcetypes":
            guard request.method == "GET" else { return methodNotAllowed(["GET"]) }
            let documents =
                first.lowercased() == "schemas"
                ? SCIMSchemas.schemaDocuments(baseURL: base) : SCIMSchemas.resourceTypeDocuments(baseURL: base)
            if s.count == 1 { return listResponse(documents, total: documents.count, startIndex: 1) }
            if s.count == 2, let match = documents.first(where: { ($0["id"]?.stringValue ?? "").caseInsensitiveEquals(s[1]) }) {
                return SCIMResponse(status: 200, body: match)
            }
            throw SCIMError.notFound("no \(first) entry '\(s.dropFirst().joined(separator: "/"))'")
        case ".search" where s.count == 1:
            guard request.method == "POST" else { return methodNotAllowed(["POST"]) }
            let query = try ListQuery(searchBody: request.body, configuration: configuration)
            return try await list(types: [.user, .group], query: query, request: request)
        case "bulk" where s.count == 1:
            return SCIMResponse(
                error: SCIMError(status: 501, scimType: nil, detail: "bulk operations are not supported (see /ServiceProviderConfig)"))
        case "me" where s.count == 1:
            return SCIMResponse(error: SCIMError(status: 501, scimType: nil, detail: "/Me is not supported"))
        default:
            throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
        }
    }

    func methodNotAllowed(_ allowed: [String]) -> SCIMResponse {
        var response = SCIMResponse(
            error: SCIMError(status: 405, scimType: nil, detail: "method not allowed here; allowed: \(allowed.joined(separator: ", "))"))
        response.headers["Allow"] = allowed.joined(separator: ", ")
        return response
    }
}
