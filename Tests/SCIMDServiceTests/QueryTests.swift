import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

@Suite struct QueryTests {
    /// 7 users (2 inactive, 3 without email → warnings) and a group of 4.
    func populated() async throws -> (ServiceFixture, [String], String) {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        var ids: [String] = []
        for i in 0..<7 {
            var body: JSONObject = ["userName": .string("user\(i)@example.com"), "active": .bool(i % 3 != 2)]
            if i >= 3 { body["emails"] = [["value": .string("user\(i)@example.com"), "primary": true]] }
            let r = await fixture.scim("POST", "/Users", token: a.token, body: .object(body))
            ids.append(r.body?["id"]?.stringValue ?? "")
        }
        let g = await fixture.scim(
            "POST", "/Groups", token: a.token,
            body: ["displayName": "Team", "members": .array(ids.prefix(4).map { ["value": .string($0)] })])
        return (fixture, ids, g.body?["id"]?.stringValue ?? "")
    }

    @Test func usersListPagesInCreationOrderWithoutOverlap() async throws {
        let (fixture, ids, _) = try await populated()
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try await fixture.service.listUsers(.init(connection: "Acme", limit: 3, cursor: cursor))
            #expect(page.users.count <= 3)
            seen += page.users.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == ids)
    }

    @Test func usersListFilters() async throws {
        let (fixture, ids, _) = try await populated()
        let warned = try await fixture.service.listUsers(.init(connection: "Acme", withWarnings: true))
        #expect(warned.users.map(\.id) == Array(ids.prefix(3)))
        #expect(warned.users.allSatisfy { $0.warningCount == 1 })
        let inactive = try await fixture.service.listUsers(.init(connection: "Acme", active: false))
        #expect(inactive.users.map(\.id) == [ids[2], ids[5]])
        let filtered = try await fixture.service.listUsers(.init(connection: "Acme", filter: #"userName sw "user1" or userName eq "USER4@example.com""#))
        #expect(filtered.users.map(\.id) == [ids[1], ids[4]])
        let byGroup = try await fixture.service.listUsers(.init(connection: "Acme", filter: #"groups[display eq "Team"]"#))
        #expect(byGroup.users.map(\.id) == Array(ids.prefix(4)))
        do {
            _ = try await fixture.service.listUsers(.init(connection: "Acme", filter: #"userName eq "unterminated"#))
            Issue.record("bad filter accepted")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params")
            #expect(error.data?.field == "filter")
        }
        await #expect(throws: RPCError.self) { try await fixture.service.listUsers(.init(connection: "Acme", limit: 0)) }
        await #expect(throws: RPCError.self) { try await fixture.service.listUsers(.init(connection: "Acme", cursor: "nope")) }
        await #expect(throws: RPCError.self) { try await fixture.service.listUsers(.init(connection: "Nope")) }
    }

    @Test func searchFindsUsersByTheStartOfTheirNameTheirExternalIdOrEmail() async throws {
        let f = try ServiceFixture()
        let c = try await f.connection()
        let people: [JSONValue] = [
            ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Élodie.Martin", "displayName": "Élodie Martin",
             "externalId": "00uAB", "emails": [["value": "elodie@corp.example"]]],
            ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "emp-2041", "displayName": "Mark Élan",
             "externalId": "00uCD", "emails": [["value": "mark@corp.example", "primary": true]]],
            ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "zoe", "externalId": "00uab"],
        ]
        for person in people { #expect(await f.scim("POST", "/Users", token: c.token, body: person).status == 201) }
        func names(_ search: String) async throws -> [String] {
            try await f.service.listUsers(.init(connection: "Acme", search: search)).users.map(\.userName).sorted()
        }
        #expect(try await names("élodie") == ["Élodie.Martin"], "userName prefix, case folded")
        #expect(try await names("E\u{301}LODIE") == ["Élodie.Martin"], "and Unicode normalization folded")
        #expect(try await names("mark é") == ["emp-2041"], "displayName prefix")
        #expect(try await names("00uab") == ["zoe"], "externalId exactly")
        #expect(try await names("mark@corp") == ["emp-2041"], "an email prefix, when the text has an @")
        #expect(try await names("corp.example") == [], "not the middle of an email")
        #expect(try await names("   ").count == 3, "blank is no search")
        #expect(try await f.service.listUsers(.init(connection: "Acme", search: "e", active: false)).users.isEmpty, "combines with the other conditions")
        let groups = try await f.service.listGroups(.init(connection: "Acme", search: "x"))
        #expect(groups.groups.isEmpty)
    }

    @Test func requestsListFiltersByMethodResourceTypeAndTimeRange() async throws {
        let f = try ServiceFixture()
        let c = try await f.connection()
        let created = await f.scim("POST", "/Users", token: c.token, body: ["userName": "ann"])
        let id = try #require(created.body?["id"]?.stringValue)
        _ = await f.scim("GET", "/Users/\(id)", token: c.token)
        _ = await f.scim("POST", "/Groups", token: c.token, body: ["displayName": "Eng"])
        func logged(_ params: RequestsList.Params) async throws -> [String] {
            try await f.service.listRequests(params).requests.map { "\($0.method) \($0.resourceType ?? "-")" }
        }
        #expect(try await logged(.init(connection: "Acme", method: "post")) == ["POST Group", "POST User"])
        #expect(try await logged(.init(connection: "Acme", resourceType: "User")) == ["GET User", "POST User"])
        #expect(try await logged(.init(connection: "Acme", method: "GET", resourceType: "Group")).isEmpty)
        #expect(try await logged(.init(connection: "Acme", until: "2000-01-01T00:00:00Z")).isEmpty)
        #expect(try await logged(.init(connection: "Acme", since: "2000-01-01T00:00:00Z", until: "2999-01-01T00:00:00Z")).count == 3)
        for (params, field) in [
            (RequestsList.Params(connection: "Acme", until: "yesterday"), "until"), (RequestsList.Params(connection: "Acme", method: "TRACE"), "method"),
            (RequestsList.Params(connection: "Acme", resourceType: "Users"), "resourceType"),
        ] {
            await #expect(throws: RPCError.self) { try await f.service.listRequests(params) }
            do { _ = try await f.service.listRequests(params) } catch let error as RPCError { #expect(error.data?.field == field) }
        }
    }

    @Test func userDetailByIdOrUserName() async throws {
        let (fixture, ids, groupId) = try await populated()
        let byName = try await fixture.service.getUser(.init(connection: "Acme", id: "USER0@example.com"))
        #expect(byName.id == ids[0])
        #expect(byName.related.map(\.id) == [groupId])
        #expect(byName.related.first?.name == "Team")
        #expect(byName.warnings.map(\.property) == ["email"])
        #expect(byName.warnings.first?.exampleRequest?.method == "POST")
        #expect(byName.recentRequests.first?.method == "POST")
        #expect(try JSONParser().parse(byName.raw)["userName"] == "user0@example.com")
        #expect(byName.scim["groups"]?.arrayValue?.count == 1)
        #expect(byName.mapped["userName"] == "user0@example.com")
        let byId = try await fixture.service.getUser(.init(connection: "Acme", id: ids[4]))
        #expect(byId.warnings.isEmpty)
        #expect(byId.mapped["email"] == "user4@example.com")
        do {
            _ = try await fixture.service.getUser(.init(connection: "Acme", id: "ghost"))
            Issue.record("unknown user found")
        } catch let error as RPCError {
            #expect(error.kind == "not_found")
            #expect(error.message.contains("scimctl users list"))
        }
    }

    @Test func groupsListAndMembersPaging() async throws {
        let (fixture, ids, groupId) = try await populated()
        let groups = try await fixture.service.listGroups(.init(connection: "Acme"))
        #expect(groups.groups.map(\.memberCount) == [4])
        let first = try await fixture.service.getGroup(.init(connection: "Acme", id: "team", membersLimit: 3))
        #expect(first.id == groupId)
        #expect(first.relatedCount == 4)
        #expect(first.related.count == 3)
        let cursor = try #require(first.nextRelatedCursor)
        let second = try await fixture.service.getGroup(.init(connection: "Acme", id: groupId, membersLimit: 3, membersCursor: cursor))
        #expect(second.related.count == 1)
        #expect(second.nextRelatedCursor == nil)
        #expect(Set((first.related + second.related).map(\.id)) == Set(ids.prefix(4)))
        #expect((first.related + second.related).first { $0.id == ids[2] }?.active == false)
        await #expect(throws: RPCError.self) { try await fixture.service.getGroup(.init(connection: "Acme", id: groupId, membersLimit: 0)) }
    }

    @Test func connectionCountersForTheDashboard() async throws {
        let (fixture, _, _) = try await populated()
        let info = try await fixture.service.getConnection("Acme")
        #expect(info.users == 7)
        #expect(info.activeUsers == 5)
        #expect(info.groups == 1)
        #expect(info.openWarnings == 3)
        #expect(info.resourcesWithWarnings == 3)
        #expect(info.requests24h == 8)
        #expect(info.errors24h == 0)
        #expect(info.lastRequestStatus == 201)
    }
}
