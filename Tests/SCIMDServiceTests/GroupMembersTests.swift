import Foundation
import GRDB
import SCIMDProtocol
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import SCIMModel
import Testing

/// A Group's `members` are rows, not part of its stored JSON: membership PATCHes touch only the
/// rows they name, and every read still shows the list the IdP built.
@Suite struct GroupMembersTests {
    static let patchOp: JSONValue = ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]

    static func patch(_ operations: JSONValue) -> JSONValue {
        ["schemas": patchOp, "Operations": operations]
    }

    /// A connection with one group holding `members` (values as given, display "M <value>").
    func makeGroup(_ fixture: ServiceFixture, members: [String]) async throws -> (token: String, id: String) {
        let a = try await fixture.connection()
        let list = JSONValue.array(members.map { ["value": .string($0), "display": .string("M \($0)")] })
        let created = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "Team", "members": list])
        #expect(created.status == 201)
        #expect(created.body?["members"] == list)
        return (a.token, try #require(created.body?["id"]?.stringValue))
    }

    func members(_ fixture: ServiceFixture, _ token: String, _ id: String) async -> [JSONValue] {
        await fixture.scim("GET", "/Groups/\(id)", token: token).body?["members"]?.arrayValue ?? []
    }

    func memberIds(_ fixture: ServiceFixture, _ token: String, _ id: String) async -> [String] {
        await members(fixture, token, id).compactMap { $0["value"]?.stringValue }
    }

    @Test func identityProviderMembershipPatchesAnswer204AndKeepTheListInOrder() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a", "b", "c"])
        let before = await fixture.scim("GET", "/Groups/\(id)", token: token)
        // Okta: add, then remove by filter.
        let added = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "d", "display": "Dee"]]]]))
        #expect(added.status == 204)
        #expect(added.body == nil)
        #expect(added.result.headers["ETag"] == "W/\"2\"")
        #expect(await memberIds(fixture, token, id) == ["a", "b", "c", "d"])
        let okta = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "remove", "path": #"members[value eq "b"]"#]]))
        #expect(okta.status == 204)
        // Entra: remove with a value list, op names capitalised.
        let entra = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "Remove", "path": "members", "value": [["value": "a"]]]]))
        #expect(entra.status == 204)
        let after = await fixture.scim("GET", "/Groups/\(id)", token: token)
        #expect(after.body?["members"] == [["value": "c", "display": "M c"], ["value": "d", "display": "Dee"]])
        #expect(after.body?["meta"]?["version"] == "W/\"4\"")
        #expect(after.body?["meta"]?["lastModified"] != nil)
        #expect(after.body?["displayName"] == before.body?["displayName"])
        // The users' side follows the rows.
        let events = try await fixture.service.listEvents(.init(types: ["group.member_added", "group.member_removed"], limit: 100))
        #expect(events.events.map { "\($0.type) \($0.data["member"]?.stringValue ?? "")" } == [
            "group.member_added a", "group.member_added b", "group.member_added c", "group.member_added d",
            "group.member_removed b", "group.member_removed a",
        ])
    }

    @Test func reAddingAMemberMergesItAndRemovingAnAbsentOneChangesNothing() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a", "b"])
        let readd = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "a", "display": "Renamed"]]]]))
        #expect(readd.status == 204)
        #expect(readd.result.changes.map(\.change) == ["updated"], "a merged display is a change, not a new member")
        #expect(await members(fixture, token, id) == [["value": "a", "display": "Renamed"], ["value": "b", "display": "M b"]])
        let same = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "a", "display": "Renamed"]]]]))
        #expect(same.status == 204)
        #expect(same.result.changes.isEmpty)
        #expect(same.result.headers["ETag"] == readd.result.headers["ETag"], "nothing changed: same version")
        let absent = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "remove", "path": #"members[value eq "zz"]"#]]))
        #expect(absent.status == 204)
        #expect(absent.result.changes.isEmpty)
        // Added and removed in one request: no net change of membership, no member event.
        let both = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token,
            body: Self.patch([
                ["op": "add", "path": "members", "value": [["value": "c"]]],
                ["op": "remove", "path": #"members[value eq "c"]"#],
            ]))
        #expect(both.status == 204)
        #expect(!both.result.changes.contains { $0.change.hasPrefix("member_") })
        #expect(await memberIds(fixture, token, id) == ["a", "b"])
    }

    @Test func filterRemovalIgnoresCaseAndValueRemovalRespectsType() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim(
            "POST", "/Groups", token: a.token,
            body: ["displayName": "Mixed", "members": [["value": "ABC"], ["value": "u1", "type": "User"], ["value": "g1", "type": "Group"]]])
        let id = try #require(created.body?["id"]?.stringValue)
        // members.value is not caseExact (RFC 7643 §2.2), so a filter matches ignoring case.
        _ = await fixture.scim("PATCH", "/Groups/\(id)", token: a.token, body: Self.patch([["op": "remove", "path": #"members[value eq "abc"]"#]]))
        // A listed value with another type is a different value (as PatchEngine decides).
        _ = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: a.token, body: Self.patch([["op": "remove", "path": "members", "value": [["value": "u1", "type": "Group"]]]]))
        _ = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: a.token, body: Self.patch([["op": "remove", "path": "members", "value": [["value": "g1", "type": "Group"]]]]))
        #expect(await memberIds(fixture, a.token, id) == ["u1"])
    }

    @Test func patchesThatRewriteTheListOrMixAttributesStillWork() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a", "b", "c"])
        // A rename and a member in one request (Okta's group push sends both).
        let mixed = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token,
            body: Self.patch([
                ["op": "replace", "value": ["id": .string(id), "displayName": "Team 2"]],
                ["op": "add", "path": "members", "value": [["value": "d"]]],
            ]))
        #expect(mixed.status == 204)
        let renamed = await fixture.scim("GET", "/Groups/\(id)", token: token)
        #expect(renamed.body?["displayName"] == "Team 2")
        #expect(await memberIds(fixture, token, id) == ["a", "b", "c", "d"])
        // A sub-attribute of one member (needs the whole list: the general path).
        let display = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "replace", "path": #"members[value eq "b"].display"#, "value": "Bee"]]))
        #expect(display.status == 204)
        #expect(await members(fixture, token, id).first { $0["value"] == "b" }?["display"] == "Bee")
        // replace of the whole list.
        let replaced = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "replace", "path": "members", "value": [["value": "x"], ["value": "a"]]]]))
        #expect(replaced.status == 204)
        #expect(await memberIds(fixture, token, id) == ["x", "a"])
        let memberEvents = replaced.result.changes.filter { $0.change.hasPrefix("member_") }.map { "\($0.change) \($0.member ?? "")" }
        #expect(memberEvents == ["member_added x", "member_removed b", "member_removed c", "member_removed d"])
        // remove of the whole list.
        let emptied = await fixture.scim("PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "remove", "path": "members"]]))
        #expect(emptied.status == 204)
        let empty = await fixture.scim("GET", "/Groups/\(id)", token: token)
        #expect(empty.body?["members"] == nil)
        #expect(empty.body?["displayName"] == "Team 2")
    }

    @Test func aPatchAskingForAttributesGetsTheGroupBack() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a"])
        let add = Self.patch([["op": "add", "path": "members", "value": [["value": "b"]]]])
        let full = await fixture.scim("PATCH", "/Groups/\(id)?attributes=members", token: token, body: add)
        #expect(full.status == 200)
        #expect(full.body?["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } == ["a", "b"])
        #expect(full.body?["displayName"] == nil, "only the requested attributes (and id, schemas)")
        let without = await fixture.scim(
            "PATCH", "/Groups/\(id)?excludedAttributes=members", token: token, body: Self.patch([["op": "replace", "path": "displayName", "value": "T"]]))
        #expect(without.status == 200)
        #expect(without.body?["displayName"] == "T")
        #expect(without.body?["members"] == nil)
        #expect(without.body?["meta"]?["version"] == "W/\"3\"")
        // PUT answers with the whole group, members included.
        let put = await fixture.scim("PUT", "/Groups/\(id)", token: token, body: ["displayName": "T", "members": [["value": "z"]]])
        #expect(put.status == 200)
        #expect(put.body?["members"] == [["value": "z"]])
    }

    @Test func membershipErrorsAreRefusedAndChangeNothing() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a"])
        let wrongType = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": ["nested": true]]]]]))
        #expect(wrongType.status == 400)
        #expect(wrongType.body?["scimType"] == "invalidValue")
        // The first operation is valid, the second is not: neither applies.
        let halfBad = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token,
            body: Self.patch([["op": "add", "path": "members", "value": [["value": "b"]]], ["op": "replace", "path": "meta", "value": "x"]]))
        #expect(halfBad.status == 400)
        let stale = await fixture.scim(
            "PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "c"]]]]),
            headers: ["If-Match": "W/\"9\""])
        #expect(stale.status == 412)
        let missing = await fixture.scim(
            "PATCH", "/Groups/nope", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "c"]]]]))
        #expect(missing.status == 404)
        #expect(await members(fixture, token, id) == [["value": "a", "display": "M a"]])
        let group = await fixture.scim("GET", "/Groups/\(id)", token: token)
        #expect(group.body?["meta"]?["version"] == "W/\"1\"")
    }

    @Test func listsFiltersAndDeletesSeeTheRows() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let user = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "ann@example.com"])
        let userId = try #require(user.body?["id"]?.stringValue)
        let g1 = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "One", "members": [["value": .string(userId)]]])
        let g1Id = try #require(g1.body?["id"]?.stringValue)
        _ = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "Two"])
        let filtered = await fixture.scim("GET", "/Groups?filter=" + "members[value eq \"\(userId)\"]".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, token: a.token)
        #expect(filtered.body?["totalResults"] == 1)
        let found = filtered.body?["Resources"]?.arrayValue?.first
        #expect(found?["id"]?.stringValue == g1Id)
        #expect(found?["members"]?.arrayValue?.first?["value"]?.stringValue == userId)
        let listed = await fixture.scim("GET", "/Groups?sortBy=displayName", token: a.token)
        #expect(listed.body?["Resources"]?.arrayValue?.first?["members"]?.arrayValue?.count == 1)
        let lean = await fixture.scim("GET", "/Groups?excludedAttributes=members", token: a.token)
        #expect(lean.body?["Resources"]?.arrayValue?.allSatisfy { $0["members"] == nil } == true)
        #expect(lean.body?["totalResults"] == 2)
        // Deleting the user takes it out of the group and moves the group's version on.
        #expect(await fixture.scim("DELETE", "/Users/\(userId)", token: a.token).status == 204)
        let after = await fixture.scim("GET", "/Groups/\(g1Id)", token: a.token)
        #expect(after.body?["members"] == nil)
        #expect(after.body?["meta"]?["version"] == "W/\"2\"")
    }

    struct MemberRow: Equatable, Sendable {
        var id: String
        var position: Int64
        var member: String?
    }

    @Test func theStoredGroupHoldsNoMembersAndAMemberPatchWritesOneRow() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: (0..<50).map { "m\($0)" })
        let raw = try await fixture.store.readDatabase { db in
            try String.fetchOne(db, sql: "SELECT raw FROM resource WHERE resourceType = 'Group' AND id = ?", arguments: [id])
        }
        #expect(raw?.contains("members") == false)
        let rows: @Sendable (Database) throws -> [MemberRow] = { db in
            try Row.fetchAll(db, sql: "SELECT memberId, position, member FROM groupMember ORDER BY memberId").map {
                MemberRow(id: $0["memberId"], position: $0["position"], member: $0["member"])
            }
        }
        let before = try await fixture.store.readDatabase(rows)
        _ = await fixture.scim("PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "new"]]]]))
        let after = try await fixture.store.readDatabase(rows)
        #expect(after.filter { !before.contains($0) } == [MemberRow(id: "new", position: 51, member: #"{"value":"new"}"#)])
        #expect(before.allSatisfy { after.contains($0) }, "the other 50 rows are untouched")
    }

    @Test func aGroupMappingThatReadsMembersStillSeesThem() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["a", "b"])
        let property: JSONValue = ["name": "memberIds", "type": "list", "of": "string", "path": "members.value"]
        _ = try await fixture.service.setMapping(.init(connection: "Acme", groups: ["properties": [property]]))
        let mapped = try await fixture.service.getGroup(.init(connection: "Acme", id: id))
        #expect(mapped.mapped["memberIds"] == ["a", "b"])
        _ = await fixture.scim("PATCH", "/Groups/\(id)", token: token, body: Self.patch([["op": "add", "path": "members", "value": [["value": "c"]]]]))
        let patched = try await fixture.service.getGroup(.init(connection: "Acme", id: id))
        #expect(patched.mapped["memberIds"] == ["a", "b", "c"])
        #expect(patched.scim["members"]?.arrayValue?.count == 3)
    }

    /// Random membership PATCHes in the shapes IdPs send, applied through the service (member
    /// rows) and, as the model, by PatchEngine to the whole group: the lists must agree.
    @Test func memberRowsAgreeWithThePatchEngineOnRandomPatches() async throws {
        let fixture = try ServiceFixture()
        let (token, id) = try await makeGroup(fixture, members: ["u0", "u1"])
        var model: JSONObject = ["displayName": "Team", "members": [["value": "u0", "display": "M u0"], ["value": "u1", "display": "M u1"]]]
        var seed: UInt64 = 0x5C1D
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        for step in 0..<150 {
            let member = "u\(next(8))"
            let operation: JSONValue
            switch next(5) {
            case 0, 1: operation = ["op": "add", "path": "members", "value": [["value": .string(member), "display": .string("D\(next(3))")]]]
            case 2: operation = ["op": "remove", "path": .string("members[value eq \"\(member.uppercased())\"]")]
            case 3: operation = ["op": "remove", "path": "members", "value": [["value": .string(member)]]]
            default: operation = ["op": "add", "path": "members", "value": [["value": .string(member), "type": "User"]]]
            }
            let request = try PatchRequest.parse(Self.patch([operation]))
            model = try PatchEngine.apply(request, to: model, resourceType: .group)
            let response = await fixture.scim("PATCH", "/Groups/\(id)", token: token, body: Self.patch([operation]))
            #expect(response.status == 204)
            let stored = await members(fixture, token, id)
            let expected = model["members"]?.arrayValue ?? []
            #expect(stored == expected, "step \(step): \(operation)")
            if stored != expected { break }
        }
    }
}
