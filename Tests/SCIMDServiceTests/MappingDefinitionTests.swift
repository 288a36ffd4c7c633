import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import SCIMMapping
import Testing

/// SCIMDProtocol's typed mapping definition (what `rpc.discover` derives the mapping's schema
/// from, and what clients may build mappings with) and the mapping engine's own types are two
/// declarations of one wire form: these tests fail when they part.
@Suite struct MappingDefinitionTests {
    /// `value` decoded as `T` and encoded again, as JSON.
    func roundTrip<T: Codable>(_ type: T.Type, _ value: JSONValue) throws -> JSONValue {
        try JSONParser().parse(bytes: try RPCCodec.encode(try RPCCodec.decode(T.self, from: value)))
    }

    /// The engine's encoding of `value` (a `Mapping` or `RoleRules`), as JSON.
    func engineJSON<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONParser().parse(bytes: Array(try JSONEncoder().encode(value)))
    }

    @Test func theDefaultMappingRoundTripsThroughTheTypedValueUnchanged() throws {
        for mapping in [MappingConfiguration.default.users, MappingConfiguration.default.groups] {
            let wire = try engineJSON(mapping)
            #expect(try roundTrip(MappingDefinition.self, wire) == wire)
            let typed = try RPCCodec.decode(MappingDefinition.self, from: wire)
            // The engine reads the typed value's encoding as the mapping it started from.
            let reread = try JSONDecoder().decode(Mapping.self, from: Data(try RPCCodec.encode(typed)))
            #expect(reread == mapping)
        }
    }

    /// Every form the engine accepts: the type as a name or an object, enums, lists of names and of
    /// enums, defaults of each JSON kind and `null`, optional members absent.
    static let forms: [JSONValue] = [
        ["properties": [["name": "userName", "type": "string", "path": "userName"]]],
        [
            "properties": [
                ["name": "level", "type": "enum", "options": ["junior", "senior"], "path": "title", "default": "junior"],
                ["name": "tags", "type": "list", "of": "string", "path": "x-tags", "fallbackPaths": ["tags"], "warnIfMissing": false],
                ["name": "teams", "type": "list", "of": ["type": "enum", "options": ["admin", "member"]], "path": "roles.value"],
                ["name": "age", "type": "integer", "path": "age", "default": 0, "description": "Years."],
                ["name": "score", "type": "number", "path": "score", "default": 1.5],
                ["name": "active", "type": "boolean", "path": "active", "default": true, "warnIfMissing": true],
                ["name": "born", "type": "date", "path": "born", "default": nil],
                ["name": "seen", "type": "dateTime", "path": "meta.lastModified"],
                ["name": "color", "type": ["type": "enum", "options": ["red", "green"]], "path": "color"],
            ]
        ],
    ]

    @Test func everyFormTheEngineAcceptsRoundTripsAndTheEngineReadsItAlike() throws {
        for form in Self.forms {
            #expect(try roundTrip(MappingDefinition.self, form) == form, "\(JSONSerializer.string(form))")
            let fromWire = try JSONDecoder().decode(Mapping.self, from: Data(JSONSerializer.bytes(form)))
            let fromTyped = try JSONDecoder().decode(
                Mapping.self, from: Data(try RPCCodec.encode(try RPCCodec.decode(MappingDefinition.self, from: form))))
            #expect(fromWire == fromTyped)
            // And what the engine writes back (every default spelled out) round-trips too.
            let written = try engineJSON(fromWire)
            #expect(try roundTrip(MappingDefinition.self, written) == written)
        }
    }

    @Test func roleRulesRoundTripAndTheEngineReadsThemAlike() throws {
        let forms: [JSONValue] = [
            ["rules": []],
            ["rules": [["group": "Admins", "role": "admin"]]],
            ["rules": [["group": "00g1", "by": "externalId", "role": "admin"], ["group": "Eng", "by": "displayName", "role": "dev"]],
             "defaultRole": "member", "mode": "all"],
        ]
        for form in forms {
            #expect(try roundTrip(RoleRulesDefinition.self, form) == form)
            let fromWire = try JSONDecoder().decode(RoleRules.self, from: Data(JSONSerializer.bytes(form)))
            let written = try engineJSON(fromWire)
            #expect(try roundTrip(RoleRulesDefinition.self, written) == written)
            let reread = try JSONDecoder().decode(
                RoleRules.self, from: Data(try RPCCodec.encode(try RPCCodec.decode(RoleRulesDefinition.self, from: written))))
            #expect(reread == fromWire)
        }
    }

    @Test func whatMappingGetAnswersDecodesAsTheTypedValueUnchanged() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let set = try await fixture.service.setMapping(
            .init(connection: "Acme", users: Self.forms[1], roles: ["rules": [["group": "Admins", "role": "admin"]], "defaultRole": "member"]))
        let info = try await fixture.service.getMapping("Acme")
        #expect(info.version == set.mapping.version)
        for mapping in [info.users, info.groups] {
            #expect(try roundTrip(MappingDefinition.self, mapping) == mapping)
        }
        let roles = try #require(info.roles)
        #expect(try roundTrip(RoleRulesDefinition.self, roles) == roles)
    }

    @Test func aPropertyWithoutItsRequiredMembersDoesNotDecode() {
        for bad: JSONValue in [["name": "x", "type": "string"], ["type": "string", "path": "p"], ["name": "x", "path": "p"], ["name": "x", "type": 3, "path": "p"]] {
            #expect(throws: RPCError.self) { try RPCCodec.decode(MappingPropertyDefinition.self, from: bad) }
        }
    }
}

extension MappingDefinitionTests {
    @Test func aMappingBuiltFromTypedValuesIsSetAndReadBackTyped() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let current = try await fixture.service.getMapping("Acme")
        var users = try current.usersDefinition()
        users.properties.append(
            MappingPropertyDefinition(
                name: "level", type: .named("enum"), options: ["junior", "senior"], path: "title", default: "junior",
                warnIfMissing: false))
        let roles = RoleRulesDefinition(rules: [RoleRuleDefinition(group: "Admins", role: "admin")], defaultRole: "member")
        let set = try await fixture.service.setMapping(try .typed(connection: "Acme", users: users, roles: roles, comment: "typed"))
        #expect(set.mapping.version == current.version + 1)
        let reread = try await fixture.service.getMapping("Acme")
        let level = try #require(try reread.usersDefinition().properties.first { $0.name == "level" })
        #expect(level.options == ["junior", "senior"])
        #expect(level.default == "junior")
        #expect(try reread.rolesDefinition()?.rules?.first?.role == "admin")
        #expect(try reread.groupsDefinition() == (try current.groupsDefinition()))
        // A user mapping without a path is refused by the engine as it would be over the wire.
        let broken = MappingDefinition(properties: [MappingPropertyDefinition(name: "x", type: .named("string"), path: "")])
        await #expect(throws: RPCError.self) { try await fixture.service.setMapping(try .typed(connection: "Acme", users: broken)) }
    }
}
