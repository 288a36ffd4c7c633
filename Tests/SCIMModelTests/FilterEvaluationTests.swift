import SCIMJSON
import Testing
@testable import SCIMModel

/// RFC 7643 §8.2-like user as scimd outputs it (id, meta, extension object).
let babs = object(#"""
{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "2819c223-7f76-453a-919d-413861904646",
  "externalId": "Ext-701984",
  "userName": "bjensen@example.com",
  "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "O'Malley", "givenName": "Barbara"},
  "displayName": "Babs Jensen",
  "title": "Tour Guide",
  "userType": "Employee",
  "active": true,
  "emails": [
    {"value": "bjensen@example.com", "type": "work", "primary": true},
    {"value": "babs@jensen.org", "type": "home"}
  ],
  "ims": [{"value": "someaimhandle", "type": "aim"}],
  "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
  "loginCount": 42,
  "score": 2.5,
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "701984", "department": "Tour Operations",
    "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
  },
  "meta": {
    "resourceType": "User",
    "created": "2010-01-23T04:56:22Z",
    "lastModified": "2011-05-13T04:42:34.1234567-07:00",
    "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
  }
}
"""#)

private func matches(_ filter: String, _ resource: JSONObject = babs, _ type: SCIMResourceType = .user, sourceLocation: SourceLocation = #_sourceLocation) -> Bool? {
    do {
        return try Filter.parse(filter).matches(resource, resourceType: type)
    } catch {
        Issue.record("unexpected error \(error) for \(filter)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite struct FilterEvaluationTests {
    @Test(arguments: [
        (#"userName eq "bjensen@example.com""#, true),
        (#"userName eq "BJENSEN@EXAMPLE.COM""#, true),  // userName is caseExact=false
        (#"userName eq "bjensen""#, false),
        (#"userName ne "bjensen""#, true),
        (#"userName ne "BJensen@example.com""#, false),
        (#"name.familyName co "o'mal""#, true),
        (#"name.familyName co "xyz""#, false),
        (#"userName sw "BJ""#, true),
        (#"userName sw "jensen""#, false),
        (#"userName ew "EXAMPLE.com""#, true),
        (#"userName ew "example""#, false),
        (#"displayName gt "Babs""#, true),
        (#"displayName gt "babs jensen""#, false),
        (#"displayName ge "babs jensen""#, true),
        (#"displayName lt "C""#, true),
        (#"displayName le "BABS JENSEN""#, true),
        (#"displayName lt "Babs Jensen""#, false),
    ])
    func stringOperators(filter: String, expected: Bool) {
        #expect(matches(filter) == expected)
    }

    @Test func caseExactAttributes() {
        #expect(matches(#"id eq "2819c223-7f76-453a-919d-413861904646""#) == true)
        #expect(matches(#"id eq "2819C223-7F76-453A-919D-413861904646""#) == false)  // id caseExact=true
        #expect(matches(#"externalId eq "Ext-701984""#) == true)
        #expect(matches(#"externalId eq "ext-701984""#) == false)  // externalId caseExact=true
        #expect(matches(#"externalId sw "ext""#) == false)
        #expect(matches(#"meta.resourceType eq "User""#) == true)
        #expect(matches(#"meta.resourceType eq "user""#) == false)
    }

    @Test func attributeNamesAreCaseInsensitive() {
        #expect(matches(#"USERNAME eq "bjensen@example.com""#) == true)
        #expect(matches(#"Name.FamilyName eq "o'malley""#) == true)
        #expect(matches(#"EMAILS[TYPE eq "work"].VALUE eq "bjensen@example.com""#) == true)
    }

    @Test func presence() {
        #expect(matches("title pr") == true)
        #expect(matches("nickName pr") == false)
        #expect(matches("name pr") == true)
        #expect(matches("emails pr") == true)
        #expect(matches("emails.display pr") == false)
        let empty = object(#"{"userName":"x","title":"","nickName":null,"emails":[],"name":{},"roles":[{}]}"#)
        #expect(matches("title pr", empty) == false)  // "" is absent
        #expect(matches("nickName pr", empty) == false)  // null is absent
        #expect(matches("emails pr", empty) == false)  // [] is absent
        #expect(matches("name pr", empty) == false)  // {} is absent
        #expect(matches("roles pr", empty) == false)
        #expect(matches("not (title pr)", empty) == true)
    }

    @Test func logicAndPrecedence() {
        #expect(matches(#"title pr and userType eq "Employee""#) == true)
        #expect(matches(#"title pr and userType eq "Intern""#) == false)
        #expect(matches(#"nickName pr or userType eq "Employee""#) == true)
        #expect(matches(#"nickName pr or userType eq "Intern""#) == false)
        #expect(matches(#"not (userType eq "Employee")"#) == false)
        // and binds tighter: true or (false and false) -> true; (true or false) and false -> false
        #expect(matches(#"title pr or nickName pr and userType eq "Intern""#) == true)
        #expect(matches(#"(title pr or nickName pr) and userType eq "Intern""#) == false)
    }

    @Test func multiValuedMatchesIfAnyValueMatches() {
        #expect(matches(#"emails.value eq "babs@jensen.org""#) == true)
        #expect(matches(#"emails.type eq "home""#) == true)
        #expect(matches(#"emails.type ne "work""#) == true)  // the home email is not work
        #expect(matches(#"emails.type eq "other""#) == false)
        #expect(matches(#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#) == true)
    }

    @Test func complexMultiValuedWithoutSubAttributeComparesValue() {
        #expect(matches(#"emails co "jensen.org""#) == true)
        #expect(matches(#"emails eq "BJENSEN@example.com""#) == true)
        #expect(matches(#"emails co "nowhere""#) == false)
    }

    @Test func complexWithoutValueSubAttributeIsInvalidFilter() {
        let error = scimError { () throws(SCIMError) in try Filter.parse(#"name eq "Babs""#).matches(babs, resourceType: .user) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.detail.contains("complex attribute") == true)
        let meta = scimError { () throws(SCIMError) in try Filter.parse(#"meta co "2010""#).matches(babs, resourceType: .user) }
        #expect(meta?.scimType == .invalidFilter)
    }

    @Test func valuePathFilters() {
        #expect(matches(#"emails[type eq "work" and value co "@example.com"]"#) == true)
        #expect(matches(#"emails[type eq "home" and value co "@example.com"]"#) == false)
        #expect(matches(#"userType eq "Employee" and emails[type eq "work" and primary eq true]"#) == true)
        #expect(matches(#"emails[type eq "home"].value eq "babs@jensen.org""#) == true)
        #expect(matches(#"emails[type eq "work"].value eq "babs@jensen.org""#) == false)
        #expect(matches(#"emails[not (type eq "work")].primary pr"#) == false)
        #expect(matches(#"ims[type eq "xmpp" and value co "@foo.com"] or emails[type eq "home"]"#) == true)
    }

    @Test func dateTimesCompareAsInstants() {
        // lastModified is 2011-05-13T11:42:34.1234567Z
        #expect(matches(#"meta.lastModified gt "2011-05-13T04:42:34Z""#) == true)
        #expect(matches(#"meta.lastModified lt "2011-05-13T11:42:35Z""#) == true)
        #expect(matches(#"meta.lastModified gt "2011-05-13T11:42:34.12345671Z""#) == false)
        #expect(matches(#"meta.lastModified eq "2011-05-13T13:42:34.1234567+02:00""#) == true)
        #expect(matches(#"meta.lastModified ge "2011-05-13T11:42:34.1234567Z""#) == true)
        #expect(matches(#"meta.lastModified gt "2011-05-13T11:42:34.1234568Z""#) == false)
        // As text "2011-05-13T04:..." < "2011-05-13T10:..." but as instants it is later.
        #expect(matches(#"meta.lastModified gt "2011-05-13T10:00:00Z""#) == true)
        #expect(matches(#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#) == false)
        #expect(matches(#"meta.created lt "2015-10-10T14:38:21.8617979-07:00""#) == true)
        #expect(matches(#"meta.created eq "2010-01-23T04:56:22.000Z""#) == true)
    }

    @Test func invalidDateTimeLiteralIsInvalidFilter() {
        let error = scimError { () throws(SCIMError) in try Filter.parse(#"meta.created gt "yesterday""#).matches(babs, resourceType: .user) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.detail.contains("not a valid dateTime") == true)
    }

    @Test func booleans() {
        #expect(matches("active eq true") == true)
        #expect(matches("active eq false") == false)
        #expect(matches("active ne false") == true)
        #expect(matches(#"active eq "True""#) == true)  // string literal on a boolean attribute
        #expect(matches("emails.primary eq true") == true)
    }

    @Test(arguments: ["active gt true", "active ge false", "active lt true", "active le false", #"active gt "x""#, #"active co "t""#, #"emails.primary gt "x""#])
    func orderingOnBooleanIsInvalidFilter(filter: String) {
        let error = scimError { () throws(SCIMError) in try Filter.parse(filter).matches(babs, resourceType: .user) }
        #expect(error?.scimType == .invalidFilter)
        #expect(error?.status == 400)
    }

    /// A literal the attribute can never equal is an error, not an empty answer an IdP would read
    /// as "create it". Strings "true"/"false" on a boolean, numbers on numbers, `null` anywhere,
    /// and attributes the schema does not define stay allowed.
    @Test(arguments: [
        #"active eq "yes""#, "active eq 1", #"emails.primary eq "no""#, "userName eq 5", "userName gt 5", "externalId eq true",
        "meta.lastModified eq true", "meta.created gt 2011", #"emails[value eq 42]"#, "id eq false",
    ])
    func aLiteralOfTheWrongTypeIsInvalidFilter(filter: String) {
        let error = scimError { () throws(SCIMError) in try Filter.parse(filter).validate(resourceType: .user) }
        #expect(error?.scimType == .invalidFilter, "\(filter)")
        #expect(error?.status == 400)
        #expect(error?.detail.contains("attribute: compare it with") == true, "\(error?.detail ?? "")")
    }

    @Test(arguments: [
        #"active eq "TRUE""#, "active eq null", "userName eq null", #"nickName eq "x""#, "loginCount eq 42.0", #"loginCount eq "42""#,
        #"emails eq "a@example.com""#, #"x509Certificates.value eq "MII""#,
    ])
    func literalsTheAttributeCanEqualAreAccepted(filter: String) {
        #expect(throws: Never.self) { try Filter.parse(filter).validate(resourceType: .user) }
    }

    @Test func validateWithoutResources() {
        #expect(throws: SCIMError.self) { try Filter.parse(#"active gt "x""#).validate(resourceType: .user) }
        #expect(throws: Never.self) { try Filter.parse(#"title gt "x""#).validate(resourceType: .user) }
    }

    @Test func orderingOnBinaryIsInvalidFilter() {
        let error = scimError { () throws(SCIMError) in try Filter.parse(#"x509Certificates.value gt "M""#).matches(babs, resourceType: .user) }
        #expect(error?.scimType == .invalidFilter)
    }

    @Test func numbersCompareNumerically() {
        #expect(matches("loginCount gt 9") == true)  // as text "42" < "9"
        #expect(matches("loginCount eq 42.0") == true)
        #expect(matches("score lt 10") == true)
        #expect(matches("score ge 2.5") == true)
        #expect(matches("score gt 2.5") == false)
        #expect(matches(#"loginCount eq "42""#) == false)  // a string is not the number
    }

    @Test func nullLiterals() {
        #expect(matches("nickName eq null") == true)
        #expect(matches("title eq null") == false)
        #expect(matches("title ne null") == true)
        #expect(matches("nickName ne null") == false)
    }

    @Test func absentAttributeMatchesNoComparison() {
        #expect(matches(#"nickName eq "x""#) == false)
        #expect(matches(#"nickName ne "x""#) == false)
        #expect(matches(#"not (nickName eq "x")"#) == true)
    }

    @Test func extensionAttributes() {
        #expect(matches(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#) == true)
        #expect(matches(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#) == true)
        #expect(matches(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#) == true)
        #expect(matches(#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj""#) == true)
        #expect(matches(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales""#) == false)
    }

    @Test func literalTopLevelExtensionKeyIsFound() {
        let quirky = object(#"{"userName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Harbour"}"#)
        #expect(matches(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "harbour""#, quirky) == true)
    }

    @Test func groupFilters() {
        let group = object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Harbour Ops","members":[{"value":"u1","display":"A"},{"value":"u2"}],"meta":{"resourceType":"Group"}}"#)
        #expect(matches(#"displayName eq "HARBOUR OPS""#, group, .group) == true)
        #expect(matches(#"members[value eq "u2"]"#, group, .group) == true)
        #expect(matches(#"members.value eq "u3""#, group, .group) == false)
        #expect(matches(#"members eq "u1""#, group, .group) == true)
    }

    @Test func fixtureFilterLogicAndDates() throws {
        // The five users of filter-logic-and-dates.json, with meta as the service adds it.
        func user(_ id: String, _ type: String, _ email: String, _ title: String?) -> JSONObject {
            var o = object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"meta":{"resourceType":"User","created":"2024-03-01T10:00:00Z","lastModified":"2024-03-01T10:00:00Z"}}"#)
            o["id"] = .string(id)
            o["userName"] = .string("flt.\(id)@example.com")
            o["userType"] = .string(type)
            o["emails"] = [["value": .string(email), "type": "work"]]
            if let title { o["title"] = .string(title) }
            return o
        }
        let users = [
            user("one", "Contractor", "flt.one@example.net", "Auditor"),
            user("two", "Employee", "flt.two@example.net", "Engineer"),
            user("three", "Contractor", "flt.three@ex)ample.org", "Designer"),
            user("four", "Intern", "flt.four@example.com(old)", ""),
            user("five", "Employee", "flt.five@example.net", nil),
        ]
        func ids(_ text: String) throws -> [String] {
            let f = try Filter.parse(text)
            var out: [String] = []
            for u in users where try f.matches(u, resourceType: .user) { out.append(u["id"]!.stringValue!) }
            return out
        }
        #expect(try ids(#"userType ne "Employee" and not (emails co "example.com(" Or emails.value cO "ex)ample.org")"#) == ["one"])
        #expect(try ids(#"title eq "Engineer" or userType eq "Contractor" and title eq "Designer""#) == ["two", "three"])
        #expect(try ids(#"NOT(userType eq "Employee") and userType Eq "Intern""#) == ["four"])
        #expect(try ids(#"title pr and meta.lastModified ge "2011-05-13T04:42:34Z""#) == ["one", "two", "three"])
        #expect(try ids(#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#).count == 5)
        #expect(try ids(#"meta.lastModified lt "2011-05-13T04:42:34+02:00""#).isEmpty)
        #expect(throws: SCIMError.self) { try ids("active gt true") }
    }
}

/// `PreparedFilter`: what is resolved once must not change what matches.
@Suite struct PreparedFilterTests {
    /// Case-insensitive `co`/`sw`/`ew` compare ASCII text byte by byte; anything else as Swift
    /// Strings (graphemes, Unicode lowercasing). Each case is checked against that String rule.
    @Test(arguments: [
        ("Tour Guide", "tour g"), ("Tour Guide", "GUIDE"), ("Tour Guide", ""), ("Tour Guide", "Tour Guide!"),
        ("ÉCOLE Normale", "école"), ("e\u{301}cole", "e"), ("Straße", "STRASSE"), ("a\r\nb", "\r"), ("a\r\nb", "a\r\nb"),
        ("İstanbul", "i"), ("x", "x"), ("", "a"), ("KELVIN \u{212A}", "k"),
    ])
    func substringsCompareLikeLowercasedStrings(hay: String, needle: String) throws {
        let resource: JSONObject = ["title": .string(hay)]
        // As Characters explicitly: Foundation, imported here, would search "a\r\nb" by UTF-16 unit.
        let h = Array(hay.lowercased()), n = Array(needle.lowercased())
        let contains = n.isEmpty || (n.count <= h.count && (0...(h.count - n.count)).contains { Array(h[$0..<($0 + n.count)]) == n })
        let expected: [(ComparisonOperator, Bool)] = [(.co, contains), (.sw, h.starts(with: n)), (.ew, h.reversed().starts(with: n.reversed()))]
        for (op, result) in expected {
            let filter = Filter.compare(try .parse("title"), op, .string(needle))
            #expect(try filter.matches(resource, resourceType: .user) == result, "\(hay) \(op) \(needle)")
        }
    }

    /// `id` is caseExact: substrings keep case, on the byte path and the String path alike.
    @Test func caseExactSubstringsKeepCase() throws {
        let resource: JSONObject = ["id": "AbC-Déf"]
        #expect(try Filter.parse(#"id sw "AbC""#).matches(resource, resourceType: .user) == true)
        #expect(try Filter.parse(#"id sw "abc""#).matches(resource, resourceType: .user) == false)
        #expect(try Filter.parse(#"id ew "Déf""#).matches(resource, resourceType: .user) == true)
        #expect(try Filter.parse(#"id ew "déf""#).matches(resource, resourceType: .user) == false)
    }

    /// An object where the schema has a simple value is compared by its `value` member, like an
    /// unknown attribute's: one odd stored resource no longer makes the whole search fail.
    @Test func anObjectWhereASimpleValueBelongsComparesItsValue() throws {
        let odd: JSONObject = ["userName": ["value": "Odd@Example.com"], "title": ["display": "x"]]
        #expect(try Filter.parse(#"userName eq "odd@example.com""#).matches(odd, resourceType: .user) == true)
        #expect(try Filter.parse(#"userName ew "@EXAMPLE.COM""#).matches(odd, resourceType: .user) == true)
        #expect(try Filter.parse(#"title eq "x""#).matches(odd, resourceType: .user) == false)
        #expect(try Filter.parse(#"title eq null"#).matches(odd, resourceType: .user) == true)
        #expect(try Filter.parse(#"title pr"#).matches(odd, resourceType: .user) == true)
    }

    /// One prepared filter gives the same answers as `Filter.matches` over many resources, and
    /// refuses what validation refuses.
    @Test func preparedOnceMatchesLikeMatches() throws {
        let texts = [
            #"emails[type eq "work" and value ew "@example.com"]"#, #"name.familyName co "o'MAL""#, "loginCount ge 42",
            #"meta.lastModified gt "2011-05-13T04:42:34Z""#, #"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            #"not (active eq "false") and emails[type eq "home"].value sw "BABS""#,
        ]
        var other = babs
        other["emails"] = [["value": "x@example.org", "type": "work"]]
        other["active"] = false
        for text in texts {
            let filter = try Filter.parse(text)
            let prepared = try PreparedFilter(filter, resourceType: .user)
            // What a thread of a parallel scan matches with.
            let again = prepared.resolvedAgain()
            #expect(again.filter == filter && again.resourceType == .user)
            for resource in [babs, other, JSONObject()] {
                #expect(prepared.matches(resource) == (try filter.matches(resource, resourceType: .user)), "\(text)")
                #expect(again.matches(resource) == prepared.matches(resource), "\(text)")
            }
        }
        #expect(try PreparedFilter(try Filter.parse(texts[0]), resourceType: .user).matches(babs))
        #expect(throws: SCIMError.self) { try PreparedFilter(try Filter.parse("active gt true"), resourceType: .user) }
        #expect(throws: SCIMError.self) { try PreparedFilter(try Filter.parse(#"name eq "x""#), resourceType: .user) }
    }
}

@Suite struct ValuesAtPathTests {
    @Test func simpleAndSub() throws {
        #expect(babs.values(at: try .parse("userName"), resourceType: .user) == ["bjensen@example.com"])
        #expect(babs.values(at: try .parse("name.givenName"), resourceType: .user) == ["Barbara"])
        #expect(babs.values(at: try .parse("nickName"), resourceType: .user) == [])
    }

    @Test func flattensMultiValued() throws {
        #expect(babs.values(at: try .parse("emails.value"), resourceType: .user) == ["bjensen@example.com", "babs@jensen.org"])
        #expect(babs.values(at: try .parse("emails"), resourceType: .user).count == 2)
        #expect(babs.values(at: try .parse("emails.display"), resourceType: .user) == [])
    }

    @Test func appliesValueFilter() throws {
        #expect(babs.values(at: try .parse(#"emails[type eq "home"].value"#), resourceType: .user) == ["babs@jensen.org"])
        #expect(babs.values(at: try .parse(#"emails[primary eq true]"#), resourceType: .user)
            == [json(#"{"value": "bjensen@example.com", "type": "work", "primary": true}"#)])
        #expect(babs.values(at: try .parse(#"emails[type eq "other"]"#), resourceType: .user) == [])
    }

    @Test func caseInsensitiveNames() throws {
        #expect(babs.values(at: try .parse("USERNAME"), resourceType: .user) == ["bjensen@example.com"])
        #expect(babs.values(at: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT"), resourceType: .user) == ["Tour Operations"])
    }

    @Test func extensionObjectAndWholeExtension() throws {
        #expect(babs.values(at: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName"), resourceType: .user) == ["John Smith"])
        let whole = babs.values(at: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), resourceType: .user)
        #expect(whole.first?["employeeNumber"] == "701984")
    }

    @Test func literalTopLevelKeyAndExtensionObjectBothFound() throws {
        let o = object(#"{"urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter":"CC-1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"B"}"#)
        #expect(o.values(at: try .parse("urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter"), resourceType: .user) == ["CC-1"])
        #expect(o.values(at: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), resourceType: .user) == ["A", "B"])
    }

    @Test func nullsAreLeftOut() throws {
        let o = object(#"{"nickName":null,"emails":[null,{"value":null},{"value":"a"}]}"#)
        #expect(o.values(at: try .parse("nickName"), resourceType: .user) == [])
        #expect(o.values(at: try .parse("emails.value"), resourceType: .user) == ["a"])
    }
}

@Suite struct DateTimeTests {
    @Test func parsesOffsetsAndFractions() throws {
        let a = try #require(SCIMDateTime("2015-10-10T14:38:21.8617979-07:00"))
        let b = try #require(SCIMDateTime("2015-10-10T21:38:21.8617979Z"))
        #expect(a == b)
        #expect(a.nanoseconds == 861_797_900)
        #expect(SCIMDateTime("2011-05-13T04:42:34Z")!.secondsSinceEpoch == 1_305_261_754)
        #expect(SCIMDateTime("1970-01-01T00:00:00Z")!.secondsSinceEpoch == 0)
        #expect(SCIMDateTime("1969-12-31T23:59:59Z")!.secondsSinceEpoch == -1)
        #expect(SCIMDateTime("2024-02-29T00:00:00+0100") != nil)
        #expect(SCIMDateTime("2024-02-29T00:00:00") != nil)
        #expect(SCIMDateTime("2015-10-10T14:38:21.8617979-07:00")!.description == "2015-10-10T21:38:21.8617979Z")
    }

    @Test(arguments: ["", "2011-05-13", "2011-05-13T04:42Z", "2011-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2011-05-13T24:00:00Z", "2011-05-13T04:42:34.Z", "2011-05-13T04:42:34Zjunk", "yesterday"])
    func rejectsInvalid(text: String) {
        #expect(SCIMDateTime(text) == nil)
    }
}
