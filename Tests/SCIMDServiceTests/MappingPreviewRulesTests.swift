import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

/// `mapping.preview` shows what changing a rule-bearing setting (fallbacks, default, type) would do
/// to the stored users, before anything is saved.
@Suite struct MappingPreviewRulesTests {
    static let contoso = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User"

    func setup() async throws -> ServiceFixture {
        let f = try ServiceFixture()
        let token = try await f.connection().token
        let bodies: [JSONValue] = [
            ["userName": "a@example.com", "seats": "5", .init(stringLiteral: Self.contoso): ["seats": "n/a", "skills": ["swift", "sql"]]],
            ["userName": "b@example.com"],
        ]
        for body in bodies { #expect(await f.scim("POST", "/Users", token: token, body: body).status == 201) }
        return f
    }

    func users(_ f: ServiceFixture, _ extra: [JSONValue]) async throws -> JSONValue {
        let current = try await f.service.getMapping("Acme")
        return ["properties": .array((current.users["properties"]?.arrayValue ?? []) + extra)]
    }

    @Test func previewShowsFallbackDefaultAndTypeChanges() async throws {
        let f = try await setup()
        let seats: JSONValue = ["name": "seats", "type": "integer", "path": .string("\(Self.contoso):seats"), "warnIfMissing": true]
        let skill: JSONValue = ["name": "skill", "type": "string", "path": .string("\(Self.contoso):skills")]
        _ = try await f.service.setMapping(.init(connection: "Acme", users: try await users(f, [seats, skill])))
        // a: seats "n/a" (typeMismatch) and 2 skills (typeMismatch); b: seats missing.
        let version = try await f.service.getMapping("Acme").version

        // A fallback to the top-level `seats`: a gains 5 and its warning resolves; b stays missing.
        let withFallback: JSONValue = ["name": "seats", "type": "integer", "path": .string("\(Self.contoso):seats"), "fallbackPaths": ["seats"], "warnIfMissing": true]
        let fallback = try await f.service.previewMapping(.init(connection: "Acme", users: try await users(f, [withFallback, skill]).replacing("seats", "skill")))
        #expect(fallback.gained["seats"] == 1)
        #expect(fallback.warningsResolved["seats"] == 1)

        // A default: b gains it, and its warning stays open (nothing resolves).
        let withDefault: JSONValue = ["name": "seats", "type": "integer", "path": .string("\(Self.contoso):seats"), "default": 1, "warnIfMissing": true]
        let defaulted = try await f.service.previewMapping(.init(connection: "Acme", users: try await users(f, [withDefault, skill]).replacing("seats", "skill")))
        #expect(defaulted.gained["seats"] == 2)
        #expect(defaulted.warningsResolved["seats"] == nil)

        // A list type keeps both skills: a gains them and its typeMismatch resolves.
        let skills: JSONValue = ["name": "skill", "type": "list", "of": "string", "path": .string("\(Self.contoso):skills")]
        let listed = try await f.service.previewMapping(.init(connection: "Acme", users: try await users(f, [seats, skills]).replacing("seats", "skill")))
        #expect(listed.gained["skill"] == 1)
        #expect(listed.warningsResolved["skill"] == 1)

        // Nothing was saved.
        #expect(try await f.service.getMapping("Acme").version == version)
    }
}

extension JSONValue {
    /// The mapping `{"properties": [...]}` with the earlier properties named `a` and `b` dropped,
    /// keeping the last of each (the ones a test appended).
    fileprivate func replacing(_ a: String, _ b: String) -> JSONValue {
        let properties = self["properties"]?.arrayValue ?? []
        var kept: [JSONValue] = []
        for (index, p) in properties.enumerated() {
            let name = p["name"]?.stringValue
            let later = properties[(index + 1)...].contains { $0["name"]?.stringValue == name }
            if (name == a || name == b) && later { continue }
            kept.append(p)
        }
        return ["properties": .array(kept)]
    }
}
