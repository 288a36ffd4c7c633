import Foundation
import GRDB
@testable import SCIMDStore
import Testing

/// Databases written by earlier versions open and are brought forward without losing data.
@Suite struct StoreMigrationTests {
    /// v4 moves a Group's `members` out of its JSON into its member rows, keeping the IdP's order
    /// and each member as sent.
    @Test func v4MovesGroupMembersIntoRows() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("scimd.sqlite").path
        do {
            // A database as v3 left it: members in the JSON and bare edges beside it.
            let queue = try DatabaseQueue(path: path)
            try Store.migrator.migrate(queue, upTo: "v3: change feed, SSO links, tombstones, connection settings, pending commits")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO connection (id, name, createdAt, updatedAt, tokenHash) VALUES ('c', 'Acme', 0, 0, x'00');
                        INSERT INTO resource (connectionId, resourceType, id, nameKey, displayName, createdAt, updatedAt, version, raw)
                          VALUES ('c', 'Group', 'g', 'team', 'Team', 0, 0, 3,
                                  '{"displayName":"Team","members":[{"value":"u2","display":"Two"},{"value":"u1"},{"value":"u2","display":"Again"}],"externalId":"x"}');
                        INSERT INTO resource (connectionId, resourceType, id, nameKey, displayName, createdAt, updatedAt, version, raw)
                          VALUES ('c', 'Group', 'e', 'empty', 'Empty', 0, 0, 1, '{"displayName":"Empty"}');
                        INSERT INTO resource (connectionId, resourceType, id, nameKey, createdAt, updatedAt, version, raw)
                          VALUES ('c', 'User', 'u1', 'ann', 0, 0, 1, '{"userName":"ann","members":"not a group"}');
                        INSERT INTO groupMember (connectionId, groupId, memberId) VALUES ('c', 'g', 'u1'), ('c', 'g', 'u2');
                        """)
            }
        }
        let store = try Store(path: path)
        let (rows, raws) = try await store.readDatabase { db in
            (
                try StoreReader(db).groupMembers(connectionId: "c", groupId: "g"),
                try Row.fetchAll(db, sql: "SELECT id, raw FROM resource ORDER BY id").map { ($0["id"] as String, $0["raw"] as String) }
            )
        }
        #expect(rows.map(\.memberId) == ["u2", "u1"], "list order kept; a repeated value keeps its first entry")
        #expect(rows.map(\.member) == [#"{"value":"u2","display":"Two"}"#, #"{"value":"u1"}"#])
        #expect(rows.map(\.position) == [1, 2])
        #expect(raws.map(\.0) == ["e", "g", "u1"])
        #expect(raws[0].1 == #"{"displayName":"Empty"}"#)
        #expect(raws[1].1 == #"{"displayName":"Team","externalId":"x"}"#)
        #expect(raws[2].1 == #"{"userName":"ann","members":"not a group"}"#, "users are left alone")
        #expect(try await store.read { db in try db.nextMemberPosition(connectionId: "c", groupId: "g") } == 3)
    }
}
