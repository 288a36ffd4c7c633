import Foundation
import SCIMDProtocol
@testable import SCIMDService
import SCIMJSON
import Testing

/// `handleSCIMImmediately` answers on the event loop what needs no waiting, exactly as
/// `handleSCIM` would, and declines (with nothing logged or counted) everything else.
@Suite struct ImmediateSCIMTests {
    func params(_ method: String, _ path: String, token: String?, body: JSONValue? = nil) -> SCIMHandle.Params {
        .init(method: method, path: path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:], body: body.map(JSONSerializer.string))
    }

    /// The answer without its `X-Request-Id`, which differs per request by design.
    func comparable(_ result: SCIMHandle.Result) -> (Int, [String: String], String?) {
        var headers = result.headers
        headers["X-Request-Id"] = nil
        return (result.status, headers, result.body)
    }

    @Test func indexedReadsAreAnsweredAsTheTaskWouldAnswerThem() async throws {
        let fixture = try ServiceFixture()
        let acme = try await fixture.connection()
        let created = await fixture.scim("POST", "/Users", token: acme.token, body: ["userName": "ada@example.com", "externalId": "e-1"])
        let id = try #require(created.body?["id"]?.stringValue)
        _ = await fixture.scim("POST", "/Groups", token: acme.token, body: ["displayName": "Eng", "members": [["value": .string(id)]]])
        let reads = [
            "/Users/\(id)", "/Users?filter=userName%20eq%20%22ADA@example.com%22", "/Users?filter=externalId%20eq%20%22e-1%22",
            "/Users", "/Users?startIndex=1&count=1", "/Users/\(id)?attributes=userName", "/Users/no-such-id",
            "/ServiceProviderConfig", "/Schemas", "/ResourceTypes/User", "/Users?filter=userName%20eq", "/Nowhere",
            "/Groups?filter=displayName%20eq%20%22Eng%22&excludedAttributes=members",
        ]
        for path in reads {
            let immediate = try #require(fixture.service.handleSCIMImmediately(params("GET", path, token: acme.token)), "\(path)")
            let waited = await fixture.service.handleSCIM(params("GET", path, token: acme.token))
            #expect(comparable(immediate) == comparable(waited), "\(path)")
            #expect(immediate.headers["X-Request-Id"] != nil)
        }
        // Each answered read was logged once, as the task's were.
        let logged = try await fixture.service.listRequests(.init(connection: "Acme", method: "GET", limit: 100))
        #expect(logged.requests.count == reads.count * 2)
    }

    @Test func refusalsAreAnsweredAtOnce() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let missing = try #require(fixture.service.handleSCIMImmediately(params("GET", "/Users", token: nil)))
        #expect(missing.status == 401)
        #expect(missing.headers["WWW-Authenticate"] != nil)
        let wrong = try #require(fixture.service.handleSCIMImmediately(params("GET", "/Users", token: "not-a-token")))
        #expect(wrong.status == 401)
        let unknown = try #require(
            fixture.service.handleSCIMImmediately(.init(method: "GET", path: "/Users", headers: [:], body: nil, connection: "Nobody")))
        #expect(unknown.status == 404)
    }

    @Test func changesScansAndConnectionsNotInMemoryAreLeftToTheTask() async throws {
        let fixture = try ReopenableService()
        let acme = try await fixture.connection()
        let before = await fixture.service.counters().scimRequests
        for (method, path) in [("POST", "/Users"), ("PUT", "/Users/x"), ("PATCH", "/Users/x"), ("DELETE", "/Users/x"), ("POST", "/Users/.search")] {
            #expect(fixture.service.handleSCIMImmediately(params(method, path, token: acme.token, body: ["userName": "x"])) == nil, "\(method) \(path)")
        }
        // A filter no index serves scans, off the event loop.
        #expect(fixture.service.handleSCIMImmediately(params("GET", "/Users?filter=title%20eq%20%22x%22", token: acme.token)) == nil)
        #expect(fixture.service.handleSCIMImmediately(params("GET", "/Users?sortBy=userName", token: acme.token)) == nil)
        // Declining counts nothing and logs nothing.
        #expect(await fixture.service.counters().scimRequests == before)
        #expect(try await fixture.service.listRequests(.init(connection: "Acme")).requests.isEmpty)

        _ = await fixture.scim("POST", "/Users", token: acme.token, body: ["userName": "ada@example.com"])
        try fixture.reopen()
        // After a restart the connection is loaded by the first request that needs it, which waits.
        let lookup = "/Users?filter=userName%20eq%20%22ada@example.com%22"
        #expect(fixture.service.handleSCIMImmediately(params("GET", lookup, token: acme.token)) == nil)
        #expect(await fixture.scim("GET", lookup, token: acme.token).body?["totalResults"] == 1)
        let immediate = try #require(fixture.service.handleSCIMImmediately(params("GET", lookup, token: acme.token)))
        #expect(try JSONParser().parse(immediate.body ?? "")["totalResults"] == 1)
    }
}
