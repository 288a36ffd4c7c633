import Foundation
import Logging
import SCIMDProtocol
import SCIMDServer
import SCIMDService
import SCIMDStore
import Testing

/// The background retention service: it prunes while the daemon is idle between requests, and it
/// ends when its task is cancelled (the service group's shutdown). No assertion is timed: the wait
/// has a generous hang guard.
@Suite struct MaintenanceServiceTests {
    @Test func requestLogsArePrunedInTheBackgroundAndTheServiceStopsWhenCancelled() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-maint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.path + "/db.sqlite")
        let service = try SCIMDService(
            store: store, configuration: ServiceConfiguration(requestLogMaxEntries: 2), logger: Logger(label: "t"))
        let created = try await service.createConnection(.init(name: "Acme"))
        for _ in 0..<5 {
            let answer = await service.handleSCIM(
                .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"]))
            #expect(answer.status == 200)
        }
        func logged() async throws -> Int { try await service.listRequests(.init(connection: "Acme", limit: 100)).requests.count }
        #expect(try await logged() == 5, "nothing prunes inside a request")
        let maintenance = MaintenanceService(service: service, interval: .milliseconds(20), logger: Logger(label: "maintenance"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await maintenance.run() }
            let deadline = ContinuousClock.now + .seconds(60)
            while try await logged() > 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await logged() == 2, "the newest two entries are kept")
            // First, at start, it looked for unfinished re-maps: none, so the current version is
            // recorded as reaching every resource (`finishInterruptedRemaps`).
            let version = try await service.getMapping("Acme").version
            #expect(try await store.read { db in try db.remappedVersion(connectionId: created.connection.id) } == version)
            group.cancelAll()
            // The group waits for run() to return: a service that ignored cancellation would hang here.
            try await group.waitForAll()
        }
    }
}
