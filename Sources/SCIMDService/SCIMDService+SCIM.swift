import Foundation
import GRDB
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMModel

extension SCIMDService {
    /// `scim.handle`: authenticates by bearer token, serves the request for that connection and
    /// logs it. Never throws: every SCIM failure is a SCIM response (RFC 7644 §3.12).
    public func handleSCIM(_ params: SCIMHandle.Params) async -> SCIMHandle.Result {
        let started = ContinuousClock.now
        scimRequestCount += 1
        let request = SCIMRequest(params, basePath: configuration.scimBasePath)
        let authenticated: ConnectionRecord
        let authentication: Result<ConnectionRecord, AuthenticationFailure>
        if let named = params.connection {
            guard let record = try? connection(named: named) else {
                let error = SCIMError.notFound("no connection with id or name '\(named)'")
                return .init(status: 404, headers: ["Content-Type": "application/scim+json"], body: JSONSerializer.string(error.body), changes: [])
            }
            authentication = record.disabled ? .failure(.disabled) : .success(record)
        } else {
            authentication = authenticate(token: request.bearerToken)
        }
        switch authentication {
        case .success(let record):
            authenticated = record
        case .failure(let failure):
            let detail: String
            let status: Int
            switch failure {
            case .missing: (status, detail) = (401, "missing bearer token (Authorization: Bearer <token>)")
            case .unknown: (status, detail) = (401, "invalid bearer token")
            case .disabled: (status, detail) = (403, "this SCIM connection is disabled")
            }
            logger.notice("SCIM request refused", metadata: ["reason": "\(failure)", "path": "\(request.path)"])
            var headers = ["Content-Type": "application/scim+json"]
            if status == 401 { headers["WWW-Authenticate"] = "Bearer realm=\"scimd\"" }
            let error = SCIMError(status: status, scimType: nil, detail: detail)
            return .init(status: status, headers: headers, body: JSONSerializer.string(error.body), changes: [])
        }

        let draft = RequestLogDraft(request: request, connectionId: authenticated.id, at: clock.now())
        let endpoint = SCIMEndpoint(
            store: store, configuration: configuration, clock: clock, connectionId: authenticated.id,
            mappings: mappingRegistry, log: draft, logger: logger)
        let response = await endpoint.handle(request)
        if !response.logged { await log(draft.record(for: response)) }
        if !response.changes.isEmpty { eventNotifier.notify() }
        if scimRequestCount % 500 == 0 { await pruneRequestLog(authenticated.id) }
        return .init(
            status: response.status, headers: response.headers, body: response.body.map(JSONSerializer.string),
            changes: response.changes)
    }

    /// Appends a request that changed nothing (a read or a refused request) to the log.
    /// A log failure is logged, never turned into a SCIM error.
    func log(_ record: RequestLogRecord) async {
        do {
            try await store.write { db in _ = try db.logRequest(record) }
        } catch {
            logger.warning("could not log SCIM request", metadata: ["error": "\(error)"])
        }
    }

    /// Applies the request log retention of one connection.
    func pruneRequestLog(_ connectionId: String) async {
        let keep = configuration.requestLogMaxEntries
        let oldest = clock.now() - Milliseconds(configuration.requestLogMaxAgeSeconds) * 1000
        do {
            try await store.write { db in try db.pruneRequestLog(connectionId: connectionId, keep: keep, olderThan: oldest) }
        } catch {
            logger.warning("could not prune the request log", metadata: ["error": "\(error)"])
        }
    }

    /// `requests.list`. Throws `not_found`, `invalid_params`.
    public func listRequests(_ params: RequestsList.Params) async throws -> RequestsList.Result {
        let connection = try connection(named: params.connection)
        let limit = params.limit ?? 50
        guard (1...1000).contains(limit) else { throw RPCError.invalidParams("limit must be 1…1000", field: "limit") }
        var range: ClosedRange<Int>? = nil
        if let status = params.status?.lowercased() {
            switch status {
            case "2xx": range = 200...299
            case "3xx": range = 300...399
            case "4xx": range = 400...499
            case "5xx": range = 500...599
            case "error", "errors": range = 400...599
            default:
                guard let exact = Int(status), (100...599).contains(exact) else {
                    throw RPCError.invalidParams("status must be 2xx, 4xx, 5xx, error or a status code", field: "status")
                }
                range = exact...exact
            }
        }
        var since: Milliseconds? = nil
        if let text = params.since {
            guard let ms = Timestamp.parse(text) else {
                throw RPCError.invalidParams("since must be an RFC 3339 time", field: "since")
            }
            since = ms
        }
        var before: Int64? = nil
        if let cursor = params.cursor {
            guard let value = Int64(cursor), value > 0 else { throw RPCError.invalidParams("invalid cursor", field: "cursor") }
            before = value
        }
        let id = connection.id
        let (beforeId, statusRange, sinceMs) = (before, range, since)
        let records = try await store.read { db in
            try db.requestLog(connectionId: id, beforeId: beforeId, statusRange: statusRange, since: sinceMs, limit: limit + 1)
        }
        let page = records.prefix(limit)
        let next = records.count > limit ? page.last?.id.map(String.init) : nil
        return .init(requests: page.map(summary), nextCursor: next)
    }

    /// `requests.get`. Throws `not_found`.
    public func getRequest(_ id: Int) async throws -> RequestDetail {
        guard let record = try await store.read({ db in try db.loggedRequest(id: Int64(id)) }) else {
            throw RPCError.notFound("no logged request \(id)")
        }
        var headers: [String: String] = [:]
        if case .object(let o)? = try? JSONParser().parse(record.requestHeaders) {
            for (k, v) in o { headers[k] = v.stringValue ?? v.description }
        }
        return RequestDetail(
            summary: summary(record), requestHeaders: headers, requestBody: record.requestBody, responseBody: record.responseBody)
    }

    nonisolated func summary(_ r: RequestLogRecord) -> RequestSummary {
        RequestSummary(
            id: Int(r.id ?? 0), connection: r.connectionId, at: Timestamp.string(r.at), method: r.method, path: r.path,
            status: r.status, durationMicroseconds: r.durationMicroseconds, resourceType: r.resourceType,
            resourceId: r.resourceId, error: r.error)
    }
}

/// Removes secrets from logged bodies: every `password` member (any depth, any case) becomes
/// "[redacted]". A body that is not JSON but mentions a password is not kept at all.
enum Redaction {
    static func redact(_ body: String) -> String {
        guard let value = try? JSONParser().parse(body) else {
            return body.range(of: "password", options: .caseInsensitive) == nil
                ? body : "[unparseable body withheld: it mentions a password]"
        }
        return JSONSerializer.string(redact(value))
    }

    static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var out = JSONObject()
            // A PATCH operation whose path is a password carries the secret in `value`.
            let pathIsPassword = o[caseInsensitive: "path"]?.stringValue?.lowercased().hasSuffix("password") ?? false
            for (k, v) in o {
                let secret = k.lowercased().hasSuffix("password") || (pathIsPassword && k.caseInsensitiveEquals("value"))
                out[k] = secret ? .string("[redacted]") : redact(v)
            }
            return .object(out)
        case .array(let a): return .array(a.map(redact))
        default: return value
        }
    }
}
