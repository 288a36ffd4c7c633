import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

/// A user mapping sees the user's computed `groups` (value and display), kept current when
/// memberships or group names change, like `roles`.
@Suite struct GroupNamesMappingTests {
    func setup() async throws -> (ServiceFixture, String) {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let current = try await f.service.getMapping("Acme")
        let extra: [JSONValue] = [
            ["name": "groupNames", "type": "list", "of": "string", "path": "groups.display"],
            ["name": "groupIds", "type": "list", "of": "string", "path": "groups.value"],
            ["name": "firstGroup", "type": "string", "path": "groups.display", "warnIfMissing": true],
        ]
        let users: JSONValue = ["properties": .array((current.users["properties"]?.arrayValue ?? []) + extra)]
        _ = try await f.service.setMapping(.init(connection: "Acme", users: users))
        return (f, token)
    }

    func mapped(_ f: ServiceFixture, _ id: String) async throws -> JSONValue {
        try await f.service.getUser(.init(connection: "Acme", id: id)).mapped
    }

    @Test func groupNamesFollowMembershipsAndRenames() async throws {
        let (f, token) = try await setup()
        let user = try #require(await f.scim("POST", "/Users", token: token, body: ["userName": "ada@example.com"]).body?["id"]?.stringValue)
        var m = try await mapped(f, user)
        #expect(m["groupNames"] == nil)  // no value: omitted, as every property without one
        #expect(m["firstGroup"] == nil)
        #expect(try await f.service.getUser(.init(connection: "Acme", id: user)).warnings.map(\.property).contains("firstGroup"))

        let group = try #require(
            await f.scim("POST", "/Groups", token: token, body: ["displayName": "Admins", "members": [["value": .string(user)]]]).body?["id"]?
                .stringValue)
        m = try await mapped(f, user)
        #expect(m["groupNames"] == ["Admins"])
        #expect(m["groupIds"] == [.string(group)])
        #expect(m["firstGroup"] == "Admins")
        #expect(!(try await f.service.getUser(.init(connection: "Acme", id: user)).warnings.map(\.property).contains("firstGroup")))

        // A rename reaches the members' mapped values.
        let renamed = await f.scim(
            "PATCH", "/Groups/\(group)", token: token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "displayName", "value": "Owners"]]])
        #expect(renamed.status == 204 || renamed.status == 200)
        #expect(try await mapped(f, user)["groupNames"] == ["Owners"])

        // Leaving the group empties them, and the warning opens again.
        let removed = await f.scim(
            "PATCH", "/Groups/\(group)", token: token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "remove", "path": .string("members[value eq \"\(user)\"]")]]])
        #expect(removed.status == 204 || removed.status == 200)
        m = try await mapped(f, user)
        #expect(m["groupNames"] == nil)
        #expect(m["firstGroup"] == nil)
        #expect(try await f.service.getUser(.init(connection: "Acme", id: user)).warnings.map(\.property).contains("firstGroup"))
    }

    @Test func aMappingChangeReadsTheGroupsOfStoredUsers() async throws {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let user = try #require(await f.scim("POST", "/Users", token: token, body: ["userName": "bob@example.com"]).body?["id"]?.stringValue)
        _ = await f.scim("POST", "/Groups", token: token, body: ["displayName": "Sales", "members": [["value": .string(user)]]])
        let current = try await f.service.getMapping("Acme")
        let users: JSONValue = [
            "properties": .array((current.users["properties"]?.arrayValue ?? []) + [["name": "team", "type": "string", "path": "groups.display"]])
        ]
        let set = try await f.service.setMapping(.init(connection: "Acme", users: users))
        #expect(set.remap.gained["team"] == 1)
        #expect(try await mapped(f, user)["team"] == "Sales")
    }
}
