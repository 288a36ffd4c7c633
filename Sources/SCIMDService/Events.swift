import Foundation
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMModel
import NIOConcurrencyHelpers

/// What a SCIM request did to one resource: `ResourceChange.change` on the wire, and with the
/// resource type the event type (`user.deactivated`).
enum ResourceChangeKind: String, Sendable, CaseIterable {
    case created, updated, deactivated, reactivated, deleted
    case memberAdded = "member_added"
    case memberRemoved = "member_removed"
}

/// The change feed's event types. `EventInfo.types` documents them to clients (`rpc.discover`,
/// the `types` check of `events.*`); `EventTypeTests` keeps the two lists equal.
enum EventType: String, Sendable, CaseIterable {
    case userCreated = "user.created"
    case userUpdated = "user.updated"
    case userDeactivated = "user.deactivated"
    case userReactivated = "user.reactivated"
    case userDeleted = "user.deleted"
    case groupCreated = "group.created"
    case groupUpdated = "group.updated"
    case groupDeleted = "group.deleted"
    case groupMemberAdded = "group.member_added"
    case groupMemberRemoved = "group.member_removed"
    case warningOpened = "warning.opened"
    case warningResolved = "warning.resolved"
    case mappingChanged = "mapping.changed"
    case connectionCreated = "connection.created"
    case connectionUpdated = "connection.updated"
    case connectionDeleted = "connection.deleted"
    case connectionTokenRotated = "connection.token_rotated"

    /// The event of `change` to a resource of `resourceType` (`User`/`Group`, as in
    /// `ResourceChange`); nil for a pair the feed has no type for (a User's `member_added`).
    init?(resourceType: String, change: String) {
        self.init(rawValue: resourceType.lowercased() + "." + change)
    }

    /// `warning.opened` or `warning.resolved`.
    static func warning(opened: Bool) -> EventType { opened ? .warningOpened : .warningResolved }
}

extension ResourceChange {
    /// A change of the service's own making: kinds are typed here and strings on the wire.
    init(
        _ resourceType: SCIMResourceType, id: String, _ change: ResourceChangeKind, connection: String, version: String? = nil,
        member: String? = nil, mapped: JSONValue? = nil, warningsOpened: [String]? = nil, warningsResolved: [String]? = nil
    ) {
        self.init(
            resourceType: resourceType.rawValue, id: id, change: change.rawValue, connection: connection, version: version,
            member: member, mapped: mapped, warningsOpened: warningsOpened, warningsResolved: warningsResolved)
    }
}

/// Appends change-feed events inside the transaction of the change they describe, so the feed
/// and the data can never disagree.
enum EventLog {
    static func append(
        _ db: StoreTransaction, at: Milliseconds, connectionId: String, type: EventType, resourceType: String?, resourceId: String?,
        data: JSONObject
    ) throws {
        let record = EventRecord(
            at: at, connectionId: connectionId, type: type.rawValue, resourceType: resourceType, resourceId: resourceId,
            data: JSONSerializer.string(.object(data)))
        try record.insertRow(db)
    }

    /// The events of a SCIM request's changes: one per change, plus `warning.opened|resolved`.
    /// Throws `RPCError.internal` for a change the feed has no event type for (a bug: the
    /// request's transaction rolls back rather than log an event no client can select).
    static func append(_ db: StoreTransaction, at: Milliseconds, changes: [ResourceChange], names: [String: String]) throws {
        for change in changes {
            guard let type = EventType(resourceType: change.resourceType, change: change.change) else {
                throw RPCError.internalError("no event type for a \(change.resourceType) '\(change.change)' change")
            }
            var data: JSONObject = [:]
            if let name = names[change.id] { data[change.resourceType == "User" ? "userName" : "displayName"] = .string(name) }
            if let version = change.version { data["version"] = .string(version) }
            if let member = change.member { data["member"] = .string(member) }
            if let mapped = change.mapped { data["mapped"] = mapped }
            try append(
                db, at: at, connectionId: change.connection, type: type, resourceType: change.resourceType, resourceId: change.id, data: data)
            for property in change.warningsOpened ?? [] {
                try append(
                    db, at: at, connectionId: change.connection, type: .warningOpened, resourceType: change.resourceType,
                    resourceId: change.id, data: ["property": .string(property)])
            }
            for property in change.warningsResolved ?? [] {
                try append(
                    db, at: at, connectionId: change.connection, type: .warningResolved, resourceType: change.resourceType,
                    resourceId: change.id, data: ["property": .string(property)])
            }
        }
    }

    static func info(_ r: EventRecord) -> EventInfo {
        EventInfo(
            sequence: Int(r.sequence ?? 0), at: Timestamp.string(r.at), type: r.type, connection: r.connectionId,
            resourceType: r.resourceType, resourceId: r.resourceId, data: (try? JSONParser().parse(r.data)) ?? .object([:]))
    }

    /// Throws `invalid_params` (field `types`) naming the first entry that selects no event type
    /// the feed carries (``EventInfo/types``): a typo such as `usr.*` or `user.creatd` would
    /// otherwise select nothing, silently, forever.
    static func checkSelection(_ types: [String]?) throws(RPCError) {
        for entry in types ?? [] {
            let known = entry.hasSuffix(".*")
                ? EventInfo.types.contains { $0.hasPrefix(String(entry.dropLast(1))) }
                : EventInfo.types.contains(entry)
            guard known else {
                let families = Set(EventInfo.types.map { String($0.prefix { $0 != "." }) + ".*" }).sorted()
                throw RPCError.invalidParams(
                    "types: '\(entry)' selects no event type (one of \(EventInfo.types.joined(separator: ", ")), or a family: \(families.joined(separator: ", ")))",
                    field: "types")
            }
        }
    }

    /// Whether `type` is selected by `types` (exact names, or `family.*`).
    static func matches(_ type: String, _ types: [String]?) -> Bool {
        guard let types, !types.isEmpty else { return true }
        for t in types {
            if t == type { return true }
            if t.hasSuffix(".*"), type.hasPrefix(String(t.dropLast(1))) { return true }
        }
        return false
    }
}

/// Wakes change-feed subscribers when new events commit. Each waiter holds at most one pending
/// wake-up (`bufferingNewest(1)`), so a subscriber that does not read costs nothing and never
/// slows the writers; subscribers read the events themselves from the store.
final class EventNotifier: Sendable {
    private let waiters = NIOLockedValueBox<[UUID: AsyncStream<Void>.Continuation]>([:])

    func subscribe() -> (UUID, AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        waiters.withLockedValue { $0[id] = continuation }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        let continuation = waiters.withLockedValue { $0.removeValue(forKey: id) }
        continuation?.finish()
    }

    func notify() {
        for continuation in waiters.withLockedValue({ Array($0.values) }) { continuation.yield() }
    }
}

extension SCIMDService {
    /// The sequence number of the newest event in the change feed (0 when empty): where a
    /// subscriber that wants only what happens from now on starts (`after`).
    public func latestEventSequence() async throws -> Int {
        Int(try await store.read { db in try db.latestEventSequence() })
    }

    /// `events.list`. Throws `not_found`, `invalid_params` (also for an `after` past every event
    /// the feed ever held: see ``checkCursor(_:)``).
    public func listEvents(_ params: EventsList.Params) async throws -> EventsList.Result {
        let limit = params.limit ?? 100
        guard (1...1000).contains(limit) else { throw RPCError.invalidParams("limit must be 1…1000", field: "limit") }
        let after = Int64(params.after ?? 0)
        guard after >= 0 else { throw RPCError.invalidParams("after must not be negative", field: "after") }
        var connectionId: String? = nil
        if let reference = params.connection { connectionId = try await eventConnectionId(reference) }
        let types = params.types
        try EventLog.checkSelection(types)
        try await checkCursor(after)
        let (events, latest) = try await readEvents(after: after, connectionId: connectionId, types: types, limit: limit)
        return .init(events: events, nextAfter: events.last?.sequence ?? Int(after), latestSequence: Int(latest))
    }

    /// Up to `limit` matching events after `after`, scanning past non-matching ones.
    nonisolated func readEvents(after: Int64, connectionId: String?, types: [String]?, limit: Int) async throws -> ([EventInfo], Int64) {
        try await store.read { db in
            var out: [EventInfo] = []
            var cursor = after
            while out.count < limit {
                let batch = try db.events(after: cursor, connectionId: connectionId, limit: 500)
                for r in batch where EventLog.matches(r.type, types) {
                    out.append(EventLog.info(r))
                    if out.count == limit { break }
                }
                guard batch.count == 500, let last = batch.last?.sequence else { break }
                if out.count == limit { break }
                cursor = last
            }
            return (out, try db.latestEventSequence())
        }
    }

    /// Validates a subscription's selection. Throws `not_found`, `invalid_params`.
    public func prepareSubscription(_ selection: EventSelection) async throws -> (connectionId: String?, after: Int64) {
        let after = Int64(selection.after ?? 0)
        guard after >= 0 else { throw RPCError.invalidParams("after must not be negative", field: "after") }
        try EventLog.checkSelection(selection.types)
        try await checkCursor(after)
        guard let reference = selection.connection else { return (nil, after) }
        return (try await eventConnectionId(reference), after)
    }

    /// The connection an `events.*` call filters by: a connection by id or name, or a deleted one
    /// by id while the feed still holds its events. A consumer that follows one connection then
    /// reads to its end, `connection.deleted` last; before, the deleted connection was not found
    /// and those last events were out of its reach. Throws `not_found`.
    func eventConnectionId(_ reference: String) async throws -> String {
        do {
            return try connection(named: reference).id
        } catch let error as RPCError where error.kind == "not_found" {
            guard try await store.read({ db in try db.hasEvents(connectionId: reference) }) else { throw error }
            return reference
        }
    }

    /// Refuses a cursor past every sequence the feed ever gave: it comes from another scimd, or
    /// the database was restored from an older backup. Served, it would read nothing until the
    /// feed's numbers caught up, and skip every event until then. Throws `invalid_params`.
    func checkCursor(_ after: Int64) async throws {
        let highWater = try await store.read { db in try db.eventSequenceHighWater() }
        guard after <= highWater else {
            throw RPCError.invalidParams(
                "after \(after) is past the newest event this feed ever held (\(highWater)): the cursor is from another scimd, or the "
                    + "database was restored from an older backup; resynchronize, then follow from after: \(highWater)",
                field: "after")
        }
    }

    /// Streams events to `send` until cancelled: the backlog after `after`, then live ones as they
    /// commit. A subscriber more than `maximumLag` events behind the feed is told so through
    /// `dropped(resumeAfter)` and the stream ends. `progress`, when given, is told the sequence the
    /// subscriber has read the feed up to (matching or not) each time it moves (metrics: its lag).
    public nonisolated func streamEvents(
        connectionId: String?, types: [String]?, after: Int64, maximumLag: Int64 = 100_000,
        send: @Sendable (EventInfo) async throws -> Void, dropped: @Sendable (_ resumeAfter: Int64) async throws -> Void,
        progress: (@Sendable (_ readUpTo: Int64) -> Void)? = nil
    ) async throws {
        let (waiter, wakeUps) = eventNotifier.subscribe()
        defer { eventNotifier.unsubscribe(waiter) }
        var cursor = after
        var iterator = wakeUps.makeAsyncIterator()
        // The backlog that existed when the subscription began may be long; only falling behind
        // what was written *since* counts as being too slow.
        let backlogEnd = try await store.read { db in try db.latestEventSequence() }
        while !Task.isCancelled {
            let (events, latest) = try await readEvents(after: cursor, connectionId: connectionId, types: types, limit: 500)
            if latest - max(cursor, backlogEnd) > maximumLag {
                try await dropped(cursor)
                return
            }
            for event in events {
                try await send(event)
                cursor = Int64(event.sequence)
            }
            if events.count < 500 {
                // Caught up: the read scanned everything up to `latest`, matching or not.
                cursor = max(cursor, latest)
                progress?(cursor)
                guard await iterator.next() != nil else { return }
            } else {
                progress?(cursor)
            }
        }
    }
}
