import Foundation
import GRDB
import SCIMDProtocol
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

@Suite struct ConnectionTests {
    @Test func createReturnsTokenOnceAndStoresOnlyItsHash() async throws {
        let fixture = try ServiceFixture()
        let created = try await fixture.connection("Acme")
        #expect(created.token.hasPrefix("scimd_"))
        #expect(created.token.count >= 6 + 43)  // 256 bits in base64url
        #expect(created.connection.users == 0)
        let raw = try await fixture.store.readDatabase { db in
            try String.fetchAll(db, sql: "SELECT hex(tokenHash) FROM connection")
        }
        #expect(raw.count == 1)
        #expect(raw[0].count == 64)
        let dump = try String(contentsOfFile: fixture.store.path, encoding: .isoLatin1)
        #expect(!dump.contains(created.token))
    }

    @Test func nameMustBeUniqueAndNonEmpty() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection("Acme")
        await #expect(throws: RPCError.self) { try await fixture.service.createConnection(.init(name: "Acme")) }
        do {
            _ = try await fixture.service.createConnection(.init(name: "  "))
            Issue.record("blank name accepted")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params")
            #expect(error.data?.field == "name")
        }
        do {
            _ = try await fixture.service.createConnection(.init(name: "Acme"))
        } catch let error as RPCError {
            #expect(error.kind == "conflict")
        }
    }

    @Test func unknownConnectionIsNotFound() async throws {
        let fixture = try ServiceFixture()
        do {
            _ = try await fixture.service.getConnection("nope")
            Issue.record("expected not_found")
        } catch let error as RPCError {
            #expect(error.kind == "not_found")
            #expect(error.code == .notFound)
        }
        await #expect(throws: RPCError.self) { try await fixture.service.deleteConnection("nope") }
        await #expect(throws: RPCError.self) { try await fixture.service.updateConnection(.init(connection: "nope", name: "x")) }
        await #expect(throws: RPCError.self) { try await fixture.service.rotateToken(.init(connection: "nope")) }
    }

    /// A name is found as written, else ignoring case when exactly one connection matches; when
    /// several differ from it only in case, the error names them instead of saying none exists.
    @Test func aNameMatchingSeveralOnlyInCaseSaysSo() async throws {
        let fixture = try ServiceFixture()
        let upper = try await fixture.connection("Acme")
        #expect(try await fixture.service.getConnection("ACME").id == upper.connection.id)
        let lower = try await fixture.connection("acme")
        #expect(try await fixture.service.getConnection("acme").id == lower.connection.id)
        #expect(try await fixture.service.getConnection("Acme").id == upper.connection.id)
        do {
            _ = try await fixture.service.getConnection("ACME")
            Issue.record("expected not_found")
        } catch let error as RPCError {
            #expect(error.kind == "not_found")
            #expect(error.message.contains("'Acme', 'acme'"), "\(error.message)")
            #expect(error.message.contains("only in case"), "\(error.message)")
        }
    }

    @Test func tokenReachesOnlyItsOwnConnection() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        let b = try await fixture.connection("B")
        let created = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "alice@example.com"])
        #expect(created.status == 201)
        let id = created.body?["id"]?.stringValue ?? ""
        #expect(await fixture.scim("GET", "/Users/\(id)", token: a.token).status == 200)
        #expect(await fixture.scim("GET", "/Users/\(id)", token: b.token).status == 404)
        let listB = await fixture.scim("GET", "/Users", token: b.token)
        #expect(listB.body?["totalResults"] == 0)
        #expect(await fixture.scim("DELETE", "/Users/\(id)", token: b.token).status == 404)
        #expect(await fixture.scim("GET", "/Users/\(id)", token: a.token).status == 200)
    }

    @Test func missingWrongAndDisabledTokensAreRefused() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        let missing = await fixture.scim("GET", "/Users", token: nil)
        #expect(missing.status == 401)
        #expect(missing.result.headers["WWW-Authenticate"] != nil)
        #expect(missing.body?["status"] == "401")
        #expect(await fixture.scim("GET", "/Users", token: a.token + "x").status == 401)
        _ = try await fixture.service.updateConnection(.init(connection: a.connection.id, disabled: true))
        let disabled = await fixture.scim("GET", "/Users", token: a.token)
        #expect(disabled.status == 403)
        _ = try await fixture.service.updateConnection(.init(connection: a.connection.id, disabled: false))
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 200)
    }

    /// A disabled connection's IdP that still calls shows in that connection's request log and
    /// counters: an operator sees the 403s without reading the daemon's log. Requests no
    /// connection can be named for (a missing or unknown token) are only in the daemon's log.
    @Test func requestsRefusedForADisabledConnectionAreInItsRequestLog() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        _ = await fixture.scim("GET", "/Users", token: a.token + "x")
        _ = try await fixture.service.updateConnection(.init(connection: a.connection.id, disabled: true))
        #expect(await fixture.scim("GET", "/Users?filter=userName%20eq%20%22x%22", token: a.token).status == 403)
        #expect(await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "late@example.com"]).status == 403)
        let byConnection = await fixture.service.handleSCIM(.init(method: "GET", path: "/Users", connection: "A"))
        #expect(byConnection.status == 403)
        let logged = try await fixture.service.listRequests(.init(connection: "A"))
        #expect(logged.requests.map(\.status) == [403, 403, 403])
        #expect(Set(logged.requests.map(\.method)) == ["GET", "POST"])
        let detail = try await fixture.service.getRequest(try #require(logged.requests.first { $0.method == "POST" }).id)
        #expect(detail.requestBody?.contains("late@example.com") == true)
        #expect(detail.responseBody?.contains("disabled") == true)
        let info = try await fixture.service.getConnection("A")
        #expect(info.requests24h == 3)
        #expect(info.errors24h == 3)
        // Nothing of the refused create was applied.
        _ = try await fixture.service.updateConnection(.init(connection: "A", disabled: false))
        #expect(await fixture.scim("GET", "/Users", token: a.token).body?["totalResults"] == 0)
    }

    @Test func rotationWithoutOverlapStopsTheOldTokenAtOnce() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        let rotated = try await fixture.service.rotateToken(.init(connection: "A"))
        #expect(rotated.token != a.token)
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 401)
        #expect(await fixture.scim("GET", "/Users", token: rotated.token).status == 200)
    }

    @Test func rotationOverlapKeepsTheOldTokenUntilItExpires() async throws {
        let now = Box(Milliseconds(1_000_000))
        let fixture = try ServiceFixture(clock: Clock { now.value })
        let a = try await fixture.connection("A")
        let rotated = try await fixture.service.rotateToken(.init(connection: a.connection.id, overlapSeconds: 60))
        #expect(rotated.connection.previousTokenExpiresAt != nil)
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 200)
        #expect(await fixture.scim("GET", "/Users", token: rotated.token).status == 200)
        now.mutate { $0 += 61_000 }
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 401)
        #expect(await fixture.scim("GET", "/Users", token: rotated.token).status == 200)
        await #expect(throws: RPCError.self) { try await fixture.service.rotateToken(.init(connection: "A", overlapSeconds: -1)) }
    }

    @Test func deleteRemovesEverythingTheConnectionHolds() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "u1"])
        _ = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "g1"])
        let result = try await fixture.service.deleteConnection("A")
        #expect(result.users == 1 && result.groups == 1)
        let counts = try await fixture.store.readDatabase { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resource")!, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM requestLog")!)
        }
        #expect(counts.0 == 0 && counts.1 == 0)
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 401)
    }

    @Test func connectionsSurviveARestart() async throws {
        let fixture = try ReopenableService()
        let a = try await fixture.connection("Persisted")
        let b = try await fixture.connection("Disabled")
        _ = try await fixture.service.updateConnection(.init(connection: "Disabled", disabled: true))
        let rotated = try await fixture.service.rotateToken(.init(connection: "Persisted", overlapSeconds: 3600))
        #expect(await fixture.scim("POST", "/Users", token: rotated.token, body: ["userName": "kept@example.com"]).status == 201)
        try fixture.reopen()
        let list = try await fixture.service.listConnections()
        #expect(list.map(\.name) == ["Disabled", "Persisted"])
        #expect(list.first { $0.name == "Persisted" }?.users == 1)
        #expect(await fixture.scim("GET", "/Users", token: a.token).status == 200, "the previous token, inside its overlap")
        #expect(await fixture.scim("GET", "/Users", token: rotated.token).status == 200)
        #expect(await fixture.scim("GET", "/Users", token: b.token).status == 403)
        let found = await fixture.scim("GET", "/Users?filter=userName%20eq%20%22kept@example.com%22", token: rotated.token)
        #expect(found.body?["totalResults"] == 1)
    }

    @Test func dashboardCountersFollowTraffic() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "u1"])
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "u2", "active": false])
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "U1"])  // 409
        let info = try await fixture.service.getConnection("A")
        #expect(info.users == 2)
        #expect(info.activeUsers == 1)
        #expect(info.requests24h == 3)
        #expect(info.errors24h == 1)
        #expect(info.lastRequestStatus == 409)
    }
}


@Suite struct StoreLockTests {
    @Test func aSecondStoreOnTheSameDatabaseIsRefused() throws {
        let fixture = try ServiceFixture()
        #expect(throws: StoreError.self) { try Store(path: fixture.store.path) }
    }
}
