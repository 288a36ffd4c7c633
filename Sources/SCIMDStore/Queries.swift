import Foundation
import GRDB

/// The SQL scimd runs, in one place: reads are methods of ``StoreReader``, writes of
/// ``StoreTransaction`` (which reads too), so callers compose several into one atomic `Store.write`.
extension StoreReader {
    // MARK: connections

    /// Every connection, ordered by name.
    public func allConnections() throws -> [ConnectionRecord] {
        try ConnectionRecord.order(Column("name")).fetchAll(db)
    }

    /// Whether a connection other than `id` is named exactly `name` (names are unique).
    public func connectionName(_ name: String, isUsedByAnotherThan id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM connection WHERE name = ? AND id != ?)", arguments: [name, id]) ?? false
    }

    /// The request log of a connection counted (``RequestCounts``): its entries since `since` (ms)
    /// per minute and per hour, and its latest entry, whose id becomes ``RequestCounts/lastId``.
    /// One read, so that both come from the same snapshot.
    func requestCounts(connectionId: String, since: Milliseconds) throws -> RequestCounts {
        var counts = RequestCounts()
        let minutes = try Row.fetchAll(
            db,
            sql: """
                SELECT at / 60000 AS minute, COUNT(*), SUM(status >= 400) FROM requestLog
                WHERE connectionId = ? AND at >= ? GROUP BY minute
                """, arguments: [connectionId, since])
        for row in minutes {
            counts.add(minute: (row[0] as Int64) * RequestCounts.minute, requests: row[1] as Int, errors: row[2] as Int)
        }
        if let last = try Row.fetchOne(
            db, sql: "SELECT id, at, status FROM requestLog WHERE connectionId = ? ORDER BY id DESC LIMIT 1", arguments: [connectionId])
        {
            counts.lastId = last[0]
            counts.lastAt = last[1]
            counts.lastStatus = last[2]
            counts.trim(newest: max(counts.lastAt ?? 0, since))
        }
        return counts
    }

    // MARK: resources

    /// One resource by id, or nil.
    public func resource(connectionId: String, type: String, id: String) throws -> ResourceRecord? {
        // Cached statements for the per-request lookups: compiling the SQL each time (GRDB's
        // `sql:` requests do) cost more than running it.
        try ResourceRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id = ?"),
            arguments: [connectionId, type, id])
    }

    /// The resource holding a uniqueness key (folded userName / displayName), or nil. Uses the unique index.
    public func resource(connectionId: String, type: String, nameKey: String) throws -> ResourceRecord? {
        try ResourceRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND nameKey = ?"),
            arguments: [connectionId, type, nameKey])
    }

    /// The id of the resource holding a uniqueness key, or nil: the check every create, PUT and
    /// rename makes in its transaction. Answered from the unique index alone (it covers
    /// `connectionId, resourceType, nameKey` and, the table being `WITHOUT ROWID`, the primary
    /// key's `id`), without reading or decoding the row as ``resource(connectionId:type:nameKey:)``
    /// does (6% of the writer thread's time under batched creates).
    public func resourceId(connectionId: String, type: String, nameKey: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM resource WHERE connectionId = ? AND resourceType = ? AND nameKey = ?"),
            arguments: [connectionId, type, nameKey])
    }

    /// Resources by ids, in stable (creation) order.
    public func resources(connectionId: String, type: String, ids: [String]) throws -> [ResourceRecord] {
        guard !ids.isEmpty else { return [] }
        let placeholders = databaseQuestionMarks(count: ids.count)
        var arguments: StatementArguments = [connectionId, type]
        arguments += StatementArguments(ids)
        // Sorted here: SQLite looks the ids up by primary key (there is no creation-order index).
        return try ResourceRecord.fetchAll(
            db,
            sql: "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id IN (\(placeholders))",
            arguments: arguments
        ).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    // MARK: group membership

    /// A group's members in list order (by position; rows of equal position by id).
    public func groupMembers(connectionId: String, groupId: String) throws -> [GroupMemberRecord] {
        try GroupMemberRecord.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM groupMember WHERE connectionId = ? AND groupId = ? ORDER BY position, memberId"),
            arguments: [connectionId, groupId])
    }

    /// The ids of a group's members, in no particular order.
    public func groupMemberIds(connectionId: String, groupId: String) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT memberId FROM groupMember WHERE connectionId = ? AND groupId = ?"),
            arguments: [connectionId, groupId])
    }

    /// One member of a group by its exact id (one index lookup).
    public func groupMember(connectionId: String, groupId: String, memberId: String) throws -> GroupMemberRecord? {
        try GroupMemberRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM groupMember WHERE connectionId = ? AND groupId = ? AND memberId = ?"),
            arguments: [connectionId, groupId, memberId])
    }

    /// The members of a group whose id equals `memberId` ignoring ASCII case: what a
    /// `members[value eq "…"]` filter matches (`members.value` is not caseExact). One index search
    /// (`groupMember_nocase`, named: without statistics SQLite would walk the group by its primary
    /// key instead), whatever the group's size.
    public func groupMembers(connectionId: String, groupId: String, memberIdIgnoringCase memberId: String) throws -> [GroupMemberRecord] {
        try GroupMemberRecord.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM groupMember INDEXED BY groupMember_nocase WHERE connectionId = ? AND groupId = ? AND memberId = ? COLLATE NOCASE"),
            arguments: [connectionId, groupId, memberId])
    }

    /// The position after the group's last member (1 for an empty group).
    public func nextMemberPosition(connectionId: String, groupId: String) throws -> Int64 {
        let last = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(position) FROM groupMember WHERE connectionId = ? AND groupId = ?"),
            arguments: [connectionId, groupId])
        return (last ?? 0) + 1
    }

    /// Ids of the groups a member directly belongs to.
    public func groupIds(connectionId: String, memberId: String) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT groupId FROM groupMember WHERE connectionId = ? AND memberId = ? ORDER BY groupId",
            arguments: [connectionId, memberId])
    }

    // MARK: request log

    /// The sequence before which every event is older than `at` when events' times never go
    /// down in sequence order (one past the last event when all are older): a lower bound found
    /// with about log2(rows) primary-key reads.
    func firstEventSequence(notOlderThan at: Milliseconds) throws -> Int64 {
        guard let first = try Int64.fetchOne(db, sql: "SELECT MIN(sequence) FROM event"),
            let last = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM event")
        else { return 0 }
        var low = first
        var high = last + 1
        while low < high {
            let middle = low + (high - low) / 2
            let row = try Row.fetchOne(
                db, sql: "SELECT sequence, at FROM event WHERE sequence >= ? ORDER BY sequence LIMIT 1", arguments: [middle])
            guard let row, let sequence: Int64 = row["sequence"], let time: Milliseconds = row["at"] else {
                high = middle
                continue
            }
            if time >= at { high = middle } else { low = sequence + 1 }
        }
        return low
    }

    /// A page of a connection's log, newest first, below `beforeId` when given.
    public func requestLog(
        connectionId: String, beforeId: Int64?, statusRange: ClosedRange<Int>?, since: Milliseconds?, until: Milliseconds? = nil,
        method: String? = nil, resourceType: String? = nil, limit: Int
    ) throws -> [RequestLogRecord] {
        var sql = "SELECT * FROM requestLog WHERE connectionId = ?"
        var arguments: StatementArguments = [connectionId]
        if let beforeId {
            sql += " AND id < ?"
            arguments += [beforeId]
        }
        if let statusRange {
            sql += " AND status BETWEEN ? AND ?"
            arguments += [statusRange.lowerBound, statusRange.upperBound]
        }
        if let since {
            sql += " AND at >= ?"
            arguments += [since]
        }
        if let until {
            sql += " AND at < ?"
            arguments += [until]
        }
        if let method {
            sql += " AND method = ?"
            arguments += [method]
        }
        if let resourceType {
            sql += " AND resourceType = ?"
            arguments += [resourceType]
        }
        sql += " ORDER BY id DESC LIMIT ?"
        arguments += [limit]
        return try RequestLogRecord.fetchAll(db, sql: sql, arguments: arguments)
    }

    /// One logged request by id.
    public func loggedRequest(id: Int64) throws -> RequestLogRecord? {
        try RequestLogRecord.fetchOne(db, key: id)
    }

    // MARK: mapping and warnings

    /// The newest mapping version of every connection.
    public func latestMappingVersions() throws -> [MappingVersionRecord] {
        try MappingVersionRecord.fetchAll(
            db,
            sql: """
                SELECT m.* FROM mappingVersion m
                JOIN (SELECT connectionId, MAX(version) AS v FROM mappingVersion GROUP BY connectionId) latest
                  ON latest.connectionId = m.connectionId AND latest.v = m.version
                """)
    }

    /// The newest mapping version of a connection whose re-map looked at every stored resource
    /// (``MappingVersionRecord/remappedAt``), or nil. Every resource of the connection is mapped
    /// with at least this version, whatever its own `mappingVersion` says
    /// (``ResourceRecord/effectiveMappingVersion(remapped:)``).
    public func remappedVersion(connectionId: String) throws -> Int? {
        try Int.fetchOne(
            db, sql: "SELECT MAX(version) FROM mappingVersion WHERE connectionId = ? AND remappedAt IS NOT NULL", arguments: [connectionId])
    }

    /// The current mapping version's row when its re-map never recorded that it reached every
    /// resource (`remappedAt` nil), or nil.
    public func unfinishedRemap(connectionId: String) throws -> MappingVersionRecord? {
        try MappingVersionRecord.fetchOne(
            db, sql: "SELECT * FROM mappingVersion WHERE connectionId = ? ORDER BY version DESC LIMIT 1", arguments: [connectionId]
        ).flatMap { $0.remappedAt == nil ? $0 : nil }
    }

    /// Whether a stored resource of the connection was last mapped with a version older than
    /// `version`, or never: a scan of the connection's rows in SQLite that stops at the first
    /// (`finishInterruptedRemaps` runs it only for a version without `remappedAt`).
    public func hasResourcesMappedBefore(connectionId: String, version: Int) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM resource WHERE connectionId = ? AND (mappingVersion IS NULL OR mappingVersion < ?))",
            arguments: [connectionId, version]) ?? false
    }

    /// A connection's mapping history, newest first.
    public func mappingVersions(connectionId: String) throws -> [MappingVersionRecord] {
        try MappingVersionRecord.fetchAll(
            db, sql: "SELECT * FROM mappingVersion WHERE connectionId = ? ORDER BY version DESC", arguments: [connectionId])
    }

    /// The open warnings of one resource.
    public func warnings(connectionId: String, type: String, resourceId: String) throws -> [WarningRecord] {
        // Cached: every write of a resource with warnings, and every row of a re-map that opens
        // or resolves one, runs it (compiling it each time was an eighth of a re-map's writer).
        try WarningRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM warning WHERE connectionId = ? AND resourceType = ? AND resourceId = ? ORDER BY property"),
            arguments: [connectionId, type, resourceId])
    }

    /// Per-connection warning totals: (open warnings, resources with warnings).
    /// A connection's ``ResourceCounts`` from the `resource` table, through its indexes
    /// (`resource_nameKey` for the counts per type, `resource_inactive` and `resource_warnings`,
    /// both partial): a few milliseconds at 100k users, without reading the rows' JSON.
    public func resourceCounts(connectionId: String) throws -> ResourceCounts {
        func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql, arguments: [connectionId]) ?? 0 }
        let users = try count("SELECT COUNT(*) FROM resource WHERE connectionId = ? AND resourceType = 'User'")
        let groups = try count("SELECT COUNT(*) FROM resource WHERE connectionId = ? AND resourceType = 'Group'")
        let inactive = try count("SELECT COUNT(*) FROM resource WHERE connectionId = ? AND resourceType = 'User' AND active = 0")
        let warned = try Row.fetchOne(
            db, sql: "SELECT COALESCE(SUM(warningCount), 0), COUNT(*) FROM resource WHERE connectionId = ? AND warningCount > 0",
            arguments: [connectionId])
        return ResourceCounts(
            users: users, activeUsers: users - inactive, groups: groups, openWarnings: warned?[0] ?? 0, resourcesWithWarnings: warned?[1] ?? 0)
    }

    public func warningCounts(connectionId: String) throws -> (open: Int, resources: Int) {
        let row = try Row.fetchOne(
            db,
            sql: "SELECT COUNT(*), COUNT(DISTINCT resourceType || ':' || resourceId) FROM warning WHERE connectionId = ?",
            arguments: [connectionId])
        return (row?[0] ?? 0, row?[1] ?? 0)
    }
}

extension StoreTransaction {
    /// Inserts a member, or replaces the row of the same member.
    public func saveMember(_ member: GroupMemberRecord) throws {
        try member.insert(db, onConflict: .replace)
    }

    /// Deletes one member row; whether there was one.
    @discardableResult
    public func deleteMember(connectionId: String, groupId: String, memberId: String) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM groupMember WHERE connectionId = ? AND groupId = ? AND memberId = ?",
            arguments: [connectionId, groupId, memberId])
        let deleted = db.changesCount > 0
        try ReplicaRecording.record(db, .deleteMember(connectionId: connectionId, groupId: groupId, memberId: memberId))
        return deleted
    }

    /// Replaces every member row of a group (create, PUT, a PATCH that rewrites the list).
    public func replaceMembers(connectionId: String, groupId: String, members: [GroupMemberRecord]) throws {
        try db.execute(sql: "DELETE FROM groupMember WHERE connectionId = ? AND groupId = ?", arguments: [connectionId, groupId])
        try ReplicaRecording.record(db, .deleteMembers(connectionId: connectionId, groupId: groupId))
        for member in members { try saveMember(member) }
    }

    /// Deletes a connection and, by cascade, everything it owns (resources, members, logs,
    /// warnings, mapping versions…). Returns whether there was one.
    @discardableResult
    public func deleteConnection(_ record: ConnectionRecord) throws -> Bool {
        let deleted = try record.delete(db)
        try ReplicaRecording.record(db, .deleteConnection(record.id))
        return deleted
    }

    /// Appends a request to the log; returns its id.
    @discardableResult
    public func logRequest(_ record: RequestLogRecord) throws -> Int64 {
        try record.insertRow(self)
    }

    /// Deletes a connection's log entries beyond the newest `keep`, and any older than `olderThan`,
    /// except those an open warning cites as its example request.
    public func pruneRequestLog(connectionId: String, keep: Int, olderThan: Milliseconds) throws {
        try db.execute(
            sql: """
                DELETE FROM requestLog WHERE connectionId = ? AND (at < ? OR id <= (
                  SELECT id FROM requestLog WHERE connectionId = ? ORDER BY id DESC LIMIT 1 OFFSET ?))
                  AND id NOT IN (SELECT requestId FROM warning WHERE connectionId = ? AND requestId IS NOT NULL)
                """, arguments: [connectionId, olderThan, connectionId, keep, connectionId])
        if db.changesCount > 0 { try ReplicaRecording.record(db, .pruneRequestLog(connectionId)) }
    }

    /// Deletes up to `limit` of the oldest change-feed events older than `olderThan` (milliseconds
    /// since 1970); returns how many it deleted (`limit` means more may be left: call again, in a
    /// new transaction, so writes waiting for the writer go in between).
    ///
    /// `event` has no index on `at`, and `DELETE … WHERE at < ?` read the whole table: with 30
    /// days of events (3.5 million rows, 1 GB) every maintenance pass, every 30 s, held the writer
    /// for 0.6–1 s from the page cache, longer from disk, while every SCIM write waited; finding
    /// that nothing expired now takes 0.25 ms. Events are appended
    /// in commit order stamped with their commit's clock, so the expired ones are the table's
    /// first rows: their end is found by binary search on `sequence` (point reads of the primary
    /// key), and only rows before it are deleted, each still checked against `olderThan`, so a
    /// clock stepped backwards can keep an old event a while but never deletes a young one.
    @discardableResult
    public func pruneEvents(olderThan: Milliseconds, limit: Int = 2_000) throws -> Int {
        let end = try firstEventSequence(notOlderThan: olderThan)
        try db.execute(
            sql: """
                DELETE FROM event WHERE sequence IN (
                  SELECT sequence FROM event WHERE sequence < ? AND at < ? ORDER BY sequence LIMIT ?)
                """, arguments: [end, olderThan, limit])
        return db.changesCount
    }

    /// Deletes held changes (confirm mode) whose time ran out at or before `now`: nothing of them
    /// was applied, and `scim.commit` no longer accepts them.
    public func purgeExpiredCommits(now: Milliseconds) throws {
        try db.execute(sql: "DELETE FROM pendingCommit WHERE expiresAt <= ?", arguments: [now])
    }

    /// Records that the re-map of `version` looked at every stored resource of the connection
    /// (the in-memory ``ConnectionResources/remappedVersion`` follows when the transaction commits).
    /// Throws ``StoreError/unrecordedWrite`` outside ``Store/write(_:)``.
    public func markRemapped(connectionId: String, version: Int, at: Milliseconds) throws {
        try db.execute(
            sql: "UPDATE mappingVersion SET remappedAt = ? WHERE connectionId = ? AND version = ?", arguments: [at, connectionId, version])
        try ReplicaRecording.record(db, .markRemapped(connectionId: connectionId, version: version))
    }
}

// MARK: rows the service writes whole

// Configuration rows go through GRDB's record persistence (they are written a few times a day,
// not per request), kept behind these methods so that no caller needs GRDB.

extension StoreReader {
    /// One connection by id, or nil.
    public func connection(id: String) throws -> ConnectionRecord? {
        try ConnectionRecord.fetchOne(db, key: id)
    }

    /// One saved version of a connection's mapping, or nil.
    public func mappingVersion(connectionId: String, version: Int) throws -> MappingVersionRecord? {
        try MappingVersionRecord.fetchOne(db, key: ["connectionId": connectionId, "version": version])
    }

    /// One change held for confirmation, by its `commitId`, or nil (expired ones included until
    /// purged: the caller compares `expiresAt`).
    public func pendingCommit(id: String) throws -> PendingCommitRecord? {
        try PendingCommitRecord.fetchOne(db, key: id)
    }
}

extension StoreTransaction {
    /// Inserts a new connection. Throws the database's error: `StoreFailure.constraintViolation`
    /// for a taken id or name.
    public func insert(_ record: ConnectionRecord) throws {
        try record.insert(db)
    }

    /// Writes every column of the connection with this id. Throws GRDB's `recordNotFound`
    /// when there is none, `StoreFailure.constraintViolation` for a taken name.
    public func update(_ record: ConnectionRecord) throws {
        try record.update(db)
    }

    /// Saves a new mapping version. Throws `StoreFailure.constraintViolation` when this
    /// (connection, version) was saved meanwhile.
    public func insert(_ record: MappingVersionRecord) throws {
        try record.insert(db)
    }

    /// Holds a change for confirmation.
    public func insert(_ record: PendingCommitRecord) throws {
        try record.insert(db)
    }

    /// Drops a held change. Returns whether there was one.
    @discardableResult
    public func deletePendingCommit(id: String) throws -> Bool {
        try PendingCommitRecord.deleteOne(db, key: id)
    }

    /// Adds a webhook endpoint.
    public func insert(_ record: WebhookRecord) throws {
        try record.insert(db)
    }

    /// Writes every column of the webhook with this id. Throws GRDB's `recordNotFound` when there
    /// is none.
    public func update(_ record: WebhookRecord) throws {
        try record.update(db)
    }

    /// Records a deleted user's keys (its tombstone), replacing an earlier tombstone of the same id.
    public func saveTombstone(_ record: TombstoneRecord) throws {
        try record.insert(db, onConflict: .replace)
    }
}
