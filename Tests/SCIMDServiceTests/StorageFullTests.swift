import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
@testable import SCIMDStore
import SCIMDService
import SCIMJSON
import Testing

/// A full disk: writes are refused with a specific answer (SCIM 507 with `Retry-After`, RPC
/// `storage_full`), nothing half-written, one log line per episode, `system.health` degraded while
/// it lasts, and everything recovers once space is back. The "disk" is filled with SQLite's
/// `max_page_count`, which fails writes exactly as ENOSPC does (`SQLITE_FULL`); the end-to-end
/// test does it with a real, small tmpfs.
@Suite struct StorageFullTests {
    /// Keeps every log message, for counting.
    struct RecordingLogHandler: LogHandler {
        let messages: NIOLockedValueBox<[(Logger.Level, String)]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            messages.withLockedValue { $0.append((event.level, "\(event.message)")) }
        }
    }

    final class Fixture: Sendable {
        let directory: URL
        let store: Store
        let service: SCIMDService
        let messages = NIOLockedValueBox<[(Logger.Level, String)]>([])
        let token: String

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-full-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let messages = self.messages
            let logger = Logger(label: "test", factory: { _ in RecordingLogHandler(messages: messages) })
            store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path, logger: logger, storageRecoveryQuietPeriod: .zero)
            service = try SCIMDService(store: store, logger: logger)
            token = try await service.createConnection(.init(name: "Acme")).token
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        func scim(_ method: String, _ path: String, body: JSONValue? = nil) async -> SCIMHandle.Result {
            await service.handleSCIM(
                .init(method: method, path: path, headers: ["Authorization": "Bearer \(token)"], body: body.map(JSONSerializer.string)))
        }

        /// A user big enough that a few of them need new pages.
        static func user(_ n: Int) -> JSONValue {
            ["userName": .string("user\(n)@example.com"), "title": .string(String(repeating: "x", count: 3_000))]
        }

        func count(_ level: Logger.Level, containing text: String) -> Int {
            messages.withLockedValue { $0.filter { $0.0 == level && $0.1.contains(text) }.count }
        }

        func userCount() async throws -> Int { try await service.getConnection("Acme").users }
    }

    @Test func writesAreRefusedClearlyWhileFullAndRecoverAfter() async throws {
        let f = try await Fixture()
        #expect(await f.scim("POST", "/Users", body: Fixture.user(0)).status == 201)
        try f.store.limitPageCount(try f.store.pageCount())

        // SCIM: 507 with Retry-After and a detail that says what happened, for each refused write.
        var refused = 0
        for n in 1...5 {
            let r = await f.scim("POST", "/Users", body: Fixture.user(n))
            if r.status == 201 { continue }  // the last free page of the file may still take one
            #expect(r.status == 507, "\(r.status) \(r.body ?? "")")
            #expect(r.headers["Retry-After"] == "60")
            let body = try JSONParser().parse(try #require(r.body))
            #expect(body["status"] == "507")
            #expect(body["detail"]?.stringValue?.contains("storage is full") == true)
            refused += 1
        }
        #expect(refused >= 4)
        let stored = try await f.userCount()
        #expect(stored <= 2)

        // RPC: storage_full, nothing of the call applied.
        do {
            _ = try await f.service.createConnection(.init(name: "Other"))
            Issue.record("expected storage_full")
        } catch let error as StorageFullError {
            #expect(error.rpcError.kind == "storage_full")
            #expect(error.rpcError.code == .storageFull)
            #expect(error.rpcError.data?.details?["retryAfterSeconds"] == 60)
        }
        await #expect(throws: RPCError.self) { try await f.service.getConnection("Other") }

        // Health says so; the log said it once for the whole episode.
        let checks = f.service.healthChecks()
        #expect(checks.first { $0.name == "storage" }?.status == "failing")
        #expect(f.count(.error, containing: "storage is full") == 1)
        #expect(f.count(.error, containing: "internal") == 0)
        #expect(f.count(.warning, containing: "could not log") == 0)

        // Space comes back: writes succeed, health recovers, the end of the episode is logged once.
        try f.store.limitPageCount(1_000_000)
        #expect(await f.scim("POST", "/Users", body: Fixture.user(100)).status == 201)
        #expect(f.service.healthChecks().first { $0.name == "storage" }?.status == "ok")
        #expect(f.count(.notice, containing: "writable again") == 1)
        #expect(try await f.userCount() == stored + 1)
        _ = try await f.service.createConnection(.init(name: "Other"))
    }

    /// Writes that share one group commit when the disk fills: SQLite may roll the whole
    /// transaction back, so every write of the group is refused and none is half-applied.
    @Test func concurrentWritesOfAFullGroupAreAllRefusedAndNoneHalfApplied() async throws {
        let f = try await Fixture()
        try f.store.limitPageCount(try f.store.pageCount())
        let statuses = await withTaskGroup(of: Int.self) { group in
            for n in 0..<40 {
                group.addTask { await f.scim("POST", "/Users", body: Fixture.user(n)).status }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(statuses).isSubset(of: [201, 507]), "\(statuses)")
        #expect(statuses.contains(507))
        // Every 201 is stored, every 507 is not.
        let created = statuses.filter { $0 == 201 }.count
        #expect(try await f.userCount() == created)
        try f.store.limitPageCount(1_000_000)
        let list = await f.scim("GET", "/Users?count=1000")
        let body = try JSONParser().parse(try #require(list.body))
        #expect(body["totalResults"]?.intValue == created)
    }
}
