import Foundation
import GRDB

// The webhook endpoints and their delivery log (`scimctl webhooks`). An endpoint's `cursor` is
// the last change-feed sequence it is done with (delivered, failed for good, or skipped); it moves
// only in the transaction that records that outcome, so a restart resumes exactly after it and an
// event whose outcome was not committed is delivered again (at least once).

/// A webhook endpoint row: where one connection's (or every connection's) change feed is POSTed.
public struct WebhookRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "webhook"
    /// `wh_` and 20 random base-32 characters.
    public var id: String
    /// The connection whose events it receives; nil: every connection's.
    public var connectionId: String?
    /// `http` or `https` URL, validated on add.
    public var url: String
    /// JSON array of event types (`family.*` allowed); nil: every type.
    public var types: String?
    /// The signing secret (HMAC key). Stored as is: signing needs it, a hash would not do.
    public var secret: String
    /// The secret before the last rotation, still signing (second `v1`) until `previousSecretExpiresAt`.
    public var previousSecret: String?
    public var previousSecretExpiresAt: Milliseconds?
    public var paused: Bool
    /// Last event sequence this endpoint is done with.
    public var cursor: Int64
    public var createdAt: Milliseconds
    public var updatedAt: Milliseconds
    /// The event sequence the retry state below belongs to (the head delivery); nil when no
    /// attempt of the head has failed yet.
    public var retrySequence: Int64?
    /// Failed attempts of the head delivery so far.
    public var attempts: Int
    public var firstAttemptAt: Milliseconds?
    /// When the head delivery's next attempt is due.
    public var nextAttemptAt: Milliseconds?
    /// Why the head delivery's last attempt failed.
    public var lastError: String?
    public var lastStatus: Int?
    /// Events pruned from the feed (retention) before this endpoint had them, counted over its life.
    public var missedEvents: Int64

    public init(
        id: String, connectionId: String?, url: String, types: String?, secret: String, cursor: Int64, createdAt: Milliseconds
    ) {
        self.id = id
        self.connectionId = connectionId
        self.url = url
        self.types = types
        self.secret = secret
        self.previousSecret = nil
        self.previousSecretExpiresAt = nil
        self.paused = false
        self.cursor = cursor
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.retrySequence = nil
        self.attempts = 0
        self.firstAttemptAt = nil
        self.nextAttemptAt = nil
        self.lastError = nil
        self.lastStatus = nil
        self.missedEvents = 0
    }

    /// Clears the head event's retry state once it is done with (delivered, failed or skipped).
    mutating func finishHeadEvent(at now: Milliseconds) {
        retrySequence = nil
        attempts = 0
        firstAttemptAt = nil
        nextAttemptAt = nil
        lastError = nil
        lastStatus = nil
        updatedAt = now
    }
}

/// One finished delivery in an endpoint's log.
public struct WebhookDeliveryRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "webhookDelivery"
    public var id: Int64?
    public var webhookId: String
    /// The event's sequence; for `skipped`, the first sequence of the pruned range.
    public var sequence: Int64
    /// The event's type; nil for `skipped`.
    public var eventType: String?
    /// `delivered`, `failed` (retry period over) or `skipped` (pruned before delivery).
    public var outcome: String
    /// HTTP attempts made (0 for `skipped`).
    public var attempts: Int
    /// Last HTTP status received; nil when none (timeout, refused connection, skipped).
    public var status: Int?
    public var error: String?
    public var firstAttemptAt: Milliseconds
    public var finishedAt: Milliseconds
    /// Whether it was a manual redelivery (`webhooks.redeliver`) rather than the feed's turn.
    public var redelivery: Bool

    public init(
        webhookId: String, sequence: Int64, eventType: String?, outcome: String, attempts: Int, status: Int?, error: String?,
        firstAttemptAt: Milliseconds, finishedAt: Milliseconds, redelivery: Bool
    ) {
        self.webhookId = webhookId
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

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// The next thing an endpoint has to deliver, read in one snapshot.
public enum WebhookHead: Sendable, Equatable {
    /// A queued manual redelivery of this event (queued at `requestedAt`).
    case redelivery(EventRecord, requestedAt: Milliseconds)
    /// A queued manual redelivery of an event pruned since (retention).
    case prunedRedelivery(sequence: Int64)
    /// The next matching event after the cursor.
    case event(EventRecord)
    /// Events after the cursor up to `through` were pruned (retention) before this endpoint
    /// delivered them; `from` is the cursor's successor.
    case gap(from: Int64, through: Int64)
    /// Nothing matches up to `scannedThrough` (the cursor may move there); `complete` when that
    /// is the end of the feed, false when the scan stopped at its limit.
    case caughtUp(scannedThrough: Int64, complete: Bool)
}

extension StoreReader {
    /// The highest event sequence ever assigned (pruned ones included), from SQLite's
    /// AUTOINCREMENT bookkeeping: the next event gets a larger one.
    public func eventHighWater() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0)") ?? 0
    }

    /// Every webhook, oldest first; only one connection's when `connectionId` is given.
    public func webhooks(connectionId: String?) throws -> [WebhookRecord] {
        if let connectionId {
            return try WebhookRecord.fetchAll(
                db, sql: "SELECT * FROM webhook WHERE connectionId = ? ORDER BY createdAt, id", arguments: [connectionId])
        }
        return try WebhookRecord.fetchAll(db, sql: "SELECT * FROM webhook ORDER BY createdAt, id")
    }

    public func webhook(id: String) throws -> WebhookRecord? {
        try WebhookRecord.fetchOne(db, key: id)
    }

    /// Event sequences queued for redelivery to `webhookId`, oldest request first.
    public func queuedRedeliveries(webhookId: String) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhookRedelivery WHERE webhookId = ?", arguments: [webhookId]) ?? 0
    }

    /// One event by sequence, if still retained.
    public func event(sequence: Int64) throws -> EventRecord? {
        try EventRecord.fetchOne(db, sql: "SELECT * FROM event WHERE sequence = ?", arguments: [sequence])
    }

    /// What `webhook` must deliver next: a queued redelivery first (oldest request), then a gap in
    /// the feed (events pruned past its cursor), then the next event after its cursor that belongs
    /// to its connection and matches `matches` (its type filter). Scans at most `scanLimit` events.
    public func webhookHead(_ webhook: WebhookRecord, scanLimit: Int = 2_000, matches: (String) -> Bool) throws -> WebhookHead {
        if let row = try Row.fetchOne(
            db,
            sql: """
                SELECT r.sequence AS queued, r.requestedAt, e.* FROM webhookRedelivery r LEFT JOIN event e ON e.sequence = r.sequence
                WHERE r.webhookId = ? ORDER BY r.requestedAt, r.sequence LIMIT 1
                """, arguments: [webhook.id])
        {
            let queued: Int64 = row["queued"]
            let requestedAt: Milliseconds = row["requestedAt"]
            if row["at"] as Int64? == nil {
                return .prunedRedelivery(sequence: queued)
            }
            return .redelivery(try EventRecord(row: row), requestedAt: requestedAt)
        }
        let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(sequence) FROM event") ?? (try eventHighWater() + 1)
        if webhook.cursor + 1 < oldest {
            return .gap(from: webhook.cursor + 1, through: oldest - 1)
        }
        var cursor = webhook.cursor
        var scanned = 0
        while scanned < scanLimit {
            let batch: [EventRecord]
            if let connectionId = webhook.connectionId {
                batch = try EventRecord.fetchAll(
                    db, sql: "SELECT * FROM event WHERE connectionId = ? AND sequence > ? ORDER BY sequence LIMIT 500",
                    arguments: [connectionId, cursor])
            } else {
                batch = try EventRecord.fetchAll(
                    db, sql: "SELECT * FROM event WHERE sequence > ? ORDER BY sequence LIMIT 500", arguments: [cursor])
            }
            if let match = batch.first(where: { matches($0.type) }) { return .event(match) }
            scanned += batch.count
            guard batch.count == 500, let last = batch.last?.sequence else {
                // Everything up to the newest event was scanned: the cursor may move past it.
                return .caughtUp(scannedThrough: max(cursor, try eventHighWater()), complete: true)
            }
            cursor = last
        }
        return .caughtUp(scannedThrough: cursor, complete: false)
    }

    /// One page of an endpoint's delivery log, newest first: entries with id below `before`.
    public func webhookDeliveries(webhookId: String, before: Int64?, limit: Int) throws -> [WebhookDeliveryRecord] {
        try WebhookDeliveryRecord.fetchAll(
            db, sql: "SELECT * FROM webhookDelivery WHERE webhookId = ? AND id < ? ORDER BY id DESC LIMIT ?",
            arguments: [webhookId, before ?? Int64.max, limit])
    }

    /// Counts of an endpoint's logged deliveries by outcome.
    public func webhookDeliveryCounts(webhookId: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT outcome, COUNT(*) AS n FROM webhookDelivery WHERE webhookId = ? GROUP BY outcome", arguments: [webhookId])
        {
            counts[row["outcome"]] = row["n"]
        }
        return counts
    }
}

extension StoreTransaction {
    /// Deletes the webhook with its log and queued redeliveries (cascade). Returns whether there was one.
    @discardableResult
    public func deleteWebhook(id: String) throws -> Bool {
        try WebhookRecord.deleteOne(db, key: id)
    }

    /// Queues a redelivery of event `sequence`; a second request for the same event is one.
    public func queueRedelivery(webhookId: String, sequence: Int64, at: Milliseconds) throws {
        try db.execute(
            sql: "INSERT INTO webhookRedelivery (webhookId, sequence, requestedAt) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [webhookId, sequence, at])
    }

    /// Records the outcome of the head delivery and moves on, in one transaction: the log entry,
    /// the cursor (for a feed event) or the queued redelivery's removal, and the cleared retry
    /// state. Returns false, changing nothing, when the webhook is gone or no longer at that head
    /// (its cursor moved, or the redelivery is no longer queued).
    public func finishWebhookDelivery(_ delivery: WebhookDeliveryRecord, at now: Milliseconds) throws -> Bool {
        guard var webhook = try webhook(id: delivery.webhookId) else { return false }
        if delivery.redelivery {
            try db.execute(
                sql: "DELETE FROM webhookRedelivery WHERE webhookId = ? AND sequence = ?", arguments: [webhook.id, delivery.sequence])
            guard db.changesCount > 0 else { return false }
        } else {
            guard webhook.cursor < delivery.sequence else { return false }
            webhook.cursor = delivery.sequence
        }
        webhook.finishHeadEvent(at: now)
        try webhook.update(db)
        var entry = delivery
        try entry.insert(db)
        return true
    }

    /// Records a skipped range (pruned before delivery): the log entry, the cursor moved past it
    /// and the count of missed events, in one transaction. Does nothing when the webhook is gone
    /// or its cursor is already past the range.
    public func skipWebhookGap(webhookId: String, from: Int64, through: Int64, reason: String, at now: Milliseconds) throws {
        guard var webhook = try webhook(id: webhookId), webhook.cursor < through else { return }
        webhook.cursor = through
        webhook.missedEvents += through - from + 1
        webhook.finishHeadEvent(at: now)
        try webhook.update(db)
        var entry = WebhookDeliveryRecord(
            webhookId: webhookId, sequence: from, eventType: nil, outcome: "skipped", attempts: 0, status: nil, error: reason,
            firstAttemptAt: now, finishedAt: now, redelivery: false)
        try entry.insert(db)
    }

    /// Records a failed attempt of the head delivery `sequence` that will be retried at
    /// `nextAttemptAt`. Returns false when the webhook is gone.
    public func recordWebhookRetry(
        webhookId: String, sequence: Int64, attemptedAt: Milliseconds, nextAttemptAt: Milliseconds, status: Int?, error: String
    ) throws -> Bool {
        guard var webhook = try webhook(id: webhookId) else { return false }
        if webhook.retrySequence != sequence {
            webhook.retrySequence = sequence
            webhook.attempts = 0
            webhook.firstAttemptAt = attemptedAt
        }
        webhook.attempts += 1
        webhook.nextAttemptAt = nextAttemptAt
        webhook.lastError = error
        webhook.lastStatus = status
        try webhook.update(db)
        return true
    }

    /// Moves an endpoint's cursor from `from` to `to` past events it does not select, unless
    /// something else moved it meanwhile.
    public func advanceWebhookCursor(webhookId: String, from: Int64, to: Int64) throws {
        try db.execute(
            sql: "UPDATE webhook SET cursor = ? WHERE id = ? AND cursor = ? AND retrySequence IS NULL", arguments: [to, webhookId, from])
    }

    /// Keeps each endpoint's newest `keep` log entries.
    public func pruneWebhookDeliveries(keep: Int) throws {
        try db.execute(
            sql: """
                DELETE FROM webhookDelivery WHERE id IN (
                  SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY webhookId ORDER BY id DESC) AS rank FROM webhookDelivery)
                  WHERE rank > ?)
                """, arguments: [keep])
    }
}

extension StoreReader {
    /// When the queued redelivery of `sequence` to `webhookId` was requested; nil when none is queued.
    public func redeliveryRequestedAt(webhookId: String, sequence: Int64) throws -> Milliseconds? {
        try Milliseconds.fetchOne(
            db, sql: "SELECT requestedAt FROM webhookRedelivery WHERE webhookId = ? AND sequence = ?", arguments: [webhookId, sequence])
    }
}
