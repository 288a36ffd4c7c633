import Foundation
import SCIMDProtocol
@testable import SCIMDService
import SCIMJSON
import Testing

@Suite struct SCIMServiceTests {
    @Test func passwordsAreNeverStoredReturnedOrLogged() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim(
            "POST", "/Users", token: a.token, body: ["userName": "p@example.com", "password": "Hunter2-secret"])
        #expect(created.status == 201)
        #expect(created.body?["password"] == nil)
        let id = created.body?["id"]?.stringValue ?? ""
        _ = await fixture.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "password", "value": "Other-secret"]]])
        let fetched = await fixture.scim("GET", "/Users/\(id)", token: a.token)
        #expect(fetched.body?["password"] == nil)
        let logged = try await fixture.service.listRequests(.init(connection: "Acme"))
        var everything = ""
        for summary in logged.requests {
            let detail = try await fixture.service.getRequest(summary.id)
            everything += (detail.requestBody ?? "") + (detail.responseBody ?? "") + "\(detail.requestHeaders)"
        }
        #expect(!everything.contains("Hunter2-secret"))
        #expect(!everything.contains("Other-secret"))
        #expect(!everything.contains(a.token))
        #expect(everything.contains("[redacted]"))
        let raw = try String(contentsOfFile: fixture.store.path, encoding: .isoLatin1)
        #expect(!raw.contains("Hunter2-secret"))
    }

    @Test func aBodyWithoutASecretIsLoggedAsSentAndEverySpellingOfOneIsRedacted() throws {
        // No secret: the text as the IdP sent it, spacing and all (it is not parsed again).
        let plain = "{ \"userName\" : \"ada@example.com\",\n  \"title\": \"Passer-by\" }"
        #expect(Redaction.redact(plain) == plain)
        #expect(!Redaction.mayHoldSecret(plain))
        // Every way to name a password reaches the parse and comes out redacted.
        let secrets = [
            #"{"userName":"a","password":"s3cret-1"}"#,
            #"{"userName":"a","PassWord":"s3cret-1"}"#,
            #"{"userName":"a","pass\u0077ord":"s3cret-1"}"#,
            #"{"userName":"a","\u0050ASSWORD":"s3cret-1"}"#,
            #"{"urn:ietf:params:scim:schemas:extension:acme:2.0:User":{"vpnPassword":"s3cret-1"}}"#,
            #"{"Operations":[{"op":"replace","path":"PASSWORD","value":"s3cret-1"}]}"#,
        ]
        for body in secrets {
            #expect(Redaction.mayHoldSecret(body), "\(body)")
            let logged = Redaction.redact(body)
            #expect(!logged.contains("s3cret-1"), "\(body) logged as \(logged)")
            #expect(logged.contains("[redacted]"), "\(body) logged as \(logged)")
        }
        // Not JSON and naming a password: withheld whole. Not JSON and naming none: kept.
        #expect(Redaction.redact("password=s3cret-1") == "[unparseable body withheld: it mentions a password]")
        #expect(Redaction.redact("not json") == "not json")
    }

    @Test func largeResponseBodiesAreLoggedCutAt64KiB() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let padding = String(repeating: "é", count: 400)  // two UTF-8 bytes each: the cut must not split one
        for i in 0..<120 {
            _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("u\(i)"), "title": .string(padding)])
        }
        let page = await fixture.scim("GET", "/Users?count=120", token: a.token)
        #expect(page.status == 200)
        #expect(page.body?["Resources"]?.arrayValue?.count == 120)  // the client gets it whole
        let latest = try await fixture.service.listRequests(.init(connection: "Acme", limit: 1))
        let detail = try await fixture.service.getRequest(try #require(latest.requests.first).id)
        let logged = try #require(detail.responseBody)
        #expect(logged.contains("response body truncated in the log"))
        #expect(logged.utf8.count < 64 * 1024 + 100)
        #expect(logged.contains("urn:ietf:params:scim:api:messages:2.0:ListResponse"))
        // A small body is kept whole.
        let small = await fixture.scim("GET", "/Users?count=1", token: a.token)
        let smallLog = try await fixture.service.getRequest(try #require(try await fixture.service.listRequests(.init(connection: "Acme", limit: 1)).requests.first).id)
        #expect(smallLog.responseBody.flatMap { try? JSONParser().parse($0) } == small.body)
    }

    @Test func requestLogPagesNewestFirstAndFiltersByStatus() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        for i in 0..<5 { _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("u\(i)")]) }
        _ = await fixture.scim("GET", "/Users/missing", token: a.token)
        let first = try await fixture.service.listRequests(.init(connection: "Acme", limit: 4))
        #expect(first.requests.count == 4)
        #expect(first.requests.first?.status == 404)
        let cursor = try #require(first.nextCursor)
        let second = try await fixture.service.listRequests(.init(connection: "Acme", limit: 4, cursor: cursor))
        #expect(second.requests.count == 2)
        #expect(second.nextCursor == nil)
        #expect(Set(first.requests.map(\.id)).isDisjoint(with: second.requests.map(\.id)))
        let errors = try await fixture.service.listRequests(.init(connection: "Acme", status: "4xx"))
        #expect(errors.requests.map(\.status) == [404])
        await #expect(throws: RPCError.self) { try await fixture.service.listRequests(.init(connection: "Acme", status: "teapot")) }
        await #expect(throws: RPCError.self) { try await fixture.service.listRequests(.init(connection: "Acme", limit: 0)) }
        await #expect(throws: RPCError.self) { try await fixture.service.listRequests(.init(connection: "Acme", cursor: "x")) }
        await #expect(throws: RPCError.self) { try await fixture.service.getRequest(999_999) }
    }

    @Test func ifMatchMismatchIsRejectedWith412AndChangesNothing() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "e@example.com"])
        let id = created.body?["id"]?.stringValue ?? ""
        let etag = try #require(created.result.headers["ETag"])
        let stale = await fixture.scim(
            "PUT", "/Users/\(id)", token: a.token, body: ["userName": "e@example.com", "displayName": "X"],
            headers: ["If-Match": "W/\"999\""])
        #expect(stale.status == 412)
        let ok = await fixture.scim(
            "PUT", "/Users/\(id)", token: a.token, body: ["userName": "e@example.com", "displayName": "Y"], headers: ["If-Match": etag])
        #expect(ok.status == 200)
        #expect(ok.body?["displayName"] == "Y")
        #expect(ok.result.headers["ETag"] != etag)
        let notModified = await fixture.scim("GET", "/Users/\(id)", token: a.token, headers: ["If-None-Match": ok.result.headers["ETag"]!])
        #expect(notModified.status == 304)
        // If-Match holds for a GET too: a stale one is refused, the current one (or *) served.
        let staleRead = await fixture.scim("GET", "/Users/\(id)", token: a.token, headers: ["If-Match": etag])
        #expect(staleRead.status == 412)
        #expect(await fixture.scim("GET", "/Users/\(id)", token: a.token, headers: ["If-Match": ok.result.headers["ETag"]!]).status == 200)
        #expect(await fixture.scim("GET", "/Users/\(id)", token: a.token, headers: ["If-Match": "*"]).status == 200)
    }

    @Test func racingGroupPatchesNeverLoseAMember() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let group = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "Everyone"])
        let groupId = group.body?["id"]?.stringValue ?? ""
        var userIds: [String] = []
        for i in 0..<20 {
            let u = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("m\(i)")])
            userIds.append(u.body?["id"]?.stringValue ?? "")
        }
        await withTaskGroup(of: Void.self) { tasks in
            for id in userIds {
                tasks.addTask {
                    _ = await fixture.scim(
                        "PATCH", "/Groups/\(groupId)", token: a.token,
                        body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "add", "path": "members", "value": [["value": .string(id)]]]]])
                }
            }
        }
        let final = await fixture.scim("GET", "/Groups/\(groupId)", token: a.token)
        let members = Set((final.body?["members"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue })
        #expect(members == Set(userIds))
        let user = await fixture.scim("GET", "/Users/\(userIds[0])", token: a.token)
        #expect(user.body?["groups"]?.arrayValue?.first?["value"]?.stringValue == groupId)
    }

    @Test func routingErrorsAreSCIMErrors() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let unknown = await fixture.scim("GET", "/Widgets", token: a.token)
        #expect(unknown.status == 404)
        #expect(unknown.body?["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
        let notAllowed = await fixture.scim("DELETE", "/Users", token: a.token)
        #expect(notAllowed.status == 405)
        #expect(notAllowed.result.headers["Allow"] == "GET, POST")
        let invalid = await fixture.service.handleSCIM(
            .init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: "{\"userName\": "))
        #expect(invalid.status == 400)
        let parsed = try JSONParser().parse(invalid.body ?? "")
        #expect(parsed["scimType"] == "invalidSyntax")
        let scalar = await fixture.service.handleSCIM(
            .init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], body: "42"))
        #expect(scalar.status == 400)
        let prefixed = await fixture.scim("GET", "/scim/v2/ServiceProviderConfig", token: a.token)
        #expect(prefixed.status == 200)
        #expect(prefixed.body?["patch"]?["supported"] == true)
    }

    @Test func changesDescribeWhatARequestDid() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "c@example.com"])
        #expect(created.result.changes.map(\.change) == ["created"])
        let id = created.body?["id"]?.stringValue ?? ""
        let off = await fixture.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "value": ["active": false]]]])
        #expect(off.result.changes.map(\.change) == ["deactivated"])
        let on = await fixture.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "active", "value": true]]])
        #expect(on.result.changes.map(\.change) == ["reactivated"])
        let deleted = await fixture.scim("DELETE", "/Users/\(id)", token: a.token)
        #expect(deleted.status == 204)
        #expect(deleted.result.changes.map(\.change) == ["deleted"])
    }

    @Test func unindexedFilterPagesAndSorts() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        for name in ["p3", "p1", "q9", "p5", "p2", "p4"] {
            _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("\(name)@example.com"), "title": .string(name)])
        }
        let page = await fixture.scim("GET", "/Users?filter=title%20sw%20%22p%22&startIndex=2&count=2", token: a.token)
        #expect(page.body?["totalResults"] == 5)
        #expect(page.body?["itemsPerPage"] == 2)
        #expect(page.body?["Resources"]?.arrayValue?.compactMap { $0["title"]?.stringValue } == ["p1", "p5"])
        let sorted = await fixture.scim("GET", "/Users?filter=title%20sw%20%22p%22&sortBy=title&sortOrder=descending&startIndex=2&count=2", token: a.token)
        #expect(sorted.body?["Resources"]?.arrayValue?.compactMap { $0["title"]?.stringValue } == ["p4", "p3"])
        let beyond = await fixture.scim("GET", "/Users?filter=title%20sw%20%22p%22&startIndex=9", token: a.token)
        #expect(beyond.body?["totalResults"] == 5)
        #expect(beyond.body?["Resources"]?.arrayValue?.isEmpty == true)
    }

    /// A connection large enough for the scan to be split over the cores gives the same count and
    /// the same page, in list order, as a sequential scan would: every third user matches, and the
    /// pages straddle the slices' boundary.
    @Test func aScanSplitOverTheCoresKeepsListOrder() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let users = 2_400
        #expect(users >= SCIMEndpoint.parallelScanMinimum)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in stride(from: worker, to: users, by: 8) {
                        let created = await fixture.scim(
                            "POST", "/Users", token: a.token,
                            body: ["userName": .string("u\(i)@example.com"), "title": .string(i % 3 == 0 ? "match" : "other"), "nickName": .string("\(i)")])
                        #expect(created.status == 201)
                    }
                }
            }
            try await group.waitForAll()
        }
        // List order is creation order; the matches, in it, are the users whose title is "match".
        var expected: [String] = []
        var startIndex = 1
        while true {
            let page = await fixture.scim("GET", "/Users?startIndex=\(startIndex)&count=1000", token: a.token)
            let resources = page.body?["Resources"]?.arrayValue ?? []
            if resources.isEmpty { break }
            expected += resources.filter { $0["title"]?.stringValue == "match" }.compactMap { $0["nickName"]?.stringValue }
            startIndex += resources.count
        }
        #expect(expected.count == users / 3)
        for (start, count) in [(1, 10), (395, 10), (401, 5), (790, 20), (801, 50)] {
            let page = await fixture.scim("GET", "/Users?filter=title%20eq%20%22match%22&startIndex=\(start)&count=\(count)", token: a.token)
            #expect(page.body?["totalResults"] == .int(users / 3))
            let got = page.body?["Resources"]?.arrayValue?.compactMap { $0["nickName"]?.stringValue } ?? []
            #expect(got == Array(expected.dropFirst(start - 1).prefix(count)), "startIndex \(start)")
            // Page resources are rendered whole: id, meta and the stored members all there.
            #expect(page.body?["Resources"]?.arrayValue?.allSatisfy { $0["id"] != nil && $0["meta"] != nil && $0["userName"] != nil } == true)
        }
        // Filters reading what rendering adds (`meta`, `id`, `schemas`) see it on each resource of
        // the split scan, rendered around just the members they read.
        let filters = [
            #"meta.resourceType eq "User" and title eq "match""#, #"meta.version eq "W/\"1\"" and title eq "match""#,
            #"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User" and title eq "match""#,
            #"meta.lastModified gt "2001-01-01T00:00:00Z" and not (title ne "match")"#, #"id pr and title eq "match""#,
        ]
        for filter in filters {
            let query = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let page = await fixture.scim("GET", "/Users?filter=\(query)&startIndex=395&count=10", token: a.token)
            #expect(page.body?["totalResults"] == .int(users / 3), "\(filter)")
            let got = page.body?["Resources"]?.arrayValue?.compactMap { $0["nickName"]?.stringValue } ?? []
            #expect(got == Array(expected.dropFirst(394).prefix(10)), "\(filter)")
            #expect(page.body?["Resources"]?.arrayValue?.allSatisfy { $0["meta"] != nil && $0["userName"] != nil } == true)
        }
        let none = await fixture.scim("GET", "/Users?filter=meta.lastModified%20lt%20%222001-01-01T00%3A00%3A00Z%22", token: a.token)
        #expect(none.body?["totalResults"] == 0)
    }
}
