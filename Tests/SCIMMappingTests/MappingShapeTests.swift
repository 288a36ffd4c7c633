import Foundation
import SCIMJSON
import SCIMMapping
import Testing

/// ``MappingShape``: what an operator sends is checked for members no mapping object has, so a
/// misspelling is an error rather than a setting silently left at its default.
@Suite struct MappingShapeTests {
    @Test func theDefaultMappingsOwnOutputHasNoUnknownMember() throws {
        let data = try JSONEncoder().encode(MappingConfiguration.default)
        let encoded = try JSONValue(parsing: String(decoding: data, as: UTF8.self))
        #expect(MappingShape.unknownMember(inMapping: try #require(encoded["users"])) == nil)
        #expect(MappingShape.unknownMember(inMapping: try #require(encoded["groups"])) == nil)
    }

    @Test func everyPlaceAMemberCanBeMisspelledIsChecked() {
        let cases: [(JSONValue, String, String?)] = [
            (["propertys": []], "propertys", "properties"),
            (["properties": [["name": "a", "type": "string", "path": "x", "warnIfMising": true]]], "properties.0.warnIfMising", "warnIfMissing"),
            (["properties": [["name": "a", "type": "string", "path": "x", "fallbackpaths": ["y"]]]], "properties.0.fallbackpaths", "fallbackPaths"),
            (["properties": [["name": "a", "type": ["type": "enum", "option": ["x"]], "path": "x"]]], "properties.0.type.option", "options"),
            (["properties": [["name": "a", "type": "list", "of": ["type": "enum", "options": ["x"], "colour": 1], "path": "x"]]],
             "properties.0.of.colour", nil),
            ([["name": "a", "type": "string", "path": "x", "Description": "bare array form"]], "0.Description", "description"),
        ]
        for (json, path, suggestion) in cases {
            let unknown = MappingShape.unknownMember(inMapping: json)
            #expect(unknown?.path.map(\.description).joined(separator: ".") == path, "\(json)")
            #expect(unknown?.suggestion == suggestion, "\(json)")
        }
        let rules: JSONValue = ["rules": [["group": "Admins", "role": "admin"], ["group": "Ops", "rol": "ops"]], "defaultRole": "user"]
        #expect(MappingShape.unknownMember(inRoles: rules)?.path.map(\.description) == ["rules", "1", "rol"])
        #expect(MappingShape.unknownMember(inRoles: rules)?.suggestion == "role")
        #expect(MappingShape.unknownMember(inRoles: ["rules": [], "mode": "all", "defaultRole": "x"]) == nil)
    }

    @Test func valuesOfTheWrongKindAreLeftToDecoding() {
        #expect(MappingShape.unknownMember(inMapping: "not a mapping") == nil)
        #expect(MappingShape.unknownMember(inMapping: ["properties": "nope"]) == nil)
        #expect(MappingShape.unknownMember(inMapping: ["properties": [1, "x"]]) == nil)
    }

    @Test func theMessageNamesTheMemberAndWhatWasExpected() throws {
        let unknown = try #require(MappingShape.unknownMember(inMapping: [["name": "a", "type": "string", "path": "x", "warnIfMising": true]]))
        #expect(unknown.description.hasPrefix("unknown member 'warnIfMising' (did you mean 'warnIfMissing'?); expected name, type,"))
        // Nothing close: no guess.
        let far = try #require(MappingShape.unknownMember(inMapping: [["name": "a", "type": "string", "path": "x", "colour": "red"]]))
        #expect(far.suggestion == nil && !far.description.contains("did you mean"))
    }
}
