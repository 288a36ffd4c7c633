import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

@Suite("Evaluation")
struct EvaluationTests {
    let chain = MappingProperty(name: "title", path: "title", fallbackPaths: ["userType", "nickName"], warnIfMissing: true)

    @Test func fallbackOrder() throws {
        let m = try compile([chain])
        #expect(m.evaluate(object(#"{"title":"A","userType":"B","nickName":"C"}"#)).properties["title"] == "A")
        #expect(m.evaluate(object(#"{"userType":"B","nickName":"C"}"#)).properties["title"] == "B")
        #expect(m.evaluate(object(#"{"nickName":"C","userType":"B"}"#)).properties["title"] == "B")
        #expect(m.evaluate(object(#"{"nickName":"C"}"#)).properties["title"] == "C")
    }

    @Test func nullAndBlankStringsAreNoValue() throws {
        let m = try compile([chain])
        #expect(m.evaluate(object(#"{"title":null,"userType":"B"}"#)).properties["title"] == "B")
        #expect(m.evaluate(object(#"{"title":"","userType":"B"}"#)).properties["title"] == "B")
        #expect(m.evaluate(object(#"{"title":"  ","userType":"","nickName":"C"}"#)).properties["title"] == "C")
        let none = m.evaluate(object(#"{"title":"","userType":null}"#))
        #expect(none.properties.isEmpty)
        #expect(none.issues == [PropertyIssue(
            property: "title", kind: .missing, detail: "no value at title, userType, nickName",
            pathsTried: ["title", "userType", "nickName"])])
    }

    @Test func attributeNamesAreCaseInsensitive() throws {
        let m = try compile([chain])
        #expect(m.evaluate(object(#"{"TITLE":"A"}"#)).properties["title"] == "A")
    }

    @Test func missingWithoutWarnIsSilentAndOmitted() throws {
        let m = try compile([MappingProperty(name: "nick", path: "nickName", warnIfMissing: false)])
        let r = m.evaluate(object(#"{"userName":"x"}"#))
        #expect(r.issues.isEmpty)
        #expect(r.properties.isEmpty)
    }

    /// A default fills the value; with warnIfMissing the warning still opens and says the default
    /// was used (the operator asked to learn who does not send it); without it, silence.
    @Test func defaultFillsTheValueAndTheWarningStillOpens() throws {
        let m = try compile([
            MappingProperty(name: "tier", type: .integer, path: "tier", default: "3", warnIfMissing: true),
            MappingProperty(name: "locale", path: "locale", default: "en-US", warnIfMissing: true),
            MappingProperty(name: "team", path: "team", default: "unassigned", warnIfMissing: false),
        ])
        let r = m.evaluate(object(#"{"userName":"x"}"#))
        #expect(r.properties["tier"] == 3)  // default coerced at compile time
        #expect(r.properties["locale"] == "en-US")
        #expect(r.properties["team"] == "unassigned")
        #expect(r.issues == [
            PropertyIssue(property: "tier", kind: .missing, detail: "no value at tier; the default 3 was used", pathsTried: ["tier"]),
            PropertyIssue(property: "locale", kind: .missing, detail: #"no value at locale; the default "en-US" was used"#, pathsTried: ["locale"]),
        ])
        let sent = m.evaluate(object(#"{"locale":"fr-FR","tier":1,"team":"a"}"#))
        #expect(sent.properties == ["tier": 1, "locale": "fr-FR", "team": "a"])
        #expect(sent.issues.isEmpty)
    }

    @Test func outputFollowsMappingOrder() throws {
        let m = try compile([
            MappingProperty(name: "z", path: "userName"),
            MappingProperty(name: "a", path: "displayName"),
            MappingProperty(name: "m", path: "nickName"),
        ])
        let r = m.evaluate(object(#"{"nickName":"n","displayName":"d","userName":"u"}"#))
        #expect(r.properties.keys == ["z", "a", "m"])
    }

    @Test func scalarTakesFirstValueOfMultiValuedAttribute() throws {
        let m = try compile([MappingProperty(name: "phone", path: "phoneNumbers.value")])
        let r = m.evaluate(object(#"{"phoneNumbers":[{"value":"+1-555-0142","type":"mobile"},{"value":"+1-555-0199","type":"work"}]}"#))
        #expect(r.properties["phone"] == "+1-555-0142")
    }

    @Test func scalarSkipsNullElementsOfMultiValuedAttribute() throws {
        let m = try compile([MappingProperty(name: "phone", path: "phoneNumbers.value")])
        let r = m.evaluate(object(#"{"phoneNumbers":[{"value":null,"type":"mobile"},{"value":"+1-555-0199","type":"work"}]}"#))
        #expect(r.properties["phone"] == "+1-555-0199")
    }

    @Test func valueFilterSelectsElement() throws {
        let m = try compile([MappingProperty(name: "mobile", path: #"phoneNumbers[type eq "mobile"].value"#)])
        let r = m.evaluate(object(#"{"phoneNumbers":[{"value":"+1-555-0199","type":"work"},{"value":"+1-555-0142","type":"mobile"}]}"#))
        #expect(r.properties["mobile"] == "+1-555-0142")
    }

    @Test func enterpriseExtensionPath() throws {
        let m = try compile([MappingProperty(name: "department", path: "\(enterpriseURN):department", warnIfMissing: true)])
        let r = m.evaluate(object(entraUser))
        #expect(r.properties["department"] == "Facilities")
        #expect(r.issues.isEmpty)
    }

    @Test func listTakesAllValues() throws {
        let m = try compile([MappingProperty(name: "emails", type: .list(.string), path: "emails.value", warnIfMissing: true)])
        let r = m.evaluate(object(entraUserNoPrimary))
        #expect(r.properties["emails"] == ["r.okafor.home@example.net", "rosalind.okafor@example.com"])
        #expect(r.issues.isEmpty)
        let empty = m.evaluate(object(#"{"emails":[]}"#))
        #expect(empty.properties["emails"] == nil)
        #expect(empty.issues.map(\.kind) == [.missing])
    }

    @Test func listOfSingleValueIsWrapped() throws {
        let m = try compile([MappingProperty(name: "tags", type: .list(.string), path: "tag")])
        #expect(m.evaluate(object(#"{"tag":"x"}"#)).properties["tags"] == ["x"])
        #expect(m.evaluate(object(#"{"tag":["x","","y",null]}"#)).properties["tags"] == ["x", "y"])
    }

    @Test func listOfEnumKeepsGoodElementsAndReportsBadOnes() throws {
        let m = try compile([MappingProperty(
            name: "roles", type: .list(.enumeration(options: ["Admin", "Member"])), path: "roles.value")])
        let r = m.evaluate(object(#"{"roles":[{"value":"admin"},{"value":"superuser"},{"value":"MEMBER"}]}"#))
        #expect(r.properties["roles"] == ["Admin", "Member"])
        #expect(r.issues.count == 1)
        #expect(r.issues.first?.kind == .typeMismatch)
        #expect(r.issues.first?.detail?.contains("\"superuser\"") == true)
        #expect(r.issues.first?.path == "roles.value")
    }

    @Test func listWithOnlyBadElementsFallsToDefault() throws {
        let m = try compile([MappingProperty(name: "n", type: .list(.integer), path: "n", default: [0])])
        let r = m.evaluate(object(#"{"n":["a","b"]}"#))
        #expect(r.properties["n"] == [0])
        #expect(r.issues.map(\.kind) == [.typeMismatch])
        #expect(r.issues.first?.detail?.contains(#""a", "b""#) == true)
    }

    @Test func enumMapsToCanonicalSpelling() throws {
        let m = try compile([MappingProperty(
            name: "color", type: .enumeration(options: ["Red", "Light Blue"]), path: "color", warnIfMissing: true)])
        #expect(m.evaluate(object(#"{"color":"light blue"}"#)).properties["color"] == "Light Blue")
        let bad = m.evaluate(object(#"{"color":"blue-ish"}"#))
        #expect(bad.properties["color"] == nil)
        #expect(bad.issues == [PropertyIssue(
            property: "color", kind: .typeMismatch,
            detail: #"value "blue-ish" at color is not one of the enum options (Red, Light Blue)"#,
            pathsTried: ["color"], path: "color")])
    }

    @Test func typeMismatchIsReportedEvenWithoutWarnIfMissing() throws {
        let m = try compile([MappingProperty(name: "age", type: .integer, path: "age", warnIfMissing: false)])
        let r = m.evaluate(object(#"{"age":"forty"}"#))
        #expect(r.properties.isEmpty)
        #expect(r.issues.map(\.kind) == [.typeMismatch])
    }

    /// A value that cannot be converted counts as missing: the fallbacks are tried in order.
    @Test func anUnusableValueFallsThroughToTheNextPath() throws {
        let m = try compile([MappingProperty(
            name: "age", type: .integer, path: "age", fallbackPaths: ["years", "ageInYears"], default: 0, warnIfMissing: true)])
        let r = m.evaluate(object(#"{"years":4.2,"ageInYears":40}"#))
        #expect(r.properties["age"] == 40)
        #expect(r.issues.isEmpty)
    }

    /// Only when no path yields a usable value: the default, and a typeMismatch naming each value
    /// found and where.
    @Test func whenNoPathIsUsableTheMismatchNamesEveryValueFound() throws {
        let m = try compile([MappingProperty(
            name: "age", type: .integer, path: "age", fallbackPaths: ["years", "ageInYears"], default: 0, warnIfMissing: true)])
        let r = m.evaluate(object(#"{"age":"forty","years":4.2}"#))
        #expect(r.properties["age"] == 0)
        #expect(r.issues == [PropertyIssue(
            property: "age", kind: .typeMismatch,
            detail: #"value "forty" at age is not an integer; value 4.2 at years is not a whole number; the default 0 was used"#,
            pathsTried: ["age", "years", "ageInYears"], path: "age")])
    }

    @Test func objectValueForScalarIsMismatch() throws {
        let m = try compile([MappingProperty(name: "n", path: "name", warnIfMissing: true)])
        let r = m.evaluate(object(#"{"name":{"givenName":"A"}}"#))
        #expect(r.properties.isEmpty)
        #expect(r.issues.first?.kind == .typeMismatch)
        #expect(r.issues.first?.detail?.contains("not a string") == true)
    }

    @Test func evaluatingManyIsLikeEvaluatingEach() throws {
        let m = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let resources = [object(oktaUser), object(entraUser), object(entraUserNoPrimary)]
        #expect(m.evaluate(resources) == resources.map { m.evaluate($0) })
    }
}
