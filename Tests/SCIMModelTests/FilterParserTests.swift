import SCIMJSON
import Testing
@testable import SCIMModel

private func path(_ text: String) -> AttributePath { try! AttributePath.parse(text) }

@Suite struct FilterParserTests {
    /// Every example filter of RFC 7644 §3.4.2.2 parses, and prints back to a text that parses
    /// to the same tree.
    @Test(arguments: [
        #"userName eq "bjensen""#,
        #"name.familyName co "O'Malley""#,
        #"userName sw "J""#,
        #"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        #"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        #"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        #"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        #"meta.lastModified le "2011-05-13T04:42:34Z""#,
        #"title pr and userType eq "Employee""#,
        #"title pr or userType eq "Intern""#,
        #"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        #"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        #"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        #"userType eq "Employee" and (emails.type eq "work")"#,
        #"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        #"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ])
    func rfcExamples(text: String) throws {
        let filter = try Filter.parse(text)
        #expect(try Filter.parse(filter.description) == filter)
    }

    @Test func comparisonShape() throws {
        #expect(try Filter.parse(#"userName eq "bjensen""#) == .compare(path("userName"), .eq, "bjensen"))
        #expect(try Filter.parse("title pr") == .present(path("title")))
        #expect(try Filter.parse(#"meta.lastModified gt "2011-05-13T04:42:34Z""#)
            == .compare(path("meta.lastModified"), .gt, "2011-05-13T04:42:34Z"))
    }

    @Test func operatorsAndKeywordsAreCaseInsensitive() throws {
        let f = try Filter.parse(#"NOT(userType Eq "Employee") AnD emails cO "x" Or title PR"#)
        #expect(f == .or(
            .and(.not(.compare(path("userType"), .eq, "Employee")), .compare(path("emails"), .co, "x")),
            .present(path("title"))))
    }

    @Test func andBindsTighterThanOr() throws {
        let f = try Filter.parse(#"title eq "Engineer" or userType eq "Contractor" and title eq "Designer""#)
        #expect(f == .or(
            .compare(path("title"), .eq, "Engineer"),
            .and(.compare(path("userType"), .eq, "Contractor"), .compare(path("title"), .eq, "Designer"))))
    }

    @Test func chainsBuildBalancedTrees() throws {
        let f = try Filter.parse("a pr and b pr and c pr")
        #expect(f == .and(.present(path("a")), .and(.present(path("b")), .present(path("c")))))
        let g = try Filter.parse("a pr or b pr or c pr or d pr")
        #expect(g == .or(.or(.present(path("a")), .present(path("b"))), .or(.present(path("c")), .present(path("d")))))
        // Parenthesized groups of the same operator are spliced in: every spelling is one tree.
        #expect(try Filter.parse("(a pr or b pr) or (c pr or d pr)") == g)
        #expect(try Filter.parse("a pr or (b pr or (c pr or d pr))") == g)
        #expect(try Filter.parse("a pr and (b pr and c pr)") == f)
        // An `or` inside an `and` stays a term of its own.
        #expect(try Filter.parse("a pr and (b pr or c pr)") == .and(.present(path("a")), .or(.present(path("b")), .present(path("c")))))
    }

    @Test func parenthesesInsideStringsAreCharacters() throws {
        let f = try Filter.parse(#"userType ne "Employee" and not (emails co "example.com(" Or emails.value cO "ex)ample.org")"#)
        #expect(f == .and(
            .compare(path("userType"), .ne, "Employee"),
            .not(.or(.compare(path("emails"), .co, "example.com("), .compare(path("emails.value"), .co, "ex)ample.org")))))
    }

    @Test func escapedQuotesAndUnicodeEscapes() throws {
        #expect(try Filter.parse(#"displayName eq "say \"hi\" \\ \u00e9""#) == .compare(path("displayName"), .eq, .string("say \"hi\" \\ é")))
    }

    @Test func literalValues() throws {
        #expect(try Filter.parse("active eq true") == .compare(path("active"), .eq, true))
        #expect(try Filter.parse("active eq FALSE") == .compare(path("active"), .eq, false))
        #expect(try Filter.parse("manager eq null") == .compare(path("manager"), .eq, .null))
        #expect(try Filter.parse("x.y gt -12") == .compare(path("x.y"), .gt, -12))
        #expect(try Filter.parse("x le 1.5e3") == .compare(path("x"), .le, 1500.0))
    }

    @Test func valuePathForms() throws {
        #expect(try Filter.parse(#"emails[type eq "work"]"#) == .valuePath(path("emails"), .compare(path("type"), .eq, "work")))
        // Not RFC grammar but accepted: a value path with a sub-attribute in a comparison.
        #expect(try Filter.parse(#"emails[type eq "work"].value eq "a@x""#) == .compare(path(#"emails[type eq "work"].value"#), .eq, "a@x"))
        #expect(try Filter.parse(#"emails[type eq "work"] pr"#) == .present(path(#"emails[type eq "work"]"#)))
    }

    @Test func notAsAttributeName() throws {
        #expect(try Filter.parse("not pr") == .present(path("not")))
    }

    @Test func whitespaceVariants() throws {
        #expect(try Filter.parse("  (  title pr  )  ") == .present(path("title")))
        #expect(try Filter.parse("not  (title pr)") == .not(.present(path("title"))))
        #expect(try Filter.parse("(a pr)or(b pr)") == .or(.present(path("a")), .present(path("b"))))
    }

    @Test(arguments: [
        ("", "empty filter"),
        ("   ", "empty filter"),
        (#"userName eq "unterminated"#, "unterminated string"),
        (#"userName zz "x""#, "unknown operator 'zz'"),
        ("userName", "expected an operator"),
        ("userName eq", "expected a comparison value"),
        ("userName eq bjensen", "strings must be in double quotes"),
        (#"(userName eq "x""#, "missing ')'"),
        (#"userName eq "x")"#, "unbalanced ')'"),
        (#"userName eq "x" and"#, "unexpected end of filter"),
        (#"and userName eq "x""#, "'and' needs an expression"),
        (#"userName eq "x" userType eq "y""#, "expected 'and', 'or' or the end"),
        (#"not userName eq "x""#, "expected '(' after 'not'"),
        (#"emails[type eq "work""#, "missing ']'"),
        (#"emails[type eq "work"]]"#, "unbalanced ']'"),
        ("emails[]", "empty value filter"),
        ("()", "empty parentheses"),
        (#"emails[type[x pr] pr]"#, "cannot contain another value filter"),
        ("name..givenName pr", "empty name segment"),
        ("active gt true", "boolean"),
        ("title co 5", "needs a string"),
        ("title gt null", "null can only be compared"),
        (#"userName eq "bad \q escape""#, "invalid string literal"),
    ])
    func errors(text: String, expected: String) {
        let error = scimError { () throws(SCIMError) in try Filter.parse(text) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.status == 400)
        #expect(error?.detail.contains(expected) == true, "detail was: \(error?.detail ?? "-")")
    }

    @Test func depthLimit() throws {
        let nested = String(repeating: "(", count: 10) + "title pr" + String(repeating: ")", count: 10)
        #expect(try Filter.parse(nested, maximumDepth: 10) == .present(path("title")))
        let error = scimError { () throws(SCIMError) in try Filter.parse(nested, maximumDepth: 9) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.detail.contains("nesting deeper than 9") == true)
        let nots = String(repeating: "not (", count: 5) + "title pr" + String(repeating: ")", count: 5)
        #expect(throws: SCIMError.self) { try Filter.parse(nots, maximumDepth: 4) }
        #expect(throws: Never.self) { try Filter.parse(nots, maximumDepth: 10) }
    }

    @Test func hostileNestingIsRejectedNotRecursedInto() {
        let hostile = String(repeating: "(", count: 100_000)
        let error = scimError { () throws(SCIMError) in try Filter.parse(hostile, maximumLength: 1_000_000) }
        #expect(error?.detail.contains("nesting deeper than 64") == true)
    }

    @Test func lengthLimit() throws {
        let long = #"userName eq ""# + String(repeating: "a", count: 100) + "\""
        #expect(throws: Never.self) { try Filter.parse(long, maximumLength: long.count) }
        let error = scimError { () throws(SCIMError) in try Filter.parse(long, maximumLength: long.count - 1) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.detail.contains("longer than") == true)
    }

    @Test func descriptionIsCanonical() throws {
        #expect(try Filter.parse(#"UserName EQ "x" AND (a PR OR b pr)"#).description == #"UserName eq "x" and (a pr or b pr)"#)
        // `and` and `or` are associative: parentheses around a same-operator group are dropped.
        #expect(try Filter.parse("a pr and (b pr and c pr)").description == "a pr and b pr and c pr")
        #expect(try Filter.parse("(a pr or b pr) or c pr").description == "a pr or b pr or c pr")
        #expect(try Filter.parse("a pr and (b pr or c pr and d pr)").description == "a pr and (b pr or c pr and d pr)")
        #expect(try Filter.parse("(a pr or b pr) and c pr").description == "(a pr or b pr) and c pr")
        #expect(try Filter.parse("NOT(a pr)").description == "not (a pr)")
    }
}

@Suite struct FilterLimitTests {
    /// The longest and/or chain the default length limit lets through must still evaluate,
    /// print, compare and hash without exhausting a (non-main) thread's stack.
    @Test func longestChainWithinTheLengthLimit() throws {
        let terms = Array(repeating: "a pr", count: 16_384 / 9)
        let text = terms.joined(separator: " or ")
        #expect(text.count <= 16_384)
        let filter = try Filter.parse(text)
        #expect(try filter.matches(babs, resourceType: .user) == false)
        #expect(try Filter.parse(filter.description) == filter)
        #expect(Set([filter]).count == 1)
    }

    /// Chains parse into balanced trees: 1,820 terms nest 11 deep, not 1,820.
    @Test func chainsAreBalanced() throws {
        func depth(_ f: Filter) -> Int {
            switch f {
            case .and(let l, let r), .or(let l, let r): return 1 + max(depth(l), depth(r))
            case .not(let inner), .valuePath(_, let inner): return 1 + depth(inner)
            case .compare, .present: return 0
            }
        }
        let or = try Filter.parse(Array(repeating: "a pr", count: 1_820).joined(separator: " or "))
        #expect(depth(or) == 11)
        let and = try Filter.parse(Array(repeating: "a pr", count: 5).joined(separator: " and "))
        #expect(depth(and) == 3)
        // A balanced chain means the same as the flat one: one true term makes the `or` true.
        let mixed = try Filter.parse(#"nickName eq "zz" or userName eq "bjensen@example.com" or nickName eq "yy""#)
        #expect(try mixed.matches(babs, resourceType: .user) == true)
    }
}
