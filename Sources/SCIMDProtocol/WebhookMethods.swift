import SCIMJSON

// MARK: - webhooks
//
// Webhook endpoints: scimd POSTs each change-feed event (see `events.list`) to an HTTP endpoint,
// in feed order per endpoint, signed with HMAC-SHA256, retried with exponential backoff until the
// daemon's retry period (`--webhook-retry-period`) has passed since the event was committed; then
// the delivery is logged as `failed` and the endpoint moves on to the next event. The README's
// "Webhooks" section documents the request (body, headers, signature) and how to verify it.

/// One webhook endpoint, as `webhooks.list` and the other `webhooks.*` methods return it. Never
/// holds its secret.
public struct WebhookInfo: Codable, Sendable, Equatable {
    /// Stable id (`wh_` and 20 base-32 characters): what the other `webhooks.*` methods take as `id`.
    public var id: String
    /// The connection whose events it receives (its id); absent: every connection's.
    public var connection: String?
    /// That connection's name; absent with `connection`.
    public var connectionName: String?
    /// Where events are POSTed (`http` or `https`).
    public var url: String
    /// The event types it receives (exact names or `family.*`); absent: every type.
    public var types: [String]?
    /// Whether deliveries are paused (`webhooks.pause`); events wait in the feed meanwhile.
    public var paused: Bool
    /// `delivering` (up to date or sending), `retrying` (the head event failed and waits for its
    /// next attempt: see `retry`) or `paused`.
    public var state: String
    /// The last change-feed sequence this endpoint is done with (delivered, failed or skipped):
    /// events after it are still to be delivered.
    public var cursor: Int
    /// The newest sequence in the change feed now (`cursor` equal to it, or past every event this
    /// endpoint selects: nothing is waiting).
    public var latestSequence: Int
    /// The head delivery's retry state while `state` is `retrying`.
    public var retry: WebhookRetry?
    /// Events pruned from the feed (`--event-retention-days`) before this endpoint had them, over
    /// its life; each such range is in the delivery log as `skipped`. Non-zero means the receiver
    /// missed changes and must resynchronize (`users.list`, `groups.list`).
    public var missedEvents: Int
    /// Manual redeliveries queued (`webhooks.redeliver`), sent before the next feed event.
    public var queuedRedeliveries: Int
    /// Logged deliveries that got a 2xx answer (the log keeps each endpoint's newest 1000).
    public var delivered: Int
    /// Logged deliveries that had no 2xx answer within the retry period.
    public var failed: Int
    /// Logged ranges of events pruned before they could be delivered.
    public var skipped: Int
    /// While a rotation overlap lasts: until when the previous secret still signs (a second `v1`).
    public var previousSecretExpiresAt: String?
    /// When it was added (RFC 3339, UTC).
    public var createdAt: String
    /// When it was last changed by an operator or a finished delivery (RFC 3339, UTC).
    public var updatedAt: String

    public init(
        id: String, connection: String?, connectionName: String?, url: String, types: [String]?, paused: Bool, state: String,
        cursor: Int, latestSequence: Int, retry: WebhookRetry?, missedEvents: Int, queuedRedeliveries: Int, delivered: Int,
        failed: Int, skipped: Int, previousSecretExpiresAt: String?, createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.connection = connection
        self.connectionName = connectionName
        self.url = url
        self.types = types
        self.paused = paused
        self.state = state
        self.cursor = cursor
        self.latestSequence = latestSequence
        self.retry = retry
        self.missedEvents = missedEvents
        self.queuedRedeliveries = queuedRedeliveries
        self.delivered = delivered
        self.failed = failed
        self.skipped = skipped
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The retry state of an endpoint's head delivery.
public struct WebhookRetry: Codable, Sendable, Equatable {
    /// The event being retried.
    public var sequence: Int
    /// Failed attempts so far.
    public var attempts: Int
    /// When its first attempt failed.
    public var firstAttemptAt: String
    /// When the next attempt is due.
    public var nextAttemptAt: String
    /// HTTP status of the last attempt; absent when there was none (timeout, connection refused).
    public var lastStatus: Int?
    /// Why the last attempt failed.
    public var lastError: String
    public init(sequence: Int, attempts: Int, firstAttemptAt: String, nextAttemptAt: String, lastStatus: Int?, lastError: String) {
        self.sequence = sequence
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
    }
}

/// A new endpoint or a rotated secret, with the secret: shown this once, never again.
public struct WebhookWithSecret: Codable, Sendable, Equatable {
    /// The endpoint as it now stands.
    public var webhook: WebhookInfo
    /// The signing secret (`whsec_` and 43 base64url characters); its UTF-8 bytes are the HMAC key.
    public var secret: String
    public init(webhook: WebhookInfo, secret: String) {
        self.webhook = webhook
        self.secret = secret
    }
}

/// Names one webhook: `id`, and optionally the connection it must belong to.
public struct WebhookReference: Codable, Sendable, Equatable {
    /// The webhook's id (`wh_…`).
    public var id: String
    /// Connection id or name: when given, the webhook must be that connection's (else `not_found`).
    public var connection: String?
    public init(id: String, connection: String? = nil) {
        self.id = id
        self.connection = connection
    }
}

/// One finished delivery in an endpoint's log.
public struct WebhookDelivery: Codable, Sendable, Equatable {
    /// The log entry's id, increasing; pass as `before` to page back.
    public var id: Int
    /// The event's sequence (for `skipped`, the first of the pruned range).
    public var sequence: Int
    /// The event's type; absent for `skipped`.
    public var eventType: String?
    /// `delivered` (a 2xx answer), `failed` (no 2xx before the retry period ran out) or `skipped`
    /// (the event was pruned from the feed before it could be delivered).
    public var outcome: String
    /// HTTP attempts made (0 for `skipped`).
    public var attempts: Int
    /// Last HTTP status received; absent when none was (timeout, connection refused, skipped).
    public var status: Int?
    /// Why the last attempt failed, or what was skipped.
    public var error: String?
    /// When its first attempt was made (RFC 3339, UTC).
    public var firstAttemptAt: String
    /// When the outcome was recorded (RFC 3339, UTC).
    public var finishedAt: String
    /// Whether it was a manual redelivery (`webhooks.redeliver`).
    public var redelivery: Bool
    public init(
        id: Int, sequence: Int, eventType: String?, outcome: String, attempts: Int, status: Int?, error: String?,
        firstAttemptAt: String, finishedAt: String, redelivery: Bool
    ) {
        self.id = id
        self.sequence = sequence
        self.eventType = eventType
        self.outcome = outcome
        self.attempts = attempts
        self.status = status
        self.error = error
        self.firstAttemptAt = firstAttemptAt
        self.finishedAt = finishedAt
        self.redelivery = redelivery
    }
}

/// `webhooks.add`: registers an endpoint; events committed from now on are delivered to it.
/// Errors: `not_found` (connection), `invalid_params` (url, types).
public enum WebhooksAdd: RPCMethod {
    public static let name = "webhooks.add"
    public static let summary = "Register an HTTP endpoint that receives the change feed as signed POSTs (the secret is shown once)."
    public struct Params: Codable, Sendable, Equatable {
        /// `http://` or `https://` URL with a host and no user name or password (put credentials
        /// in the URL's path or query if the receiver needs them, or rely on the signature).
        public var url: String
        /// Connection id or name whose events it receives; absent: every connection's.
        public var connection: String?
        /// Event types to deliver (exact names or `family.*`, like `events.list`); absent or empty: all.
        public var types: [String]?
        public init(url: String, connection: String? = nil, types: [String]? = nil) {
            self.url = url
            self.connection = connection
            self.types = types
        }
    }
    public typealias Result = WebhookWithSecret
}

/// `webhooks.list`: every endpoint (or one connection's), oldest first, with its delivery state.
/// Errors: `not_found` (connection).
public enum WebhooksList: RPCMethod {
    public static let name = "webhooks.list"
    public static let summary = "List webhook endpoints with their delivery state (cursor, retries, missed events); never their secrets."
    public struct Params: Codable, Sendable, Equatable {
        /// Connection id or name: only its endpoints (not those for every connection).
        public var connection: String?
        public init(connection: String? = nil) { self.connection = connection }
    }
    public struct Result: Codable, Sendable, Equatable {
        /// The endpoints, oldest first.
        public var webhooks: [WebhookInfo]
        public init(webhooks: [WebhookInfo]) { self.webhooks = webhooks }
    }
}

/// `webhooks.remove`: deletes an endpoint with its delivery log; nothing more is sent to it.
/// Errors: `not_found`.
public enum WebhooksRemove: RPCMethod {
    public static let name = "webhooks.remove"
    public static let summary = "Remove a webhook endpoint and its delivery log."
    public typealias Params = WebhookReference
    public struct Result: Codable, Sendable, Equatable {
        /// Always true (an unknown id is `not_found`).
        public var removed: Bool
        public init(removed: Bool) { self.removed = removed }
    }
}

/// `webhooks.pause`: stops deliveries to an endpoint (an attempt under way finishes); events
/// wait in the feed (within its retention) until `webhooks.resume`. Errors: `not_found`.
public enum WebhooksPause: RPCMethod {
    public static let name = "webhooks.pause"
    public static let summary = "Pause deliveries to a webhook endpoint; events wait in the feed."
    public typealias Params = WebhookReference
    public typealias Result = WebhookInfo
}

/// `webhooks.resume`: resumes a paused endpoint where it stopped. Errors: `not_found`.
public enum WebhooksResume: RPCMethod {
    public static let name = "webhooks.resume"
    public static let summary = "Resume a paused webhook endpoint where it stopped."
    public typealias Params = WebhookReference
    public typealias Result = WebhookInfo
}

/// `webhooks.rotateSecret`: a new signing secret (shown once). During the overlap, requests carry
/// two `v1` signatures (new and previous secret) so receivers can switch without losing any.
/// Errors: `not_found`, `invalid_params` (overlap out of range).
public enum WebhooksRotateSecret: RPCMethod {
    public static let name = "webhooks.rotateSecret"
    public static let summary = "Replace a webhook's signing secret; the previous one keeps signing for an overlap."
    public struct Params: Codable, Sendable, Equatable {
        /// The webhook's id.
        public var id: String
        /// Connection id or name the webhook must belong to.
        public var connection: String?
        /// Seconds the previous secret keeps signing beside the new one, 0…2592000 (default 86400).
        public var overlapSeconds: Int?
        public init(id: String, connection: String? = nil, overlapSeconds: Int? = nil) {
            self.id = id
            self.connection = connection
            self.overlapSeconds = overlapSeconds
        }
    }
    public typealias Result = WebhookWithSecret
}

/// `webhooks.deliveries`: an endpoint's delivery log, newest first. Errors: `not_found`,
/// `invalid_params` (limit).
public enum WebhooksDeliveries: RPCMethod {
    public static let name = "webhooks.deliveries"
    public static let summary = "An endpoint's delivery log, newest first: delivered, failed and skipped events."
    public struct Params: Codable, Sendable, Equatable {
        /// The webhook's id.
        public var id: String
        /// Connection id or name the webhook must belong to.
        public var connection: String?
        /// Only entries with a smaller id (the previous page's `next`).
        public var before: Int?
        /// 1…500, default 50.
        public var limit: Int?
        public init(id: String, connection: String? = nil, before: Int? = nil, limit: Int? = nil) {
            self.id = id
            self.connection = connection
            self.before = before
            self.limit = limit
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        /// Up to `limit` entries, newest first.
        public var deliveries: [WebhookDelivery]
        /// Pass as `before` for the next (older) page; absent on the last page.
        public var next: Int?
        public init(deliveries: [WebhookDelivery], next: Int?) {
            self.deliveries = deliveries
            self.next = next
        }
    }
}

/// `webhooks.redeliver`: queues one event to be sent to the endpoint again (with the same retry
/// policy), before the next feed event; the cursor does not move. Errors: `not_found` (webhook,
/// or an event no longer in the feed), `invalid_params` (an event this endpoint does not select,
/// or one after its cursor, which it will get anyway).
public enum WebhooksRedeliver: RPCMethod {
    public static let name = "webhooks.redeliver"
    public static let summary = "Queue one change-feed event to be delivered to a webhook endpoint again."
    public struct Params: Codable, Sendable, Equatable {
        /// The webhook's id.
        public var id: String
        /// Connection id or name the webhook must belong to.
        public var connection: String?
        /// The event's sequence number (from `webhooks.deliveries` or `events.list`).
        public var sequence: Int
        public init(id: String, connection: String? = nil, sequence: Int) {
            self.id = id
            self.connection = connection
            self.sequence = sequence
        }
    }
    public typealias Result = WebhookInfo
}

// MARK: - OpenRPC documentation

/// A webhook as the examples show it.
private func exampleWebhook(paused: Bool = false) -> JSONValue {
    [
        "id": "wh_k3v9q2m8x4c7t1b6n5zr", "connection": "0b5f6c9e-2d41-4b7a-9e3c-5a8d7f1e2c40", "connectionName": "Acme",
        "url": "https://app.example.com/hooks/scimd", "types": ["user.*"], "paused": .bool(paused),
        "state": .string(paused ? "paused" : "delivering"), "cursor": 42, "latestSequence": 42, "missedEvents": 0,
        "queuedRedeliveries": 0, "delivered": 17, "failed": 0, "skipped": 0, "createdAt": "2026-11-30T09:00:00.000Z",
        "updatedAt": "2026-11-30T09:05:00.000Z",
    ]
}

private let exampleSecret: JSONValue = "whsec_4c1d0f7a9b2e8c3d6a5f0e1b7c9d2a4e8f6b3c0d1e5a7f9b2c4d6e8a0b1c3d5e"

extension WebhooksAdd {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "acme-users", "Deliver one connection's user events; the secret is shown only here.",
            params: ["url": "https://app.example.com/hooks/scimd", "connection": "Acme", "types": ["user.*"]],
            result: ["webhook": exampleWebhook(), "secret": exampleSecret])
    }
}
extension WebhooksAdd.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "url": FieldDoc("Where events are POSTed: http:// or https://, with a host and no user name or password."),
            "connection": FieldDoc("Connection id or name whose events it receives; absent: every connection's."),
            "types": FieldDoc("Event types to deliver (exact names or family.*, like events.list); absent or empty: all."),
        ]
    }
}

extension WebhooksList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("acme", "One connection's endpoints.", params: ["connection": "Acme"], result: ["webhooks": [exampleWebhook()]])
    }
}
extension WebhooksList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        ["connection": FieldDoc("Connection id or name: only its endpoints (not those for every connection).")]
    }
}

extension WebhookReference: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("The webhook's id (wh_…), as webhooks.add and webhooks.list return it."),
            "connection": FieldDoc("Connection id or name the webhook must belong to (a check, not a selector)."),
        ]
    }
}

extension WebhooksRemove {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("remove", "Delete an endpoint and its delivery log.", params: ["id": "wh_p7w2d9f4j6h8k1m3q5sv"], result: ["removed": true])
    }
}

extension WebhooksPause {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("pause", "Hold deliveries while the receiver is down for maintenance.", params: ["id": "wh_k3v9q2m8x4c7t1b6n5zr"],
            result: exampleWebhook(paused: true))
    }
}

extension WebhooksResume {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample("resume", "Deliver again from where it stopped.", params: ["id": "wh_k3v9q2m8x4c7t1b6n5zr"], result: exampleWebhook())
    }
}

extension WebhooksRotateSecret {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "rotate", "A new secret; the previous one also signs for an hour.",
            params: ["id": "wh_k3v9q2m8x4c7t1b6n5zr", "overlapSeconds": 3600],
            result: ["webhook": exampleWebhook(), "secret": exampleSecret])
    }
}
extension WebhooksRotateSecret.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("The webhook's id (wh_…)."),
            "connection": FieldDoc("Connection id or name the webhook must belong to (a check, not a selector)."),
            "overlapSeconds": FieldDoc("Seconds the previous secret keeps signing beside the new one, 0…2,592,000 (default 86,400)."),
        ]
    }
}

extension WebhooksDeliveries {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample(
            "latest", "The newest entry of an endpoint's delivery log.", params: ["id": "wh_k3v9q2m8x4c7t1b6n5zr", "limit": 1],
            result: [
                "deliveries": [
                    [
                        "id": 17, "sequence": 42, "eventType": "user.created", "outcome": "delivered", "attempts": 1, "status": 204,
                        "firstAttemptAt": "2026-11-30T09:05:00.000Z", "finishedAt": "2026-11-30T09:05:00.041Z", "redelivery": false,
                    ]
                ],
                "next": 17,
            ])
    }
}
extension WebhooksDeliveries.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("The webhook's id (wh_…)."),
            "connection": FieldDoc("Connection id or name the webhook must belong to (a check, not a selector)."),
            "before": FieldDoc("Only entries with a smaller id: the previous page's next."),
            "limit": FieldDoc("Page size, 1…500 (default 50)."),
        ]
    }
}

extension WebhooksRedeliver {
    public static var errors: [RPCErrorKind]? { [.notFound, .storageFull] }
    public static var example: RPCExample? {
        RPCExample(
            "again", "Send one event again (the receiver lost it).", params: ["id": "wh_k3v9q2m8x4c7t1b6n5zr", "sequence": 1],
            result: exampleWebhook())
    }
}
extension WebhooksRedeliver.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "id": FieldDoc("The webhook's id (wh_…)."),
            "connection": FieldDoc("Connection id or name the webhook must belong to (a check, not a selector)."),
            "sequence": FieldDoc("The event's sequence number (from webhooks.deliveries or events.list); at most the endpoint's cursor."),
        ]
    }
}
