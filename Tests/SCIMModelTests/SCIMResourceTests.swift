import SCIMJSON
import Testing
@testable import SCIMModel

private func prepare(_ text: String, _ type: SCIMResourceType = .user, sourceLocation: SourceLocation = #_sourceLocation) -> JSONObject? {
    do { return try SCIMResource.prepareForStorage(json(text), resourceType: type) } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

private func prepareError(_ text: String, _ type: SCIMResourceType = .user) -> SCIMError? {
    scimError { () throws(SCIMError) in try SCIMResource.prepareForStorage(json(text), resourceType: type) }
}

@Suite struct PrepareForStorageTests {
    @Test func dropsClientSentReadOnlyAndWriteOnlyAttributes() throws {
        let stored = try #require(prepare(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"client-id","userName":"a@example.com",
             "meta":{"resourceType":"User"},"password":"Qm4r8ZxL","groups":[],"active":true}
            """#))
        #expect(stored["id"] == nil)
        #expect(stored["meta"] == nil)
        #expect(stored["password"] == nil)
        #expect(stored["groups"] == nil)
        #expect(stored == object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@example.com","active":true}"#))
    }

    @Test func groupKeepsDisplayNameMembersAndUnknownSchema() throws {
        let stored = try #require(prepare(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
             "externalId":"4e9a","displayName":"Harbour Ops","meta":{"resourceType":"Group"},
             "members":[{"value":"u1","display":"A","$ref":null},{"value":"u2","type":"User"},{"value":"u3","$ref":"https://x/Users/u3"}]}
            """#, .group))
        #expect(stored["meta"] == nil)
        #expect(stored["schemas"] == json(#"["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]"#))
        #expect(stored["members"] == json(#"[{"value":"u1","display":"A"},{"value":"u2","type":"User"},{"value":"u3","$ref":"https://x/Users/u3"}]"#))
    }

    @Test func userAndGroupAreDifferent() {
        // A Group's required attribute is displayName, and groups/password are not special there.
        #expect(prepareError(#"{"userName":"x"}"#, .group)?.scimType == .invalidValue)
        #expect(prepare(#"{"displayName":"G","password":"p"}"#, .group)?["password"] == "p")
    }

    @Test func requiredAttributes() {
        #expect(prepareError(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"x"}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":""}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":{"a":1}}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":null}"#)?.detail.contains("userName is required") == true)
        #expect(prepareError(#"{"displayName":null}"#, .group)?.detail.contains("displayName is required") == true)
    }

    @Test func anAttributeNamedTwiceInDifferentCaseIsInvalidSyntax() {
        let top = prepareError(#"{"userName":"a","title":"x","TITLE":"y"}"#)
        #expect(top?.scimType == .invalidSyntax)
        #expect(top?.detail.contains("\"TITLE\" appears more than once") == true)
        // Inside a complex value and inside the enterprise extension.
        #expect(prepareError(#"{"userName":"a","name":{"givenName":"A","GivenName":"B"}}"#)?.scimType == .invalidSyntax)
        #expect(
            prepareError(#"{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x","Department":"y"}}"#)?
                .scimType == .invalidSyntax)
        // Names unknown to the schema, and non-ASCII ones, too (folded as Unicode lowercasing does).
        #expect(prepareError(#"{"userName":"a","costCenterX":"1","COSTCENTERX":"2"}"#)?.scimType == .invalidSyntax)
        #expect(prepareError(#"{"userName":"a","Ärger":"1","äRGER":"2"}"#)?.scimType == .invalidSyntax)
        // Different names are fine, however alike.
        #expect(prepare(#"{"userName":"a","title":"x","titles":"y"}"#)?["titles"] == "y")
    }

    @Test func topLevelDefinitionsAreFoundAsTheListScanFindsThem() {
        for type in [SCIMResourceType.user, .group] {
            let attributes = SCIMSchemas.topLevelAttributes(type)
            var names = ["", "nosuch", "USERNAME", "Emails", "EXTERNALID", "groups", "members", "displayname", "Kelvin\u{212A}", "ÄRGER"]
            for attribute in attributes {
                names += [attribute.name, attribute.name.uppercased(), attribute.name.lowercased(), String(attribute.name.dropLast())]
            }
            for name in names {
                #expect(SCIMSchemas.topLevelDefinition(named: name, resourceType: type) == SCIMSchemas.lookup(name, in: attributes), "\(type) \(name)")
            }
        }
        #expect(SCIMSchemas.topLevelDefinition(named: "uSeRnAmE", resourceType: .user)?.name == "userName")
        #expect(SCIMSchemas.topLevelDefinition(named: "userName", resourceType: .group) == nil)
    }

    @Test func notAnObjectIsInvalidSyntax() {
        #expect(prepareError(#"["userName"]"#)?.scimType == .invalidSyntax)
        #expect(prepareError(#""x""#)?.status == 400)
    }

    @Test func booleanStringsAreCoerced() throws {
        let stored = try #require(prepare(#"{"userName":"a","active":"False","emails":[{"value":"a@x","primary":"true"}],"addresses":[{"primary":"TRUE","type":"work"}]}"#))
        #expect(stored["active"] == false)
        #expect(stored["emails"] == json(#"[{"value":"a@x","primary":true}]"#))
        #expect(stored["addresses"] == json(#"[{"primary":true,"type":"work"}]"#))
    }

    @Test func uncoercibleValuesAreInvalidValue() {
        #expect(prepareError(#"{"userName":"a","active":"sometimes"}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":"a","active":1}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":"a","name":"Barbara Jensen"}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":"a","displayName":{"x":1}}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":"a","emails":[{"value":"a","primary":"yes"}]}"#)?.detail.contains("emails.primary") == true)
        #expect(prepareError(#"{"userName":"a","schemas":5}"#)?.scimType == .invalidValue)
        #expect(prepareError(#"{"userName":"a","displayName":["a","b"]}"#)?.scimType == .invalidValue)
    }

    @Test func otherCoercions() throws {
        let stored = try #require(prepare(#"""
            {"userName":"a","displayName":["Only One"],"emails":{"value":"single@x"},"phoneNumbers":["+1-555"],
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":480212,"manager":"boss-id"}}
            """#))
        #expect(stored["displayName"] == "Only One")
        #expect(stored["emails"] == json(#"[{"value":"single@x"}]"#))
        #expect(stored["phoneNumbers"] == json(#"[{"value":"+1-555"}]"#))
        #expect(stored[SCIMSchemas.enterpriseUserURN] == json(#"{"employeeNumber":"480212","manager":{"value":"boss-id"}}"#))
    }

    @Test func nullsAndEmptiesAreDroppedEverywhere() throws {
        // entra-user-lifecycle.json step 1
        let stored = try #require(prepare(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "externalId":"8d4b","userName":"Test_User_5e81c0d4@example.com","active":true,
             "emails":[{"primary":true,"type":"work","value":"Test_User_a73f2b19@example.com"}],"meta":{"resourceType":"User"},
             "name":{"formatted":"Wilhelmina Achterberg","familyName":"Achterberg","givenName":"Wilhelmina"},"roles":[],"phoneNumbers":null,
             "addresses":[{"type":"work","streetAddress":"12 Quarry Lane","locality":"Millbrook","region":"OR","postalCode":"97035","formatted":null,"country":null}],
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Facilities","manager":null},
             "urn:ietf:params:scim:schemas:extension:Custom:2.0:User":{"a":null,"b":{"c":null},"d":[null]}}
            """#))
        #expect(stored["roles"] == nil)
        #expect(stored["phoneNumbers"] == nil)
        #expect(stored["addresses"] == json(#"[{"type":"work","streetAddress":"12 Quarry Lane","locality":"Millbrook","region":"OR","postalCode":"97035"}]"#))
        #expect(stored[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"Facilities"}"#))
        #expect(stored["urn:ietf:params:scim:schemas:extension:Custom:2.0:User"] == nil)
        #expect(stored["userName"] == "Test_User_5e81c0d4@example.com")
    }

    @Test func keepsUnknownAttributesAndExtensionsAndAddsMissingURN() throws {
        // entra-attribute-updates.json step 0 and okta-aiw-put-lifecycle.json step 1
        let stored = try #require(prepare(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "userName":"rosalind.okafor@example.com","favorite_color":"teal",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"480212","department":"Harbour Logistics"},
             "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"480212","Nested":{"x":[1,2]}}}
            """#))
        #expect(stored["favorite_color"] == "teal")
        #expect(stored["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"] == json(#"{"CustomAttribute":"480212","Nested":{"x":[1,2]}}"#))
        #expect(stored["schemas"] == json(#"["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"]"#))
    }

    @Test func toleratesLegacyGoogleSchemaURN() throws {
        let stored = try #require(prepare(#"{"schemas":["urn:scim:schemas:core:1.0","urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"anneliese.moreau@example.com","active":true}"#))
        #expect(stored["schemas"] == json(#"["urn:scim:schemas:core:1.0","urn:ietf:params:scim:schemas:core:2.0:User"]"#))
    }

    @Test func addsCoreURNWhenMissing() throws {
        let stored = try #require(prepare(#"{"userName":"a"}"#))
        #expect(stored["schemas"] == json(#"["urn:ietf:params:scim:schemas:core:2.0:User"]"#))
        #expect(stored.keys.first == "schemas")
    }

    @Test func foldsLiteralExtensionPathKeysIntoTheExtensionObject() throws {
        let stored = try #require(prepare(#"""
            {"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Sales",
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value":"boss",
             "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter":"CC-1",
             "urn:ietf:params:scim:schemas:core:2.0:User:nickName":"Nick"}
            """#))
        #expect(stored[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"Sales","manager":{"value":"boss"}}"#))
        #expect(stored["urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"] == json(#"{"costCenter":"CC-1"}"#))
        #expect(stored["nickName"] == "Nick")
        #expect(stored["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"] == nil)
        #expect(stored["schemas"]?.arrayValue?.count == 3)
    }

    @Test func providerDefinedExtensionURNsAreKeptWhole() throws {
        // Not the `…:<version>:<Name>` shape, and not listed in schemas: still an extension object.
        let stored = try #require(prepare(#"{"userName":"a","urn:okta:onprem_app:1.0:user:custom":{"badge":"B-7"}}"#))
        #expect(stored["urn:okta:onprem_app:1.0:user:custom"] == json(#"{"badge":"B-7"}"#))
        #expect(stored["urn:okta:onprem_app:1.0:user"] == nil)
        #expect(stored["schemas"]?.arrayValue?.last == "urn:okta:onprem_app:1.0:user:custom")
        #expect(stored.values(at: try .parse("urn:okta:onprem_app:1.0:user:custom:badge"), resourceType: .user) == ["B-7"])
        let patched = try applyPatch(stored, #"[{"op":"add","value":{"urn:okta:onprem_app:1.0:user:custom":{"floor":"3"}}},{"op":"replace","path":"urn:okta:onprem_app:1.0:user:custom:badge","value":"B-8"}]"#)
        #expect(patched["urn:okta:onprem_app:1.0:user:custom"] == json(#"{"badge":"B-8","floor":"3"}"#))
    }

    @Test func canonicalizesKnownAttributeNames() throws {
        let stored = try #require(prepare(#"{"USERNAME":"a","Name":{"GivenName":"B"},"EMAILS":[{"Value":"x","TYPE":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"Department":"D"}}"#))
        #expect(stored["userName"] == "a")
        #expect(stored["name"] == json(#"{"givenName":"B"}"#))
        #expect(stored["emails"] == json(#"[{"value":"x","type":"work"}]"#))
        #expect(stored[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"D"}"#))
    }

    @Test func caseVariantDuplicatesAreInvalidSyntax() {
        #expect(prepareError(#"{"userName":"a","USERNAME":"b"}"#)?.scimType == .invalidSyntax)
    }

    @Test func keepsMemberOrderAndEmptyStrings() throws {
        let stored = try #require(prepare(#"{"userName":"a","title":"","nickName":"n","displayName":"d"}"#))
        #expect(stored.keys == ["schemas", "userName", "title", "nickName", "displayName"])
        #expect(stored["title"] == "")
    }

    @Test func normalizeIsIdempotent() throws {
        let once = try #require(prepare(#"{"userName":"a","active":"true","emails":{"value":"e"},"x":[null]}"#))
        #expect(try SCIMResource.normalizeAttributes(once, resourceType: .user) == once)
    }
}

@Suite struct ProjectionTests {
    @Test func attributesKeepsOnlyNamedPlusAlwaysReturned() throws {
        let p = SCIMResource.project(babs, attributes: [try .parse("userName"), try .parse("name.givenName")], excludedAttributes: [], resourceType: .user)
        #expect(p == object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","name":{"givenName":"Barbara"}}"#))
    }

    @Test func attributesOnMultiValuedSubAttribute() throws {
        let p = SCIMResource.project(babs, attributes: [try .parse("EMAILS.VALUE")], excludedAttributes: [], resourceType: .user)
        #expect(p["emails"] == json(#"[{"value":"bjensen@example.com"},{"value":"babs@jensen.org"}]"#))
        #expect(p["meta"] == nil)
    }

    @Test func metaOnlyWhenNamed() throws {
        let p = SCIMResource.project(babs, attributes: [try .parse("meta.lastModified")], excludedAttributes: [], resourceType: .user)
        #expect(p["meta"] == json(#"{"lastModified":"2011-05-13T04:42:34.1234567-07:00"}"#))
    }

    @Test func extensionAttributeAndWholeExtension() throws {
        let one = SCIMResource.project(babs, attributes: [try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")], excludedAttributes: [], resourceType: .user)
        #expect(one[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"Tour Operations"}"#))
        let sub = SCIMResource.project(babs, attributes: [try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName")], excludedAttributes: [], resourceType: .user)
        #expect(sub[SCIMSchemas.enterpriseUserURN] == json(#"{"manager":{"displayName":"John Smith"}}"#))
        let whole = SCIMResource.project(babs, attributes: [try .parse(SCIMSchemas.enterpriseUserURN)], excludedAttributes: [], resourceType: .user)
        #expect(whole[SCIMSchemas.enterpriseUserURN] == babs[SCIMSchemas.enterpriseUserURN])
        #expect(whole["userName"] == nil)
    }

    @Test func excludedAttributes() throws {
        let p = SCIMResource.project(babs, attributes: [], excludedAttributes: [
            try .parse("emails"), try .parse("name.familyName"), try .parse("id"), try .parse("schemas"), try .parse("meta"),
            try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        ], resourceType: .user)
        #expect(p["emails"] == nil)
        #expect(p["name"] == json(#"{"formatted":"Ms. Barbara J Jensen, III","givenName":"Barbara"}"#))
        #expect(p["id"] == babs["id"])  // returned: always cannot be excluded
        #expect(p["schemas"] == babs["schemas"])
        #expect(p["meta"] == nil)
        #expect(p[SCIMSchemas.enterpriseUserURN] == json(#"{"employeeNumber":"701984","department":"Tour Operations"}"#))
        #expect(p["userName"] == babs["userName"])
    }

    @Test func excludingSubAttributeOfEveryValue() throws {
        let p = SCIMResource.project(babs, attributes: [], excludedAttributes: [try .parse("emails.primary"), try .parse("userName.x")], resourceType: .user)
        #expect(p["emails"] == json(#"[{"value":"bjensen@example.com","type":"work"},{"value":"babs@jensen.org","type":"home"}]"#))
        #expect(p["userName"] == babs["userName"])
    }

    @Test func excludingWholeExtension() throws {
        let p = SCIMResource.project(babs, attributes: [], excludedAttributes: [try .parse(SCIMSchemas.enterpriseUserURN)], resourceType: .user)
        #expect(p[SCIMSchemas.enterpriseUserURN] == nil)
        #expect(p.count == babs.count - 1)
    }

    @Test func neverReturnsPassword() {
        var r = babs
        r["password"] = "secret"
        #expect(SCIMResource.project(r, attributes: [], excludedAttributes: [], resourceType: .user)["password"] == nil)
        #expect(SCIMResource.project(r, attributes: [], excludedAttributes: [], resourceType: .user) == babs)
    }

    @Test func nothingRequestedReturnsEverything() {
        #expect(SCIMResource.project(babs, attributes: [], excludedAttributes: [], resourceType: .user) == babs)
    }
}

@Suite struct SortTests {
    func user(_ id: String, _ extra: String) -> JSONObject { object(#"{"id":"\#(id)",\#(extra)}"#) }

    func sorted(_ users: [JSONObject], by path: String, _ order: SCIMSortOrder = .ascending) throws -> [String] {
        let p = try AttributePath.parse(path)
        return users.sorted { SCIMResource.areInIncreasingOrder($0, $1, by: p, resourceType: .user, sortOrder: order) }.map { $0["id"]!.stringValue! }
    }

    @Test func stringsIgnoreCaseAndMissingSortsLast() throws {
        let users = [user("1", #""userName":"charlie""#), user("2", #""nickName":"x""#), user("3", #""userName":"Bravo""#), user("4", #""userName":"alpha""#)]
        #expect(try sorted(users, by: "userName") == ["4", "3", "1", "2"])
        // Descending reverses everything: unassigned first (RFC 7644 §3.4.2.3).
        #expect(try sorted(users, by: "userName", .descending) == ["2", "1", "3", "4"])
    }

    @Test func caseExactAttributesSortByCodePoint() throws {
        let users = [user("a", #""externalId":"b""#), user("b", #""externalId":"C""#), user("c", #""externalId":"a""#)]
        #expect(try sorted(users, by: "externalId") == ["b", "c", "a"])  // "C" < "a" < "b"
    }

    @Test func multiValuedUsesPrimaryThenFirst() throws {
        let users = [
            user("1", #""emails":[{"value":"z@x"},{"value":"a@x","primary":true}]"#),
            user("2", #""emails":[{"value":"m@x"},{"value":"b@x"}]"#),
            user("3", #""emails":[{"value":"c@x","type":"work"}]"#),
        ]
        #expect(try sorted(users, by: "emails") == ["1", "3", "2"])
        #expect(try sorted(users, by: "emails.value") == ["1", "3", "2"])
        #expect(try sorted(users, by: "emails.type") == ["3", "1", "2"])
    }

    @Test func dateTimesSortAsInstants() throws {
        let users = [
            user("late", #""meta":{"lastModified":"2011-05-13T04:42:34-07:00"}"#),
            user("early", #""meta":{"lastModified":"2011-05-13T10:00:00Z"}"#),
        ]
        #expect(try sorted(users, by: "meta.lastModified") == ["early", "late"])
    }

    @Test func numbersSortNumerically() throws {
        let users = [user("9", #""n":9"#), user("10", #""n":10"#), user("1.5", #""n":1.5"#)]
        #expect(try sorted(users, by: "n") == ["1.5", "9", "10"])
    }

    @Test func compareForSortResults() throws {
        let p = try AttributePath.parse("userName")
        let a = user("1", #""userName":"A""#), b = user("2", #""userName":"b""#), a2 = user("3", #""userName":"a""#), none = user("4", #""x":1"#)
        #expect(SCIMResource.compareForSort(a, b, by: p, resourceType: .user) == .orderedAscending)
        #expect(SCIMResource.compareForSort(b, a, by: p, resourceType: .user) == .orderedDescending)
        #expect(SCIMResource.compareForSort(a, a2, by: p, resourceType: .user) == .orderedSame)
        #expect(SCIMResource.compareForSort(none, a, by: p, resourceType: .user) == .orderedDescending)
        #expect(SCIMResource.compareForSort(none, none, by: p, resourceType: .user) == .orderedSame)
    }
}

@Suite struct SchemaDocumentTests {
    @Test func schemaDocumentsHaveRFCShape() throws {
        let docs = SCIMSchemas.schemaDocuments(baseURL: "https://h/scim/v2/")
        #expect(docs.map { $0["id"] } == [.string(SCIMSchemas.userURN), .string(SCIMSchemas.enterpriseUserURN), .string(SCIMSchemas.groupURN)])
        let user = docs[0]
        #expect(user["schemas"] == [.string(SCIMSchemas.schemaURN)])
        #expect(user["meta"]?["location"] == .string("https://h/scim/v2/Schemas/\(SCIMSchemas.userURN)"))
        #expect(user["meta"]?["resourceType"] == "Schema")
        let attributes = try #require(user["attributes"]?.arrayValue)
        let userName = try #require(attributes.first { $0["name"] == "userName" })
        #expect(userName == json(#"{"name":"userName","type":"string","multiValued":false,"description":"Unique identifier for the User, typically used to sign in. Each User must have a non-empty userName, unique across the service provider's Users. REQUIRED.","required":true,"caseExact":false,"mutability":"readWrite","returned":"default","uniqueness":"server"}"#))
        let emails = try #require(attributes.first { $0["name"] == "emails" })
        #expect(emails["multiValued"] == true)
        #expect(emails["subAttributes"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["value", "display", "type", "primary"])
        let password = try #require(attributes.first { $0["name"] == "password" })
        #expect(password["mutability"] == "writeOnly")
        #expect(password["returned"] == "never")
        let groups = try #require(attributes.first { $0["name"] == "groups" })
        #expect(groups["mutability"] == "readOnly")
        #expect(attributes.count == 21)
        #expect(docs[2]["attributes"]?.arrayValue?.count == 2)
        #expect(docs[1]["attributes"]?.arrayValue?.count == 6)
    }

    @Test func resourceTypes() {
        let docs = SCIMSchemas.resourceTypeDocuments(baseURL: "https://h/scim/v2")
        #expect(docs[0]["endpoint"] == "/Users")
        #expect(docs[0]["schema"] == .string(SCIMSchemas.userURN))
        #expect(docs[0]["schemaExtensions"] == [["schema": .string(SCIMSchemas.enterpriseUserURN), "required": false]])
        #expect(docs[0]["meta"]?["location"] == "https://h/scim/v2/ResourceTypes/User")
        #expect(docs[1]["id"] == "Group")
        #expect(docs[1]["endpoint"] == "/Groups")
    }

    @Test func serviceProviderConfig() {
        let c = SCIMSchemas.serviceProviderConfig(baseURL: "https://h/scim/v2", maxResults: 200, maxOperations: 1000, maxPayloadSize: 1_048_576)
        #expect(c["schemas"] == [.string(SCIMSchemas.serviceProviderConfigURN)])
        #expect(c["patch"]?["supported"] == true)
        #expect(c["bulk"]?["supported"] == false)
        #expect(c["bulk"]?["maxOperations"] == 1000)
        #expect(c["bulk"]?["maxPayloadSize"] == 1_048_576)
        #expect(c["filter"] == ["supported": true, "maxResults": 200])
        #expect(c["changePassword"]?["supported"] == false)
        #expect(c["sort"]?["supported"] == true)
        #expect(c["etag"]?["supported"] == true)
        #expect(c["authenticationSchemes"]?.arrayValue?.first?["type"] == "oauthbearertoken")
        #expect(c["meta"]?["location"] == "https://h/scim/v2/ServiceProviderConfig")
    }

    @Test func definitions() throws {
        #expect(SCIMSchemas.definition(of: try .parse("userName"), resourceType: .user)?.caseExact == false)
        #expect(SCIMSchemas.definition(of: try .parse("id"), resourceType: .group)?.caseExact == true)
        #expect(SCIMSchemas.definition(of: try .parse("externalId"), resourceType: .user)?.caseExact == true)
        #expect(SCIMSchemas.definition(of: try .parse("emails.primary"), resourceType: .user)?.type == .boolean)
        #expect(SCIMSchemas.definition(of: try .parse(#"emails[type eq "work"].primary"#), resourceType: .user)?.type == .boolean)
        #expect(SCIMSchemas.definition(of: try .parse("meta.created"), resourceType: .user)?.type == .dateTime)
        #expect(SCIMSchemas.definition(of: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"), resourceType: .user)?.type == .complex)
        #expect(SCIMSchemas.definition(of: try .parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"), resourceType: .group) == nil)
        #expect(SCIMSchemas.definition(of: try .parse("urn:ietf:params:scim:schemas:core:2.0:Group:members.value"), resourceType: .group)?.name == "value")
        #expect(SCIMSchemas.definition(of: try .parse("members"), resourceType: .user) == nil)
        #expect(SCIMSchemas.definition(of: try .parse("groups"), resourceType: .user)?.mutability == .readOnly)
        #expect(SCIMSchemas.definition(of: try .parse("favorite_color"), resourceType: .user) == nil)
    }
}
