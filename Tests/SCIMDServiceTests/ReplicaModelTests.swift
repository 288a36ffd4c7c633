import Foundation
import Logging
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

@testable import SCIMDStore

/// The in-memory replica (``ResourceReplica``) always equals what a fresh start would load from
/// SQLite: after random interleavings of SCIM writes (some failing, some concurrent and sharing a
/// group commit), mapping changes that re-map every user, a connection deleted and created again,
/// a full disk, restarts, and connections evicted from memory (`--memory-limit`).
@Suite struct ReplicaModelTests {
    /// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Memory equals a fresh load of the database, for every connection either knows.
    static func expectReplicaMatchesDisk(_ store: Store, _ context: @autoclosure () -> String) async throws {
        let fresh = try store.loadReplicaFromDisk()
        for id in store.replica.connectionIds.union(fresh.connectionIds) {
            let inMemory = try await store.resources(id)
            let memory = inMemory.allRows()
            let disk = fresh.snapshot(id).allRows()
            #expect(inMemory.users.activeCount == fresh.snapshot(id).users.activeCount, "active users of \(id) after \(context())")
            for table in [inMemory.users, inMemory.groups] {
                // The warned index holds exactly the resources with warnings, in list order.
                var warned: [String] = [], expected: [String] = []
                table.forEachWarned(after: nil) { warned.append($0.record.id); return true }
                table.forEach { if $0.record.warningCount > 0 { expected.append($0.record.id) }; return true }
                #expect(warned == expected && table.warnedCount == expected.count, "warned index of \(id) after \(context())")
                var sum = 0
                table.forEach { sum += $0.record.warningCount; return true }
                #expect(table.openWarnings == sum, "open warnings of \(id) after \(context())")
                // The warning rows in memory agree with the resources' counts of them.
                #expect(
                    table.warnings.count == sum && table.warnings.resourceCount == table.warnedCount,
                    "warning rows of \(id) after \(context())")
                var byProperty: [String: Int] = [:]
                for row in table.warnings.allRows() { byProperty[row.property, default: 0] += 1 }
                #expect(table.warnings.countsByProperty == byProperty, "warnings per property of \(id) after \(context())")
            }
            #expect(memory.resources == disk.resources, "resources of \(id) differ after \(context())")
            #expect(memory.members == disk.members, "members of \(id) differ after \(context())")
            #expect(memory.warnings == disk.warnings, "warnings of \(id) differ after \(context())")
            #expect(inMemory.remappedVersion == fresh.snapshot(id).remappedVersion, "re-mapped version of \(id) after \(context())")
            #expect(inMemory.deletedUsers == fresh.snapshot(id).deletedUsers, "deleted users' keys of \(id) after \(context())")
            // The counts connections.get shows from memory equal the warning rows on disk.
            let rows = try await store.read { db in try db.warningCounts(connectionId: id) }
            #expect(
                rows.open == inMemory.users.openWarnings + inMemory.groups.openWarnings
                    && rows.resources == inMemory.users.warnedCount + inMemory.groups.warnedCount,
                "warning counts of \(id) after \(context())")
        }
        // The counts SQLite gives for a connection out of memory equal memory's.
        for id in store.replica.connectionIds {
            let inMemory = try await store.resources(id).counts
            #expect(try await store.read { db in try db.resourceCounts(connectionId: id) } == inMemory, "counts of \(id) after \(context())")
        }
        // The running total that commits check against `--memory-limit` equals the sum.
        #expect(store.replica.countedResidentBytes == store.residency().residentBytes, "resident bytes counted after \(context())")
    }

    /// Everything in memory, for comparing before and after a restart.
    static func allRows(_ store: Store) async throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for id in store.replica.connectionIds {
            let rows = try await store.resources(id).allRows()
            let text = rows.resources.map { "\($0)" } + rows.members.map { "\($0)" } + rows.warnings.map { "\($0)" }
            if !text.isEmpty { out[id] = text }
        }
        return out
    }

    /// Everything a fresh start loads.
    static func diskRows(_ store: Store) throws -> [String: [String]] {
        let fresh = try store.loadReplicaFromDisk()
        var out: [String: [String]] = [:]
        for id in fresh.connectionIds {
            let rows = fresh.snapshot(id).allRows()
            let text = rows.resources.map { "\($0)" } + rows.members.map { "\($0)" } + rows.warnings.map { "\($0)" }
            if !text.isEmpty { out[id] = text }
        }
        return out
    }

    final class Model {
        var rng: Generator
        var userIds: [String] = []
        var groupIds: [String] = []
        init(seed: UInt64) { rng = Generator(state: seed) }

        func pick(_ ids: [String]) -> String {
            // Now and then an id that does not exist: a 404 changes nothing.
            if ids.isEmpty || Int.random(in: 0..<10, using: &rng) == 0 { return "missing-\(Int.random(in: 0..<3, using: &rng))" }
            return ids.randomElement(using: &rng)!
        }

        func user() -> JSONValue {
            var user: JSONObject = [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                // Few names: creates collide (409) as often as they succeed.
                "userName": .string("user\(Int.random(in: 0..<20, using: &rng))@example.com"),
                "active": .bool(Bool.random(using: &rng)),
                "emails": [["value": .string("e\(Int.random(in: 0..<100, using: &rng))@example.com"), "type": "work", "primary": true]],
            ]
            if Bool.random(using: &rng) { user["externalId"] = .string("ext-\(Int.random(in: 0..<8, using: &rng))") }
            if Bool.random(using: &rng) {
                user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = ["department": .string("d\(Int.random(in: 0..<3, using: &rng))")]
            }
            return .object(user)
        }

        func members() -> JSONValue {
            .array((0..<Int.random(in: 0..<4, using: &rng)).map { _ in ["value": .string(pick(userIds))] })
        }

        func group() -> JSONValue {
            ["displayName": .string("Group \(Int.random(in: 0..<6, using: &rng))"), "members": members()]
        }

        /// One random SCIM request: (method, path, body).
        func request() -> (String, String, JSONValue?) {
            switch Int.random(in: 0..<12, using: &rng) {
            case 0, 1, 2: return ("POST", "/Users", user())
            case 3: return ("PUT", "/Users/\(pick(userIds))", user())
            case 4:
                let op: JSONValue = ["op": "replace", "path": "active", "value": .bool(Bool.random(using: &rng))]
                return ("PATCH", "/Users/\(pick(userIds))", ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]])
            case 5: return ("DELETE", "/Users/\(pick(userIds))", nil)
            case 6: return ("POST", "/Groups", group())
            case 7:
                let op: JSONValue = ["op": "add", "path": "members", "value": members()]
                return ("PATCH", "/Groups/\(pick(groupIds))", ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]])
            case 8:
                let op: JSONValue = ["op": "remove", "path": .string("members[value eq \"\(pick(userIds))\"]")]
                return ("PATCH", "/Groups/\(pick(groupIds))", ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]])
            case 9: return ("PUT", "/Groups/\(pick(groupIds))", group())
            case 10: return ("DELETE", "/Groups/\(pick(groupIds))", nil)
            default: return ("POST", "/Users", ["displayName": "no userName: 400"])
            }
        }

        func learn(_ method: String, _ path: String, status: Int, body: JSONValue?) {
            guard method == "POST", status == 201, let id = body?["id"]?.stringValue else { return }
            if path == "/Users" { userIds.append(id) } else { groupIds.append(id) }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func memoryEqualsAFreshLoadAfterRandomWritesFailuresAndRestarts(seed: UInt64) async throws {
        let service = try ReopenableService()
        var tokens = [try await service.connection("Acme").token, try await service.connection("Beta").token]
        let model = Model(seed: seed)
        var statuses: [Int: Int] = [:]

        for step in 0..<120 {
            switch Int.random(in: 0..<20, using: &model.rng) {
            case 0:
                // Several requests at once: they share group commits, some of them fail.
                let requests = (0..<6).map { _ in (model.request(), tokens[Int.random(in: 0..<2, using: &model.rng)]) }
                let results = await withTaskGroup(of: (String, String, Int, JSONValue?).self) { group in
                    for ((method, path, body), token) in requests {
                        group.addTask {
                            let r = await service.scim(method, path, token: token, body: body)
                            return (method, path, r.status, r.body)
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                for (method, path, status, body) in results {
                    model.learn(method, path, status: status, body: body)
                    statuses[status, default: 0] += 1
                }
            case 1:
                // A mapping change re-maps every user of the connection (the `mapped` column).
                let current = try await service.service.getMapping("Acme")
                var properties = current.users["properties"]?.arrayValue ?? []
                if properties.contains(where: { $0["name"] == "department" }) {
                    properties.removeAll { $0["name"] == "department" }
                } else {
                    properties.append([
                        "name": "department", "type": "string", "warnIfMissing": true,
                        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    ])
                }
                _ = try await service.service.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)]))
            case 2:
                // A connection and everything in it go; a new one takes its name.
                _ = try await service.service.deleteConnection("Beta")
                tokens[1] = try await service.connection("Beta").token
            case 3:
                let before = try await Self.allRows(service.store)
                // Refused requests are logged without waiting: let those land, as a clean stop does.
                try await service.store.waitForQueuedWrites()
                try service.reopen()
                let loaded = try Self.diskRows(service.store)
                #expect(loaded == before, "a restart loads what was in memory (step \(step))")
                // As the daemon starts: loading in the background while writes arrive at once, so
                // some commits reach connections not loaded yet (kept, then replayed on load).
                service.store.startLoadingResources(logger: Logger(label: "test"))
                for _ in 0..<3 {
                    let (method, path, body) = model.request()
                    let r = await service.scim(method, path, token: tokens[Int.random(in: 0..<2, using: &model.rng)], body: body)
                    model.learn(method, path, status: r.status, body: r.body)
                    statuses[r.status, default: 0] += 1
                }
            case 4:
                // A full disk: every write fails, memory must not move.
                let before = try await Self.allRows(service.store)
                try service.store.limitPageCount(try service.store.pageCount())
                for _ in 0..<4 {
                    let (method, path, body) = model.request()
                    let r = await service.scim(method, path, token: tokens[0], body: body)
                    model.learn(method, path, status: r.status, body: r.body)
                    statuses[r.status, default: 0] += 1
                }
                let full = try await Self.allRows(service.store)
                try service.store.limitPageCount(1_000_000)
                try await Self.expectReplicaMatchesDisk(service.store, "writes on a full disk (step \(step))")
                // What committed before the disk filled may include a write or two that still fit.
                #expect(full.count >= before.count - 1)
            case 5:
                // A connection evicted from memory (as `--memory-limit` does): writes to it while it
                // is out are not kept in memory, and its next read loads them from SQLite.
                let ids = service.store.replica.connectionIds.sorted()
                if let id = ids.randomElement(using: &model.rng) { service.store.replica.evict(id) }
                for _ in 0..<3 {
                    let (method, path, body) = model.request()
                    let r = await service.scim(method, path, token: tokens[Int.random(in: 0..<2, using: &model.rng)], body: body)
                    model.learn(method, path, status: r.status, body: r.body)
                    statuses[r.status, default: 0] += 1
                }
            default:
                let (method, path, body) = model.request()
                let r = await service.scim(method, path, token: tokens[Int.random(in: 0..<2, using: &model.rng)], body: body)
                model.learn(method, path, status: r.status, body: r.body)
                statuses[r.status, default: 0] += 1
            }
            try await Self.expectReplicaMatchesDisk(service.store, "step \(step)")
        }
        // The run did exercise successes and each kind of refusal.
        #expect(statuses[201, default: 0] > 5, "\(statuses)")
        #expect(statuses[409, default: 0] > 0, "\(statuses)")
        #expect(statuses[404, default: 0] > 0, "\(statuses)")
        #expect(statuses[400, default: 0] > 0, "\(statuses)")
        let acme = try await service.store.resources(try await service.service.getConnection("Acme").id)
        #expect(acme.users.count > 0)
    }

    /// A write body that throws after writing rows leaves memory as it was (its savepoint rolled
    /// back), while the writes committed in the same group are applied.
    @Test func aFailedBodyInAGroupLeavesMemoryUntouched() async throws {
        let fixture = try ServiceFixture()
        let connection = try await fixture.connection()
        let id = connection.connection.id
        struct Refused: Error {}
        let rows = (1...2).map { n in
            ResourceRecord(
                connectionId: id, resourceType: "User", id: "u\(n)", nameKey: "user\(n)", externalId: nil, displayName: nil,
                active: true, createdAt: Int64(n), updatedAt: Int64(n), version: 1, raw: #"{"userName":"user\#(n)"}"#)
        }
        // Queued together, so they usually share one transaction: one commits, one rolls back.
        let store = fixture.store
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            group.addTask { (1, (try? await store.write { db in try rows[0].insertRow(db) }) != nil) }
            group.addTask {
                do {
                    try await store.write { db in
                        try rows[1].insertRow(db)
                        throw Refused()
                    }
                    return (2, true)
                } catch {
                    return (2, !(error is Refused))
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes == [1: true, 2: false])
        let users = try await fixture.store.resources(id).users
        #expect(users.resource(id: "u1") != nil)
        #expect(users.resource(id: "u2") == nil)
        #expect(users.count == 1)
        try await Self.expectReplicaMatchesDisk(fixture.store, "a refused body")
    }
}
