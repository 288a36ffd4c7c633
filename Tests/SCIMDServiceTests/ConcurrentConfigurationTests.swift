import Crypto
import Foundation
import GRDB
import Logging
import SCIMDProtocol
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

/// Configuration changes racing each other (as two elements of one JSON-RPC batch do): every
/// change is applied, memory and SQLite agree, and the state survives a restart. Each pair runs
/// many times so that both orders of interleaving occur.
@Suite struct ConcurrentConfigurationTests {
    static let rounds = 50

    /// A service over a database file that the test can close and open again (a restart).
    final class Daemon {
        let directory: URL
        var path: String { directory.appendingPathComponent("scimd.sqlite").path }
        var store: Store?
        var service: SCIMDService?

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-race-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try start()
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        func start() throws {
            let store = try Store(path: path)
            self.store = store
            service = try SCIMDService(store: store, logger: Logger(label: "test"))
        }

        /// Drops the service and its store (closing the database), then opens both anew.
        func restart() throws {
            service = nil
            store = nil
            try start()
        }

        var live: SCIMDService { service! }

        /// The connection row as SQLite holds it.
        func row(_ id: String) async throws -> ConnectionRecord? {
            try await store!.readDatabase { db in try ConnectionRecord.fetchOne(db, key: id) }
        }

        /// The SCIM status a token gets (200 works, 401 unknown, 403 disabled).
        func status(_ token: String) async -> Int {
            await live.handleSCIM(.init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(token)"])).status
        }
    }

    /// The digest the service stores of a token: checked against the row, so the test does not
    /// rely on the service to say which token is current.
    static func sha256(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    @Test func disableRacingARotationLosesNeither() async throws {
        let daemon = try Daemon()
        var expectations: [(id: String, oldToken: String, newToken: String)] = []
        for round in 0..<Self.rounds {
            let service = daemon.live
            let created = try await daemon.live.createConnection(.init(name: "c\(round)"))
            let id = created.connection.id
            async let updated = service.updateConnection(.init(connection: id, disabled: true))
            async let rotated = service.rotateToken(.init(connection: id))
            let (u, r) = try await (updated, rotated)
            #expect(u.disabled)
            let row = try #require(try await daemon.row(id))
            #expect(row.disabled, "round \(round): SQLite lost the disable")
            #expect(row.tokenHash == Self.sha256(r.token), "round \(round): SQLite lost the rotation")
            #expect(try await daemon.live.getConnection(id).disabled, "round \(round): memory lost the disable")
            #expect(await daemon.status(r.token) == 403, "round \(round): the new token must reach the (disabled) connection")
            #expect(await daemon.status(created.token) == 401, "round \(round): the rotated-out token must be refused")
            expectations.append((id, created.token, r.token))
        }
        try daemon.restart()
        for (id, oldToken, newToken) in expectations {
            #expect(try await daemon.live.getConnection(id).disabled)
            #expect(await daemon.status(newToken) == 403)
            #expect(await daemon.status(oldToken) == 401)
        }
    }

    @Test func rotationRacingAnUpdateSurvivesARestart() async throws {
        let daemon = try Daemon()
        var expectations: [(id: String, oldToken: String, newToken: String)] = []
        for round in 0..<Self.rounds {
            let service = daemon.live
            let created = try await daemon.live.createConnection(.init(name: "c\(round)"))
            let id = created.connection.id
            async let rotated = service.rotateToken(.init(connection: id))
            async let updated = service.updateConnection(.init(connection: id, idp: "Okta"))
            let (r, u) = try await (rotated, updated)
            #expect(u.idp == "Okta")
            let row = try #require(try await daemon.row(id))
            #expect(row.tokenHash == Self.sha256(r.token), "round \(round)")
            #expect(row.idp == "Okta", "round \(round)")
            #expect(await daemon.status(r.token) == 200, "round \(round)")
            #expect(await daemon.status(created.token) == 401, "round \(round)")
            expectations.append((id, created.token, r.token))
        }
        try daemon.restart()
        for (id, oldToken, newToken) in expectations {
            #expect(try await daemon.live.getConnection(id).idp == "Okta")
            #expect(await daemon.status(newToken) == 200)
            #expect(await daemon.status(oldToken) == 401)
        }
    }

    @Test func twoUpdatesOfDifferentFieldsBothApply() async throws {
        let daemon = try Daemon()
        var ids: [String] = []
        for round in 0..<Self.rounds {
            let service = daemon.live
            let id = try await daemon.live.createConnection(.init(name: "c\(round)")).connection.id
            async let renamed = service.updateConnection(.init(connection: id, name: "renamed-\(round)"))
            async let disabled = service.updateConnection(.init(connection: id, disabled: true))
            _ = try await (renamed, disabled)
            let memory = try await daemon.live.getConnection(id)
            #expect(memory.name == "renamed-\(round)" && memory.disabled, "round \(round): memory \(memory.name) \(memory.disabled)")
            let row = try #require(try await daemon.row(id))
            #expect(row.name == "renamed-\(round)" && row.disabled, "round \(round): SQLite \(row.name) \(row.disabled)")
            ids.append(id)
        }
        try daemon.restart()
        for (round, id) in ids.enumerated() {
            let info = try await daemon.live.getConnection(id)
            #expect(info.name == "renamed-\(round)" && info.disabled)
        }
    }

    @Test func racingCreatesOfOneNameGiveOneConflict() async throws {
        let daemon = try Daemon()
        for round in 0..<Self.rounds {
            let service = daemon.live
            async let a = Self.outcome { try await service.createConnection(.init(name: "dup\(round)")) }
            async let b = Self.outcome { try await service.createConnection(.init(name: "dup\(round)")) }
            let kinds = await [a, b].sorted()
            #expect(kinds == ["conflict", "ok"], "round \(round): \(kinds)")
        }
        let count = try await daemon.store!.readDatabase { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM connection") }
        #expect(count == Self.rounds)
    }

    @Test func racingRenamesToOneNameGiveOneConflict() async throws {
        let daemon = try Daemon()
        for round in 0..<Self.rounds {
            let service = daemon.live
            let first = try await daemon.live.createConnection(.init(name: "first\(round)")).connection.id
            let second = try await daemon.live.createConnection(.init(name: "second\(round)")).connection.id
            async let a = Self.outcome { try await service.updateConnection(.init(connection: first, name: "taken\(round)")) }
            async let b = Self.outcome { try await service.updateConnection(.init(connection: second, name: "taken\(round)")) }
            let kinds = await [a, b].sorted()
            #expect(kinds == ["conflict", "ok"], "round \(round): \(kinds)")
            let names = try await daemon.store!.readDatabase { db in
                try String.fetchAll(db, sql: "SELECT name FROM connection WHERE id IN (?, ?) ORDER BY name", arguments: [first, second])
            }
            let memory = try await [daemon.live.getConnection(first).name, daemon.live.getConnection(second).name].sorted()
            #expect(names == memory, "round \(round): SQLite \(names), memory \(memory)")
        }
    }

    @Test func racingMappingSetsAtOneVersionGiveOneConflict() async throws {
        let daemon = try Daemon()
        _ = try await daemon.live.createConnection(.init(name: "Acme"))
        for round in 0..<20 {
            let service = daemon.live
            let version = try await daemon.live.getMapping("Acme").version
            let property: JSONValue = ["name": .string("p\(round)"), "type": "string", "path": "title"]
            let users = try await daemon.live.getMapping("Acme").users
            let extended: JSONValue = ["properties": .array((users["properties"]?.arrayValue ?? []) + [property])]
            async let a = Self.outcome {
                try await service.setMapping(.init(connection: "Acme", users: extended, expectedVersion: version))
            }
            async let b = Self.outcome {
                try await service.setMapping(.init(connection: "Acme", users: extended, expectedVersion: version))
            }
            let kinds = await [a, b].sorted()
            #expect(kinds == ["conflict", "ok"], "round \(round): \(kinds)")
            #expect(try await daemon.live.getMapping("Acme").version == version + 1)
        }
        // Without expectedVersion the second builds on the first: both versions are saved.
        let before = try await daemon.live.getMapping("Acme").version
        do {
            let service = daemon.live
            async let a = Self.outcome { try await service.setMapping(.init(connection: "Acme", comment: "a")) }
            async let b = Self.outcome { try await service.setMapping(.init(connection: "Acme", comment: "b")) }
            #expect(await [a, b] == ["ok", "ok"])
        }
        #expect(try await daemon.live.getMapping("Acme").version == before + 2)
        try daemon.restart()
        #expect(try await daemon.live.getMapping("Acme").version == before + 2)
    }

    /// "ok", or the RPC error kind (anything else fails the test).
    static func outcome<T>(_ body: () async throws -> T) async -> String {
        do {
            _ = try await body()
            return "ok"
        } catch let error as RPCError {
            return error.kind
        } catch {
            Issue.record("unexpected error \(error)")
            return "\(error)"
        }
    }
}
