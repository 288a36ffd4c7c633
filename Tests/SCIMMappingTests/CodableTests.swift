import Foundation
import SCIMJSON
import SCIMMapping
import Testing

@Suite("JSON shape")
struct CodableTests {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// Encodes and parses back into a JSONValue to inspect the shape.
    func shape<T: Encodable>(_ value: T) throws -> JSONValue {
        let data = try JSONEncoder().encode(value)
        return try JSONValue(parsing: String(decoding: data, as: UTF8.self))
    }

    @Test func propertyFromTheDocumentedShape() throws {
        let p = try decode(MappingProperty.self, """
            {"name":"group","type":"string","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group",
             "fallbackPaths":["group"],"default":null,"warnIfMissing":true,"description":"Team"}
            """)
        #expect(p == MappingProperty(
            name: "group", type: .string, path: "\(enterpriseURN):group", fallbackPaths: ["group"],
            default: nil, warnIfMissing: true, description: "Team"))
    }

    @Test func minimalProperty() throws {
        let p = try decode(MappingProperty.self, #"{"name":"title","type":"string","path":"title"}"#)
        #expect(p == MappingProperty(name: "title", path: "title"))
        #expect(p.fallbackPaths.isEmpty && p.default == nil && p.warnIfMissing == false && p.description == nil)
    }

    @Test func enumAndListAreFlattenedIntoTheProperty() throws {
        let color = try decode(MappingProperty.self, #"{"name":"c","type":"enum","options":["Red","Green"],"path":"c"}"#)
        #expect(color.type == .enumeration(options: ["Red", "Green"]))
        let tags = try decode(MappingProperty.self, #"{"name":"t","type":"list","of":"string","path":"t"}"#)
        #expect(tags.type == .list(.string))
        let roles = try decode(MappingProperty.self,
            #"{"name":"r","type":"list","of":{"type":"enum","options":["admin","member"]},"path":"roles.value"}"#)
        #expect(roles.type == .list(.enumeration(options: ["admin", "member"])))
        let nested = try decode(MappingProperty.self, #"{"name":"c","type":{"type":"enum","options":["x"]},"path":"c"}"#)
        #expect(nested.type == .enumeration(options: ["x"]))
        let lenient = try decode(MappingProperty.self, #"{"name":"d","type":"DateTime","path":"d"}"#)
        #expect(lenient.type == .dateTime)

        let encoded = try shape(roles)
        #expect(encoded["type"] == "list")
        #expect(encoded["of"] == ["type": "enum", "options": ["admin", "member"]])
        #expect(encoded["options"] == nil)
        let encodedTags = try shape(tags)
        #expect(encodedTags["of"] == "string")
        let encodedColor = try shape(color)
        #expect(encodedColor["type"] == "enum")
        #expect(encodedColor["options"] == ["Red", "Green"])
        #expect(encodedColor["default"] == .null)
        #expect(encodedColor["fallbackPaths"] == [])
        #expect(encodedColor["warnIfMissing"] == false)
        #expect(encodedColor["description"] == nil)
    }

    @Test func propertyTypeStandaloneShape() throws {
        #expect(try shape(PropertyType.string) == ["type": "string"])
        #expect(try shape(PropertyType.dateTime) == ["type": "dateTime"])
        #expect(try shape(PropertyType.enumeration(options: ["a", "b"])) == ["type": "enum", "options": ["a", "b"]])
        #expect(try shape(PropertyType.list(.string)) == ["type": "list", "of": "string"])
        #expect(try shape(PropertyType.list(.enumeration(options: ["a"])))
            == ["type": "list", "of": ["type": "enum", "options": ["a"]]])
        #expect(try decode(PropertyType.self, #""integer""#) == .integer)
        #expect(try decode(PropertyType.self, #"{"type":"list","of":{"type":"date"}}"#) == .list(.date))
    }

    @Test(arguments: [
        #"{"name":"x","type":"colour","path":"x"}"#,
        #"{"name":"x","type":"enum","path":"x"}"#,
        #"{"name":"x","type":"list","path":"x"}"#,
        #"{"name":"x","type":"list","of":"nope","path":"x"}"#,
        #"{"name":"x","path":"x"}"#,
        #"{"type":"string","path":"x"}"#,
        #"{"name":"x","type":"string"}"#,
    ])
    func rejectsBadShapes(_ json: String) {
        #expect(throws: DecodingError.self) { try decode(MappingProperty.self, json) }
    }

    @Test func bareEnumNameNeedsOptions() {
        #expect(throws: DecodingError.self) { try decode(PropertyType.self, #""enum""#) }
    }

    @Test func configurationRoundTrip() throws {
        var config = MappingConfiguration.default
        config.users.properties.append(MappingProperty(
            name: "roles", type: .list(.enumeration(options: ["Admin", "Member"])), path: "roles.value",
            default: ["Member"], warnIfMissing: false))
        config.users.properties.append(MappingProperty(
            name: "hired", type: .date, path: "\(enterpriseURN):hireDate", fallbackPaths: ["hireDate"], warnIfMissing: true))
        let data = try JSONEncoder().encode(config)
        let back = try JSONDecoder().decode(MappingConfiguration.self, from: data)
        #expect(back == config)
        #expect(back.hashValue == config.hashValue)
        let value = try JSONValue(parsing: String(decoding: data, as: UTF8.self))
        #expect(value["users"]?["properties"]?.arrayValue?.count == config.users.properties.count)
        #expect(value["groups"]?["properties"]?.arrayValue?.first?["name"] == "displayName")
    }

    @Test func hashingAgreesWithJSONEquality() {
        let a = MappingProperty(name: "n", type: .number, path: "n", default: 1)
        let b = MappingProperty(name: "n", type: .number, path: "n", default: 1.0)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        let c = MappingProperty(name: "n", path: "n", default: ["x": 1, "y": 2])
        let d = MappingProperty(name: "n", path: "n", default: .object(JSONObject([(key: "y", value: 2), (key: "x", value: 1)])))
        #expect(c == d)
        #expect(c.hashValue == d.hashValue)
        #expect(Set([a, b, c, d]).count == 2)
    }

    @Test func resultsIssuesAndSuggestionsRoundTrip() throws {
        let result = MappingResult(
            properties: ["email": "x@example.com", "active": true],
            issues: [PropertyIssue(property: "group", kind: .missing, detail: "no value at group", pathsTried: ["group"])])
        let back = try JSONDecoder().decode(MappingResult.self, from: JSONEncoder().encode(result))
        #expect(back == result)
        let issueShape = try shape(result.issues[0])
        #expect(issueShape["kind"] == "missing")
        #expect(issueShape["pathsTried"] == ["group"])

        let suggestion = PathSuggestion(path: "group", resourcesFixed: 3, exampleValue: "Managers")
        #expect(try JSONDecoder().decode(PathSuggestion.self, from: JSONEncoder().encode(suggestion)) == suggestion)
        #expect(try shape(suggestion) == ["path": "group", "resourcesFixed": 3, "exampleValue": "Managers"])

        let diff = MappingDiff.diff(old: MappingResult(), new: result)
        #expect(try JSONDecoder().decode(MappingDiff.self, from: JSONEncoder().encode(diff)) == diff)
    }
}
