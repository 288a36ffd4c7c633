import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

@Suite struct TraceTests {
    let enterpriseGroup = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group"

    func compiled(_ properties: [MappingProperty]) throws -> CompiledMapping {
        try CompiledMapping(Mapping(properties: properties), resourceType: .user)
    }

    @Test func eachPathIsReportedInOrderWithWhatItHeldAndWhichOneMatched() throws {
        let mapping = try compiled([
            MappingProperty(name: "group", type: .string, path: enterpriseGroup, fallbackPaths: ["group", "department"], warnIfMissing: true),
        ])
        let user: JSONObject = ["userName": "maria", "group": "Managers", "department": "Sales"]
        let trace = mapping.trace(user)
        #expect(trace.count == 1)
        #expect(trace[0].steps.map(\.path) == [enterpriseGroup, "group", "department"])
        #expect(trace[0].steps.map(\.valuesFound) == [[], ["Managers"], ["Sales"]])
        #expect(trace[0].steps.map(\.matched) == [false, true, false])
        #expect(trace[0].steps.map(\.tried) == [true, true, false], "evaluation stops at the first usable value")
        #expect(trace[0].value == "Managers" && trace[0].issue == nil && !trace[0].usedDefault)
    }

    @Test func aMissingValueShowsEveryPathTriedTheDefaultAndTheWarning() throws {
        let mapping = try compiled([
            MappingProperty(name: "seats", type: .integer, path: "seats", fallbackPaths: ["licence.seats"], default: 1, warnIfMissing: true),
            MappingProperty(name: "title", type: .string, path: "title"),
        ])
        let trace = mapping.trace(["seats": "many"])
        #expect(trace[0].steps.map(\.tried) == [true, true])
        #expect(trace[0].steps.map(\.valuesFound) == [["many"], []])
        #expect(trace[0].value == 1 && trace[0].usedDefault)
        #expect(trace[0].issue?.kind == .typeMismatch, "the value is there but unusable")
        #expect(trace[1].value == nil && trace[1].issue == nil, "no warnIfMissing: silent")
    }

    /// The trace is the evaluation: over varied resources, its values and issues are evaluate's.
    @Test func theTraceAgreesWithEvaluation() throws {
        let mapping = try compiled(MappingConfiguration.default.users.properties + [
            MappingProperty(name: "group", type: .string, path: enterpriseGroup, fallbackPaths: ["group"], warnIfMissing: true),
            MappingProperty(name: "tags", type: .list(.string), path: "tags"),
        ])
        let resources: [JSONObject] = [
            ["userName": "a", "emails": [["value": "a@x", "primary": true]], "group": "G", "tags": ["x", 2]],
            ["userName": " ", "name": ["formatted": "A B"], "active": "no", "tags": "solo"],
            [enterpriseGroup.replacingOccurrences(of: ":group", with: ""): ["group": "E"], "emails": [["value": "b@x"], ["value": "c@x"]]],
            [:],
        ]
        for resource in resources {
            let result = mapping.evaluate(resource)
            let trace = mapping.trace(resource)
            #expect(JSONObject(trace.compactMap { t in t.value.map { (key: t.property, value: $0) } }) == result.properties)
            #expect(trace.compactMap(\.issue) == result.issues)
        }
    }
}
