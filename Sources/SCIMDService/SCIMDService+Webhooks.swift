import Crypto
import Foundation
import Logging
import SCIMDProtocol
import SCIMDStore
import SCIMJSON

/// How the delivery engine retries, and how long it gives one event.
public struct WebhookPolicy: Sendable, Equatable {
    /// How long after an event was committed (or a redelivery was requested) its delivery is
    /// retried; past it, the next failed attempt marks it `failed` and the endpoint moves on.
    /// Every event gets at least one attempt, however late.
    public var retryPeriod: Duration
    /// Longest one attempt may take, connecting included (then it counts as failed: "timed out").
    public var attemptTimeout: Duration
    /// The wait before the second attempt; each later wait doubles, up to ``maximumBackoff``, and
    /// is then drawn uniformly from its upper half (jitter, so that endpoints failing together do
    /// not retry in step).
    public var initialBackoff: Duration
    public var maximumBackoff: Duration

    public init(
        retryPeriod: Duration = .seconds(24 * 3600), attemptTimeout: Duration = .seconds(10), initialBackoff: Duration = .seconds(1),
        maximumBackoff: Duration = .seconds(3600)
    ) {
        self.retryPeriod = retryPeriod
        self.attemptTimeout = attemptTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// The wait after failed attempt number `attempt` (1-based), in milliseconds, jitter drawn
    /// from `random` (a value in 0…1).
    public func backoff(afterAttempt attempt: Int, random: Double) -> Milliseconds {
        let initial = Double(Self.milliseconds(initialBackoff))
        let ceiling = Double(Self.milliseconds(maximumBackoff))
        let full = min(ceiling, initial * pow(2, Double(min(max(attempt - 1, 0), 40))))
        return Milliseconds((full / 2 + full / 2 * min(max(random, 0), 1)).rounded())
    }

    static func milliseconds(_ duration: Duration) -> Milliseconds {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// The `scimd-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
/// with one `v1` per secret that signs (two during a rotation overlap, the new secret's first).
/// The key is the secret's UTF-8 bytes. The README shows how to verify it.
public enum WebhookSignature {
    /// Lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
    public static func v1(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The header's value for `secrets` (current first).
    public static func header(secrets: [String], timestamp: Int64, body: [UInt8]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + v1(secret: $0, timestamp: timestamp, body: body) }).joined(separator: ",")
    }
}

/// One HTTP delivery the engine is to attempt.
public struct WebhookDeliveryRequest: Sendable, Equatable {
    public var webhookId: String
    public var url: String
    /// The event's sequence number (`scimd-Event-Id`).
    public var sequence: Int64
    public var eventType: String
    /// The JSON body: `{"sequence": n, "webhook": id, "event": EventInfo}`.
    public var body: [UInt8]
    /// The secrets that sign it, current first.
    public var secrets: [String]
    /// Which attempt this is (1 for the first).
    public var attempt: Int
    public var redelivery: Bool
}

/// What an endpoint's worker does next.
public enum WebhookWork: Sendable, Equatable {
    /// The webhook was removed: the worker ends.
    case removed
    /// Paused, or nothing to deliver: wait for the next wake-up (a commit or a webhook change).
    case idle
    /// The head delivery waits this long for its next attempt (ask again after it, or earlier).
    case wait(Duration)
    case deliver(WebhookDeliveryRequest)
}

/// How one attempt ended.
public enum WebhookAttemptResult: Sendable, Equatable {
    /// A 2xx answer.
    case delivered(status: Int)
    /// Anything else: another status (`status`), a timeout or a transport error (`status` nil).
    case failed(status: Int?, reason: String)
}

enum WebhookValues {
    static let base32 = Array("abcdefghijklmnopqrstuvwxyz234567")

    /// `wh_` and 20 random base-32 characters (100 bits).
    static func newId() -> String {
        var generator = SystemRandomNumberGenerator()
        return "wh_" + String((0..<20).map { _ in base32[Int.random(in: 0..<32, using: &generator)] })
    }

    /// `whsec_` and 256 random bits in base64url without padding.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return "whsec_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The URL as given when it may receive deliveries. Throws `invalid_params` (field `url`)
    /// naming what is wrong: not http/https, no host, a user name or password, a fragment,
    /// whitespace or control characters, more than 2048 characters.
    static func validatedURL(_ raw: String) throws(RPCError) -> String {
        let url = raw.trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { throw RPCError.invalidParams("url must not be empty", field: "url") }
        guard url.count <= 2048 else { throw RPCError.invalidParams("url must be at most 2048 characters", field: "url") }
        guard !url.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }) else {
            throw RPCError.invalidParams("url must not contain spaces or control characters (percent-encode them)", field: "url")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw RPCError.invalidParams("url is not a URL (expected https://host/path)", field: "url")
        }
        guard scheme == "http" || scheme == "https" else {
            throw RPCError.invalidParams("url must use http or https, not \(scheme)", field: "url")
        }
        guard let host = components.host, !host.isEmpty else {
            throw RPCError.invalidParams("url has no host (expected \(scheme)://host/path)", field: "url")
        }
        guard components.user == nil, components.password == nil else {
            throw RPCError.invalidParams(
                "url must not contain a user name or password: they would be stored and shown by webhooks.list; "
                    + "the receiver authenticates requests by their signature", field: "url")
        }
        guard components.fragment == nil else {
            throw RPCError.invalidParams("url must not have a fragment (#…): it is never sent to the server", field: "url")
        }
        return url
    }

    /// Event type selectors: exact names (`user.created`) or families (`user.*`). Throws
    /// `invalid_params` naming the entry (`types.1`).
    static func validatedTypes(_ types: [String]?) throws(RPCError) -> [String]? {
        guard let types, !types.isEmpty else { return nil }
        guard types.count <= 100 else { throw RPCError.invalidParams("at most 100 types", field: "types") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_.")
        for (index, type) in types.enumerated() {
            let name = type.hasSuffix(".*") ? String(type.dropLast(2)) : type
            guard !name.isEmpty, name.count <= 100, name.allSatisfy({ allowed.contains($0) }), !name.hasPrefix("."),
                !name.hasSuffix(".")
            else {
                throw RPCError.invalidParams(
                    "'\(type)' is not an event type (like user.created) or family (like user.*)", field: "types.\(index)")
            }
        }
        return types
    }

    static func decodeTypes(_ text: String?) -> [String]? {
        guard let text, let value = try? JSONDecoder().decode([String].self, from: Data(text.utf8)), !value.isEmpty else { return nil }
        return value
    }

    static func encodeTypes(_ types: [String]?) -> String? {
        guard let types, let data = try? JSONEncoder().encode(types) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension SCIMDService {
    // MARK: webhooks.* RPCs

    /// `webhooks.add`. Throws `not_found` (connection), `invalid_params` (url, types).
    public func addWebhook(_ params: WebhooksAdd.Params) async throws -> WebhookWithSecret {
        let url = try WebhookValues.validatedURL(params.url)
        let types = try WebhookValues.validatedTypes(params.types)
        let connectionId = try params.connection.map { try connection(named: $0).id }
        let secret = WebhookValues.newSecret()
        let now = clock.now()
        let id = WebhookValues.newId()
        let record = try await store.write { db -> WebhookRecord in
            // From now on: the cursor is the newest sequence ever assigned (pruned ones included).
            let record = WebhookRecord(
                id: id, connectionId: connectionId, url: url, types: WebhookValues.encodeTypes(types), secret: secret,
                cursor: try db.eventHighWater(), createdAt: now)
            try db.insert(record)
            return record
        }
        eventNotifier.notify()
        logger.info("webhook added", metadata: ["webhook": "\(id)", "connection": "\(connectionId ?? "all")", "url": "\(url)"])
        return WebhookWithSecret(webhook: try await webhookInfo(record), secret: secret)
    }

    /// `webhooks.list`. Throws `not_found` (connection).
    public func listWebhooks(_ params: WebhooksList.Params) async throws -> WebhooksList.Result {
        let connectionId = try params.connection.map { try connection(named: $0).id }
        let records = try await store.read { db in try db.webhooks(connectionId: connectionId) }
        var out: [WebhookInfo] = []
        for record in records { out.append(try await webhookInfo(record)) }
        return .init(webhooks: out)
    }

    /// `webhooks.remove`. Throws `not_found`.
    public func removeWebhook(_ reference: WebhookReference) async throws -> WebhooksRemove.Result {
        let record = try await webhook(reference)
        let removed = try await store.write { db in try db.deleteWebhook(id: record.id) }
        guard removed else { throw RPCError.notFound("no webhook '\(reference.id)'") }
        eventNotifier.notify()
        logger.info("webhook removed", metadata: ["webhook": "\(record.id)"])
        return .init(removed: true)
    }

    /// `webhooks.pause` (`paused` true) and `webhooks.resume` (false). Throws `not_found`.
    public func setWebhookPaused(_ reference: WebhookReference, paused: Bool) async throws -> WebhookInfo {
        let id = try await webhook(reference).id
        let now = clock.now()
        let record = try await store.write { db -> WebhookRecord in
            guard var record = try db.webhook(id: id) else { throw RPCError.notFound("no webhook '\(id)'") }
            if record.paused != paused {
                record.paused = paused
                record.updatedAt = now
                try db.update(record)
            }
            return record
        }
        eventNotifier.notify()
        logger.info(paused ? "webhook paused" : "webhook resumed", metadata: ["webhook": "\(id)"])
        return try await webhookInfo(record)
    }

    /// `webhooks.rotateSecret`. Throws `not_found`, `invalid_params` (overlap out of range).
    public func rotateWebhookSecret(_ params: WebhooksRotateSecret.Params) async throws -> WebhookWithSecret {
        let overlap = params.overlapSeconds ?? 86_400
        guard (0...2_592_000).contains(overlap) else {
            throw RPCError.invalidParams("overlapSeconds must be between 0 and 2592000", field: "overlapSeconds")
        }
        let id = try await webhook(WebhookReference(id: params.id, connection: params.connection)).id
        let secret = WebhookValues.newSecret()
        let now = clock.now()
        let record = try await store.write { db -> WebhookRecord in
            guard var record = try db.webhook(id: id) else { throw RPCError.notFound("no webhook '\(id)'") }
            if overlap > 0 {
                record.previousSecret = record.secret
                record.previousSecretExpiresAt = now + Milliseconds(overlap) * 1000
            } else {
                record.previousSecret = nil
                record.previousSecretExpiresAt = nil
            }
            record.secret = secret
            record.updatedAt = now
            try db.update(record)
            return record
        }
        logger.info("webhook secret rotated", metadata: ["webhook": "\(id)", "overlapSeconds": "\(overlap)"])
        return WebhookWithSecret(webhook: try await webhookInfo(record), secret: secret)
    }

    /// `webhooks.deliveries`. Throws `not_found`, `invalid_params` (limit, before).
    public func webhookDeliveries(_ params: WebhooksDeliveries.Params) async throws -> WebhooksDeliveries.Result {
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw RPCError.invalidParams("limit must be 1…500", field: "limit") }
        if let before = params.before, before < 1 { throw RPCError.invalidParams("before must be positive", field: "before") }
        let id = try await webhook(WebhookReference(id: params.id, connection: params.connection)).id
        let before = params.before.map(Int64.init)
        let rows = try await store.read { db in try db.webhookDeliveries(webhookId: id, before: before, limit: limit + 1) }
        let page = rows.prefix(limit).map { r in
            WebhookDelivery(
                id: Int(r.id ?? 0), sequence: Int(r.sequence), eventType: r.eventType, outcome: r.outcome, attempts: r.attempts,
                status: r.status, error: r.error, firstAttemptAt: Timestamp.string(r.firstAttemptAt),
                finishedAt: Timestamp.string(r.finishedAt), redelivery: r.redelivery)
        }
        return .init(deliveries: Array(page), next: rows.count > limit ? page.last.map(\.id) : nil)
    }

    /// `webhooks.redeliver`. Throws `not_found` (webhook, pruned or unknown event),
    /// `invalid_params` (an event the endpoint does not select, or not delivered yet).
    public func redeliverWebhookEvent(_ params: WebhooksRedeliver.Params) async throws -> WebhookInfo {
        let id = try await webhook(WebhookReference(id: params.id, connection: params.connection)).id
        let sequence = Int64(params.sequence)
        guard sequence >= 1 else { throw RPCError.invalidParams("sequence must be positive", field: "sequence") }
        let now = clock.now()
        let record = try await store.write { db -> WebhookRecord in
            guard let record = try db.webhook(id: id) else { throw RPCError.notFound("no webhook '\(id)'") }
            guard let event = try db.event(sequence: sequence) else {
                throw RPCError.notFound("no event \(sequence) in the change feed (never written, or pruned by retention)")
            }
            guard record.connectionId == nil || record.connectionId == event.connectionId,
                EventLog.matches(event.type, WebhookValues.decodeTypes(record.types))
            else {
                throw RPCError.invalidParams(
                    "event \(sequence) (\(event.type)) is not one this webhook receives (other connection or type)", field: "sequence")
            }
            guard sequence <= record.cursor else {
                throw RPCError.invalidParams(
                    "event \(sequence) has not been delivered yet (the webhook is at \(record.cursor)); it will be, in order",
                    field: "sequence")
            }
            try db.queueRedelivery(webhookId: id, sequence: sequence, at: now)
            return record
        }
        eventNotifier.notify()
        logger.info("webhook redelivery queued", metadata: ["webhook": "\(id)", "sequence": "\(sequence)"])
        return try await webhookInfo(record)
    }

    /// The webhook `reference` names, checked against its connection when one is given. Throws `not_found`.
    func webhook(_ reference: WebhookReference) async throws -> WebhookRecord {
        let connectionId = try reference.connection.map { try connection(named: $0).id }
        let id = reference.id
        guard let record = try await store.read({ db in try db.webhook(id: id) }),
            connectionId == nil || record.connectionId == connectionId
        else {
            let scope = reference.connection.map { " for connection '\($0)'" } ?? ""
            throw RPCError.notFound("no webhook '\(reference.id)'\(scope) (see them with `scimctl webhooks list`)")
        }
        return record
    }

    /// The wire form of a webhook, with its counters (never its secret).
    func webhookInfo(_ record: WebhookRecord) async throws -> WebhookInfo {
        let id = record.id
        let (fresh, counts, queued, latest) = try await store.read { db in
            (try db.webhook(id: id) ?? record, try db.webhookDeliveryCounts(webhookId: id), try db.queuedRedeliveries(webhookId: id),
             try db.eventHighWater())
        }
        let now = clock.now()
        var retry: WebhookRetry? = nil
        if let sequence = fresh.retrySequence, let next = fresh.nextAttemptAt {
            retry = WebhookRetry(
                sequence: Int(sequence), attempts: fresh.attempts, firstAttemptAt: Timestamp.string(fresh.firstAttemptAt ?? next),
                nextAttemptAt: Timestamp.string(next), lastStatus: fresh.lastStatus, lastError: fresh.lastError ?? "")
        }
        let previousExpiry = fresh.previousSecretExpiresAt.flatMap { $0 > now ? Timestamp.string($0) : nil }
        return WebhookInfo(
            id: fresh.id, connection: fresh.connectionId, connectionName: fresh.connectionId.flatMap { connections[$0]?.name },
            url: fresh.url, types: WebhookValues.decodeTypes(fresh.types), paused: fresh.paused,
            state: fresh.paused ? "paused" : retry != nil ? "retrying" : "delivering", cursor: Int(fresh.cursor),
            latestSequence: Int(latest), retry: retry, missedEvents: Int(fresh.missedEvents), queuedRedeliveries: queued,
            delivered: counts["delivered"] ?? 0, failed: counts["failed"] ?? 0, skipped: counts["skipped"] ?? 0,
            previousSecretExpiresAt: previousExpiry, createdAt: Timestamp.string(fresh.createdAt),
            updatedAt: Timestamp.string(fresh.updatedAt))
    }

    // MARK: the delivery engine's side (see SCIMDServer's WebhookDeliveryService)

    /// A stream that yields after every commit that appended change-feed events or changed a
    /// webhook (at most one pending wake-up; see ``EventNotifier``), and the id to end it with
    /// ``endCommitWakeUps(_:)``.
    public nonisolated func commitWakeUps() -> (id: UUID, wakeUps: AsyncStream<Void>) {
        let (id, stream) = eventNotifier.subscribe()
        return (id, stream)
    }

    /// Ends a stream from ``commitWakeUps()``.
    public nonisolated func endCommitWakeUps(_ id: UUID) {
        eventNotifier.unsubscribe(id)
    }

    /// Every webhook's id, paused ones included.
    public nonisolated func webhookIds() async throws -> [String] {
        try await store.read { db in try db.webhooks(connectionId: nil).map(\.id) }
    }

    /// What webhook `id`'s worker does next. Skips (and logs as `skipped`) events pruned before
    /// they were delivered, and moves the cursor past events the webhook does not select.
    public nonisolated func nextWebhookWork(_ id: String) async throws -> WebhookWork {
        while true {
            let snapshot = try await store.read { db -> (WebhookRecord, WebhookHead)? in
                guard let webhook = try db.webhook(id: id) else { return nil }
                if webhook.paused { return (webhook, .caughtUp(scannedThrough: webhook.cursor, complete: true)) }
                let types = WebhookValues.decodeTypes(webhook.types)
                return (webhook, try db.webhookHead(webhook) { EventLog.matches($0, types) })
            }
            guard let snapshot else { return .removed }
            let (webhook, head) = snapshot
            if webhook.paused { return .idle }
            let now = clock.now()
            switch head {
            case .gap(let from, let through):
                let reason =
                    "events \(from)…\(through) were pruned from the change feed (older than the event retention) before this webhook "
                    + "delivered them; the receiver may have missed changes and should resynchronize"
                logger.warning("webhook missed pruned events", metadata: ["webhook": "\(id)", "from": "\(from)", "through": "\(through)"])
                try await store.write { db in try db.skipWebhookGap(webhookId: id, from: from, through: through, reason: reason, at: now) }
                continue
            case .prunedRedelivery(let sequence):
                let entry = WebhookDeliveryRecord(
                    webhookId: id, sequence: sequence, eventType: nil, outcome: "skipped", attempts: 0, status: nil,
                    error: "event \(sequence) was pruned from the change feed before it could be redelivered", firstAttemptAt: now,
                    finishedAt: now, redelivery: true)
                _ = try await store.write { db in try db.finishWebhookDelivery(entry, at: now) }
                continue
            case .caughtUp(let scannedThrough, let complete):
                if scannedThrough > webhook.cursor {
                    let from = webhook.cursor
                    try await store.writeRelaxed { db in try db.advanceWebhookCursor(webhookId: id, from: from, to: scannedThrough) }
                }
                // A scan cut short by its limit goes on from where it stopped.
                if !complete { continue }
                return .idle
            case .event(let event), .redelivery(let event, _):
                let sequence = event.sequence ?? 0
                var redelivery = false
                if case .redelivery = head { redelivery = true }
                let retrying = webhook.retrySequence == sequence
                if retrying, let due = webhook.nextAttemptAt, due > now { return .wait(.milliseconds(due - now)) }
                var secrets = [webhook.secret]
                if let previous = webhook.previousSecret, let expiry = webhook.previousSecretExpiresAt, expiry > now {
                    secrets.append(previous)
                }
                let body = Self.webhookBody(webhookId: id, event: EventLog.info(event))
                return .deliver(
                    WebhookDeliveryRequest(
                        webhookId: id, url: webhook.url, sequence: sequence, eventType: event.type, body: body, secrets: secrets,
                        attempt: retrying ? webhook.attempts + 1 : 1, redelivery: redelivery))
            }
        }
    }

    /// `{"sequence": n, "webhook": "wh_…", "event": {…}}` (compact JSON).
    static func webhookBody(webhookId: String, event: EventInfo) -> [UInt8] {
        let eventJSON = (try? JSONParser().parse(bytes: RPCCodec.encode(event))) ?? .object([:])
        let body: JSONValue = .object(["sequence": .int(event.sequence), "webhook": .string(webhookId), "event": eventJSON])
        return Array(JSONSerializer.string(body).utf8)
    }

    /// Records how an attempt of `request` ended, in one transaction with whatever follows from
    /// it: delivered → logged, cursor moved (or the redelivery dequeued); failed within the retry
    /// period → the next attempt scheduled with backoff; failed past it → logged as `failed`,
    /// cursor moved. Nothing happens when the webhook was removed or moved on meanwhile.
    public nonisolated func recordWebhookAttempt(
        _ request: WebhookDeliveryRequest, result: WebhookAttemptResult, policy: WebhookPolicy
    ) async throws {
        let now = clock.now()
        let jitter = Double.random(in: 0...1)
        let outcome = try await store.write { db -> String? in
            guard let webhook = try db.webhook(id: request.webhookId) else { return nil }
            let previousAttempts = webhook.retrySequence == request.sequence ? webhook.attempts : 0
            let firstAttemptAt = webhook.retrySequence == request.sequence ? (webhook.firstAttemptAt ?? now) : now
            switch result {
            case .delivered(let status):
                let entry = WebhookDeliveryRecord(
                    webhookId: webhook.id, sequence: request.sequence, eventType: request.eventType, outcome: "delivered",
                    attempts: previousAttempts + 1, status: status, error: nil, firstAttemptAt: firstAttemptAt, finishedAt: now,
                    redelivery: request.redelivery)
                return try db.finishWebhookDelivery(entry, at: now) ? "delivered" : nil
            case .failed(let status, let reason):
                // The retry period runs from the event's commit (or the redelivery request), so a
                // backlog built while the receiver was down does not wait a whole period per event.
                let started: Milliseconds
                if request.redelivery {
                    started = try db.redeliveryRequestedAt(webhookId: webhook.id, sequence: request.sequence) ?? now
                } else {
                    started = try db.event(sequence: request.sequence)?.at ?? firstAttemptAt
                }
                if now >= started + WebhookPolicy.milliseconds(policy.retryPeriod) {
                    let entry = WebhookDeliveryRecord(
                        webhookId: webhook.id, sequence: request.sequence, eventType: request.eventType, outcome: "failed",
                        attempts: previousAttempts + 1, status: status, error: reason, firstAttemptAt: firstAttemptAt, finishedAt: now,
                        redelivery: request.redelivery)
                    return try db.finishWebhookDelivery(entry, at: now) ? "failed" : nil
                }
                let next = now + policy.backoff(afterAttempt: previousAttempts + 1, random: jitter)
                return try db.recordWebhookRetry(
                    webhookId: webhook.id, sequence: request.sequence, attemptedAt: firstAttemptAt, nextAttemptAt: next, status: status,
                    error: reason) ? "retrying" : nil
            }
        }
        switch outcome {
        case "failed":
            logger.warning(
                "webhook delivery failed for good; moving on to the next event",
                metadata: ["webhook": "\(request.webhookId)", "sequence": "\(request.sequence)"])
        case "retrying":
            if case .failed(let status, let reason) = result {
                logger.info(
                    "webhook attempt failed; will retry",
                    metadata: [
                        "webhook": "\(request.webhookId)", "sequence": "\(request.sequence)", "attempt": "\(request.attempt)",
                        "status": "\(status.map(String.init) ?? "none")", "reason": "\(reason)",
                    ])
            }
        default: break
        }
    }
}
