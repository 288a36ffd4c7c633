import GRDB

// Hand-written writes for the rows every SCIM request writes. GRDB's record `insert`/`update`
// encode the record through Codable into a container and build the statement's SQL text on every
// call (about a tenth of a create's CPU in `perf`); these run one cached statement with the
// values bound directly. Each write of `resource`, `groupMember` and `warning` rows is also recorded for the
// in-memory ``ResourceReplica`` (see ``ReplicaRecording``): these functions are the only way
// scimd writes those rows. `RowWriteTests` checks each against the table's columns and reads every
// row back through GRDB's Codable decoding, so a column added to a table and missed here fails.

extension ResourceRecord {
    /// Every column of `resource`, in the order the statements below bind them.
    static let columnList =
        "connectionId, resourceType, id, nameKey, externalId, displayName, active, createdAt, updatedAt, version, raw, mapped, mappingVersion, warningCount, appUserId"

    var columnValues: StatementArguments {
        [
            connectionId, resourceType, id, nameKey, externalId, displayName, active, createdAt, updatedAt, version, raw, mapped,
            mappingVersion, warningCount, appUserId,
        ]
    }

    /// Inserts the row with a cached statement. Throws `DatabaseError` (`SQLITE_CONSTRAINT` for a
    /// taken key or name), like GRDB's `insert`.
    public func insertRow(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(sql: "INSERT INTO resource (\(Self.columnList)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: columnValues)
        try ReplicaRecording.record(db, .putResource(self))
    }

    /// Deletes the row with this key (and records it for the replica). Returns whether there was one.
    @discardableResult
    public func deleteRow(_ transaction: StoreTransaction) throws -> Bool {
        let db = transaction.db
        try db.cachedStatement(sql: "DELETE FROM resource WHERE connectionId = ? AND resourceType = ? AND id = ?")
            .execute(arguments: [connectionId, resourceType, id])
        let deleted = db.changesCount > 0
        try ReplicaRecording.record(db, .deleteResource(connectionId: connectionId, type: resourceType, id: id))
        return deleted
    }

    /// Writes every column of the row with this key, with a cached statement. Throws
    /// `RecordError.recordNotFound` when there is no such row, like GRDB's `update`.
    public func updateRow(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(
            sql: """
                UPDATE resource SET nameKey = ?, externalId = ?, displayName = ?, active = ?, createdAt = ?, updatedAt = ?,
                  version = ?, raw = ?, mapped = ?, mappingVersion = ?, warningCount = ?, appUserId = ?
                WHERE connectionId = ? AND resourceType = ? AND id = ?
                """
        ).execute(arguments: [
            nameKey, externalId, displayName, active, createdAt, updatedAt, version, raw, mapped, mappingVersion, warningCount,
            appUserId, connectionId, resourceType, id,
        ])
        if db.changesCount == 0 {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["connectionId": connectionId.databaseValue, "resourceType": resourceType.databaseValue, "id": id.databaseValue])
        }
        try ReplicaRecording.record(db, .putResource(self))
    }
}

extension ResourceRecord {
    /// ``updateRow(_:)`` for a row read in this transaction as `previous`: when no indexed column
    /// changed (`nameKey`, `externalId`, `active`, `createdAt`, `warningCount`, `appUserId`), only
    /// the others are set, so SQLite leaves every index of `resource` alone. A PATCH that adds a
    /// group member or changes a user's title set all of them, and the full-row `UPDATE`
    /// rewrote an entry in each of six indexes. Throws `RecordError.recordNotFound` when there is
    /// no such row.
    public func updateRow(_ transaction: StoreTransaction, replacing previous: ResourceRecord) throws {
        let db = transaction.db
        guard
            nameKey == previous.nameKey, externalId == previous.externalId, active == previous.active,
            createdAt == previous.createdAt, warningCount == previous.warningCount, appUserId == previous.appUserId,
            connectionId == previous.connectionId, resourceType == previous.resourceType, id == previous.id
        else { return try updateRow(transaction) }
        try db.cachedStatement(
            sql: """
                UPDATE resource SET displayName = ?, updatedAt = ?, version = ?, raw = ?, mapped = ?, mappingVersion = ?
                WHERE connectionId = ? AND resourceType = ? AND id = ?
                """
        ).execute(arguments: [displayName, updatedAt, version, raw, mapped, mappingVersion, connectionId, resourceType, id])
        if db.changesCount == 0 {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["connectionId": connectionId.databaseValue, "resourceType": resourceType.databaseValue, "id": id.databaseValue])
        }
        try ReplicaRecording.record(db, .putResource(self))
    }

    /// Writes the columns a re-mapping changes (`mapped`, `mappingVersion`, `warningCount`) of
    /// the row with this key, and records the whole record for the replica: the caller read the row
    /// in this transaction, so its other columns are the row's. An `UPDATE` of every column
    /// rewrites every index of `resource` (SQLite updates the indexes of the columns an `UPDATE`
    /// sets, changed or not); this one touches only the index of warned resources. Throws
    /// `RecordError.recordNotFound` when there is no such row.
    public func updateMappingColumns(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(
            sql: "UPDATE resource SET mapped = ?, mappingVersion = ?, warningCount = ? WHERE connectionId = ? AND resourceType = ? AND id = ?"
        ).execute(arguments: [mapped, mappingVersion, warningCount, connectionId, resourceType, id])
        if db.changesCount == 0 {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["connectionId": connectionId.databaseValue, "resourceType": resourceType.databaseValue, "id": id.databaseValue])
        }
        try ReplicaRecording.record(db, .putResource(self))
    }
}

extension ResourceRecord {
    /// Decodes a row by column name, without Codable: GRDB's Codable decoding was most of the time
    /// spent loading a connection into memory (and of every other fetch of resources). Throws
    /// GRDB's `RowDecodingError` for a missing non-optional column or a value of the wrong type.
    public init(row: Row) throws {
        self.init(
            connectionId: try row.decode(forColumn: "connectionId"), resourceType: try row.decode(forColumn: "resourceType"),
            id: try row.decode(forColumn: "id"), nameKey: try row.decode(forColumn: "nameKey"),
            externalId: try row.decode(forColumn: "externalId"), displayName: try row.decode(forColumn: "displayName"),
            active: try row.decode(forColumn: "active"), createdAt: try row.decode(forColumn: "createdAt"),
            updatedAt: try row.decode(forColumn: "updatedAt"), version: try row.decode(forColumn: "version"),
            raw: try row.decode(forColumn: "raw"), mapped: try row.decode(forColumn: "mapped"),
            mappingVersion: try row.decode(forColumn: "mappingVersion"), warningCount: try row.decode(forColumn: "warningCount"))
        appUserId = try row.decode(forColumn: "appUserId")
    }

    /// Decodes a row of `SELECT \(columnList)` by position: loading a connection into memory
    /// decodes every resource row, and finding each column by name folded its case every time.
    init(columnListRow row: Row) throws {
        self.init(
            connectionId: try row.decode(atIndex: 0), resourceType: try row.decode(atIndex: 1), id: try row.decode(atIndex: 2),
            nameKey: try row.decode(atIndex: 3), externalId: try row.decode(atIndex: 4), displayName: try row.decode(atIndex: 5),
            active: try row.decode(atIndex: 6), createdAt: try row.decode(atIndex: 7), updatedAt: try row.decode(atIndex: 8),
            version: try row.decode(atIndex: 9), raw: try row.decode(atIndex: 10), mapped: try row.decode(atIndex: 11),
            mappingVersion: try row.decode(atIndex: 12), warningCount: try row.decode(atIndex: 13))
        appUserId = try row.decode(atIndex: 14)
    }
}

// GRDB's own persistence methods (`insert`, `update`, `save`, `delete`) on these rows are
// recorded for the replica too, through GRDB's persistence callbacks.
extension ResourceRecord {
    /// Inserts, then records the row for the replica.
    public func aroundInsert(_ db: Database, insert: () throws -> InsertionSuccess) throws {
        _ = try insert()
        try ReplicaRecording.record(db, .putResource(self))
    }

    /// Updates, then records the whole row for the replica.
    public func aroundUpdate(_ db: Database, columns: Set<String>, update: () throws -> PersistenceSuccess) throws {
        _ = try update()
        try ReplicaRecording.record(db, .putResource(self))
    }

    /// Deletes, then records the deletion for the replica.
    public func aroundDelete(_ db: Database, delete: () throws -> Bool) throws {
        _ = try delete()
        try ReplicaRecording.record(db, .deleteResource(connectionId: connectionId, type: resourceType, id: id))
    }
}

extension GroupMemberRecord {
    /// Inserts, then records the row for the replica.
    public func aroundInsert(_ db: Database, insert: () throws -> InsertionSuccess) throws {
        _ = try insert()
        try ReplicaRecording.record(db, .putMember(self))
    }

    /// Updates, then records the whole row for the replica.
    public func aroundUpdate(_ db: Database, columns: Set<String>, update: () throws -> PersistenceSuccess) throws {
        _ = try update()
        try ReplicaRecording.record(db, .putMember(self))
    }

    /// Deletes, then records the deletion for the replica.
    public func aroundDelete(_ db: Database, delete: () throws -> Bool) throws {
        _ = try delete()
        try ReplicaRecording.record(db, .deleteMember(connectionId: connectionId, groupId: groupId, memberId: memberId))
    }
}

extension WarningRecord {
    /// Inserts, then records the row for the replica.
    public func aroundInsert(_ db: Database, insert: () throws -> InsertionSuccess) throws {
        _ = try insert()
        try ReplicaRecording.record(db, .putWarning(self))
    }

    /// Updates, then records the whole row for the replica.
    public func aroundUpdate(_ db: Database, columns: Set<String>, update: () throws -> PersistenceSuccess) throws {
        _ = try update()
        try ReplicaRecording.record(db, .putWarning(self))
    }

    /// Deletes, then records the deletion for the replica.
    public func aroundDelete(_ db: Database, delete: () throws -> Bool) throws {
        _ = try delete()
        try ReplicaRecording.record(
            db, .deleteWarning(connectionId: connectionId, type: resourceType, resourceId: resourceId, property: property))
    }
}

extension TombstoneRecord {
    /// Inserts (``StoreTransaction/saveTombstone(_:)`` replaces on conflict), then records the row
    /// for the replica's deleted users.
    public func aroundInsert(_ db: Database, insert: () throws -> InsertionSuccess) throws {
        _ = try insert()
        try ReplicaRecording.record(db, .putTombstone(self))
    }
}

extension RequestLogRecord {
    /// Inserts the entry with a cached statement; returns its id (`id` is ignored).
    public func insertRow(_ transaction: StoreTransaction) throws -> Int64 {
        let db = transaction.db
        try db.cachedStatement(
            sql: """
                INSERT INTO requestLog (connectionId, at, method, path, status, durationMicroseconds, resourceType, resourceId,
                  error, requestHeaders, requestBody, responseBody)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            connectionId, at, method, path, status, durationMicroseconds, resourceType, resourceId, error, requestHeaders,
            requestBody, responseBody,
        ])
        let id = db.lastInsertedRowID
        try ReplicaRecording.record(db, .logRequest(connectionId: connectionId, LoggedRequest(id: id, at: at, status: status)))
        return id
    }
}

extension EventRecord {
    /// Appends the event with a cached statement; returns its `sequence` (`sequence` is ignored).
    @discardableResult
    public func insertRow(_ transaction: StoreTransaction) throws -> Int64 {
        let db = transaction.db
        try db.cachedStatement(
            sql: "INSERT INTO event (at, connectionId, type, resourceType, resourceId, data) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [at, connectionId, type, resourceType, resourceId, data])
        return db.lastInsertedRowID
    }
}

extension WarningRecord {
    /// Inserts the warning with a cached statement. Throws `DatabaseError` (`SQLITE_CONSTRAINT`)
    /// when the resource already has a warning for this property.
    public func insertRow(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(
            sql: """
                INSERT INTO warning (connectionId, resourceType, resourceId, property, kind, detail, firstSeenAt, lastSeenAt, requestId)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [connectionId, resourceType, resourceId, property, kind, detail, firstSeenAt, lastSeenAt, requestId])
        try ReplicaRecording.record(db, .putWarning(self))
    }

    /// Writes every column of the warning with this key, with a cached statement. Throws
    /// `RecordError.recordNotFound` when there is no such warning.
    public func updateRow(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(
            sql: """
                UPDATE warning SET kind = ?, detail = ?, firstSeenAt = ?, lastSeenAt = ?, requestId = ?
                WHERE connectionId = ? AND resourceType = ? AND resourceId = ? AND property = ?
                """
        ).execute(arguments: [kind, detail, firstSeenAt, lastSeenAt, requestId, connectionId, resourceType, resourceId, property])
        if db.changesCount == 0 {
            throw RecordError.recordNotFound(
                databaseTableName: Self.databaseTableName,
                key: ["connectionId": connectionId.databaseValue, "resourceType": resourceType.databaseValue, "resourceId": resourceId.databaseValue, "property": property.databaseValue])
        }
        try ReplicaRecording.record(db, .putWarning(self))
    }

    /// Deletes the warning with this key (a resolved warning) and records it for the replica.
    public func deleteRow(_ transaction: StoreTransaction) throws {
        let db = transaction.db
        try db.cachedStatement(sql: "DELETE FROM warning WHERE connectionId = ? AND resourceType = ? AND resourceId = ? AND property = ?")
            .execute(arguments: [connectionId, resourceType, resourceId, property])
        try ReplicaRecording.record(
            db, .deleteWarning(connectionId: connectionId, type: resourceType, resourceId: resourceId, property: property))
    }
}

extension StoreTransaction {
    /// Deletes every warning of one resource (a deleted resource's) and records it for the replica.
    public func deleteWarnings(connectionId: String, type: String, resourceId: String) throws {
        try db.cachedStatement(sql: "DELETE FROM warning WHERE connectionId = ? AND resourceType = ? AND resourceId = ?")
            .execute(arguments: [connectionId, type, resourceId])
        try ReplicaRecording.record(db, .deleteWarnings(connectionId: connectionId, type: type, resourceId: resourceId))
    }
}
