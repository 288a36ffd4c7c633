import Foundation
import GRDB
@testable import SCIMDStore
import NIOConcurrencyHelpers
import Synchronization
import Testing

/// The store's group commit: concurrent writes share a transaction, each keeps its own outcome.
@Suite struct GroupCommitTests {
    struct Rejected: Error, Equatable { var index: Int }

    func withStore(relaxedLinger: Duration = .milliseconds(20), _ body: (Store) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-gc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path, relaxedLinger: relaxedLinger)
        try await store.writeDatabase { db in try db.execute(sql: "CREATE TABLE scratch (n INTEGER NOT NULL)") }
        try await body(store)
    }

    /// Set by a write body once the writer runs it.
    final class Flag: Sendable {
        private let atomic = Atomic(false)
        func set() { atomic.store(true, ordering: .releasing) }
        var isSet: Bool { atomic.load(ordering: .acquiring) }
    }

    /// Waits (briefly polling) until the writer has started a body (which then blocks on its gate).
    func waitUntilRunning(_ running: Flag) async throws {
        for _ in 0..<5_000 where !running.isSet { try await Task.sleep(for: .milliseconds(1)) }
        #expect(running.isSet)
    }

    /// Waits (briefly polling) until `count` writes are queued behind the running group.
    func waitUntilQueued(_ store: Store, _ count: Int) async throws {
        for _ in 0..<5_000 where store.writer.queuedCount < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(store.writer.queuedCount == count)
    }

    @Test func writesQueuedBehindACommitShareOneTransactionAndKeepTheirOwnOutcome() async throws {
        try await withStore { store in
            let groupsBefore = store.writer.groupCount
            let gate = DispatchSemaphore(value: 0)
            let running = Flag()
            try await withThrowingTaskGroup(of: (Int, Result<Int, Rejected>).self) { group in
                // The first write holds the writer until the other 99 are queued behind it.
                group.addTask {
                    let n = try await store.writeDatabase { db -> Int in
                        running.set()
                        gate.wait()
                        try db.execute(sql: "INSERT INTO scratch (n) VALUES (0)")
                        return 0
                    }
                    return (0, .success(n))
                }
                try await waitUntilRunning(running)
                for i in 1..<100 {
                    group.addTask {
                        do {
                            let n = try await store.writeDatabase { db -> Int in
                                // Every third write inserts and then fails: its insert must vanish.
                                try db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i])
                                if i % 3 == 0 { throw Rejected(index: i) }
                                return i
                            }
                            return (i, .success(n))
                        } catch let error as Rejected {
                            return (i, .failure(error))
                        }
                    }
                }
                try await waitUntilQueued(store, 99)
                gate.signal()
                for try await (i, outcome) in group {
                    if i > 0, i % 3 == 0 {
                        #expect(outcome == .failure(Rejected(index: i)))
                    } else {
                        #expect(outcome == .success(i))
                    }
                }
            }
            // One group for the first write, one for the 99 queued behind it.
            #expect(store.writer.groupCount - groupsBefore == 2)
            let stored = try await store.readDatabase { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY n") }
            #expect(stored == (0..<100).filter { $0 == 0 || $0 % 3 != 0 })
        }
    }

    @Test func bodiesRunInTheOrderTheyWereQueued() async throws {
        try await withStore { store in
            let gate = DispatchSemaphore(value: 0)
            let running = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await store.write { _ in
                        running.set()
                        gate.wait()
                    }
                }
                try await waitUntilRunning(running)
                // Queue one at a time so the queue order is known.
                for i in 1...20 {
                    group.addTask {
                        try await store.writeDatabase { db in try db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i]) }
                    }
                    try await waitUntilQueued(store, i)
                }
                gate.signal()
                try await group.waitForAll()
            }
            let order = try await store.readDatabase { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY rowid") }
            #expect(order == Array(1...20))
        }
    }

    @Test func theWriterCommitsWithSynchronousFull() async throws {
        try await withStore { store in
            let synchronous = try await store.writeDatabase { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(synchronous == 2)
        }
    }

    /// The savepoints of a group commit keep their sub-journals in memory, not in temporary files
    /// written page by page (see `Store.init`); a body that fails still rolls back alone
    /// (`aStatementErrorRollsBackOnlyItsOwnWrite`).
    @Test func theWritersSubJournalsStayInMemory() async throws {
        try await withStore { store in
            let tempStore = try await store.writeDatabase { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") }
            #expect(tempStore == 2, "2 is MEMORY")
        }
    }

    @Test func relaxedAndDurableWritesShareAGroup() async throws {
        try await withStore { store in
            let gate = DispatchSemaphore(value: 0)
            let running = Flag()
            let groupsBefore = store.writer.groupCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A write holding the writer, so the next two queue behind it together.
                group.addTask {
                    try await store.writeDatabase { _ in
                        running.set()
                        gate.wait()
                    }
                }
                try await waitUntilRunning(running)
                group.addTask { try await store.writeRelaxed { tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (1)") } }
                group.addTask { try await store.write { tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (2)") } }
                try await waitUntilQueued(store, 2)
                gate.signal()
                try await group.waitForAll()
            }
            // The holder's group, then one group (one commit) for the relaxed and the durable write.
            #expect(store.writer.groupCount - groupsBefore == 2)
            // The group left the connection at synchronous = FULL (2) for the next durable write.
            let (count, synchronous) = try await store.writeDatabase { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch") ?? 0, try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 0)
            }
            #expect(count == 2)
            #expect(synchronous == 2)
        }
    }

    /// The log entries of sequential reads share a transaction: a group of only enqueued relaxed
    /// records waits for company (here 10 minutes, so nothing else can commit it), and a waiter
    /// or a durable write brings it forward at once.
    @Test func enqueuedRecordsWaitForCompanyUntilSomethingMustNotWait() async throws {
        try await withStore(relaxedLinger: .seconds(600)) { store in
            let groupsBefore = store.writer.groupCount
            for i in 0..<5 {
                store.enqueueRelaxed({ tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i]) }) { _ in }
            }
            #expect(store.writer.queuedCount == 5)
            #expect(store.writer.groupCount == groupsBefore)
            // A durable write does not wait behind the linger; the five join its group.
            let count = try await store.writeDatabase { db in
                try db.execute(sql: "INSERT INTO scratch (n) VALUES (5)")
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch") ?? 0
            }
            #expect(count == 6)
            #expect(store.writer.groupCount == groupsBefore + 1)
            // Lingering again: waiting for queued writes commits them now, in one more group.
            for i in 6..<9 {
                store.enqueueRelaxed({ tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i]) }) { _ in }
            }
            #expect(store.writer.groupCount == groupsBefore + 1)
            try await store.waitForQueuedWrites()
            #expect(store.writer.groupCount == groupsBefore + 2)
            let stored = try await store.readDatabase { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY rowid") }
            #expect(stored == Array(0..<9))
        }
    }

    /// Without a waiter, the lingering group still commits on its own once the linger is over.
    @Test func aLingeringGroupCommitsOnItsOwn() async throws {
        try await withStore(relaxedLinger: .milliseconds(1)) { store in
            let groupsBefore = store.writer.groupCount
            store.enqueueRelaxed({ tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (1)") }) { _ in }
            var count = 0
            for _ in 0..<5_000 where count == 0 {
                try await Task.sleep(for: .milliseconds(1))
                count = try await store.readDatabase { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch") ?? 0 }
            }
            #expect(count == 1)
            #expect(store.writer.groupCount == groupsBefore + 1)
        }
    }

    @Test func enqueuedWritesAreVisibleAfterWaitingAndReportTheirFailures() async throws {
        try await withStore { store in
            let failures = NIOLockedValueBox<[String]>([])
            for i in 0..<50 {
                store.enqueueRelaxed({ tx in
                    let db = tx.db
                    if i == 25 { try db.execute(sql: "INSERT INTO scratch (n) VALUES (NULL)") }
                    try db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i])
                }) { error in failures.withLockedValue { $0.append("\(i): \(error)") } }
            }
            try await store.waitForQueuedWrites()
            let stored = try await store.readDatabase { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY rowid") }
            #expect(stored == (0..<50).filter { $0 != 25 })
            let reported = failures.withLockedValue { $0 }
            #expect(reported.count == 1)
            #expect(reported.first?.hasPrefix("25: ") == true)
        }
    }

    /// Request-log rows go in without a savepoint each (one `INSERT`): one that fails (here a
    /// row for a connection that does not exist, refused by its foreign key) reports its error
    /// and leaves nothing, and the rows and writes around it in the same group commit.
    @Test func aLogRowThatFailsWithoutASavepointLeavesTheRestOfItsGroup() async throws {
        try await withStore(relaxedLinger: .seconds(600)) { store in
            try await store.writeDatabase { db in
                try db.execute(sql: "INSERT INTO connection (id, name, createdAt, updatedAt, tokenHash) VALUES ('c', 'Acme', 0, 0, x'00')")
            }
            let failures = NIOLockedValueBox<[String]>([])
            let groupsBefore = store.writer.groupCount
            for i in 0..<6 {
                let record = RequestLogRecord(
                    connectionId: i == 3 ? "no-such-connection" : "c", at: Milliseconds(i), method: "GET", path: "/Users/\(i)", status: 200,
                    durationMicroseconds: 1, resourceType: nil, resourceId: nil, error: nil, requestHeaders: "{}", requestBody: nil,
                    responseBody: "{}")
                store.enqueueRequestLog(record) { error in failures.withLockedValue { $0.append("\(i): \(error)") } }
                store.enqueueRelaxed({ tx in try tx.db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [i]) }) { _ in }
            }
            try await store.waitForQueuedWrites()
            #expect(store.writer.groupCount == groupsBefore + 1)
            let (paths, scratch) = try await store.readDatabase { db in
                (try String.fetchAll(db, sql: "SELECT path FROM requestLog ORDER BY id"), try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY rowid"))
            }
            #expect(paths == ["/Users/0", "/Users/1", "/Users/2", "/Users/4", "/Users/5"])
            #expect(scratch == Array(0..<6))
            let reported = failures.withLockedValue { $0 }
            #expect(reported.count == 1)
            #expect(reported.first?.hasPrefix("3: ") == true)
            #expect(reported.first?.contains("FOREIGN KEY") == true)
        }
    }

    @Test func aStatementErrorRollsBackOnlyItsOwnWrite() async throws {
        try await withStore { store in
            let gate = DispatchSemaphore(value: 0)
            let running = Flag()
            let groupsBefore = store.writer.groupCount
            let failure = try await withThrowingTaskGroup(of: (any Error)?.self) { group -> (any Error)? in
                group.addTask {
                    try await store.write { _ in
                        running.set()
                        gate.wait()
                    }
                    return nil
                }
                try await waitUntilRunning(running)
                // Queued one after the other, so they run in this order in one group.
                group.addTask {
                    try await store.writeDatabase { db in try db.execute(sql: "INSERT INTO scratch (n) VALUES (7)") }
                    return nil
                }
                try await waitUntilQueued(store, 1)
                group.addTask {
                    do {
                        try await store.writeDatabase { db in
                            try db.execute(sql: "INSERT INTO scratch (n) VALUES (8)")
                            try db.execute(sql: "INSERT INTO scratch (n) VALUES (NULL)")  // NOT NULL constraint
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
                try await waitUntilQueued(store, 2)
                gate.signal()
                var failures: [any Error] = []
                for try await error in group { if let error { failures.append(error) } }
                #expect(failures.count == 1)
                return failures.first
            }
            #expect(failure is DatabaseError)
            // The good and the bad write shared one commit: the bad one's savepoint alone rolled back.
            #expect(store.writer.groupCount - groupsBefore == 2)
            let stored = try await store.readDatabase { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch") }
            #expect(stored == [7])
        }
    }
}
