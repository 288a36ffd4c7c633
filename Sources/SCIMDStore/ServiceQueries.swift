import GRDB

/// A group a user belongs to, as rendered in the user's `groups` (RFC 7643 §4.1.2) and given to
/// the mapping engine.
public struct MemberOf: Sendable, Equatable {
    /// The group's `id`.
    public var id: String
    public var displayName: String?
    public var externalId: String?
    public init(id: String, displayName: String?, externalId: String?) {
        self.id = id
        self.displayName = displayName
        self.externalId = externalId
    }
}

/// The reads and checks the service makes in SQL, kept here so the SQL lives in one module: the
/// parts of the state that are not held in memory (request log, change feed), the
/// dashboard's paged member lists, and the checks made inside write transactions.
extension StoreReader {
    /// The groups of one user, ordered by `displayName` then id.
    public func memberships(connectionId: String, userId: String) throws -> [MemberOf] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT m.groupId, r.displayName, r.externalId FROM groupMember m
                    LEFT JOIN resource r ON r.connectionId = m.connectionId AND r.resourceType = 'Group' AND r.id = m.groupId
                    WHERE m.connectionId = ? AND m.memberId = ? ORDER BY r.displayName, m.groupId
                    """), arguments: [connectionId, userId]
        ).map { MemberOf(id: $0[0], displayName: $0[1], externalId: $0[2]) }
    }

    /// The groups of several users at once, by user id (users in no group are absent).
    public func memberships(connectionId: String, userIds: [String]) throws -> [String: [MemberOf]] {
        guard !userIds.isEmpty else { return [:] }
        var result: [String: [MemberOf]] = [:]
        var arguments: StatementArguments = [connectionId]
        arguments += StatementArguments(userIds)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT m.memberId, m.groupId, r.displayName, r.externalId FROM groupMember m
                LEFT JOIN resource r ON r.connectionId = m.connectionId AND r.resourceType = 'Group' AND r.id = m.groupId
                WHERE m.connectionId = ? AND m.memberId IN (\(databaseQuestionMarks(count: userIds.count))) ORDER BY r.displayName, m.groupId
                """, arguments: arguments)
        for row in rows {
            result[row[0], default: []].append(MemberOf(id: row[1], displayName: row[2], externalId: row[3]))
        }
        return result
    }

    /// The newest `limit` logged requests that touched one resource, newest first.
    public func recentRequests(connectionId: String, resourceId: String, limit: Int) throws -> [RequestLogRecord] {
        try RequestLogRecord.fetchAll(
            db, sql: "SELECT * FROM requestLog WHERE connectionId = ? AND resourceId = ? ORDER BY id DESC LIMIT ?",
            arguments: [connectionId, resourceId, limit])
    }

    /// The id of the connection's user linked to application user `appUserId`, other than `excluding`; nil when none.
    public func userLinked(toAppUserId appUserId: String, connectionId: String, excluding: String? = nil) throws -> String? {
        if let excluding {
            return try String.fetchOne(
                db, sql: "SELECT id FROM resource WHERE connectionId = ? AND appUserId = ? AND id != ?",
                arguments: [connectionId, appUserId, excluding])
        }
        return try String.fetchOne(db, sql: "SELECT id FROM resource WHERE connectionId = ? AND appUserId = ?", arguments: [connectionId, appUserId])
    }

    /// Events after sequence number `after`, oldest first, optionally of one connection.
    public func events(after: Int64, connectionId: String?, limit: Int) throws -> [EventRecord] {
        if let connectionId {
            return try EventRecord.fetchAll(
                db, sql: "SELECT * FROM event WHERE connectionId = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [connectionId, after, limit])
        }
        return try EventRecord.fetchAll(db, sql: "SELECT * FROM event WHERE sequence > ? ORDER BY sequence LIMIT ?", arguments: [after, limit])
    }

    /// The newest event's sequence number; 0 when the feed is empty.
    public func latestEventSequence() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM event") ?? 0
    }

    /// The highest sequence number the feed ever gave an event, also when retention has pruned
    /// that event since (`AUTOINCREMENT` never reuses one; SQLite keeps it in `sqlite_sequence`).
    /// 0 when no event was ever written.
    public func eventSequenceHighWater() throws -> Int64 {
        let recorded = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'event'") ?? 0
        return max(recorded, try latestEventSequence())
    }

    /// Whether the feed holds an event of `connectionId` (also of a deleted connection, whose
    /// `connection.deleted` stays until retention prunes it). Searches the (connectionId, sequence) index.
    public func hasEvents(connectionId: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM event WHERE connectionId = ?)", arguments: [connectionId]) ?? false
    }
}
