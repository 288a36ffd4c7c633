import Foundation
import GRDB
import SCIMDProtocol
@testable import SCIMDStore
import SCIMDService
import SCIMJSON
import Testing

@Suite struct MappingServiceTests {
    static let enterpriseGroup = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group"

    /// The current user mapping's properties plus `extra`.
    func usersWith(_ fixture: ServiceFixture, _ extra: [JSONValue], connection: String = "Acme") async throws -> JSONValue {
        let current = try await fixture.service.getMapping(connection)
        let properties = (current.users["properties"]?.arrayValue ?? []) + extra
        return ["properties": .array(properties)]
    }

    @Test func seedScenarioGroupFallbackResolvesTheWarning() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let groupProperty: JSONValue = ["name": "group", "type": "string", "path": .string(Self.enterpriseGroup), "warnIfMissing": true]
        let set = try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWith(fixture, [groupProperty])))
        #expect(set.mapping.version == 2)

        let created = await fixture.scim(
            "POST", "/Users", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mgr@example.com", "group": "Managers",
                   "emails": [["value": "mgr@example.com", "primary": true]]])
        #expect(created.status == 201)
        #expect(created.result.changes.first?.warningsOpened == ["group"])
        let id = created.body?["id"]?.stringValue ?? ""

        let info = try await fixture.service.getConnection("Acme")
        #expect(info.openWarnings == 1)
        #expect(info.resourcesWithWarnings == 1)
        let listed = try await fixture.service.listWarnings(.init(connection: "Acme"))
        #expect(listed.resources.map(\.id) == [id])
        let warning = try #require(listed.resources.first?.warnings.first)
        #expect(warning.property == "group")
        #expect(warning.kind == "missing")
        #expect(warning.exampleRequest?.method == "POST")
        #expect(warning.exampleRequest?.path == "/Users")
        #expect(warning.exampleRequest?.body?.contains("Managers") == true)

        let suggestion = try await fixture.service.suggestMapping(.init(connection: "Acme", property: "group"))
        #expect(suggestion.suggestions.first?.path == "group")
        #expect(suggestion.suggestions.first?.resourcesFixed == 1)

        let withFallback: JSONValue = [
            "name": "group", "type": "string", "path": .string(Self.enterpriseGroup), "fallbackPaths": ["group"], "warnIfMissing": true,
        ]
        let preview = try await fixture.service.previewMapping(.init(connection: "Acme", users: try await usersWithout(fixture, "group", adding: withFallback)))
        #expect(preview.warningsResolved["group"] == 1)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 1, "preview changes nothing")

        let fixed = try await fixture.service.setMapping(
            .init(connection: "Acme", users: try await usersWithout(fixture, "group", adding: withFallback), expectedVersion: 2))
        #expect(fixed.remap.warningsResolved["group"] == 1)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 0)
        let mapped = try await fixture.store.readDatabase { db in try String.fetchOne(db, sql: "SELECT mapped FROM resource WHERE id = ?", arguments: [id]) }
        #expect(try JSONParser().parse(mapped ?? "{}")["group"] == "Managers")
    }

    func usersWithout(_ fixture: ServiceFixture, _ name: String, adding: JSONValue) async throws -> JSONValue {
        let current = try await fixture.service.getMapping("Acme")
        var properties = (current.users["properties"]?.arrayValue ?? []).filter { $0["name"]?.stringValue != name }
        properties.append(adding)
        return ["properties": .array(properties)]
    }

    @Test(arguments: [
        ("favorite_color", JSONValue.object(["favorite_color": "teal"]), "favorite_color"),
        ("preferences", JSONValue.object(["preferences": ["favoriteColor": "teal"]]), "preferences.favoriteColor"),
    ])
    func favoriteColorIsFoundWhereverTheIdPPutIt(_ label: String, _ extra: JSONValue, _ expectedPath: String) async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let property: JSONValue = ["name": "favoriteColor", "type": "string", "path": "favoriteColor", "warnIfMissing": true]
        _ = try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWith(fixture, [property])))
        var body = extra.objectValue ?? [:]
        body["userName"] = "c@example.com"
        body["emails"] = [["value": "c@example.com", "primary": true]]
        #expect(await fixture.scim("POST", "/Users", token: a.token, body: .object(body)).status == 201)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 1)
        let suggestion = try await fixture.service.suggestMapping(.init(connection: "Acme", property: "favoriteColor"))
        let path = try #require(suggestion.suggestions.first?.path)
        #expect(path == expectedPath)
        let fixedProperty: JSONValue = ["name": "favoriteColor", "type": "string", "path": "favoriteColor", "fallbackPaths": [.string(path)], "warnIfMissing": true]
        let result = try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWithout(fixture, "favoriteColor", adding: fixedProperty)))
        #expect(result.remap.warningsResolved["favoriteColor"] == 1)
        #expect(result.remap.gained["favoriteColor"] == 1)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 0)
    }

    @Test func aLaterRequestResolvesAWarningByItself() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "noemail"])
        #expect(created.result.changes.first?.warningsOpened == ["email"])
        let id = created.body?["id"]?.stringValue ?? ""
        let patched = await fixture.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [["op": "add", "path": "emails", "value": [["value": "n@example.com", "type": "work"]]]]])
        #expect(patched.status == 200)
        #expect(patched.result.changes.first?.warningsResolved == ["email"])
        #expect(patched.result.changes.first?.mapped?["email"] == "n@example.com")
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 0)
    }

    @Test func deletingAResourceDropsItsWarnings() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let created = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "gone"])
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 1)
        _ = await fixture.scim("DELETE", "/Users/\(created.body?["id"]?.stringValue ?? "")", token: a.token)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 0)
    }

    @Test func invalidMappingsAreRejectedWholeNamingPropertyAndPosition() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let bad: JSONValue = ["name": "dept", "type": "string", "path": "name..givenName", "warnIfMissing": true]
        do {
            _ = try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWith(fixture, [bad])))
            Issue.record("invalid path accepted")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_mapping")
            #expect(error.data?.details?["property"] == "dept")
            #expect(error.data?.details?["position"]?.intValue != nil)
        }
        let duplicate: JSONValue = ["name": "email", "type": "string", "path": "userName"]
        await #expect(throws: RPCError.self) {
            try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWith(fixture, [duplicate])))
        }
        let wrongShape: JSONValue = ["properties": [["name": "x"]]]
        do {
            _ = try await fixture.service.setMapping(.init(connection: "Acme", users: wrongShape))
            Issue.record("property without path accepted")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_mapping")
        }
        // A missing key inside the list is located by number, like every other decoding error.
        let noOptions: JSONValue = ["properties": [["name": "x", "type": "string", "path": "userName"], ["name": "level", "type": "enum", "path": "title"]]]
        do {
            _ = try await fixture.service.setMapping(.init(connection: "Acme", users: noOptions))
            Issue.record("enum without options accepted")
        } catch let error as RPCError {
            #expect(error.message.contains("'properties.1.options' (property 'level')"), "\(error.message)")
            #expect(!error.message.contains("Index"), "\(error.message)")
        }
        #expect(try await fixture.service.getMapping("Acme").version == 1, "nothing changed")
    }

    /// A misspelled member is refused, not dropped: `warnIfMising` used to save a property that
    /// opens no warnings, while the operator believed it would.
    @Test func anUnknownMemberIsRefusedWithWhatWasMeant() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let typo: JSONValue = ["name": "costCenter", "type": "string", "path": "costCenter", "warnIfMising": true]
        for preview in [true, false] {
            do {
                let users = try await usersWith(fixture, [typo])
                if preview {
                    _ = try await fixture.service.previewMapping(.init(connection: "Acme", users: users))
                } else {
                    _ = try await fixture.service.setMapping(.init(connection: "Acme", users: users))
                }
                Issue.record("a misspelled member was accepted (preview: \(preview))")
            } catch let error as RPCError {
                #expect(error.kind == "invalid_mapping")
                #expect(error.message.contains("unknown member 'warnIfMising' (did you mean 'warnIfMissing'?)"), "\(error.message)")
                #expect(error.message.contains("(property 'costCenter')"), "\(error.message)")
            }
        }
        // In a type object, and in role rules.
        let typeTypo: JSONValue = ["name": "level", "type": ["type": "enum", "option": ["a"]], "path": "title"]
        await #expect(throws: RPCError.self) {
            try await fixture.service.setMapping(.init(connection: "Acme", users: try await usersWith(fixture, [typeTypo])))
        }
        do {
            _ = try await fixture.service.setMapping(.init(connection: "Acme", roles: ["rules": [["group": "Admins", "role": "admin", "bye": "displayName"]]]))
            Issue.record("a misspelled role rule member was accepted")
        } catch let error as RPCError {
            #expect(error.message.contains("'rules.0.bye'") && error.message.contains("did you mean 'by'?"), "\(error.message)")
        }
        #expect(try await fixture.service.getMapping("Acme").version == 1, "nothing changed")
    }

    @Test func staleExpectedVersionIsAConflict() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let users = try await usersWith(fixture, [])
        _ = try await fixture.service.setMapping(.init(connection: "Acme", users: users, expectedVersion: 1))
        do {
            _ = try await fixture.service.setMapping(.init(connection: "Acme", users: users, expectedVersion: 1))
            Issue.record("stale version accepted")
        } catch let error as RPCError {
            #expect(error.kind == "conflict")
        }
    }

    @Test func historyAndRollback() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "h@example.com"])
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 1)  // email missing
        let quiet = try await usersWithout(fixture, "email", adding: ["name": "email", "type": "string", "path": "emails.value"])
        let v2 = try await fixture.service.setMapping(.init(connection: "Acme", users: quiet, comment: "no email warning"))
        #expect(v2.remap.warningsResolved["email"] == 1)
        let history = try await fixture.service.mappingHistory("Acme")
        #expect(history.map(\.version) == [2, 1])
        #expect(history.first?.comment == "no email warning")
        let back = try await fixture.service.rollbackMapping(.init(connection: "Acme", version: 1))
        #expect(back.mapping.version == 3)
        #expect(back.remap.warningsOpened["email"] == 1)
        #expect(try await fixture.service.getConnection("Acme").openWarnings == 1)
        await #expect(throws: RPCError.self) { try await fixture.service.rollbackMapping(.init(connection: "Acme", version: 42)) }
    }

    @Test func mappingSurvivesARestart() async throws {
        let fixture = try ReopenableService()
        let a = try await fixture.connection()
        let created = await fixture.scim(
            "POST", "/Users", token: a.token,
            body: ["userName": "d@example.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "R&D"]])
        let id = try #require(created.body?["id"]?.stringValue)
        let current = try await fixture.service.getMapping("Acme")
        let dept: JSONValue = ["name": "dept", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"]
        _ = try await fixture.service.setMapping(
            .init(connection: "Acme", users: ["properties": .array((current.users["properties"]?.arrayValue ?? []) + [dept])]))
        try fixture.reopen()
        let mapping = try await fixture.service.getMapping("Acme")
        #expect(mapping.version == 2)
        #expect(mapping.users["properties"]?.arrayValue?.contains { $0["name"] == "dept" } == true)
        #expect(try await fixture.service.mappingHistory("Acme").map(\.version).sorted() == [1, 2])
        let user = try await fixture.service.getUser(.init(connection: "Acme", id: id))
        #expect(user.mappingVersion == 2, "the re-map was committed")
        #expect(user.mapped["dept"] == "R&D")
        // The reopened service maps new writes with the stored version.
        let next = await fixture.scim(
            "POST", "/Users", token: a.token,
            body: ["userName": "e@example.com", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "Ops"]])
        let nextUser = try await fixture.service.getUser(.init(connection: "Acme", id: try #require(next.body?["id"]?.stringValue)))
        #expect(nextUser.mappingVersion == 2)
        #expect(nextUser.mapped["dept"] == "Ops")
    }

    /// `mapping.get` answers from memory: at every step it equals the newest version SQLite holds
    /// (`mapping.history` reads the rows), through create, set, a refused set, rollback, a restart and
    /// a connection's deletion.
    @Test func mappingGetFromMemoryEqualsTheNewestSavedVersion() async throws {
        let fixture = try ReopenableService()
        _ = try await fixture.connection()
        func expectNewest(_ step: String) async throws {
            let newest = try #require(try await fixture.service.mappingHistory("Acme").first, "\(step)")
            #expect(try await fixture.service.getMapping("Acme") == newest, "\(step)")
        }
        try await expectNewest("created")
        let current = try await fixture.service.getMapping("Acme")
        let dept: JSONValue = ["name": "dept", "type": "string", "path": "title"]
        _ = try await fixture.service.setMapping(
            .init(
                connection: "Acme", users: ["properties": .array((current.users["properties"]?.arrayValue ?? []) + [dept])],
                comment: "add dept", changedBy: "ops@example.com"))
        try await expectNewest("set")
        #expect(try await fixture.service.getMapping("Acme").comment == "add dept")
        #expect(try await fixture.service.getMapping("Acme").changedBy == "ops@example.com")
        await #expect(throws: RPCError.self) {
            try await fixture.service.setMapping(.init(connection: "Acme", users: ["properties": "not a list"]))
        }
        try await expectNewest("refused set")
        #expect(try await fixture.service.getMapping("Acme").version == 2)
        _ = try await fixture.service.rollbackMapping(.init(connection: "Acme", version: 1))
        try await expectNewest("rollback")
        #expect(try await fixture.service.getMapping("Acme").version == 3)
        try fixture.reopen()
        try await expectNewest("restart")
        _ = try await fixture.service.deleteConnection("Acme")
        await #expect(throws: RPCError.self) { try await fixture.service.getMapping("Acme") }
    }

    @Test func warningsListPagesAndFiltersByProperty() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        for i in 0..<5 { _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("w\(i)")]) }
        let first = try await fixture.service.listWarnings(.init(connection: "Acme", limit: 3))
        #expect(first.resources.count == 3)
        let second = try await fixture.service.listWarnings(.init(connection: "Acme", limit: 3, cursor: try #require(first.nextCursor)))
        #expect(second.resources.count == 2)
        #expect(second.nextCursor == nil)
        #expect(Set(first.resources.map(\.id)).isDisjoint(with: second.resources.map(\.id)))
        #expect(try await fixture.service.listWarnings(.init(connection: "Acme", property: "nothing")).resources.isEmpty)
        let summary = try await fixture.service.warningsSummary("Acme")
        #expect(summary.first?.byProperty.first?.property == "email")
        #expect(summary.first?.byProperty.first?.count == 5)
        await #expect(throws: RPCError.self) { try await fixture.service.listWarnings(.init(connection: "Acme", cursor: "bogus")) }
    }
}
