import PropertyBased
import SCIMJSON
import Testing
@testable import SCIMModel

/// Builds a filter deterministically from a list of choices, so the property library can
/// generate and shrink filters through a plain `[Int]` (fewer choices: smaller filter).
struct FilterBuilder {
    var choices: [Int]
    var position = 0

    static let paths = [
        "userName", "name.givenName", "emails.value", "title", "x-y_z", "meta.lastModified", "members.$ref",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter.sub",
    ]
    static let innerPaths = ["type", "value", "primary", "display"]
    static let strings = [
        "", "bjensen", "O'Malley", "a \"quoted\" word", "back\\slash", "paren ( and ) inside", "[brackets]", "and", "or",
        "not (", "ünïcødé ✓", "tab\tnew\nline", "2011-05-13T04:42:34Z",
    ]

    mutating func next(_ n: Int) -> Int {
        defer { position += 1 }
        guard position < choices.count else { return 0 }
        return abs(choices[position] % n)
    }

    mutating func path(inner: Bool) -> AttributePath {
        let list = inner ? Self.innerPaths : Self.paths
        return try! AttributePath.parse(list[next(list.count)])
    }

    mutating func comparison(inner: Bool) -> Filter {
        let p = path(inner: inner)
        let op = ComparisonOperator.allCases[next(ComparisonOperator.allCases.count)]
        let value: JSONValue
        if op.isSubstring {
            value = .string(Self.strings[next(Self.strings.count)])
        } else {
            switch next(op == .eq || op == .ne ? 5 : 3) {
            case 0: value = .string(Self.strings[next(Self.strings.count)])
            case 1: value = .int(next(2001) - 1000)
            case 2: value = .double(Double(next(20001) - 10000) / 8)
            case 3: value = .bool(next(2) == 1)
            default: value = .null
            }
        }
        return .compare(p, op, value)
    }

    mutating func filter(depth: Int = 0, inner: Bool = false) -> Filter {
        let kind = depth >= 5 ? next(2) : next(inner ? 5 : 7)
        switch kind {
        case 0: return comparison(inner: inner)
        case 1: return .present(path(inner: inner))
        case 2: return .and(filter(depth: depth + 1, inner: inner), filter(depth: depth + 1, inner: inner))
        case 3: return .or(filter(depth: depth + 1, inner: inner), filter(depth: depth + 1, inner: inner))
        case 4: return .not(filter(depth: depth + 1, inner: inner))
        case 5:
            let attribute = ["emails", "members", "addresses"][next(3)]
            return .valuePath(AttributePath(attribute: attribute), filter(depth: depth + 1, inner: true))
        default:
            // A comparison on a value path with a sub-attribute (`emails[type eq "work"].value eq "x"`).
            var p = AttributePath(attribute: "emails", valueFilter: filter(depth: depth + 1, inner: true), subAttribute: "value")
            if next(2) == 1 { p.attribute = "phoneNumbers" }
            return next(2) == 0 ? .present(p) : .compare(p, .eq, .string(Self.strings[next(Self.strings.count)]))
        }
    }
}

@Suite struct FilterPropertyTests {
    @Test func printThenParseGivesAnEqualFilter() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...10_000).array(of: 0...60)) { choices in
            var builder = FilterBuilder(choices: choices)
            let filter = builder.filter()
            let text = filter.description
            let reparsed = try? Filter.parse(text)
            // `and`/`or` groups print without redundant parentheses and reparse balanced, so the
            // tree may differ in shape from the built one; its text and its meaning may not.
            #expect(reparsed != nil, "text: \(text)")
            #expect(reparsed?.description == text)
            #expect((try? Filter.parse(reparsed?.description ?? "")) == reparsed)
            for r in [babs, object(#"{"userName":"x","emails":[{"type":"work","value":"x"}],"title":""}"#)] {
                #expect((try? reparsed?.matches(r, resourceType: .user)) == (try? filter.matches(r, resourceType: .user)), "text: \(text)")
            }
        }
    }

    @Test func pathsRoundTripThroughDescription() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...10_000).array(of: 0...30)) { choices in
            var builder = FilterBuilder(choices: choices)
            let path = AttributePath(attribute: "emails", valueFilter: builder.filter(inner: true), subAttribute: builder.next(2) == 0 ? nil : "value")
            // The value filter may come back as a differently shaped (balanced) tree; its text may not change.
            let reparsed = try? AttributePath.parse(path.description)
            #expect(reparsed?.description == path.description, "text: \(path.description)")
            #expect(reparsed.flatMap { try? AttributePath.parse($0.description) } == reparsed)
        }
    }

    @Test func evaluationNeverCrashesAndNotInverts() async {
        let resources = [babs, object(#"{"userName":"x","emails":[],"title":""}"#)]
        await propertyCheck(count: 300, input: Gen.int(in: 0...10_000).array(of: 0...40)) { choices in
            var builder = FilterBuilder(choices: choices)
            let filter = builder.filter()
            for r in resources {
                let direct = try? filter.matches(r, resourceType: .user)
                let negated = try? Filter.not(filter).matches(r, resourceType: .user)
                if let direct, let negated { #expect(direct != negated, "\(filter)") }
                // Validation is resource-independent: both fail or both succeed.
                #expect((direct == nil) == (negated == nil))
            }
        }
    }
}

/// A scan evaluates a filter on only the top-level members it reads (`topLevelMemberNames`): the
/// outcome (match, no match, or the error) must be the one the whole resource gives.
@Suite struct TopLevelMemberNamesTests {
    /// Resources whose members are spelled in other cases, held under extension URNs and under
    /// literal `urn:…:attribute` keys, so each way the evaluator finds a member is exercised.
    static let resources: [JSONObject] = [
        babs,
        object(#"""
            {"USERNAME": "Zed", "Emails": [{"VALUE": "z@example.com", "Type": "work"}], "title": "and",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tour Operations",
             "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User": {"costCenter": {"sub": "O'Malley"}},
             "phoneNumbers": [{"value": "555", "type": "work"}], "members": [{"value": "1", "$ref": "[brackets]"}],
             "meta": {"lastModified": "2011-05-13T04:42:34Z"}}
            """#),
        object(#"{"userName": "", "emails": [], "x-y_z": 3, "urn:ietf:params:scim:schemas:core:2.0:User:title": "bjensen"}"#),
    ]

    @Test func aResourceCutToTheMembersAFilterReadsMatchesLikeTheWholeOne() async {
        await propertyCheck(count: 500, input: Gen.int(in: 0...10_000).array(of: 0...60)) { choices in
            var builder = FilterBuilder(choices: choices)
            let filter = builder.filter()
            let names = filter.topLevelMemberNames
            for resource in Self.resources {
                var cut = JSONObject()
                for (key, value) in resource where names.contains(where: { $0.caseInsensitiveEquals(key) }) { cut[key] = value }
                let whole = Result { () throws(SCIMError) in try filter.matches(resource, resourceType: .user) }
                let part = Result { () throws(SCIMError) in try filter.matches(cut, resourceType: .user) }
                #expect(whole == part, "filter: \(filter)")
            }
        }
    }

    @Test func namesComeFromTopLevelPathsOnly() throws {
        let filter = try Filter.parse(
            #"emails[type eq "work" and value ew "@example.com"] or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x" or not (name.givenName pr)"#)
        #expect(
            filter.topLevelMemberNames == [
                "emails", "department", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "name",
            ])
    }
}
