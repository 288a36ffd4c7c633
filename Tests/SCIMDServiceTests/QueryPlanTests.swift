import Foundation
import GRDB
@testable import SCIMDStore
import Testing

/// The lookups writes make in their transactions must use an index, not scan a connection:
/// SQLite's planner, without statistics, does not always pick the index one would expect (an
/// externalId lookup once scanned).
@Suite struct QueryPlanTests {
    /// A fresh store in a temporary directory (the caller removes the directory).
    static func emptyStore() throws -> (Store, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return (try Store(path: directory.appendingPathComponent("scimd.sqlite").path), directory)
    }

    /// Runs each lookup with SQLite's `EXPLAIN QUERY PLAN` hook: every statement they run must
    /// `SEARCH` with an equality on a key, never `SCAN` the table.
    @Test func lookupsSearchAnIndex() async throws {
        let (store, directory) = try Self.emptyStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let statements = [
            "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id = ?",
            "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND nameKey = ?",
            "SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id IN (?, ?)",
        ]
        let plans = try await store.readDatabase { db in
            try statements.map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(Array(repeating: "x", count: sql.filter { $0 == "?" }.count)))
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        for (sql, plan) in zip(statements, plans) {
            #expect(plan.hasPrefix("SEARCH resource USING"), "\(sql) → \(plan)")
            #expect(!plan.contains("SCAN"), "\(sql) → \(plan)")
            // The equality reaches past (connectionId, resourceType): a key, not the whole connection.
            #expect(plan.contains("id=?") || plan.contains("nameKey=?"), "\(sql) → \(plan)")
        }
    }

    /// The uniqueness check of every create, PUT and rename reads the unique index only: a
    /// covering index (the primary key's `id` is in every index of a `WITHOUT ROWID` table), so
    /// the row is never read.
    @Test func theUniquenessCheckReadsOnlyTheIndex() async throws {
        let (store, directory) = try Self.emptyStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sql = "SELECT id FROM resource WHERE connectionId = ? AND resourceType = ? AND nameKey = ?"
        let plan = try await store.readDatabase { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["c", "User", "ann"]).map { $0["detail"] as String }
                .joined(separator: "; ")
        }
        #expect(plan.hasPrefix("SEARCH resource USING COVERING INDEX resource_nameKey"), "\(plan)")
        let source = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/SCIMDServiceTests/QueryPlanTests.swift", with: "Sources/SCIMDStore/Queries.swift"), encoding: .utf8)
        #expect(source.contains(sql))
    }

    /// A member PATCH's lookups search one member's key (or, for the next position, read the end
    /// of an index): none walks the group's rows.
    @Test func memberLookupsSearchAKey() async throws {
        let (store, directory) = try Self.emptyStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let expected = [
            "SELECT * FROM groupMember WHERE connectionId = ? AND groupId = ? AND memberId = ?": "memberId=?",
            "SELECT * FROM groupMember INDEXED BY groupMember_nocase WHERE connectionId = ? AND groupId = ? AND memberId = ? COLLATE NOCASE": "groupMember_nocase",
            "SELECT MAX(position) FROM groupMember WHERE connectionId = ? AND groupId = ?": "groupMember_position",
        ]
        for (sql, mark) in expected {
            let plan = try await store.readDatabase { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(Array(repeating: "x", count: sql.filter { $0 == "?" }.count)))
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(plan.hasPrefix("SEARCH groupMember USING"), "\(sql) → \(plan)")
            #expect(!plan.contains("SCAN") && !plan.contains("TEMP B-TREE"), "\(sql) → \(plan)")
            #expect(plan.contains(mark), "\(sql) → \(plan)")
        }
        let source = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/SCIMDServiceTests/QueryPlanTests.swift", with: "Sources/SCIMDStore/Queries.swift"), encoding: .utf8)
        #expect(source.contains("SELECT * FROM groupMember WHERE connectionId = ? AND groupId = ? AND memberId = ?\""))
        #expect(source.contains("SELECT * FROM groupMember INDEXED BY groupMember_nocase WHERE connectionId = ? AND groupId = ? AND memberId = ? COLLATE NOCASE"))
        #expect(source.contains("SELECT MAX(position) FROM groupMember WHERE connectionId = ? AND groupId = ?"))
    }

    /// What a create writes besides its row: the unique `nameKey` index (its uniqueness check),
    /// and no index that only queries nothing runs any more would read (`v9` dropped the
    /// externalId and creation-order indexes, on a database made before it too).
    @Test func aResourceRowCarriesOnlyTheIndexesSomethingReads() async throws {
        let (store, directory) = try Self.emptyStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let indexes = try await store.readDatabase { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'resource' AND sql IS NOT NULL ORDER BY name")
        }
        #expect(indexes == ["resource_appUserId", "resource_inactive", "resource_nameKey", "resource_warnings"])
    }

    /// The queries in `Queries.swift` are the ones checked above.
    @Test func theCheckedStatementsAreTheOnesTheStoreRuns() throws {
        let source = try String(contentsOfFile: #filePath.replacingOccurrences(of: "Tests/SCIMDServiceTests/QueryPlanTests.swift", with: "Sources/SCIMDStore/Queries.swift"), encoding: .utf8)
        #expect(source.contains("SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND nameKey = ?"))
        #expect(source.contains("SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id = ?"))
        #expect(source.contains("SELECT * FROM resource WHERE connectionId = ? AND resourceType = ? AND id IN ("))
    }
}
