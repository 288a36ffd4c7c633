import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
@testable import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

/// Dashboard operators in the store and the service: add, list, remove, reset, role, sign-in,
/// restart; and who made a mapping change (`changedBy`).
@Suite struct OperatorTests {
    /// The RPC error `body` throws, if it throws one.
    static func rpcError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("not an RPCError: \(error)")
            return nil
        }
    }

    /// A clock the test moves by hand.
    final class ManualClock: Sendable {
        let value = NIOLockedValueBox<Milliseconds>(1_796_000_000_000)
        var clock: Clock { Clock { [value] in value.withLockedValue { $0 } } }
        func advance(seconds: Int64) { value.withLockedValue { $0 += seconds * 1000 } }
    }

    @Test func theDefaultCostIs2To15AndHashesKeepTheirOwnCostWhenItChanges() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-cost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path)
        #expect(ServiceConfiguration().passwordHashLogRounds == 15)
        let cheap = try SCIMDService(store: store, configuration: .forTests, logger: Logger(label: "test"))
        let added = try await cheap.addOperator(.init(name: "ops"))
        var stronger = ServiceConfiguration.forTests
        stronger.passwordHashLogRounds = 11
        let restarted = try SCIMDService(store: store, configuration: stronger, logger: Logger(label: "test"))
        #expect(await restarted.authenticateOperator(name: "ops", password: added.password) != nil, "the stored ln=10 hash still verifies")
        #expect(await restarted.authenticateOperator(name: "nobody", password: added.password) == nil)
        let reset = try await restarted.resetOperatorPassword("ops")
        let row = try #require(try await store.read { db in try db.allOperators() }.first)
        #expect(row.passwordHash.hasPrefix("$scrypt$ln=11,"), "a new password gets the new cost")
        #expect(await restarted.authenticateOperator(name: "ops", password: reset.password) != nil)
    }

    @Test func addStoresOnlyAHashAndAnswersTheGeneratedPasswordOnce() async throws {
        let fixture = try ServiceFixture()
        let added = try await fixture.service.addOperator(.init(name: "dana.ops"))
        #expect(added.operator.name == "dana.ops")
        #expect(added.operator.role == .viewer, "viewer is the default")
        #expect(added.operator.createdAt == added.operator.passwordChangedAt)
        #expect(UUID(uuidString: added.operator.id) != nil && added.operator.id == added.operator.id.lowercased())
        #expect(added.password.count == 20 && added.password.allSatisfy { PasswordHash.passwordAlphabet.contains($0) })

        let rows = try await fixture.store.read { db in try db.allOperators() }
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.id == added.operator.id && row.role == "viewer")
        #expect(row.passwordHash.hasPrefix("$scrypt$ln=10,r=8,p=1$"), "the configured cost (the tests' cheap one)")
        #expect(!row.passwordHash.contains(added.password))
        #expect(PasswordHash.verify(added.password, against: row.passwordHash))
        let raw = try await fixture.store.readDatabase { db in try Row.fetchAll(db, sql: "SELECT * FROM operators").description }
        #expect(raw.contains("dana.ops") && !raw.contains(added.password), "the password itself is nowhere in the table")

        #expect(try await fixture.service.listOperators() == [added.operator])
        #expect(fixture.service.operatorInfo(id: added.operator.id) == added.operator)
        #expect(fixture.service.operatorInfo(id: "no-such-id") == nil)
        let admin = try await fixture.service.addOperator(.init(name: "Ada@example.com", role: .admin))
        #expect(admin.operator.role == .admin)
        #expect(admin.password != added.password)
        // By name, ignoring case.
        #expect(try await fixture.service.listOperators().map(\.name) == ["Ada@example.com", "dana.ops"])
    }

    @Test func aNameTakenIgnoringCaseIsAConflict() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.service.addOperator(.init(name: "Dana"))
        for name in ["Dana", "dana", "DANA"] {
            let error = await Self.rpcError { _ = try await fixture.service.addOperator(.init(name: name, role: .admin)) }
            #expect(error?.kind == "conflict", "\(name)")
            #expect(error?.message.contains("already exists") == true)
        }
        #expect(try await fixture.service.listOperators().count == 1)
        // The table's NOCASE uniqueness backs the service's own check.
        await #expect(throws: DatabaseError.self) {
            try await fixture.store.write { db in
                try db.insertOperator(
                    OperatorRecord(id: "x", name: "dAnA", role: "viewer", passwordHash: "h", createdAt: 0, passwordChangedAt: 0))
            }
        }
    }

    @Test func twoConcurrentAddsOfOneNameMakeOneOperator() async throws {
        let fixture = try ServiceFixture()
        let service = fixture.service
        let outcomes = await withTaskGroup(of: String.self) { group in
            for name in ["sam", "SAM"] {
                group.addTask {
                    do {
                        _ = try await service.addOperator(.init(name: name))
                        return "added"
                    } catch let error as RPCError {
                        return error.kind
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.sorted() == ["added", "conflict"])
        #expect(try await service.listOperators().count == 1)
    }

    @Test func aBadNameIsInvalidParamsNamingTheField() async throws {
        let fixture = try ServiceFixture()
        let bad = ["", String(repeating: "a", count: 65), "dana ops", " dana", "dana\n", "josé", "dana/ops", "dana:ops", "dana+1",
                   "ops\u{0}x", "ｄａｎａ", "dana,ops"]
        for name in bad {
            let error = await Self.rpcError { _ = try await fixture.service.addOperator(.init(name: name)) }
            #expect(error?.kind == "invalid_params", "\(name)")
            #expect(error?.data?.field == "name", "\(name)")
        }
        #expect(try await fixture.service.listOperators().isEmpty)
        // The edges that are allowed.
        for name in [String(repeating: "a", count: 64), "a", "A.b_c-d@e.example", "0"] {
            #expect(try await fixture.service.addOperator(.init(name: name)).operator.name == name)
        }
    }

    /// A role is `viewer` or `admin`: anything else does not decode, and the dispatcher answers
    /// the decoding error as `invalid_params` naming `role`. The table refuses other roles too.
    @Test func aBadRoleIsInvalidParamsNamingTheField() async throws {
        for params: JSONValue in [["name": "dana", "role": "root"], ["name": "dana", "role": "Admin"], ["name": "dana", "role": 1]] {
            let error = await Self.rpcError { _ = try RPCCodec.decode(OperatorsAdd.Params.self, from: params) }
            #expect(error?.kind == "invalid_params" && error?.data?.field == "role", "\(String(describing: error))")
        }
        let error = await Self.rpcError { _ = try RPCCodec.decode(OperatorsSetRole.Params.self, from: ["name": "dana", "role": "owner"]) }
        #expect(error?.kind == "invalid_params" && error?.data?.field == "role")
        #expect(error?.message.contains("viewer or admin") == true)
        #expect(try RPCCodec.decode(OperatorsAdd.Params.self, from: ["name": "dana"]).role == nil)
        #expect(try RPCCodec.decode(OperatorsSetRole.Params.self, from: ["name": "dana", "role": "admin"]).role == .admin)

        let fixture = try ServiceFixture()
        await #expect(throws: DatabaseError.self) {
            try await fixture.store.write { db in
                try db.insertOperator(
                    OperatorRecord(id: "x", name: "x", role: "root", passwordHash: "h", createdAt: 0, passwordChangedAt: 0))
            }
        }
    }

    @Test func signingInNeedsTheRightPasswordAndAKnownName() async throws {
        let fixture = try ServiceFixture()
        let added = try await fixture.service.addOperator(.init(name: "Dana", role: .admin))
        #expect(await fixture.service.authenticateOperator(name: "Dana", password: added.password) == added.operator)
        #expect(await fixture.service.authenticateOperator(name: "dana", password: added.password) == added.operator, "names ignore case")
        #expect(await fixture.service.authenticateOperator(name: "Dana", password: added.password.lowercased()) == nil)
        #expect(await fixture.service.authenticateOperator(name: "Dana", password: added.password + "x") == nil)
        #expect(await fixture.service.authenticateOperator(name: "Dana", password: "") == nil)
        #expect(await fixture.service.authenticateOperator(name: "nobody", password: added.password) == nil)
        #expect(await fixture.service.authenticateOperator(name: "", password: "") == nil)
        // Case is folded for ASCII only, as in the table: the Kelvin sign is not a k.
        let kim = try await fixture.service.addOperator(.init(name: "kim"))
        #expect(await fixture.service.authenticateOperator(name: "\u{212A}im", password: kim.password) == nil)
        #expect(await fixture.service.authenticateOperator(name: "KIM", password: kim.password) == kim.operator)
        let error = await Self.rpcError { _ = try await fixture.service.resetOperatorPassword("\u{212A}im") }
        #expect(error?.kind == "not_found")
    }

    /// The service actor is not held while scrypt runs: other calls are answered meanwhile.
    @Test func signingInDoesNotHoldTheService() async throws {
        let fixture = try ServiceFixture()
        let service = fixture.service
        let added = try await service.addOperator(.init(name: "dana"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { _ = await service.authenticateOperator(name: "dana", password: added.password) }
            }
            // Four sign-ins queue for the hashing queue (one at a time); the actor answers at once.
            let started = ContinuousClock.now
            _ = try await service.listConnections()
            _ = await service.counters()
            #expect(ContinuousClock.now - started < .seconds(2))
            try await group.waitForAll()
        }
    }

    @Test func aResetPasswordReplacesTheOldOne() async throws {
        let time = ManualClock()
        let fixture = try ServiceFixture(clock: time.clock)
        let added = try await fixture.service.addOperator(.init(name: "dana"))
        time.advance(seconds: 90)
        let reset = try await fixture.service.resetOperatorPassword("DANA")
        #expect(reset.password != added.password && reset.password.count == 20)
        #expect(reset.operator.id == added.operator.id && reset.operator.createdAt == added.operator.createdAt)
        #expect(reset.operator.passwordChangedAt == Timestamp.string(1_796_000_090_000))
        #expect(await fixture.service.authenticateOperator(name: "dana", password: added.password) == nil, "the old password stops working")
        #expect(await fixture.service.authenticateOperator(name: "dana", password: reset.password) == reset.operator)
        #expect(fixture.service.operatorInfo(id: added.operator.id) == reset.operator)
        let stored = try await fixture.store.read { db in try db.operatorRecord(named: "dana") }
        #expect(stored.map { PasswordHash.verify(reset.password, against: $0.passwordHash) } == true)

        let error = await Self.rpcError { _ = try await fixture.service.resetOperatorPassword("nobody") }
        #expect(error?.kind == "not_found")
    }

    @Test func aRemovedOperatorIsGoneEverywhere() async throws {
        let fixture = try ServiceFixture()
        let dana = try await fixture.service.addOperator(.init(name: "dana", role: .admin))
        let sam = try await fixture.service.addOperator(.init(name: "sam"))
        try await fixture.service.removeOperator("Dana")
        #expect(fixture.service.operatorInfo(id: dana.operator.id) == nil, "the dashboard's next check ends the session")
        #expect(await fixture.service.authenticateOperator(name: "dana", password: dana.password) == nil)
        #expect(try await fixture.service.listOperators() == [sam.operator])
        #expect(try await fixture.store.read { db in try db.allOperators() }.map(\.name) == ["sam"])

        let again = await Self.rpcError { try await fixture.service.removeOperator("dana") }
        #expect(again?.kind == "not_found")
        #expect(again?.code == .notFound)
        // The name is free again.
        #expect(try await fixture.service.addOperator(.init(name: "DANA")).operator.id != dana.operator.id)
    }

    @Test func aRoleChangeAppliesAtOnce() async throws {
        let fixture = try ServiceFixture()
        let added = try await fixture.service.addOperator(.init(name: "dana"))
        let promoted = try await fixture.service.setOperatorRole("Dana", role: .admin)
        #expect(promoted.role == .admin && promoted.id == added.operator.id && promoted.name == "dana")
        #expect(fixture.service.operatorInfo(id: added.operator.id)?.role == .admin)
        #expect(await fixture.service.authenticateOperator(name: "dana", password: added.password)?.role == .admin)
        #expect(try await fixture.store.read { db in try db.operatorRecord(named: "dana") }?.role == "admin")
        #expect(try await fixture.service.setOperatorRole("dana", role: .viewer).role == .viewer)
        #expect(fixture.service.operatorInfo(id: added.operator.id)?.role == .viewer)

        let error = await Self.rpcError { _ = try await fixture.service.setOperatorRole("nobody", role: .admin) }
        #expect(error?.kind == "not_found")
    }

    /// Memory is loaded from SQLite at start: what was committed is what a restarted daemon knows.
    @Test func operatorsSurviveARestart() async throws {
        let reopenable = try ReopenableService()
        let dana = try await reopenable.service.addOperator(.init(name: "dana"))
        let sam = try await reopenable.service.addOperator(.init(name: "sam", role: .admin))
        let lee = try await reopenable.service.addOperator(.init(name: "lee"))
        _ = try await reopenable.service.setOperatorRole("dana", role: .admin)
        let reset = try await reopenable.service.resetOperatorPassword("sam")
        try await reopenable.service.removeOperator("lee")
        let before = try await reopenable.service.listOperators()

        try reopenable.reopen()
        let service = reopenable.service
        #expect(try await service.listOperators() == before)
        #expect(service.operatorInfo(id: dana.operator.id)?.role == .admin)
        #expect(service.operatorInfo(id: sam.operator.id) == reset.operator)
        #expect(service.operatorInfo(id: lee.operator.id) == nil)
        #expect(await service.authenticateOperator(name: "dana", password: dana.password)?.id == dana.operator.id)
        #expect(await service.authenticateOperator(name: "sam", password: reset.password)?.id == sam.operator.id)
        #expect(await service.authenticateOperator(name: "sam", password: sam.password) == nil)
        #expect(await service.authenticateOperator(name: "lee", password: lee.password) == nil)
        let conflict = await Self.rpcError { _ = try await service.addOperator(.init(name: "Sam")) }
        #expect(conflict?.kind == "conflict")
    }

    // MARK: changedBy

    @Test func changedByIsStoredAndReturnedInTheMappingHistory() async throws {
        let reopenable = try ReopenableService()
        _ = try await reopenable.connection("Acme")
        var service: SCIMDService! = reopenable.service
        let set = try await service.setMapping(.init(connection: "Acme", comment: "from the dashboard", changedBy: "operator:dana"))
        #expect(set.mapping.changedBy == "operator:dana")
        #expect(try await service.getMapping("Acme").changedBy == "operator:dana")
        _ = try await service.setMapping(.init(connection: "Acme", comment: "over the socket"))
        let rolledBack = try await service.rollbackMapping(.init(connection: "Acme", version: 1, changedBy: "operator:sam"))
        #expect(rolledBack.mapping.changedBy == "operator:sam" && rolledBack.mapping.version == 4)

        let history = try await service.mappingHistory("Acme")
        #expect(history.map(\.version) == [4, 3, 2, 1])
        #expect(history.map(\.changedBy) == ["operator:sam", nil, "operator:dana", nil])
        #expect(try await reopenable.store.read { db in try db.mappingVersions(connectionId: history[0].connection) }.map(\.changedBy)
            == ["operator:sam", nil, "operator:dana", nil])

        // The mapping.changed events say who, when someone did.
        let events = try await service.listEvents(.init(connection: "Acme", types: ["mapping.changed"]))
        #expect(events.events.map { $0.data["changedBy"]?.stringValue } == ["operator:dana", nil, "operator:sam"])
        #expect(events.events.map { $0.data["changedBy"] == nil } == [false, true, false], "absent, not null, when nobody was named")

        service = nil  // a restart: nothing may hold the old service
        try reopenable.reopen()
        #expect(try await reopenable.service.mappingHistory("Acme").map(\.changedBy) == ["operator:sam", nil, "operator:dana", nil])
    }

    /// `changedBy` is for Swift callers only: it is not on the wire, so a socket caller cannot
    /// set it (`mapping.set` refuses it as an unknown param) and results decode without it.
    @Test func changedByIsNotAnRPCParam() throws {
        #expect(!MappingSet.acceptedParamNames.contains("changedBy"))
        #expect(!MappingPreview.acceptedParamNames.contains("changedBy"))
        #expect(!MappingRollback.acceptedParamNames.contains("changedBy"))
        #expect(throws: RPCError.invalidParams(
            "unknown param 'changedBy' for mapping.set (accepted: comment, connection, expectedVersion, groups, roles, users)",
            field: "changedBy")
        ) {
            try MappingSet.normalizedParams(["connection": "Acme", "changedBy": "operator:eve"], accepted: MappingSet.acceptedParamNames)
        }
        let encoded = String(decoding: try RPCCodec.encode(MappingChange(connection: "Acme", changedBy: "operator:dana")), as: UTF8.self)
        #expect(encoded == #"{"connection":"Acme"}"#)
        let rollback = String(
            decoding: try RPCCodec.encode(MappingRollback.Params(connection: "Acme", version: 1, changedBy: "operator:dana")), as: UTF8.self)
        #expect(rollback == #"{"connection":"Acme","version":1}"#)
        // The result carries it.
        #expect(JSONSchemaGenerator.memberNames(of: MappingInfo.self).contains("changedBy"))
    }

    /// A database from before v6 opens with its mapping history intact (no `changedBy`) and room
    /// for operators.
    @Test func v6KeepsOlderMappingVersionsAndAddsTheOperatorsTable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-mig6-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("scimd.sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try Store.migrator.migrate(queue, upTo: "v5: webhooks")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO connection (id, name, createdAt, updatedAt, tokenHash) VALUES ('c', 'Acme', 0, 0, x'00');
                        INSERT INTO mappingVersion (connectionId, version, configuration, createdAt, comment)
                          VALUES ('c', 1, '{"users":{"properties":[]},"groups":{"properties":[]}}', 5, 'old');
                        """)
            }
        }
        let store = try Store(path: path)
        let versions = try await store.read { db in try db.mappingVersions(connectionId: "c") }
        #expect(versions.map(\.comment) == ["old"] && versions.map(\.changedBy) == [nil])
        #expect(try await store.read { db in try db.allOperators() }.isEmpty)
    }
}
