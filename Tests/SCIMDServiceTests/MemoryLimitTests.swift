import Foundation
import Logging
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

@testable import SCIMDStore

/// `--memory-limit`: connections read least recently leave memory (after a load or a commit takes
/// the estimate past the limit), come back on their next read with every committed write
/// (including writes made while they were out), and the background load stops at the limit.
@Suite struct MemoryLimitTests {
    static func user(_ name: String) -> JSONValue {
        ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": .string(name), "externalId": .string("ext-" + name)]
    }

    /// userNames the SCIM list returns for the connection (read through the replica).
    static func userNames(_ fixture: ServiceFixture, token: String) async throws -> [String] {
        let r = await fixture.scim("GET", "/Users?count=100", token: token)
        #expect(r.status == 200)
        return (r.body?["Resources"]?.arrayValue ?? []).compactMap { $0["userName"]?.stringValue }.sorted()
    }

    @Test func theLeastRecentlyReadConnectionIsEvictedAndReadAgainWithEveryWrite() async throws {
        // One byte: every connection is over it, so all but the one read last leave memory.
        let fixture = try ServiceFixture(memoryLimit: 1)
        let acme = try await fixture.connection("Acme")
        let beta = try await fixture.connection("Beta")
        for name in ["ada", "grace"] { #expect(await fixture.scim("POST", "/Users", token: acme.token, body: Self.user(name)).status == 201) }
        for name in ["alan"] { #expect(await fixture.scim("POST", "/Users", token: beta.token, body: Self.user(name)).status == 201) }
        // The commits went past the limit: Acme, the connection used least recently, was evicted;
        // Beta (the newest) stays, as the last one used always does.
        fixture.store.settleEvictions()
        var residency = fixture.store.residency()
        #expect(residency.residentConnections == 1 && residency.connections == 2 && residency.limitBytes == 1)
        #expect(fixture.store.replica.countedResidentBytes == residency.residentBytes)
        #expect(try await Self.userNames(fixture, token: beta.token) == ["alan"])
        #expect(fixture.store.enforceMemoryLimit().connections == 0)

        // A write to Acme while it is out of memory: committed, kept on disk only.
        #expect(await fixture.scim("POST", "/Users", token: acme.token, body: Self.user("edsger")).status == 201)
        fixture.store.settleEvictions()
        #expect(fixture.store.residency().residentConnections == 1)

        // Acme's next read loads it again, with that write; Beta, now read least recently, goes.
        #expect(try await Self.userNames(fixture, token: acme.token) == ["ada", "edsger", "grace"])
        let lookup = await fixture.scim("GET", "/Users?filter=userName%20eq%20%22EDSGER%22", token: acme.token)
        #expect(lookup.body?["totalResults"] == 1)
        residency = fixture.store.residency()
        #expect(residency.residentConnections == 1 && residency.residentBytes > 0)
        #expect(try await Self.userNames(fixture, token: beta.token) == ["alan"])
        // Memory holds exactly what SQLite holds, for both.
        try await ReplicaModelTests.expectReplicaMatchesDisk(fixture.store, "evictions and reloads")
    }

    /// Listing connections (the dashboard, `scimctl connections list`, a metrics scrape) counts
    /// an evicted connection from SQLite instead of loading it back, and counts the same.
    @Test func countingAnEvictedConnectionDoesNotLoadIt() async throws {
        let fixture = try ServiceFixture(memoryLimit: 1)
        let acme = try await fixture.connection("Acme")
        let beta = try await fixture.connection("Beta")
        let inactive: JSONValue = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "grace", "active": false,
        ]
        for body in [Self.user("ada"), inactive] { #expect(await fixture.scim("POST", "/Users", token: acme.token, body: body).status == 201) }
        #expect(await fixture.scim("POST", "/Groups", token: acme.token, body: ["displayName": "Staff"]).status == 201)
        #expect(await fixture.scim("POST", "/Users", token: beta.token, body: Self.user("alan")).status == 201)
        fixture.store.settleEvictions()
        #expect(fixture.store.residency().residentConnections == 1)

        let listed = try await fixture.service.listConnections()
        let counted = try #require(listed.first { $0.name == "Acme" })
        #expect(counted.users == 2 && counted.activeUsers == 1 && counted.groups == 1)
        #expect(try await fixture.service.getConnection("Acme").users == 2)
        // Still out of memory: counting did not load it.
        #expect(fixture.store.residency().residentConnections == 1)
        // Loaded, it counts the same from memory.
        _ = try await Self.userNames(fixture, token: acme.token)
        let resident = try await fixture.service.getConnection("Acme")
        #expect(resident.users == 2 && resident.activeUsers == 1 && resident.groups == 1)
    }

    @Test func withoutALimitNothingIsEvicted() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection("Acme")
        #expect(await fixture.scim("POST", "/Users", token: acme.token, body: Self.user("ada")).status == 201)
        #expect(fixture.store.enforceMemoryLimit().connections == 0)
        let residency = fixture.store.residency()
        #expect(residency.residentConnections == 1 && residency.limitBytes == nil && residency.residentBytes > 0)
    }

    @Test func aLimitAboveWhatIsResidentEvictsNothing() async throws {
        let fixture = try ServiceFixture(memoryLimit: 1 << 30)
        let acme = try await fixture.connection("Acme")
        let beta = try await fixture.connection("Beta")
        #expect(await fixture.scim("POST", "/Users", token: acme.token, body: Self.user("ada")).status == 201)
        #expect(await fixture.scim("POST", "/Users", token: beta.token, body: Self.user("alan")).status == 201)
        #expect(fixture.store.enforceMemoryLimit().connections == 0)
        #expect(fixture.store.residency().residentConnections == 2)
    }

    /// Evicting the connection a read has just loaded would make every read of a connection
    /// larger than the limit wait for a load: it stays, over the limit, until another is read.
    @Test func aConnectionLargerThanTheLimitStaysWhileItIsTheOneInUse() async throws {
        let fixture = try ServiceFixture(memoryLimit: 1)
        let acme = try await fixture.connection("Acme")
        for i in 0..<5 { #expect(await fixture.scim("POST", "/Users", token: acme.token, body: Self.user("user\(i)")).status == 201) }
        fixture.store.settleEvictions()
        #expect(fixture.store.enforceMemoryLimit().connections == 0)
        let residency = fixture.store.residency()
        #expect(residency.residentConnections == 1 && residency.residentBytes > residency.limitBytes ?? 0)
        #expect(try await Self.userNames(fixture, token: acme.token).count == 5)
    }

    @Test func theBackgroundLoadStopsAtTheLimitAndTheRestLoadOnTheirFirstRead() async throws {
        let service = try ReopenableService()
        var tokens: [String] = []
        for (n, name) in ["Acme", "Beta", "Cyberdyne"].enumerated() {
            let token = try await service.connection(name).token
            tokens.append(token)
            for i in 0...n {
                #expect(await service.scim("POST", "/Users", token: token, body: Self.user("\(name.lowercased())\(i)")).status == 201)
            }
        }
        try service.reopen(memoryLimit: 1)
        #expect(service.store.residency().residentConnections == 0)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            service.store.startLoadingResources(logger: Logger(label: "test")) { done.resume() }
        }
        // The first load finds nothing resident and loads; the rest find the limit reached.
        #expect(service.store.residency().residentConnections == 1)
        for (n, token) in tokens.enumerated() {
            let r = await service.scim("GET", "/Users", token: token)
            #expect(r.body?["totalResults"] == .int(n + 1))
        }
        try await ReplicaModelTests.expectReplicaMatchesDisk(service.store, "loads past the limit")
    }
}
