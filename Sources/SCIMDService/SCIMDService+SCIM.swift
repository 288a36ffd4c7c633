import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMModel
import Synchronization

extension SCIMDService {
    /// `scim.handle`: authenticates by bearer token, serves the request for that connection and
    /// logs it. Never throws: every SCIM failure is a SCIM response (RFC 7644 §3.12).
    ///
    /// `canHold`: whether the caller can confirm a change that confirm mode holds (`scim.handle`
    /// can: the application answers `scim.commit`/`scim.reject`). A door with nobody in between
    /// (the HTTP listener) passes false: such a change is then answered with a SCIM 501 and nothing
    /// is held or applied, and the 501 is what the access log and the request log record.
    ///
    /// `scheme`: what `meta.location` and `Location` use when the request has no
    /// `X-Forwarded-Proto`: `https` behind a web tier (`scim.handle`), `http` from scimd's own
    /// HTTP listener.
    ///
    /// `peer`: the TCP client's IP address when scimd's own HTTP listener received the request
    /// (nil from `scim.handle`), named as `remote` in the access log and the refusal log when no
    /// forwarding header (`X-Forwarded-For`, `X-Real-IP`) names the client.
    public nonisolated func handleSCIM(
        _ params: SCIMHandle.Params, canHold: Bool = true, scheme: String = "https", peer: String? = nil
    ) async -> SCIMHandle.Result {
        let started = ContinuousClock.now
        let request = SCIMRequest(params, basePath: configuration.scimBasePath, scheme: scheme, peer: peer)
        let (result, connectionId) = await serve(request, params: params, canHold: canHold)
        return finish(result, request: request, connectionId: connectionId, started: started)
    }

    /// `scim.handle` answered without waiting, on the event loop that read the call, when it can
    /// be (see ``SCIMEndpoint/handleImmediately(_:)``): a GET that an index or list order serves
    /// from a connection in memory, or any request refused before it reaches the data. Returns nil
    /// when ``handleSCIM(_:canHold:scheme:peer:)`` must serve it; nothing is logged or counted then.
    public nonisolated func handleSCIMImmediately(_ params: SCIMHandle.Params, scheme: String = "https", peer: String? = nil) -> SCIMHandle.Result? {
        let started = ContinuousClock.now
        let request = SCIMRequest(params, basePath: configuration.scimBasePath, scheme: scheme, peer: peer)
        // Only reads: a change waits for its commit.
        guard request.method == "GET" else { return nil }
        let result: SCIMHandle.Result
        let connectionId: String?
        switch authenticate(request, params: params) {
        case .refused(let refusal, let refusedFor):
            (result, connectionId) = (refusal, refusedFor)
        case .accepted(let record):
            guard let response = executeImmediately(request, connectionId: record.id) else { return nil }
            _ = connectionsLoggedSinceMaintenance.withLockedValue { $0.insert(record.id) }
            (result, connectionId) = (SCIMHandle.Result(response), record.id)
        }
        return finish(result, request: request, connectionId: connectionId, started: started)
    }

    /// Counts a served request, stamps its `X-Request-Id` and writes its access-log line.
    private nonisolated func finish(
        _ served: SCIMHandle.Result, request: SCIMRequest, connectionId: String?, started: ContinuousClock.Instant
    ) -> SCIMHandle.Result {
        scimRequestCount.add(1, ordering: .relaxed)
        var result = served
        result.headers["X-Request-Id"] = request.requestId
        if let observer = configuration.requestObserver {
            observer(
                SCIMRequestObservation(
                    method: request.method, endpoint: request.segments.first ?? "", status: result.status,
                    connection: connectionId, duration: ContinuousClock.now - started))
        }
        if configuration.accessLog {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            var metadata: Logger.Metadata = [
                "method": "\(request.method)", "path": "\(request.path)", "status": "\(result.status)",
                "ms": "\((milliseconds * 100).rounded() / 100)", "requestId": "\(request.requestId)",
            ]
            if let connectionId { metadata["connection"] = "\(connectionId)" }
            if let remote = Self.remote(request) { metadata["remote"] = "\(remote)" }
            if let action = result.actionRequired { metadata["held"] = "\(action.action)" }
            logger.info("SCIM request", metadata: metadata)
        }
        return result
    }

    /// Where the client is, for the access and refusal logs: the first `X-Forwarded-For` entry or
    /// `X-Real-IP` (through `scim.handle` the application forwards its proxy's headers; the HTTP
    /// listener passes them only under `--http-trust-forwarded`), else the TCP peer of the HTTP
    /// listener. nil through `scim.handle` without forwarding headers.
    static func remote(_ request: SCIMRequest) -> String? {
        request.headers["x-forwarded-for"]?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
            ?? request.headers["x-real-ip"] ?? request.peer
    }

    /// Authenticates and serves; also returns the connection it was served for (nil when refused).
    private nonisolated func serve(_ request: SCIMRequest, params: SCIMHandle.Params, canHold: Bool) async -> (SCIMHandle.Result, String?) {
        switch authenticate(request, params: params) {
        case .refused(let refusal, let connectionId):
            return (refusal, connectionId)
        case .accepted(let authenticated):
            let settings = settings(of: authenticated)
            return (await serve(authenticated: authenticated, settings: settings, request: request, params: params, canHold: canHold), authenticated.id)
        }
    }

    /// Whom a SCIM request is served for, or its refusal.
    private enum Authentication {
        case accepted(ConnectionRecord)
        /// 404 (an unknown `connection`), 401 or 403; the refusal is logged. `connectionId`: the
        /// connection it was for, when known (a disabled one).
        case refused(SCIMHandle.Result, connectionId: String?)
    }

    /// Authenticates a SCIM request by its bearer token, or by `connection` when it sends none.
    private nonisolated func authenticate(_ request: SCIMRequest, params: SCIMHandle.Params) -> Authentication {
        let authentication: Result<ConnectionRecord, AuthenticationFailure>
        if let named = params.connection {
            guard let record = try? connection(named: named) else {
                let error = SCIMError.notFound("no connection with id or name '\(named)'")
                return .refused(
                    .init(status: 404, headers: ["Content-Type": "application/scim+json"], body: JSONSerializer.string(error.body), changes: []),
                    connectionId: nil)
            }
            if request.headers["authorization"] != nil {
                // A token, when sent, must be valid and be that connection's: `connection` never
                // overrides a credential, it only stands in for a missing one.
                switch authenticate(token: request.bearerToken) {
                case .success(let owner) where owner.id == record.id: authentication = .success(record)
                case .success: authentication = .failure(.otherConnection)
                case .failure(let failure): authentication = .failure(failure)
                }
            } else {
                authentication = record.disabled ? .failure(.disabled(connectionId: record.id)) : .success(record)
            }
        } else {
            authentication = authenticate(token: request.bearerToken)
        }
        switch authentication {
        case .success(let record):
            return .accepted(record)
        case .failure(let failure):
            let detail: String
            let status: Int
            switch failure {
            case .missing: (status, detail) = (401, "missing bearer token (Authorization: Bearer <token>)")
            case .unknown: (status, detail) = (401, "invalid bearer token")
            case .disabled: (status, detail) = (403, "this SCIM connection is disabled")
            case .otherConnection: (status, detail) = (401, "the bearer token belongs to another connection than '\(params.connection ?? "")'")
            }
            var metadata: Logger.Metadata = [
                "reason": "\(failure.reason)", "method": "\(request.method)", "path": "\(request.path)", "requestId": "\(request.requestId)",
            ]
            if let named = params.connection { metadata["connection"] = "\(named)" }
            if case .disabled(let connectionId) = failure { metadata["connection"] = "\(connectionId)" }
            if let remote = Self.remote(request) { metadata["remote"] = "\(remote)" }
            logger.notice("SCIM request refused", metadata: metadata)
            var headers = ["Content-Type": "application/scim+json"]
            if status == 401 { headers["WWW-Authenticate"] = "Bearer realm=\"scimd\"" }
            let error = SCIMError(status: status, scimType: nil, detail: detail)
            var refusedFor: String? = nil
            if case .disabled(let connectionId) = failure {
                // The connection is known: its request log shows that its IdP still calls (what
                // `scimctl requests` and the dashboard's chart count), as for any other refusal.
                let draft = RequestLogDraft(request: request, connectionId: connectionId, at: clock.now())
                log(draft.record(for: SCIMResponse(error: error)))
                refusedFor = connectionId
            }
            return .refused(
                .init(status: status, headers: headers, body: JSONSerializer.string(error.body), changes: []), connectionId: refusedFor)
        }
    }

    private nonisolated func serve(
        authenticated: ConnectionRecord, settings: ConnectionSettings, request: SCIMRequest, params: SCIMHandle.Params, canHold: Bool
    ) async -> SCIMHandle.Result {
        let response = await execute(request, connectionId: authenticated.id, confirm: settings.confirmMode == true, canHold: canHold)
        _ = connectionsLoggedSinceMaintenance.withLockedValue { $0.insert(authenticated.id) }
        if let held = response.held {
            do {
                return try await hold(held, params: params, requestId: request.requestId, connectionId: authenticated.id, timeoutSeconds: settings.commitTimeout)
            } catch is StorageFullError {
                return SCIMHandle.Result(StorageFull.scimResponse())
            } catch {
                logger.error("could not hold a change for confirmation", metadata: ["error": "\(error)"])
                let failure = SCIMError(status: 500, scimType: nil, detail: "internal error; see the daemon's log")
                return .init(status: 500, headers: ["Content-Type": "application/scim+json"], body: JSONSerializer.string(failure.body), changes: [])
            }
        }
        return SCIMHandle.Result(response)
    }

    /// Serves one authenticated request and logs it (with the change, or on its own).
    nonisolated func execute(
        _ request: SCIMRequest, connectionId: String, confirm: Bool, canHold: Bool = true, assignedId: String? = nil, linkAppUserId: String? = nil
    ) async -> SCIMResponse {
        let draft = RequestLogDraft(request: request, connectionId: connectionId, at: clock.now())
        var endpoint = SCIMEndpoint(
            store: store, configuration: configuration, clock: clock, connectionId: connectionId, mappings: mappingRegistry,
            log: draft, logger: logger)
        endpoint.confirm = confirm
        endpoint.assignedId = assignedId
        endpoint.linkAppUserId = linkAppUserId
        var response = await endpoint.handle(request)
        if let held = response.held, !canHold {
            // Nothing was applied (the change was caught before its commit) and nothing is held.
            logger.warning(
                "SCIM request for a connection in confirm mode refused: this door cannot hold it for confirmation",
                metadata: ["action": "\(held.action.rawValue)", "method": "\(request.method)", "path": "\(request.path)"])
            response = SCIMResponse(
                error: .notImplemented(
                    "this SCIM connection is in confirm mode, which scimd's HTTP listener does not serve; "
                        + "send SCIM through the application (scim.handle) or turn confirm mode off"))
        }
        if !response.logged { log(draft.record(for: response)) }
        if !response.changes.isEmpty { eventNotifier.notify() }
        return response
    }

    /// Saves a held change and tells the caller what the application must confirm.
    /// ``execute(_:connectionId:confirm:canHold:assignedId:linkAppUserId:)`` for a request served
    /// without waiting (``SCIMEndpoint/handleImmediately(_:)``); nil, with nothing logged, when it
    /// cannot be.
    nonisolated func executeImmediately(_ request: SCIMRequest, connectionId: String) -> SCIMResponse? {
        let draft = RequestLogDraft(request: request, connectionId: connectionId, at: clock.now())
        let endpoint = SCIMEndpoint(
            store: store, configuration: configuration, clock: clock, connectionId: connectionId, mappings: mappingRegistry,
            log: draft, logger: logger)
        guard let response = endpoint.handleImmediately(request) else { return nil }
        if !response.logged { log(draft.record(for: response)) }
        return response
    }

    private nonisolated func hold(
        _ held: SCIMEndpoint.Held, params: SCIMHandle.Params, requestId: String, connectionId: String, timeoutSeconds: Int
    ) async throws -> SCIMHandle.Result {
        var stored = params
        // The request id goes with the held request, so its commit is served (and logged) under
        // the id the IdP's request already has in the access log and the request log.
        var headers = (params.headers ?? [:]).filter { !["authorization", "x-request-id"].contains($0.key.lowercased()) }
        headers["X-Request-Id"] = requestId
        stored.headers = headers
        stored.connection = nil
        var request = try JSONParser().parse(bytes: try RPCCodec.encode(stored)).objectValue ?? [:]
        request["assignedId"] = .string(held.id)
        let now = clock.now()
        let record = PendingCommitRecord(
            id: UUID().uuidString.lowercased(), connectionId: connectionId, action: held.action.rawValue,
            request: JSONSerializer.string(.object(request)), userPreview: JSONSerializer.string(.object(held.user)), createdAt: now,
            expiresAt: now + Milliseconds(timeoutSeconds) * 1000)
        try await store.write { db in try db.insert(record) }
        logger.info("change held for confirmation", metadata: ["commitId": "\(record.id)", "action": "\(held.action.rawValue)"])
        return .init(
            status: 202, headers: [:], body: nil, changes: [],
            actionRequired: ActionRequired(
                commitId: record.id, action: held.action.rawValue, user: .object(held.user), mapped: .object(held.mapped),
                expiresAt: Timestamp.string(record.expiresAt)))
    }

    /// Takes a pending commit out of the store; nil when unknown or expired (an expired one is dropped).
    private func takePendingCommit(_ commitId: String) async throws -> PendingCommitRecord? {
        let now = clock.now()
        return try await store.write { db -> PendingCommitRecord? in
            guard let record = try db.pendingCommit(id: commitId) else { return nil }
            try db.deletePendingCommit(id: commitId)
            return record.expiresAt > now ? record : nil
        }
    }

    /// `scim.commit`: applies the held request now and returns the SCIM response for the IdP.
    /// Throws `not_found` for an unknown or expired commit id.
    public func commitSCIM(_ params: SCIMCommit.Params) async throws -> SCIMHandle.Result {
        guard let pending = try await takePendingCommit(params.commitId) else {
            throw RPCError.notFound("no pending change \(params.commitId) (unknown, already decided, or expired)")
        }
        guard connections[pending.connectionId] != nil else {
            throw RPCError.notFound("the connection of change \(params.commitId) no longer exists")
        }
        let stored = try JSONParser().parse(pending.request)
        let handle = try RPCCodec.decode(SCIMHandle.Params.self, from: stored)
        let request = SCIMRequest(handle, basePath: configuration.scimBasePath)
        let isLink = pending.action == SCIMEndpoint.Held.Action.link.rawValue
        let response = await execute(
            request, connectionId: pending.connectionId, confirm: false, assignedId: stored["assignedId"]?.stringValue,
            linkAppUserId: isLink ? params.appUserId.nonEmpty : nil)
        if !isLink, let appUserId = params.appUserId.nonEmpty, response.status < 300, let id = response.resourceId {
            _ = try? await linkUser(.init(connection: pending.connectionId, id: id, appUserId: appUserId))
        }
        var headers = response.headers
        headers["X-Request-Id"] = request.requestId
        return .init(status: response.status, headers: headers, body: response.bodyText, changes: response.changes)
    }

    /// `scim.reject`: drops the held request; the IdP gets a SCIM 400 carrying the reason.
    /// Throws `not_found` (unknown or expired), `invalid_params` (empty reason).
    public func rejectSCIM(_ params: SCIMReject.Params) async throws -> SCIMHandle.Result {
        let reason = params.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw RPCError.invalidParams("reason must not be empty", field: "reason") }
        guard let pending = try await takePendingCommit(params.commitId) else {
            throw RPCError.notFound("no pending change \(params.commitId) (unknown, already decided, or expired)")
        }
        let error = SCIMError(status: 400, scimType: nil, detail: "the application refused this change: \(reason)")
        logger.info("held change rejected", metadata: ["commitId": "\(pending.id)", "action": "\(pending.action)"])
        return .init(status: 400, headers: ["Content-Type": "application/scim+json"], body: JSONSerializer.string(error.body), changes: [])
    }

    /// Appends a request that changed nothing (a read or a refused request) to the log, without
    /// waiting for it to be written (see ``Store/enqueueRelaxed(_:onFailure:)``): durability is owed
    /// to changes, and a GET must neither cost an fsync nor wait for other requests' commits.
    /// Readers of the log wait for queued writes first. A log failure is logged, never turned into
    /// a SCIM error.
    nonisolated func log(_ record: RequestLogRecord) {
        let logger = self.logger
        store.enqueueRequestLog(record) { error in
            // A full disk is logged once per episode by the store, not once per request.
            if error is StorageFullError { return }
            logger.warning("could not log SCIM request", metadata: ["error": "\(error)"])
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
        var until: Milliseconds? = nil
        if let text = params.until {
            guard let ms = Timestamp.parse(text) else {
                throw RPCError.invalidParams("until must be an RFC 3339 time", field: "until")
            }
            until = ms
        }
        let method = params.method?.uppercased()
        if let method, !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) {
            throw RPCError.invalidParams("method must be GET, POST, PUT, PATCH or DELETE", field: "method")
        }
        if let type = params.resourceType, type != "User" && type != "Group" {
            throw RPCError.invalidParams("resourceType must be User or Group", field: "resourceType")
        }
        let resourceType = params.resourceType
        var before: Int64? = nil
        if let cursor = params.cursor {
            guard let value = Int64(cursor), value > 0 else { throw RPCError.invalidParams("invalid cursor", field: "cursor") }
            before = value
        }
        let id = connection.id
        let (beforeId, statusRange, sinceMs, untilMs) = (before, range, since, until)
        try await store.waitForQueuedWrites()
        let records = try await store.read { db in
            try db.requestLog(
                connectionId: id, beforeId: beforeId, statusRange: statusRange, since: sinceMs, until: untilMs, method: method,
                resourceType: resourceType, limit: limit + 1)
        }
        let page = records.prefix(limit)
        let next = records.count > limit ? page.last?.id.map(String.init) : nil
        return .init(requests: page.map(summary), nextCursor: next)
    }

    /// Logged requests and errors (status ≥ 400) per hour over the last `hours` hours, oldest first,
    /// one entry per hour including empty ones; the last is the current hour. Only what the request
    /// log still holds counts (`--request-log-max-entries`, `--request-log-max-age-days`).
    /// `hours` is taken between 1 and 168, the week the counters keep (``Store/requestCounts(_:now:)``).
    /// Throws `not_found`.
    public func requestsPerHour(_ reference: String, hours: Int = 168) async throws -> [RequestsInHour] {
        let hours = min(max(hours, 1), Int(RequestCounts.hoursKept))
        let connection = try connection(named: reference)
        let hour: Int64 = 3_600_000
        let now = clock.now()
        let currentHour = now - now % hour
        let first = currentHour - Int64(hours - 1) * hour
        let id = connection.id
        try await store.waitForQueuedWrites()
        let counts = try await store.requestCounts(id, now: now)
        return (0..<hours).map { i in
            let start = first + Int64(i) * hour
            let (requests, errors) = counts.hour(start)
            return RequestsInHour(hourStart: Timestamp.string(start), requests: requests, errors: errors)
        }
    }

    /// `requests.get`. Throws `not_found`.
    public func getRequest(_ id: Int) async throws -> RequestDetail {
        try await store.waitForQueuedWrites()
        guard let record = try await store.read({ db in try db.loggedRequest(id: Int64(id)) }) else {
            throw RPCError.notFound("no logged request \(id)")
        }
        var headers: [String: String] = [:]
        if case .object(let o)? = try? JSONParser().parse(record.requestHeaders) {
            for (k, v) in o { headers[k] = v.stringValue ?? v.description }
        }
        return RequestDetail(
            summary: summary(record), requestHeaders: headers, requestBody: record.requestBody, responseBody: record.responseBody,
            requestId: headers["x-request-id"])
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
    /// The body to log: as sent when it cannot hold a secret, else parsed and written again with
    /// every secret replaced.
    static func redact(_ body: String) -> String {
        // Parsing and writing every body again for the log was 3% of a create's CPU (perf,
        // batched creates), and almost no body has a password in it.
        guard mayHoldSecret(body) else { return body }
        guard let value = try? JSONParser().parse(body) else {
            return body.range(of: "password", options: .caseInsensitive) == nil
                ? body : "[unparseable body withheld: it mentions a password]"
        }
        return JSONSerializer.string(redact(value))
    }

    /// Whether `body` may name a password: it spells `password` in ASCII in any case, or has a
    /// `\u` escape (which could spell it, `"pass\u0077ord"`). A key that names one is
    /// `…password` in any case once parsed, and no non-ASCII character lowercases to one of its
    /// letters, so a body without either holds no secret this redaction would replace.
    static func mayHoldSecret(_ body: String) -> Bool {
        var body = body
        let word = secretWord
        return body.withUTF8 { bytes in
            guard bytes.count >= 2 else { return false }
            for i in 0..<(bytes.count - 1) {
                let byte = bytes[i]
                if byte == UInt8(ascii: "\\") && bytes[i + 1] == UInt8(ascii: "u") { return true }
                guard byte | 0x20 == UInt8(ascii: "p"), i + word.count <= bytes.count else { continue }
                var matched = true
                for k in 1..<word.count where bytes[i + k] | 0x20 != word[k] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            return false
        }
    }

    private static let secretWord: [UInt8] = Array("password".utf8)

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

extension SCIMHandle.Result {
    /// `scim.handle`'s answer for a SCIM response.
    init(_ response: SCIMResponse) {
        self.init(
            status: response.status, headers: response.headers, body: response.bodyText,
            changes: response.changes)
    }
}

/// One hour of a connection's request log (``SCIMDService/requestsPerHour(_:hours:)``).
public struct RequestsInHour: Sendable, Equatable {
    /// The hour's start, RFC 3339 UTC.
    public var hourStart: String
    /// Requests logged in the hour.
    public var requests: Int
    /// Of those, the ones answered with status ≥ 400.
    public var errors: Int

    public init(hourStart: String, requests: Int, errors: Int) {
        self.hourStart = hourStart
        self.requests = requests
        self.errors = errors
    }
}
