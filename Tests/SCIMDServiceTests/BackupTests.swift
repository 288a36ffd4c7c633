import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

/// `system.backup` while writes go on, and `Store.restore`.
@Suite struct BackupTests {
    /// Every write acknowledged before the backup began is in it, though writes go on meanwhile;
    /// the copy opens as a store and serves.
    @Test func aBackupUnderWriteLoadHoldsEveryEarlierAcknowledgedWrite() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let acknowledged = Acknowledged()
        let path = f.directory.appendingPathComponent("backup.sqlite").path
        let result = try await withThrowingTaskGroup(of: SystemBackup.Result?.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for n in 0..<150 {
                        let r = await f.scim("POST", "/Users", token: token, body: ["userName": .string("w\(writer)-\(n)@example.com")])
                        if r.status == 201 { acknowledged.add("w\(writer)-\(n)@example.com") }
                    }
                    return nil
                }
            }
            group.addTask {
                // Start once some writes are in, while the others keep going.
                while acknowledged.count < 100 { try await Task.sleep(for: .milliseconds(2)) }
                let before = acknowledged.snapshot()
                let result = try await f.service.backup(.init(path: path))
                acknowledged.markBeforeBackup(before)
                return result
            }
            var backup: SystemBackup.Result? = nil
            for try await r in group where r != nil { backup = r }
            return try #require(backup)
        }
        #expect(result.bytes > 0)
        let before = acknowledged.beforeBackup
        #expect(before.count >= 100)

        // The copy is a complete scimd database: open it and look for every earlier write.
        let copy = try Store(path: path)
        let service = try SCIMDService(store: copy, logger: Logger(label: "test"))
        let stored = try await copy.readDatabase { db in
            Set(try String.fetchAll(db, sql: "SELECT json_extract(raw, '$.userName') FROM resource WHERE resourceType = 'User'"))
        }
        #expect(before.isSubset(of: stored), "missing: \(before.subtracting(stored).sorted().prefix(5))")
        #expect(try await service.getConnection("Acme").users == stored.count)
    }

    @Test func backupRefusesRelativePathsExistingFilesAndMissingDirectories() async throws {
        let f = try ServiceFixture()
        for (path, kind) in [
            ("relative.sqlite", "invalid_params"), (f.store.path, "conflict"), ("/nonexistent-dir-\(UUID())/b.sqlite", "invalid_params"),
        ] {
            do {
                _ = try await f.service.backup(.init(path: path))
                Issue.record("\(path) accepted")
            } catch let error as RPCError {
                #expect(error.kind == kind, "\(path): \(error)")
            }
        }
    }

    @Test func restoreChecksTheBackupAndRefusesADatabaseInUse() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        #expect(await f.scim("POST", "/Users", token: token, body: ["userName": "kept@example.com"]).status == 201)
        let backup = f.directory.appendingPathComponent("b.sqlite").path
        _ = try await f.service.backup(.init(path: backup))
        let target = f.directory.appendingPathComponent("restored.sqlite").path

        // Not a backup: refused, the target untouched.
        let junk = f.directory.appendingPathComponent("junk").path
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: junk))
        #expect(throws: StoreError.self) { try Store.restore(backup: junk, to: target) }
        #expect(!FileManager.default.fileExists(atPath: target))
        // The database in use by the running store: refused.
        #expect(throws: StoreError.self) { try Store.restore(backup: backup, to: f.store.path) }

        // The backup is as private as the database.
        var info = stat()
        #expect(stat(backup, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)

        #expect(try Store.restore(backup: backup, to: target) == nil)  // nothing was there to keep
        #expect(stat(target, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        do {
            let restored = try Store(path: target)
            let service = try SCIMDService(store: restored, logger: Logger(label: "test"))
            #expect(try await service.getConnection("Acme").users == 1)
        }

        // Over an existing database: its mode carries over, and it is kept, WAL included.
        chmod(target, 0o640)
        let kept = try #require(try Store.restore(backup: backup, to: target))
        #expect(kept == target + ".before-restore")
        #expect(FileManager.default.fileExists(atPath: kept))
        #expect(stat(target, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
    }

    /// Events after a restore are numbered after every event the replaced database had given out,
    /// not from where the backup ended: a webhook receiver deduplicating on the event id, or a
    /// subscriber resuming from its cursor, would otherwise drop or skip them.
    @Test func eventsAfterARestoreNeverReuseASequence() async throws {
        let f = try ServiceFixture()
        _ = try await f.connection("Acme")
        let backup = f.directory.appendingPathComponent("b.sqlite").path
        _ = try await f.service.backup(.init(path: backup))
        let atBackup = try await f.service.listEvents(.init()).events.map(\.sequence).max() ?? 0
        // The database the backup replaces has given out more events than the backup holds.
        let target = f.directory.appendingPathComponent("live.sqlite").path
        do {
            let live = try Store(path: target)
            let service = try SCIMDService(store: live, logger: Logger(label: "test"))
            for name in ["One", "Two", "Three"] { _ = try await service.createConnection(.init(name: name)) }
            service.checkpoint()
        }
        let before = try await {
            let store = try Store(path: target)
            let service = try SCIMDService(store: store, logger: Logger(label: "test"))
            return try await service.listEvents(.init()).events.map(\.sequence).max() ?? 0
        }()
        #expect(before >= 3)
        _ = try Store.restore(backup: backup, to: target)
        let restored = try Store(path: target)
        let service = try SCIMDService(store: restored, logger: Logger(label: "test"))
        #expect(try await service.listEvents(.init()).events.map(\.sequence).max() == atBackup, "the backup's feed")
        _ = try await service.createConnection(.init(name: "After"))
        let next = try await service.listEvents(.init(after: atBackup)).events.map(\.sequence)
        #expect(next.count == 1 && next[0] > before, "numbered after the replaced database's \(before), got \(next)")
    }
}

/// The userNames acknowledged so far, and those acknowledged before the backup began.
final class Acknowledged: Sendable {
    private let state = NIOLockedValueBox<(all: Set<String>, beforeBackup: Set<String>)>(([], []))
    func add(_ name: String) { state.withLockedValue { _ = $0.all.insert(name) } }
    var count: Int { state.withLockedValue { $0.all.count } }
    func snapshot() -> Set<String> { state.withLockedValue { $0.all } }
    func markBeforeBackup(_ names: Set<String>) { state.withLockedValue { $0.beforeBackup = names } }
    var beforeBackup: Set<String> { state.withLockedValue { $0.beforeBackup } }
}
