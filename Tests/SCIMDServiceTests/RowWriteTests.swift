import Foundation
import GRDB
@testable import SCIMDStore
import Testing

/// The hand-written row writes (`RowWrites.swift`) write exactly what GRDB's Codable records read.
@Suite struct RowWriteTests {
    func withStore(_ body: (Store) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-rows-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path)
        try await store.writeDatabase { db in
            try db.execute(sql: "INSERT INTO connection (id, name, createdAt, updatedAt, tokenHash) VALUES ('c', 'Acme', 0, 0, x'00')")
        }
        try await body(store)
    }

    /// Every column of the table, so a column added by a migration and missing from a statement fails.
    func columns(_ db: Database, _ table: String) throws -> Set<String> {
        Set(try db.columns(in: table).map(\.name))
    }

    @Test func resourceRowsRoundTripEveryColumn() async throws {
        try await withStore { store in
            var record = ResourceRecord(
                connectionId: "c", resourceType: "User", id: "u1", nameKey: "ann", externalId: "x1", displayName: "Ann",
                active: false, createdAt: 11, updatedAt: 12, version: 3, raw: #"{"userName":"ann"}"#, mapped: #"{"a":1}"#,
                mappingVersion: 4, warningCount: 2)
            record.appUserId = "app-1"
            let written = record
            let (inserted, columns) = try await store.writeDatabase { db in
                try written.insertRow(StoreTransaction(db))
                return (try ResourceRecord.fetchOne(db, sql: "SELECT * FROM resource"), try self.columns(db, "resource"))
            }
            #expect(inserted == record)
            #expect(columns == Set(ResourceRecord.columnList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
            record.nameKey = "bob"
            record.externalId = nil
            record.displayName = nil
            record.active = nil
            record.updatedAt = 13
            record.version = 4
            record.raw = #"{"userName":"bob"}"#
            record.mapped = nil
            record.mappingVersion = nil
            record.warningCount = 0
            record.appUserId = nil
            let changed = record
            let updated = try await store.writeDatabase { db in
                try changed.updateRow(StoreTransaction(db))
                return try ResourceRecord.fetchOne(db, sql: "SELECT * FROM resource")
            }
            #expect(updated == record)
            // A re-map's write sets the mapping's three columns and leaves the rest as stored.
            var remapped = record
            remapped.mapped = #"{"b":2}"#
            remapped.mappingVersion = 5
            remapped.warningCount = 1
            remapped.raw = #"{"userName":"not written"}"#
            let mappingColumns = remapped
            let afterRemap = try await store.writeDatabase { db in
                try mappingColumns.updateMappingColumns(StoreTransaction(db))
                return try ResourceRecord.fetchOne(db, sql: "SELECT * FROM resource")
            }
            record.mapped = #"{"b":2}"#
            record.mappingVersion = 5
            record.warningCount = 1
            #expect(afterRemap == record)
            // A taken name is refused by the unique index, and nothing is written.
            var twin = record
            twin.id = "u2"
            let duplicate = twin
            await #expect(throws: DatabaseError.self) { try await store.writeDatabase { db in try duplicate.insertRow(StoreTransaction(db)) } }
            var ghost = record
            ghost.id = "nobody"
            let missing = ghost
            await #expect(throws: RecordError.self) { try await store.writeDatabase { db in try missing.updateRow(StoreTransaction(db)) } }
            await #expect(throws: RecordError.self) { try await store.writeDatabase { db in try missing.updateMappingColumns(StoreTransaction(db)) } }
            await #expect(throws: RecordError.self) { try await store.writeDatabase { db in try missing.updateRow(StoreTransaction(db), replacing: missing) } }
        }
    }

    /// An update that changes no indexed column sets only the others; one that changes any
    /// indexed column writes the whole row. Either way the row reads back as the record.
    @Test func anUpdateReplacingTheRowItReadWritesWhatChanged() async throws {
        try await withStore { store in
            var record = ResourceRecord(
                connectionId: "c", resourceType: "Group", id: "g1", nameKey: "sales", externalId: "x1", displayName: "Sales",
                active: nil, createdAt: 11, updatedAt: 12, version: 3, raw: #"{"displayName":"Sales"}"#, mapped: #"{"a":1}"#,
                mappingVersion: 4, warningCount: 0)
            let original = record
            try await store.writeDatabase { db in try original.insertRow(StoreTransaction(db)) }
            func replace(_ changed: ResourceRecord, _ previous: ResourceRecord) async throws -> ResourceRecord? {
                try await store.writeDatabase { db in
                    try changed.updateRow(StoreTransaction(db), replacing: previous)
                    return try ResourceRecord.fetchOne(db, sql: "SELECT * FROM resource")
                }
            }
            // Content only: a member added bumps the version; the mapping and JSON may change.
            record.displayName = "Sales team"
            record.updatedAt = 20
            record.version = 4
            record.raw = #"{"displayName":"Sales team"}"#
            record.mapped = #"{"a":2}"#
            record.mappingVersion = 5
            #expect(try await replace(record, original) == record)
            // Each indexed column, changed, is written too.
            let changes: [(inout ResourceRecord) -> Void] = [
                { $0.nameKey = "sales team" }, { $0.externalId = "x2" }, { $0.active = false }, { $0.createdAt = 1 },
                { $0.warningCount = 2 }, { $0.appUserId = "app-9" },
            ]
            for change in changes {
                let previous = record
                change(&record)
                record.version += 1
                #expect(try await replace(record, previous) == record)
            }
        }
    }

    @Test func logEventAndWarningRowsRoundTripEveryColumn() async throws {
        try await withStore { store in
            let log = RequestLogRecord(
                connectionId: "c", at: 5, method: "POST", path: "/Users", status: 201, durationMicroseconds: 77, resourceType: "User",
                resourceId: "u1", error: "e", requestHeaders: "{}", requestBody: "{}", responseBody: "{\"id\":\"u1\"}")
            let event = EventRecord(at: 6, connectionId: "c", type: "user.created", resourceType: "User", resourceId: "u1", data: "{}")
            var warning = WarningRecord(
                connectionId: "c", resourceType: "User", resourceId: "u1", property: "p", kind: "missing", detail: "d", firstSeenAt: 7,
                lastSeenAt: 8, requestId: 9)
            let firstWarning = warning
            let (logId, sequence, readLog, readEvent, readWarning, columns) = try await store.writeDatabase { db in
                let logId = try log.insertRow(StoreTransaction(db))
                let sequence = try event.insertRow(StoreTransaction(db))
                try firstWarning.insertRow(StoreTransaction(db))
                return (
                    logId, sequence, try RequestLogRecord.fetchOne(db, key: logId), try EventRecord.fetchOne(db, key: sequence),
                    try WarningRecord.fetchOne(db, sql: "SELECT * FROM warning"),
                    [try self.columns(db, "requestLog"), try self.columns(db, "event"), try self.columns(db, "warning")]
                )
            }
            var expectedLog = log
            expectedLog.id = logId
            #expect(readLog == expectedLog)
            var expectedEvent = event
            expectedEvent.sequence = sequence
            #expect(readEvent == expectedEvent)
            #expect(readWarning == warning)
            #expect(columns[0] == ["id", "connectionId", "at", "method", "path", "status", "durationMicroseconds", "resourceType", "resourceId", "error", "requestHeaders", "requestBody", "responseBody"])
            #expect(columns[1] == ["sequence", "at", "connectionId", "type", "resourceType", "resourceId", "data"])
            #expect(columns[2] == ["connectionId", "resourceType", "resourceId", "property", "kind", "detail", "firstSeenAt", "lastSeenAt", "requestId"])
            warning.kind = "typeMismatch"
            warning.detail = nil
            warning.lastSeenAt = 10
            warning.requestId = nil
            let changed = warning
            let updated = try await store.writeDatabase { db in
                try changed.updateRow(StoreTransaction(db))
                return try WarningRecord.fetchOne(db, sql: "SELECT * FROM warning")
            }
            #expect(updated == warning)
            await #expect(throws: DatabaseError.self) { try await store.writeDatabase { db in try changed.insertRow(StoreTransaction(db)) } }
        }
    }
}
