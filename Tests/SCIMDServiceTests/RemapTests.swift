import Foundation
import GRDB
import SCIMDProtocol
@testable import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import SCIMMapping
import Testing

/// A re-map evaluates resources from memory before their transaction (`Remapping.swift`); the
/// transaction must never write an evaluation of a row that changed in between.
@Suite struct RemapTests {
    /// The default mapping plus `dept` read from `department`, warned when missing.
    func mapping(version: Int) throws -> ActiveMapping {
        var configuration = MappingConfiguration.default
        configuration.users.properties.append(MappingProperty(name: "dept", path: "department", warnIfMissing: true))
        return try ActiveMapping(version: version, configuration: configuration)
    }

    func user(_ fixture: ServiceFixture, token: String, userName: String = "ada@example.com", department: String?) async -> String {
        var body: JSONObject = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": .string(userName),
            "emails": [["value": .string(userName), "primary": true]],
        ]
        if let department { body["department"] = .string(department) }
        let created = await fixture.scim("POST", "/Users", token: token, body: .object(body))
        #expect(created.status == 201)
        return created.body?["id"]?.stringValue ?? ""
    }

    @Test func aRowChangedAfterItsEvaluationIsEvaluatedAgainInItsTransaction() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let connectionId = acme.connection.id
        let id = await user(fixture, token: acme.token, department: "Sales")
        let v2 = try mapping(version: 2)
        // Evaluated from memory while the row says Sales …
        let snapshot = try await fixture.store.resources(connectionId)
        let resource = try #require(snapshot.users.resource(id: id))
        let stale = try #require(SCIMDService.evaluation(of: resource, in: snapshot, type: .user, mapping: v2))
        #expect(stale.new.properties["dept"] == "Sales")
        // … then the IdP moves her and the application links her, before the re-map's transaction.
        let moved = await fixture.scim(
            "PATCH", "/Users/\(id)", token: acme.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "department", "value": "Research"]]])
        #expect(moved.status == 200)
        _ = try await fixture.service.linkUser(.init(connection: "Acme", id: id, appUserId: "app-7"))
        let written = try await fixture.store.write { db in
            try SCIMDService.writeRemap(
                db, records: [stale.record], evaluations: [stale], connectionId: connectionId, type: .user, mapping: v2, now: 1)
        }
        #expect(written.map { $0.new.properties["dept"] } == ["Research"], "evaluated again from the row as it is now")
        let row = try #require(try await fixture.store.read { db in try db.resource(connectionId: connectionId, type: "User", id: id) })
        #expect(row.mapped.flatMap { try? JSONParser().parse($0) }?["dept"] == "Research")
        #expect(row.mappingVersion == 2)
        #expect(row.appUserId == "app-7", "the link made in between is kept")
        #expect(row.raw.contains("Research"))
        // Memory holds exactly the row SQLite holds.
        let inMemory = try await fixture.store.withResources(connectionId) { $0.users.resource(id: id)?.record }
        #expect(inMemory == row)
    }

    /// A create evaluates the mapping before its transaction (off the writer thread); a mapping
    /// that became current while it waited for the writer must be the one its row carries.
    @Test func aCreateCarriesTheMappingCurrentAtItsTransaction() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let connectionId = acme.connection.id
        let gate = DispatchSemaphore(value: 0)
        let running = GroupCommitTests.Flag()
        let store = fixture.store
        async let blocker: Void = store.write { _ in
            running.set()
            gate.wait()
        }
        for _ in 0..<5_000 where !running.isSet { try await Task.sleep(for: .milliseconds(1)) }
        #expect(running.isSet)
        async let created = user(fixture, token: acme.token, department: "Sales")
        // Queued behind the blocker: its evaluation under version 1 (no `dept`) is done.
        for _ in 0..<5_000 where store.writer.queuedCount < 1 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(store.writer.queuedCount == 1)
        fixture.service.mappingRegistry.set(try mapping(version: 2), saved: nil, for: connectionId)
        gate.signal()
        try await blocker
        let id = await created
        let row = try #require(try await fixture.store.read { db in try db.resource(connectionId: connectionId, type: "User", id: id) })
        #expect(row.mappingVersion == 2)
        #expect(row.mapped.flatMap { try? JSONParser().parse($0) }?["dept"] == "Sales")
    }

    @Test func anUnchangedRowTakesItsEvaluationAndAWarningOpensOnce() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let connectionId = acme.connection.id
        let id = await user(fixture, token: acme.token, department: nil)
        let v2 = try mapping(version: 2)
        let snapshot = try await fixture.store.resources(connectionId)
        let resource = try #require(snapshot.users.resource(id: id))
        let evaluation = try #require(SCIMDService.evaluation(of: resource, in: snapshot, type: .user, mapping: v2))
        #expect(evaluation.diff.openedIssues.map(\.property) == ["dept"])
        let written = try await fixture.store.write { db in
            try SCIMDService.writeRemap(
                db, records: [evaluation.record], evaluations: [evaluation], connectionId: connectionId, type: .user, mapping: v2, now: 1)
        }
        #expect(written.count == 1)
        let warnings = try await fixture.store.read { db in try db.warnings(connectionId: connectionId, type: "User", resourceId: id) }
        #expect(warnings.map(\.property) == ["dept"])
        let events = try await fixture.service.listEvents(.init(connection: "Acme", types: ["warning.opened"]))
        #expect(events.events.map(\.resourceId) == [id])
        // A row a newer mapping version owns is left alone.
        let v1 = try mapping(version: 1)
        let skipped = try await fixture.store.write { db in
            try SCIMDService.writeRemap(
                db, records: [evaluation.record], evaluations: [nil], connectionId: connectionId, type: .user, mapping: v1, now: 2)
        }
        #expect(skipped.isEmpty)
        #expect(try await fixture.store.read { db in try db.resource(connectionId: connectionId, type: "User", id: id)?.mappingVersion } == 2)
    }

    @Test func aMappingSetAfterManyWritesLeavesNoRowOnTheOldVersion() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        for i in 0..<(SCIMDService.remapBatchSize + 50) {
            let body: JSONValue = [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": .string("u\(i)@example.com"),
                "emails": [["value": .string("u\(i)@example.com"), "primary": true]], "department": .string("d\(i % 3)"),
            ]
            _ = await fixture.scim("POST", "/Users", token: acme.token, body: body)
        }
        let current = try await fixture.service.getMapping("Acme")
        let properties = (current.users["properties"]?.arrayValue ?? []) + [["name": "dept", "type": "string", "path": "department"]]
        let set = try await fixture.service.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)]))
        #expect(set.remap.resources == SCIMDService.remapBatchSize + 50, "each resource counted once, over two batches")
        #expect(set.remap.resourcesChanged == SCIMDService.remapBatchSize + 50)
        #expect(set.remap.gained["dept"] == SCIMDService.remapBatchSize + 50)
        let versions = try await fixture.store.readDatabase { db in
            try Int.fetchAll(db, sql: "SELECT DISTINCT mappingVersion FROM resource WHERE connectionId = ?", arguments: [acme.connection.id])
        }
        #expect(versions == [set.mapping.version])
        // Memory equals a fresh load of SQLite.
        let inMemory = try await fixture.store.withResources(acme.connection.id) { $0.allRows() }
        let loaded = try fixture.store.loadReplicaFromDisk().snapshot(acme.connection.id).allRows()
        #expect(inMemory.resources == loaded.resources)
        #expect(inMemory.warnings == loaded.warnings)
    }
    /// A re-map writes only the rows whose mapped values or warnings change; the others keep
    /// their row (and the version that last wrote it), and the version's `remappedAt` says the
    /// re-map looked at them, so `users.get` reports the new version for both.
    @Test func aReMapWritesOnlyTheRowsItChanges() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let connectionId = acme.connection.id
        let sales = await user(fixture, token: acme.token, department: "Sales")
        let bob = await user(fixture, token: acme.token, userName: "bob@example.com", department: nil)
        func row(_ id: String) async throws -> ResourceRecord {
            try #require(try await fixture.store.read { db in try db.resource(connectionId: connectionId, type: "User", id: id) })
        }
        let bobBefore = try await row(bob)
        let bobObject = try await fixture.store.withResources(connectionId) { $0.users.resource(id: bob) }
        // `dept` from `department`: only Ada sends one.
        let current = try await fixture.service.getMapping("Acme")
        let properties = (current.users["properties"]?.arrayValue ?? []) + [["name": "dept", "type": "string", "path": "department"]]
        let set = try await fixture.service.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)]))
        #expect(set.remap.resources == 2)
        #expect(set.remap.resourcesChanged == 1)
        #expect(try await row(sales).mappingVersion == set.mapping.version, "the changed row is written")
        #expect(try await row(bob) == bobBefore, "the row the new version maps the same is not written")
        let bobAfter = try await fixture.store.withResources(connectionId) { $0.users.resource(id: bob) }
        #expect(bobAfter === bobObject, "nor replaced in memory")
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == set.mapping.version)
        #expect(try await fixture.store.withResources(connectionId) { $0.remappedVersion } == set.mapping.version, "memory follows the commit")
        let detail = try await fixture.service.getUser(.init(connection: "Acme", id: bob))
        #expect(detail.mappingVersion == set.mapping.version, "reported as mapped with the version that looked at it")
        #expect(bobBefore.mappingVersion != set.mapping.version)
        // A preview looks at every row too, but writes nothing, `remappedAt` included.
        let preview = try await fixture.service.previewMapping(.init(connection: "Acme", users: ["properties": .array(current.users["properties"]?.arrayValue ?? [])]))
        #expect(preview.resourcesChanged == 1)
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == set.mapping.version)
        // Memory equals a fresh load of SQLite.
        let inMemory = try await fixture.store.withResources(connectionId) { $0.allRows() }
        let loaded = try fixture.store.loadReplicaFromDisk().snapshot(connectionId).allRows()
        #expect(inMemory.resources == loaded.resources)
    }

    /// Each thread of a parallel re-map evaluates with its own compilation of the mapping
    /// (``ActiveMapping/compiledAgain()``): it must map every resource exactly as the original.
    @Test func aMappingCompiledAgainMapsAlike() throws {
        var configuration = MappingConfiguration.default
        configuration.users.properties.append(MappingProperty(name: "dept", path: "department", fallbackPaths: ["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"], warnIfMissing: true))
        let roles = RoleRules(rules: [.init(group: "Admins", role: "admin")], defaultRole: "member")
        let original = try ActiveMapping(version: 7, configuration: configuration, roles: roles)
        let again = original.compiledAgain()
        #expect(again.version == 7)
        #expect(again.configuration == original.configuration)
        #expect(again.roles == original.roles)
        let admins = [MemberOf(id: "g1", displayName: "Admins", externalId: nil)]
        let inputs: [(JSONObject, [MemberOf])] = [
            (["userName": "ada@example.com", "emails": [["value": "ada@example.com", "primary": true]], "department": "R&D"], admins),
            (["userName": "bob", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "Ops"]], []),
            (["userName": "eve", "name": ["givenName": "Eve"]], []),
        ]
        for (raw, groups) in inputs {
            let expected = original.evaluate(raw: raw, id: "u1", type: .user, groups: groups)
            #expect(again.evaluate(raw: raw, id: "u1", type: .user, groups: groups) == expected)
        }
        #expect(again.evaluate(raw: ["displayName": "Admins"], id: "g1", type: .group, groups: []) == original.evaluate(raw: ["displayName": "Admins"], id: "g1", type: .group, groups: []))
    }

    /// The same warnings with another `detail` (a type mismatch names the type it expected) are
    /// not "the same result": the row is written, so the warning says what the new version says.
    @Test func aWarningWhoseDetailChangesIsRewritten() {
        let stored = [PropertyIssue(property: "level", kind: .typeMismatch, detail: "expected integer, found \"high\"")]
        let same = [PropertyIssue(property: "level", kind: .typeMismatch, detail: "expected integer, found \"high\"")]
        let other = [PropertyIssue(property: "level", kind: .typeMismatch, detail: "expected boolean, found \"high\"")]
        #expect(SCIMDService.sameDetails(stored, same))
        #expect(!SCIMDService.sameDetails(stored, other))
        #expect(!SCIMDService.sameDetails(stored, []))
        #expect(SCIMDService.sameDetails([], []))
    }

    /// Before any re-map completed, a row says the version that wrote it; after, never less than
    /// the completed one.
    @Test func theEffectiveMappingVersion() {
        var record = ResourceRecord(
            connectionId: "c", resourceType: "User", id: "u", nameKey: "u", externalId: nil, displayName: nil, active: true,
            createdAt: 0, updatedAt: 0, version: 1, raw: "{}", mapped: "{}", mappingVersion: 2)
        #expect(record.effectiveMappingVersion(remapped: nil) == 2)
        #expect(record.effectiveMappingVersion(remapped: 4) == 4)
        #expect(record.effectiveMappingVersion(remapped: 1) == 2, "a write with a newer version than the last completed re-map")
        record.mappingVersion = nil
        #expect(record.effectiveMappingVersion(remapped: nil) == nil)
        #expect(record.effectiveMappingVersion(remapped: 3) == 3)
    }

    /// A `mapping.set` cut short (a crash, a failed batch) leaves its version current but some
    /// rows on the older one, and no `remappedAt`; the next start finishes it.
    @Test func anInterruptedReMapIsFinished() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let connectionId = acme.connection.id
        let ada = await user(fixture, token: acme.token, department: "Sales")
        let bobId = await user(fixture, token: acme.token, userName: "bob@example.com", department: "Ops")
        // A new connection's first version is recorded as reaching every resource.
        let current = try await fixture.service.getMapping("Acme").version
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == current)
        #expect(await fixture.service.finishInterruptedRemaps() == RemapRecoveryReport(remapped: 0, alreadyComplete: 0, failures: 0))
        // A version without the record (saved before v8, or by a connection made before
        // mappings) whose rows were all written with it is only recorded, nothing re-mapped.
        try await fixture.store.writeDatabase { db in try db.execute(sql: "UPDATE mappingVersion SET remappedAt = NULL") }
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == nil)
        #expect(await fixture.service.finishInterruptedRemaps() == RemapRecoveryReport(remapped: 0, alreadyComplete: 1, failures: 0))
        #expect(try await fixture.store.read { db in try db.unfinishedRemap(connectionId: connectionId) } == nil)
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == current)
        // Version current+1 saved and installed, then the re-map stops after Ada.
        var configuration = MappingConfiguration.default
        configuration.users.properties.append(MappingProperty(name: "dept", path: "department"))
        let next = try ActiveMapping(version: current + 1, configuration: configuration)
        let saved = MappingVersionRecord(
            connectionId: connectionId, version: next.version, configuration: try MappingCodec.encode(configuration), createdAt: 1, comment: nil)
        try await fixture.store.writeDatabase { db in try saved.insert(db) }
        fixture.service.mappingRegistry.set(next, saved: saved, for: connectionId)
        let snapshot = try await fixture.store.resources(connectionId)
        let adaResource = try #require(snapshot.users.resource(id: ada))
        let adaEvaluation = try #require(SCIMDService.evaluation(of: adaResource, in: snapshot, type: .user, mapping: next))
        _ = try await fixture.store.write { db in
            try SCIMDService.writeRemap(
                db, records: [adaEvaluation.record], evaluations: [adaEvaluation], connectionId: connectionId, type: .user, mapping: next,
                now: 2)
        }
        func mapped(_ id: String) async throws -> JSONValue? {
            try await fixture.service.getUser(.init(connection: "Acme", id: id)).mapped["dept"]
        }
        #expect(try await mapped(ada) == "Sales")
        #expect(try await mapped(bobId) == nil, "Bob was not reached")
        #expect(try await fixture.service.getUser(.init(connection: "Acme", id: bobId)).mappingVersion == current, "and says so")

        let report = await fixture.service.finishInterruptedRemaps()
        #expect(report == RemapRecoveryReport(remapped: 1, alreadyComplete: 0, failures: 0))
        #expect(try await mapped(bobId) == "Ops")
        #expect(try await fixture.service.getUser(.init(connection: "Acme", id: bobId)).mappingVersion == next.version)
        #expect(try await fixture.store.read { db in try db.remappedVersion(connectionId: connectionId) } == next.version)
        // Once finished, there is nothing more to do.
        #expect(await fixture.service.finishInterruptedRemaps() == RemapRecoveryReport(remapped: 0, alreadyComplete: 0, failures: 0))
    }
}
