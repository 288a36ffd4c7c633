import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

/// The rules operators rely on (README "Mapping rules"), each on the attribute shapes IdPs send.
@Suite("Mapping rules") struct MappingRulesTests {
    static let contoso = "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User"

    // MARK: 1. several values into a single-valued property

    @Test func anArrayAtTheEndOfASingleValuedPathIsAMismatchNamingTheCount() throws {
        let m = try compile([MappingProperty(name: "skill", path: "\(Self.contoso):skills", warnIfMissing: true)])
        let r = m.evaluate(object(#"{"userName":"a","urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"skills":["swift","sql"]}}"#))
        #expect(r.properties["skill"] == nil)
        let issue = try #require(r.issues.first)
        #expect(issue.kind == .typeMismatch)
        #expect(issue.detail?.hasPrefix(#"2 values ("swift", "sql") at urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:skills"#) == true, "\(issue.detail ?? "")")
        #expect(issue.path == "\(Self.contoso):skills")
    }

    @Test func anArrayOfOneValueIsThatValue() throws {
        let m = try compile([MappingProperty(name: "skill", path: "\(Self.contoso):skills", warnIfMissing: true)])
        let r = m.evaluate(object(#"{"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"skills":["swift", null, " "]}}"#))
        #expect(r.properties["skill"] == "swift")
        #expect(r.issues.isEmpty)
    }

    @Test func aListTypeKeepsEveryValue() throws {
        let m = try compile([MappingProperty(name: "skills", type: .list(.string), path: "\(Self.contoso):skills", warnIfMissing: true)])
        let r = m.evaluate(object(#"{"urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"skills":["swift","sql"]}}"#))
        #expect(r.properties["skills"] == ["swift", "sql"])
        #expect(r.issues.isEmpty)
    }

    @Test(arguments: ["emails.value", #"emails[type eq "work"].value"#])
    func throughAMultiValuedAttributeTheFirstValueIsRight(path: String) throws {
        let m = try compile([MappingProperty(name: "email", path: path, warnIfMissing: true)])
        let r = m.evaluate(object(#"{"emails":[{"type":"work","value":"a@example.com"},{"type":"work","value":"b@example.com"}]}"#))
        #expect(r.properties["email"] == "a@example.com")
        #expect(r.issues.isEmpty)
    }

    @Test func anArrayFallsThroughToAFallbackWithOneValue() throws {
        let m = try compile([MappingProperty(name: "skill", path: "\(Self.contoso):skills", fallbackPaths: ["primarySkill"], warnIfMissing: true)])
        let r = m.evaluate(object(#"{"primarySkill":"swift","urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"skills":["swift","sql"]}}"#))
        #expect(r.properties["skill"] == "swift")
        #expect(r.issues.isEmpty)
    }

    // MARK: 2. a default does not hide the warning

    @Test func aDefaultWithWarnIfMissingStillWarns() throws {
        let m = try compile([MappingProperty(name: "team", path: "\(Self.contoso):team", default: "unassigned", warnIfMissing: true)])
        let r = m.evaluate(object(#"{"userName":"a"}"#))
        #expect(r.properties["team"] == "unassigned")
        #expect(r.issues.map(\.kind) == [.missing])
        #expect(r.issues.first?.detail?.contains(#"the default "unassigned" was used"#) == true)
    }

    // MARK: 3. an unusable value does not block the fallbacks

    @Test func unusableValueOnThePathFallsBackToAUsableOne() throws {
        let m = try compile([MappingProperty(
            name: "seats", type: .integer, path: "\(Self.contoso):seats", fallbackPaths: ["seats"], warnIfMissing: true)])
        let r = m.evaluate(object(#"{"seats":"5","urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"seats":"n/a"}}"#))
        #expect(r.properties["seats"] == 5)
        #expect(r.issues.isEmpty)
        let none = m.evaluate(object(#"{"seats":"many","urn:ietf:params:scim:schemas:extension:Contoso:2.0:User":{"seats":"n/a"}}"#))
        #expect(none.properties["seats"] == nil)
        #expect(none.issues.first?.detail == #"value "n/a" at \#(Self.contoso):seats is not an integer; value "many" at seats is not an integer"#)
    }

    @Test(arguments: [
        (PropertyType.boolean, #""maybe""#, #""True""#, JSONValue.bool(true)),
        (.dateTime, #""soon""#, #""2024-01-02T03:04:05.1234567Z""#, "2024-01-02T03:04:05.1234567Z"),
        (.number, #""n/a""#, #""1.5""#, 1.5),
        (.enumeration(options: ["Gold", "Silver"]), #""bronze""#, #""gold""#, "Gold"),
        (.date, #""someday""#, #""2024-03-01T23:30:00-05:00""#, "2024-03-01"),
    ])
    func everyTypeFallsThroughAnUnusableValue(_ type: PropertyType, _ bad: String, _ good: String, _ expected: JSONValue) throws {
        let m = try compile([MappingProperty(name: "p", type: type, path: "primary", fallbackPaths: ["secondary"], warnIfMissing: true)])
        let r = m.evaluate(object(#"{"primary":\#(bad),"secondary":\#(good)}"#))
        #expect(r.properties["p"] == expected)
        #expect(r.issues.isEmpty)
    }

    @Test func aListWhoseElementsAllFailFallsThroughToo() throws {
        let m = try compile([MappingProperty(name: "n", type: .list(.integer), path: "a", fallbackPaths: ["b"], warnIfMissing: true)])
        let r = m.evaluate(object(#"{"a":["x","y"],"b":["1","2"]}"#))
        #expect(r.properties["n"] == [1, 2])
        #expect(r.issues.isEmpty)
        // Some elements coerce: the list keeps them and reports the others (the fallback is not needed).
        let partial = m.evaluate(object(#"{"a":["x","3"],"b":["1","2"]}"#))
        #expect(partial.properties["n"] == [3])
        #expect(partial.issues.map(\.kind) == [.typeMismatch])
    }
}
