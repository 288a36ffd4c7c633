import Foundation
import GRDB
import SCIMDProtocol
@testable import SCIMDStore
import SCIMDService
import SCIMJSON
import Testing

/// Hostile and malformed SCIM input: each gets a clear SCIM error, nothing is half-applied, and
/// the connection keeps serving.
@Suite struct HostileInputTests {
    static let patchSchema: JSONValue = ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]

    func scimType(_ r: (status: Int, body: JSONValue?, result: SCIMHandle.Result)) -> String? {
        r.body?["scimType"]?.stringValue
    }

    @Test func bodiesThatAreNotObjects() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        for body in ["[]", "[{\"userName\":\"x\"}]", "\"text\"", "null", "true", "{\"userName\": \"a\", \"userName\": \"b\"}", "{\"a\":" + String(repeating: "[", count: 5_000)] {
            let r = await f.service.handleSCIM(.init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: body))
            #expect(r.status == 400, "\(body.prefix(40))")
            #expect(try JSONParser().parse(r.body ?? "{}")["scimType"] == "invalidSyntax", "\(body.prefix(40))")
        }
        #expect(try await f.service.getConnection("Acme").users == 0)
        #expect(await f.scim("GET", "/Users", token: a.token).status == 200)
    }

    /// No body, or only white space (ASCII or Unicode: a no-break space, a line separator), is
    /// "needs a JSON body"; a body with anything else in it goes on to the JSON parser.
    @Test func blankBodiesNeedABody() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        for body in [nil, "", " ", "\r\n\t ", "\u{00A0}\u{2028}", " \u{3000}\n"] as [String?] {
            let r = await f.service.handleSCIM(.init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: body))
            #expect(r.status == 400, "\(String(describing: body))")
            #expect(try JSONParser().parse(r.body ?? "{}")["detail"] == "the request needs a JSON body", "\(String(describing: body))")
        }
        let notJSON = await f.service.handleSCIM(.init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: " \u{00A0}x"))
        #expect(notJSON.status == 400)
        #expect(try JSONParser().parse(notJSON.body ?? "{}")["detail"]?.stringValue?.hasPrefix("request body is not valid JSON") == true)
        #expect(try await f.service.getConnection("Acme").users == 0)
    }

    @Test func giantAndDeeplyNestedFilters() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let giant = "userName eq \"" + String(repeating: "a", count: 20_000) + "\""
        let deep = String(repeating: "(", count: 1_000) + "userName eq \"a\"" + String(repeating: ")", count: 1_000)
        let notChain = String(repeating: "not (", count: 1_000) + "active eq true" + String(repeating: ")", count: 1_000)
        for filter in [giant, deep, notChain] {
            let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let r = await f.scim("GET", "/Users?filter=\(encoded)", token: a.token)
            #expect(r.status == 400)
            #expect(scimType(r) == "invalidFilter")
        }
        let search = await f.scim("POST", "/Users/.search", token: a.token, body: ["filter": .string(deep)])
        #expect(search.status == 400)
    }

    @Test func patchWithTenThousandOperationsIsRefusedWhole() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let u = await f.scim("POST", "/Users", token: a.token, body: ["userName": "p@example.com"])
        let id = u.body?["id"]?.stringValue ?? ""
        let ops: [JSONValue] = (0..<10_000).map { i in ["op": "replace", "path": "displayName", "value": .string("v\(i)")] }
        let r = await f.scim("PATCH", "/Users/\(id)", token: a.token, body: ["schemas": Self.patchSchema, "Operations": .array(ops)])
        #expect(r.status == 400)
        #expect(scimType(r) == "tooMany")
        #expect(await f.scim("GET", "/Users/\(id)", token: a.token).body?["displayName"] == nil)
    }

    @Test func aFailingOperationLeavesNothingApplied() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let u = await f.scim("POST", "/Users", token: a.token, body: ["userName": "atomic@example.com", "title": "before"])
        let id = u.body?["id"]?.stringValue ?? ""
        let r = await f.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": Self.patchSchema, "Operations": [
                ["op": "replace", "path": "title", "value": "after"], ["op": "replace", "path": "active", "value": "sometimes"],
            ]])
        #expect(r.status == 400)
        let now = await f.scim("GET", "/Users/\(id)", token: a.token)
        #expect(now.body?["title"] == "before")
        #expect(now.result.headers["ETag"] == u.result.headers["ETag"])
    }

    @Test func pathsIntoExtensionsThatDoNotExist() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let u = await f.scim("POST", "/Users", token: a.token, body: ["userName": "x@example.com"])
        let id = u.body?["id"]?.stringValue ?? ""
        let removeMissing = await f.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": Self.patchSchema, "Operations": [["op": "remove", "path": "urn:example:params:scim:schemas:extension:nothing:2.0:User:field"]]])
        #expect(removeMissing.status == 200 || removeMissing.status == 400)
        #expect(removeMissing.status != 500)
        let bad = await f.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": Self.patchSchema, "Operations": [["op": "replace", "path": "urn:bad urn:x", "value": "v"]]])
        #expect(bad.status == 400)
        #expect(scimType(bad) == "invalidPath")
    }

    @Test func userNamesDifferingOnlyInCaseOrNormalizationCollide() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let composed = "J\u{00F6}rg@example.com"  // ö as one scalar
        let decomposed = "J\u{006F}\u{0308}rg@example.com"  // o + combining diaeresis
        #expect(await f.scim("POST", "/Users", token: a.token, body: ["userName": .string(composed)]).status == 201)
        let second = await f.scim("POST", "/Users", token: a.token, body: ["userName": .string(decomposed)])
        #expect(second.status == 409)
        #expect(scimType(second) == "uniqueness")
        let upper = await f.scim("POST", "/Users", token: a.token, body: ["userName": .string(composed.uppercased())])
        #expect(upper.status == 409)
        let found = await f.scim("GET", "/Users?filter=userName%20eq%20%22\(decomposed.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)%22", token: a.token)
        #expect(found.body?["totalResults"] == 1)
    }

    @Test func idsThatLookLikePaths() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let u = await f.scim("POST", "/Users", token: a.token, body: ["userName": "victim@example.com"])
        let id = u.body?["id"]?.stringValue ?? ""
        // A path with more segments is no endpoint (404); an id that is not a user's is not found
        // (404); a NUL is refused like everywhere else (400).
        for (path, status) in [
            ("/Users/../Groups", 404), ("/Users/%2E%2E%2FGroups", 404), ("/Users/\(id)%2F..", 404), ("/Users/..%2F\(id)", 404),
            ("/Users/%00", 400), ("/Users/a/b/c", 404),
        ] {
            let r = await f.scim("DELETE", path, token: a.token)
            #expect(r.status == status, "\(path) → \(r.status)")
        }
        #expect(await f.scim("GET", "/Users/\(id)", token: a.token).status == 200)
    }

    @Test func sqlMetacharactersAreJustData() async throws {
        let f = try ServiceFixture()
        let evil = "x'); DROP TABLE resource; --\" OR 1=1 /*"
        let a = try await f.service.createConnection(.init(name: evil, customerId: evil, idp: evil))
        let created = await f.scim(
            "POST", "/Users", token: a.token, body: ["userName": .string(evil), "externalId": .string(evil), "displayName": .string(evil)])
        #expect(created.status == 201)
        let id = created.body?["id"]?.stringValue ?? ""
        let filter = "userName eq \"\(evil.replacingOccurrences(of: "\"", with: "\\\""))\" or externalId eq \"\(evil.replacingOccurrences(of: "\"", with: "\\\""))\""
        let listed = await f.scim("GET", "/Users?filter=\(filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", token: a.token)
        #expect(listed.body?["totalResults"] == 1)
        #expect(await f.scim("GET", "/Users/\(id)%27%20OR%201=1", token: a.token).status == 404)
        #expect(try await f.service.getConnection(evil).users == 1)
        #expect(try await f.service.listUsers(.init(connection: evil, filter: filter)).users.count == 1)
        _ = try await f.service.linkUser(.init(connection: evil, id: evil, appUserId: evil))
        #expect(try await f.service.resolveSSO(.init(connection: evil, claims: ["email": .string(evil)])).verdict == "allow")
        let tables = try await f.store.readDatabase { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(tables.contains("resource"))
    }

    @Test func hugeNumbersAndOddJSON() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let bodies = [
            #"{"userName":"n1@example.com","x":1e400}"#,  // out of range
            #"{"userName":"n2@example.com","x":123456789012345678901234567890}"#,  // big but finite: kept as a double
            #"{"userName":"n3@example.com","x":-0.0000000000000000000001}"#,
            #"{"userName":"\ud800"}"#,  // lone surrogate
        ]
        let statuses = await withTaskGroup(of: Int.self, returning: [Int].self) { group in
            for body in bodies {
                group.addTask {
                    await f.service.handleSCIM(.init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: body)).status
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.sorted() == [201, 201, 400, 400])
    }

    @Test func oversizedBodyIs413() async throws {
        let f = try ServiceFixture(configuration: ServiceConfiguration(maxBodyBytes: 2_048))
        let a = try await f.connection()
        let r = await f.scim("POST", "/Users", token: a.token, body: ["userName": "big", "title": .string(String(repeating: "x", count: 4_000))])
        #expect(r.status == 413)
        #expect(r.body?["status"] == "413")
    }

    @Test func tokenOfOneConnectionNeverReachesAnother() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection("A")
        let b = try await f.connection("B")
        let bUser = await f.scim("POST", "/Users", token: b.token, body: ["userName": "b-user@example.com"])
        let bGroup = await f.scim("POST", "/Groups", token: b.token, body: ["displayName": "B team"])
        let bUserId = bUser.body?["id"]?.stringValue ?? ""
        let bGroupId = bGroup.body?["id"]?.stringValue ?? ""
        // Every verb on every B resource with A's token: 404, nothing changes.
        for (path, type) in [("/Users/\(bUserId)", "User"), ("/Groups/\(bGroupId)", "Group")] {
            #expect(await f.scim("GET", path, token: a.token).status == 404)
            #expect(await f.scim("PUT", path, token: a.token, body: type == "User" ? ["userName": "stolen"] : ["displayName": "stolen"]).status == 404)
            #expect(await f.scim("PATCH", path, token: a.token, body: ["schemas": Self.patchSchema, "Operations": [["op": "replace", "path": "displayName", "value": "x"]]]).status == 404)
            #expect(await f.scim("DELETE", path, token: a.token).status == 404)
        }
        for path in ["/Users", "/Groups", "/Users?filter=userName%20eq%20%22b-user@example.com%22", "/Groups?filter=displayName%20eq%20%22B%20team%22"] {
            #expect(await f.scim("GET", path, token: a.token).body?["totalResults"] == 0, "\(path)")
        }
        let search = await f.scim("POST", "/.search", token: a.token, body: ["filter": "userName pr or displayName pr"])
        #expect(search.body?["totalResults"] == 0)
        // A's requests never land in B's request log, and B's data is intact.
        let bLog = try await f.service.listRequests(.init(connection: "B"))
        #expect(bLog.requests.count == 2)
        #expect(await f.scim("GET", "/Users/\(bUserId)", token: b.token).body?["userName"] == "b-user@example.com")
        #expect(await f.scim("GET", "/Groups/\(bGroupId)", token: b.token).body?["displayName"] == "B team")
        // Creating with A's token a userName B already has is fine: uniqueness is per connection.
        #expect(await f.scim("POST", "/Users", token: a.token, body: ["userName": "b-user@example.com"]).status == 201)
    }
}
