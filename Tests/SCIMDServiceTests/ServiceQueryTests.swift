import Foundation
import GRDB
@testable import SCIMDStore
import Testing

/// The SQL the service asks the store for (`ServiceQueries.swift`), against a real database.
@Suite struct ServiceQueryTests {
    /// A store with connections `c` (`RowWriteTests`' own) and `d`.
    func withStore(_ body: (Store) async throws -> Void) async throws {
        try await RowWriteTests().withStore { store in
            try await store.writeDatabase { db in
                try db.execute(sql: "INSERT INTO connection (id, name, createdAt, updatedAt, tokenHash) VALUES ('d', 'Other', 0, 0, x'01')")
            }
            try await body(store)
        }
    }

    func resource(_ connection: String, _ type: String, _ id: String, name: String, createdAt: Milliseconds, active: Bool? = nil, appUserId: String? = nil)
        -> ResourceRecord
    {
        let raw = type == "User" ? #"{"userName":"\#(name)"}"# : #"{"displayName":"\#(name)"}"#
        var record = ResourceRecord(
            connectionId: connection, resourceType: type, id: id, nameKey: name.lowercased(), externalId: "x-\(id)",
            displayName: type == "Group" ? name : nil, active: active, createdAt: createdAt, updatedAt: createdAt, version: 1, raw: raw,
            mapped: nil, mappingVersion: nil, warningCount: 0)
        record.appUserId = appUserId
        return record
    }

    @Test func membershipsComeFromTheGroupMemberTable() async throws {
        try await withStore { store in
            let rows = [
                resource("c", "User", "u1", name: "ann", createdAt: 1, active: false), resource("c", "User", "u2", name: "bob", createdAt: 2),
                resource("c", "Group", "g1", name: "Sales", createdAt: 3), resource("c", "Group", "g2", name: "Admins", createdAt: 4),
                resource("d", "Group", "g1", name: "Elsewhere", createdAt: 5),
            ]
            try await store.write { db in
                for row in rows { try row.insertRow(db) }
                try db.replaceMembers(
                    connectionId: "c", groupId: "g1",
                    members: ["u1", "u2", "gone"].enumerated().map { .init(connectionId: "c", groupId: "g1", memberId: $1, position: Int64($0), member: nil) })
                try db.replaceMembers(
                    connectionId: "c", groupId: "g2", members: [.init(connectionId: "c", groupId: "g2", memberId: "u1", position: 0, member: nil)])
                try db.replaceMembers(
                    connectionId: "d", groupId: "g1", members: [.init(connectionId: "d", groupId: "g1", memberId: "u1", position: 0, member: nil)])
            }
            try await store.read { db throws in
                // Ordered by the group's displayName; the other connection's group of the same id is not there.
                #expect(try db.memberships(connectionId: "c", userId: "u1") == [
                    MemberOf(id: "g2", displayName: "Admins", externalId: "x-g2"), MemberOf(id: "g1", displayName: "Sales", externalId: "x-g1"),
                ])
                let many = try db.memberships(connectionId: "c", userIds: ["u1", "u2", "nobody"])
                #expect(many["u1"]?.map(\.id) == ["g2", "g1"])
                #expect(many["u2"]?.map(\.id) == ["g1"])
                #expect(many["nobody"] == nil)
                #expect(try db.memberships(connectionId: "c", userIds: []).isEmpty)

            }
        }
    }

    @Test func tombstonesAndApplicationLinksAreFoundPerConnection() async throws {
        try await withStore { store in
            try await store.writeDatabase { db in
                try TombstoneRecord(connectionId: "c", resourceType: "User", id: "u9", nameKey: "zoe", externalId: "ext-9", appUserId: nil, deletedAt: 5)
                    .insert(db)
                try TombstoneRecord(connectionId: "c", resourceType: "Group", id: "g9", nameKey: "team", externalId: "ext-g", appUserId: nil, deletedAt: 5)
                    .insert(db)
                try self.resource("c", "User", "u1", name: "ann", createdAt: 1, appUserId: "app-1").insertRow(StoreTransaction(db))
                try self.resource("d", "User", "u2", name: "bob", createdAt: 1, appUserId: "app-2").insertRow(StoreTransaction(db))
            }
            // Tombstones reach memory as a start loads them (the service's commits apply them as
            // they are written: ReplicaModelTests).
            let loaded = try store.loadReplicaFromDisk()
            #expect(loaded.snapshot("c").deletedUsers.contains(.nameKey, "zoe"))
            #expect(loaded.snapshot("c").deletedUsers.contains(.externalId, "ext-9"))
            #expect(!loaded.snapshot("c").deletedUsers.contains(.externalId, "zoe"), "each key in its own set")
            #expect(!loaded.snapshot("d").deletedUsers.contains(.nameKey, "zoe"))
            // A deleted group is no deleted user.
            #expect(!loaded.snapshot("c").deletedUsers.contains(.nameKey, "team"))
            #expect(loaded.snapshot("c").deletedUsers.residentBytes > 0)
            try await store.read { db throws in

                #expect(try db.userLinked(toAppUserId: "app-1", connectionId: "c") == "u1")
                #expect(try db.userLinked(toAppUserId: "app-1", connectionId: "c", excluding: "u1") == nil)
                #expect(try db.userLinked(toAppUserId: "app-1", connectionId: "c", excluding: "u7") == "u1")
                #expect(try db.userLinked(toAppUserId: "app-2", connectionId: "c") == nil)
            }
        }
    }

    @Test func aUniqueIndexRefusalIsRecognizedAsAConstraintViolation() async throws {
        try await withStore { store in
            try await store.write { db in try self.resource("c", "User", "u1", name: "ann", createdAt: 1).insertRow(db) }
            do {
                try await store.write { db in try self.resource("c", "User", "u2", name: "ann", createdAt: 2).insertRow(db) }
                Issue.record("a second user named ann was stored")
            } catch {
                #expect(StoreFailure(error) == .constraintViolation)
            }
            #expect(StoreFailure(CancellationError()) == nil, "an error the caller threw is not the store's")
        }
    }

    /// The causes the service answers differently (a conflict, a full disk, anything else) are told
    /// apart without the service seeing SQLite's result codes.
    @Test func storeFailuresAreClassifiedByCause() {
        #expect(StoreFailure(DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full")) == .storageFull)
        #expect(StoreFailure(DatabaseError(resultCode: .SQLITE_CONSTRAINT_UNIQUE)) == .constraintViolation)
        #expect(StoreFailure(DatabaseError(resultCode: .SQLITE_IOERR)) == .other)
        #expect(StoreFailure.message(of: DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full")) == "database or disk is full")
    }

    /// Retention of the change feed deletes the expired prefix of the table in bounded batches,
    /// and never an event younger than the cutoff, even where a clock stepped backwards.
    @Test func expiredEventsArePrunedOldestFirstInBatches() async throws {
        try await withStore { store in
            func insert(_ events: [(sequence: Int64, at: Milliseconds)]) async throws {
                try await store.writeDatabase { db in
                    for event in events {
                        try db.execute(
                            sql: "INSERT INTO event (sequence, at, connectionId, type, data) VALUES (?, ?, 'c', 'user.created', '{}')",
                            arguments: [event.sequence, event.at])
                    }
                }
            }
            func left() async throws -> [Int64] {
                try await store.readDatabase { db in try Int64.fetchAll(db, sql: "SELECT sequence FROM event ORDER BY sequence") }
            }
            func prune(olderThan cutoff: Milliseconds, limit: Int) async throws -> Int {
                try await store.write { db in try db.pruneEvents(olderThan: cutoff, limit: limit) }
            }
            #expect(try await prune(olderThan: 10_000, limit: 10) == 0, "an empty feed has nothing to prune")
            // Sequences 1…40 with gaps (no multiples of 7), 100 ms apart.
            let sequences: [Int64] = (1...40).filter { $0 % 7 != 0 }
            try await insert(sequences.map { sequence -> (sequence: Int64, at: Milliseconds) in (sequence, Milliseconds(sequence) * 100) })
            // Older than 2,050 ms: 1…20 but 7 and 14, 18 events, at most 5 per call.
            var deleted: [Int] = []
            repeat { deleted.append(try await prune(olderThan: 2_050, limit: 5)) } while deleted.last == 5
            #expect(deleted == [5, 5, 5, 3])
            #expect(try await left() == sequences.filter { $0 > 20 })
            // A clock stepped back stamps 41 with an old time: it waits for the younger events before it.
            try await insert([(41, 50)])
            #expect(try await prune(olderThan: 2_050, limit: 100) == 0)
            #expect(try await prune(olderThan: 10_000, limit: 100) == 18, "all 18 left are older than 10 s")
            // A young event before old ones (the clock stepped back after it) is never deleted.
            try await insert([(50, 99_999), (51, 60), (52, 70)])
            #expect(try await prune(olderThan: 10_000, limit: 100) == 2)
            #expect(try await left() == [50])
        }
    }
}
