import SCIMJSON
import Testing
@testable import SCIMModel

func patchBody(_ operations: String) -> JSONValue {
    json(#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":\#(operations)}"#)
}

func applyPatch(_ resource: JSONObject, _ operations: String, _ type: SCIMResourceType = .user) throws(SCIMError) -> JSONObject {
    try PatchEngine.apply(PatchRequest.parse(patchBody(operations)), to: resource, resourceType: type)
}

func patchError(_ resource: JSONObject, _ operations: String, _ type: SCIMResourceType = .user) -> SCIMError? {
    scimError { () throws(SCIMError) in try applyPatch(resource, operations, type) }
}

/// Stored forms (no id/meta), as `SCIMResource.prepareForStorage` leaves them.
let storedUser = object(#"""
{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "hollis.brandt@example.com",
  "externalId": "hb-1",
  "name": {"givenName": "Hollis", "familyName": "Brandt"},
  "displayName": "Hollis Brandt",
  "active": true,
  "emails": [
    {"value": "hollis.brandt@example.com", "type": "work", "primary": true},
    {"value": "hollis@home.example", "type": "home"}
  ],
  "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA"}]
}
"""#)

let storedGroup = object(#"""
{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "displayName": "Tour Guides",
  "members": [
    {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"},
    {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "type": "User"}
  ]
}
"""#)

@Suite struct PatchRequestParseTests {
    @Test func parsesOperationsCaseInsensitively() throws {
        let request = try PatchRequest.parse(json(#"{"operations":[{"OP":"Replace","Path":"active","Value":"False"},{"op":"ADD","value":{"a":1}},{"op":"remove","path":"nickName"}]}"#))
        #expect(request.operations == [
            PatchOperation(op: .replace, path: AttributePath(attribute: "active"), value: "False"),
            PatchOperation(op: .add, path: nil, value: ["a": 1]),
            PatchOperation(op: .remove, path: AttributePath(attribute: "nickName"), value: nil),
        ])
    }

    @Test func emptyOrNullPathIsAbsent() throws {
        let request = try PatchRequest.parse(patchBody(#"[{"op":"replace","path":"","value":{"a":1}},{"op":"replace","path":null,"value":{"a":1}}]"#))
        #expect(request.operations.allSatisfy { $0.path == nil })
    }

    @Test(arguments: [
        (#"["Operations"]"#, "must be a JSON object"),
        (#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#, "no \"Operations\""),
        (#"{"Operations":{"op":"add"}}"#, "must be an array"),
        (#"{"Operations":[]}"#, "at least one"),
        (#"{"Operations":["add"]}"#, "must be an object"),
        (#"{"Operations":[{"path":"active","value":true}]}"#, "has no \"op\""),
        (#"{"Operations":[{"op":"move","path":"active","value":true}]}"#, "is not add, remove or replace"),
        (#"{"Operations":[{"op":7,"path":"active","value":true}]}"#, "is not add, remove or replace"),
        (#"{"Operations":[{"op":"replace","path":"active"}]}"#, "has no \"value\""),
        (#"{"Operations":[{"op":"add","path":"emails"}]}"#, "has no \"value\""),
    ])
    func invalidSyntax(body: String, expected: String) {
        let error = scimError { () throws(SCIMError) in try PatchRequest.parse(json(body)) }
        #expect(error?.scimType == .invalidSyntax)
        #expect(error?.status == 400)
        #expect(error?.detail.contains(expected) == true, "detail: \(error?.detail ?? "-")")
    }

    @Test func invalidPaths() {
        let bad = scimError { () throws(SCIMError) in try PatchRequest.parse(patchBody(#"[{"op":"replace","path":"name..givenName","value":"Hollis"}]"#)) }
        #expect(bad?.scimType == .invalidPath)
        #expect(bad?.detail.contains("Operations[0].path") == true)
        let notString = scimError { () throws(SCIMError) in try PatchRequest.parse(patchBody(#"[{"op":"remove","path":5}]"#)) }
        #expect(notString?.scimType == .invalidPath)
        let unbalanced = scimError { () throws(SCIMError) in try PatchRequest.parse(patchBody(#"[{"op":"remove","path":"members[value eq \"x\""}]"#)) }
        #expect(unbalanced?.scimType == .invalidPath)
    }

    @Test func tooManyOperations() throws {
        let three = patchBody(#"[{"op":"remove","path":"a"},{"op":"remove","path":"b"},{"op":"remove","path":"c"}]"#)
        #expect(try PatchRequest.parse(three, maximumOperations: 3).operations.count == 3)
        let error = scimError { () throws(SCIMError) in try PatchRequest.parse(three, maximumOperations: 2) }
        #expect(error?.scimType == .tooMany)
        #expect(error?.status == 400)
    }

    @Test func removeWithoutValueIsFine() throws {
        #expect(try PatchRequest.parse(patchBody(#"[{"op":"remove","path":"nickName"}]"#)).operations[0].value == nil)
    }
}

/// The examples of RFC 7644 §3.5.2.1–3.
@Suite struct PatchRFCExampleTests {
    @Test func addMembers() throws {
        let result = try applyPatch(storedGroup, #"[{"op":"add","path":"members","value":[{"display":"James Smith","$ref":"https://example.com/v2/Users/08e1d05d","value":"08e1d05d"}]}]"#, .group)
        #expect(result["members"]?.arrayValue?.count == 3)
        #expect(result["members"]?.arrayValue?.last == json(#"{"display":"James Smith","$ref":"https://example.com/v2/Users/08e1d05d","value":"08e1d05d"}"#))
        #expect(result["displayName"] == "Tour Guides")
    }

    @Test func pathlessAdd() throws {
        let result = try applyPatch(storedUser, #"[{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"other"}],"nickname":"Babs"}}]"#)
        #expect(result["nickName"] == "Babs")
        #expect(result["emails"]?.arrayValue?.count == 3)
        #expect(result["emails"]?.arrayValue?.last == json(#"{"value":"babs@jensen.org","type":"other"}"#))
    }

    @Test func removeOneMember() throws {
        let result = try applyPatch(storedGroup, #"[{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]"#, .group)
        #expect(result["members"] == json(#"[{"value":"902c246b-6245-4190-8e05-00816be7344a","display":"Mandy Pepperidge","type":"User"}]"#))
    }

    @Test func removeAllMembers() throws {
        let result = try applyPatch(storedGroup, #"[{"op":"remove","path":"members"}]"#, .group)
        #expect(result["members"] == nil)
        #expect(result["displayName"] == "Tour Guides")
    }

    @Test func removeThenAddMembersInOneRequest() throws {
        let result = try applyPatch(storedGroup, #"""
            [{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"},
             {"op":"add","path":"members","value":[{"display":"James Smith","value":"08e1d05d"}]}]
            """#, .group)
        #expect(result["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } == ["902c246b-6245-4190-8e05-00816be7344a", "08e1d05d"])
    }

    @Test func removeByComplexFilter() throws {
        let result = try applyPatch(storedUser, #"[{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"}]"#)
        #expect(result["emails"] == json(#"[{"value":"hollis@home.example","type":"home"}]"#))
    }

    @Test func replaceAllMembers() throws {
        let result = try applyPatch(storedGroup, #"[{"op":"replace","path":"members","value":[{"display":"Babs Jensen","value":"2819c223"},{"display":"James Smith","value":"08e1d05d"}]}]"#, .group)
        #expect(result["members"] == json(#"[{"display":"Babs Jensen","value":"2819c223"},{"display":"James Smith","value":"08e1d05d"}]"#))
    }

    @Test func replaceWholeMatchedValue() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","primary":true}}]"#)
        #expect(result["addresses"] == json(#"[{"type":"work","streetAddress":"911 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","primary":true}]"#))
    }

    @Test func replaceMatchedSubAttribute() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"addresses[type eq \"work\"].streetAddress","value":"1010 Broadway Ave"}]"#)
        #expect(result["addresses"] == json(#"[{"type":"work","streetAddress":"1010 Broadway Ave","locality":"Hollywood","region":"CA"}]"#))
    }

    @Test func pathlessReplace() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}]"#)
        #expect(result["emails"] == json(#"[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]"#))
        #expect(result["nickName"] == "Babs")
        #expect(result["name"] == storedUser["name"])
    }

    @Test func replaceComplexMergesSubAttributes() throws {
        // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged.
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"name","value":{"givenName":"H."}}]"#)
        #expect(result["name"] == json(#"{"givenName":"H.","familyName":"Brandt"}"#))
    }

    @Test func replaceOfAbsentAttributeAddsIt() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"title","value":"Guide"},{"op":"replace","path":"name.middleName","value":"J"}]"#)
        #expect(result["title"] == "Guide")
        #expect(result["name"]?["middleName"] == "J")
    }
}

@Suite struct PatchQuirkTests {
    @Test func oktaPathlessReplaceChangesOnlyActive() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","value":{"active":false}}]"#)
        var expected = storedUser
        expected["active"] = false
        #expect(result == expected)
        #expect(try applyPatch(result, #"[{"op":"replace","value":{"active":true}}]"#) == storedUser)
    }

    @Test func entraStringBooleans() throws {
        #expect(try applyPatch(storedUser, #"[{"op":"Replace","path":"active","value":"False"}]"#)["active"] == false)
        let off = try applyPatch(storedUser, #"[{"op":"Replace","path":"active","value":"False"}]"#)
        #expect(try applyPatch(off, #"[{"op":"Replace","path":"active","value":"True"}]"#)["active"] == true)
        #expect(try applyPatch(storedUser, #"[{"op":"replace","value":{"active":"false"}}]"#)["active"] == false)
    }

    @Test func invalidBooleanIsInvalidValue() {
        let error = patchError(storedUser, #"[{"op":"replace","path":"active","value":"sometimes"}]"#)
        #expect(error?.scimType == .invalidValue)
        #expect(error?.detail.contains("active") == true)
        #expect(patchError(storedUser, #"[{"op":"add","path":"emails[type eq \"work\"].primary","value":"maybe"}]"#)?.scimType == .invalidValue)
    }

    @Test func entraAttributeUpdates() throws {
        // entra-attribute-updates.json steps 0, 2, 4 and 6.
        let created = try SCIMResource.prepareForStorage(json(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "userName":"rosalind.okafor@example.com","externalId":"rokafor","nickName":"Rosie","name":{"familyName":"Okafor","givenName":"Rosalind"},
             "emails":[{"type":"work","value":"rosalind.okafor@example.com"},{"type":"home","value":"r.okafor.home@example.net"}],
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"480212","department":"Harbour Logistics"},
             "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"480212"}}
            """#), resourceType: .user)
        let step2 = try applyPatch(created, #"""
            [{"op":"Replace","path":"displayName","value":"Ros Okafor"},
             {"op":"Replace","path":"emails[type eq \"work\"].value","value":"ros.okafor@example.com"},
             {"op":"Replace","path":"name.givenName","value":"Ros"},
             {"op":"Replace","path":"name.familyName","value":"Okafor-Lind"},
             {"op":"Replace","path":"externalId","value":"rokafor-lind"},
             {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"480299"}]
            """#)
        #expect(step2["displayName"] == "Ros Okafor")
        #expect(step2["name"] == json(#"{"familyName":"Okafor-Lind","givenName":"Ros"}"#))
        #expect(step2["externalId"] == "rokafor-lind")
        #expect(step2["emails"] == json(#"[{"type":"work","value":"ros.okafor@example.com"},{"type":"home","value":"r.okafor.home@example.net"}]"#))
        #expect(step2[SCIMSchemas.enterpriseUserURN] == json(#"{"employeeNumber":"480299","department":"Harbour Logistics"}"#))
        #expect(step2.keys.allSatisfy { !$0.contains("[") && !$0.contains("name.") && !$0.hasSuffix(":employeeNumber") })

        let step4 = try applyPatch(step2, #"[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute","value":"480299"}]"#)
        #expect(step4["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"] == json(#"{"CustomAttribute":"480299"}"#))
        #expect(step4["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute"] == nil)

        let step6 = try applyPatch(step4, #"[{"op":"Add","path":"nickName","value":"Roz"},{"op":"Add","path":"emails[type eq \"work\"].primary","value":"true"}]"#)
        #expect(step6["nickName"] == "Roz")  // Add on a single-valued attribute replaces it
        #expect(step6["emails"] == json(#"[{"type":"work","value":"ros.okafor@example.com","primary":true},{"type":"home","value":"r.okafor.home@example.net"}]"#))
    }

    @Test func extensionPathCreatesExtensionObjectAndSchema() throws {
        let result = try applyPatch(storedUser, #"""
            [{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"},
             {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter","value":"CC-7"},
             {"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"boss-id"}]
            """#)
        #expect(result[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"Sales","manager":{"value":"boss-id"}}"#))
        #expect(result["urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"] == json(#"{"costCenter":"CC-7"}"#))
        #expect(result["schemas"] == json(#"["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"]"#))
    }

    @Test func managerAsBareStringIsCoerced() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"boss-id"}]"#)
        #expect(result[SCIMSchemas.enterpriseUserURN] == json(#"{"manager":{"value":"boss-id"}}"#))
    }

    @Test func removeExtensionAttributeAndWholeExtension() throws {
        let withExtension = try applyPatch(storedUser, #"[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","costCenter":"C"}}}]"#)
        let one = try applyPatch(withExtension, #"[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]"#)
        #expect(one[SCIMSchemas.enterpriseUserURN] == json(#"{"costCenter":"C"}"#))
        let none = try applyPatch(withExtension, #"[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]"#)
        #expect(none[SCIMSchemas.enterpriseUserURN] == nil)
        #expect(none["schemas"] == json(#"["urn:ietf:params:scim:schemas:core:2.0:User"]"#))
    }

    @Test func pathlessValueKeysMayBePaths() throws {
        let base = try applyPatch(storedUser, #"[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Old"}]"#)
        let result = try applyPatch(base, #"""
            [{"op":"replace","value":{
                "name.givenName":"Holly",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"77",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"CC"},
                "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User":{"x":"y"}}}]
            """#)
        #expect(result["name"] == json(#"{"givenName":"Holly","familyName":"Brandt"}"#))
        #expect(result[SCIMSchemas.enterpriseUserURN] == json(#"{"department":"Old","employeeNumber":"77","costCenter":"CC"}"#))
        #expect(result["urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User"] == json(#"{"x":"y"}"#))
        #expect(result["name.givenName"] == nil)
        #expect(result.keys.filter { $0.hasPrefix("urn:") }.count == 2)
    }

    @Test func pathlessIgnoresReadOnlyAttributes() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","value":{"id":"other","meta":{"version":"x"},"groups":[],"active":false}}]"#)
        #expect(result["id"] == nil)
        #expect(result["meta"] == nil)
        #expect(result["active"] == false)
    }

    @Test func valuePathCreatesMissingElement() throws {
        // entra-valuepath-create-on-absent.json
        let alder = object(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alder.quist@example.com",
             "emails":[{"type":"home","value":"alder.home@example.net","primary":true}],"phoneNumbers":[{"type":"mobile","value":"+1-555-0142"}]}
            """#)
        let ops = #"[{"op":"Add","path":"emails[type eq \"work\"].value","value":"alder.quist@example.com"},{"op":"Replace","path":"phoneNumbers[type eq \"work\"].value","value":"+1-555-0166"}]"#
        let once = try applyPatch(alder, ops)
        #expect(once["emails"] == json(#"[{"type":"home","value":"alder.home@example.net","primary":true},{"type":"work","value":"alder.quist@example.com"}]"#))
        #expect(once["phoneNumbers"] == json(#"[{"type":"mobile","value":"+1-555-0142"},{"type":"work","value":"+1-555-0166"}]"#))
        // Re-sending the same update does not add a second work element.
        #expect(try applyPatch(once, ops) == once)
        // Replacing the work email's value leaves the home email's primary alone.
        let changed = try applyPatch(once, #"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a.quist@example.com"}]"#)
        #expect(changed["emails"] == json(#"[{"type":"home","value":"alder.home@example.net","primary":true},{"type":"work","value":"a.quist@example.com"}]"#))
    }

    @Test func valuePathCreationFromCompoundEqualityFilter() throws {
        let result = try applyPatch(storedUser, #"[{"op":"add","path":"phoneNumbers[type eq \"work\" and primary eq true].value","value":"+1"}]"#)
        #expect(result["phoneNumbers"] == json(#"[{"type":"work","primary":true,"value":"+1"}]"#))
        let whole = try applyPatch(storedUser, #"[{"op":"replace","path":"ims[type eq \"xmpp\"]","value":{"value":"h@jabber"}}]"#)
        #expect(whole["ims"] == json(#"[{"type":"xmpp","value":"h@jabber"}]"#))
    }

    @Test func unmatchedNonEqualityFilterIsNoTarget() {
        let error = patchError(storedUser, #"[{"op":"replace","path":"emails[value co \"nowhere\"].value","value":"x"}]"#)
        #expect(error?.scimType == .noTarget)
        #expect(patchError(storedUser, #"[{"op":"add","path":"emails[type eq \"a\" or type eq \"b\"].value","value":"x"}]"#)?.scimType == .noTarget)
    }

    @Test func addExistingMemberIsIdempotent() throws {
        let again = try applyPatch(storedGroup, #"[{"op":"add","path":"members","value":[{"value":"902c246b-6245-4190-8e05-00816be7344a"}]}]"#, .group)
        #expect(again == storedGroup)
        let renamed = try applyPatch(storedGroup, #"[{"op":"add","path":"members","value":[{"value":"902c246b-6245-4190-8e05-00816be7344a","display":"Mandy P."}]}]"#, .group)
        #expect(renamed["members"]?.arrayValue?.count == 2)
        #expect(renamed["members"]?.arrayValue?[1]["display"] == "Mandy P.")
    }

    @Test func addingSameValueWithOtherTypeIsANewValue() throws {
        let result = try applyPatch(storedUser, #"[{"op":"add","path":"emails","value":[{"value":"hollis@home.example","type":"other"}]}]"#)
        #expect(result["emails"]?.arrayValue?.count == 3)
    }

    @Test func removeWithoutPathIsNoTarget() {
        // errors-scim-types.json step 1
        let error = patchError(storedUser, #"[{"op":"Remove","value":{"displayName":"Hollis Brandt"}}]"#)
        #expect(error?.scimType == .noTarget)
        #expect(error?.status == 400)
        #expect(error?.body["scimType"] == "noTarget")
    }

    @Test func removeMembersByValueArrayRemovesOnlyThose() throws {
        // entra-group-membership.json step 9 (no aadOptscim062020 flag) and onelogin-group-sync.json step 7
        let entra = try applyPatch(storedGroup, #"[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"2819c223-7f76-453a-919d-413861904646"}]}]"#, .group)
        #expect(entra["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } == ["902c246b-6245-4190-8e05-00816be7344a"])
        let onelogin = try applyPatch(storedGroup, #"[{"value":[{"value":"902c246b-6245-4190-8e05-00816be7344a"}],"op":"remove","path":"members"}]"#, .group)
        #expect(onelogin["members"]?.arrayValue?.compactMap { $0["value"]?.stringValue } == ["2819c223-7f76-453a-919d-413861904646"])
        let unknown = try applyPatch(storedGroup, #"[{"op":"remove","path":"members","value":[{"value":"not-a-member"}]}]"#, .group)
        #expect(unknown == storedGroup)
        let all = try applyPatch(storedGroup, #"[{"op":"remove","path":"members","value":[{"value":"2819c223-7f76-453a-919d-413861904646"},{"value":"902c246b-6245-4190-8e05-00816be7344a"}]}]"#, .group)
        #expect(all["members"] == nil)
    }

    @Test func repeatedFilteredRemoveIsANoOp() throws {
        let ops = #"[{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"}]"#
        let once = try applyPatch(storedGroup, ops, .group)
        #expect(once["members"]?.arrayValue?.count == 1)
        #expect(try applyPatch(once, ops, .group) == once)
    }

    @Test func oktaGroupPush() throws {
        let empty = try SCIMResource.prepareForStorage(json(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Field Engineering","members":[]}"#), resourceType: .group)
        let two = try applyPatch(empty, #"[{"op":"replace","path":"members","value":[{"value":"a","display":"aurelio"},{"value":"w","display":"wren"}]}]"#, .group)
        #expect(two["members"] == json(#"[{"value":"a","display":"aurelio"},{"value":"w","display":"wren"}]"#))
        let swapped = try applyPatch(two, #"[{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"s","display":"soraya"}]}]"#, .group)
        #expect(swapped["members"] == json(#"[{"value":"w","display":"wren"},{"value":"s","display":"soraya"}]"#))
        let one = try applyPatch(swapped, #"[{"op":"replace","path":"members","value":[{"value":"s","display":"soraya"}]}]"#, .group)
        #expect(one["members"] == json(#"[{"value":"s","display":"soraya"}]"#))
    }

    @Test func memberObjectsKeepTheirSubAttributes() throws {
        let result = try applyPatch(object(#"{"displayName":"G"}"#), #"[{"op":"add","path":"members","value":[{"value":"u1"},{"value":"u2","display":"Two","type":"User","$ref":"https://x/Users/u2"},{"value":"u3","$ref":null}]}]"#, .group)
        #expect(result["members"] == json(#"[{"value":"u1"},{"value":"u2","display":"Two","type":"User","$ref":"https://x/Users/u2"},{"value":"u3"}]"#))
    }

    @Test(arguments: [
        #"[{"op":"replace","path":"id","value":"f00dfeed-0000-4000-8000-000000000000"}]"#,
        #"[{"op":"remove","path":"id"}]"#,
        #"[{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}]"#,
        #"[{"op":"add","path":"meta","value":{"version":"x"}}]"#,
        #"[{"op":"add","path":"groups","value":[{"value":"g"}]}]"#,
        #"[{"op":"remove","path":"groups[value eq \"g\"]"}]"#,
    ])
    func readOnlyAttributesAreMutabilityErrors(operations: String) {
        let error = patchError(storedUser, operations)
        #expect(error?.scimType == .mutability)
        #expect(error?.status == 400)
    }

    @Test func replaceWithNullUnassigns() throws {
        let result = try applyPatch(storedUser, #"[{"op":"replace","path":"displayName","value":null},{"op":"replace","path":"emails[type eq \"home\"]","value":null}]"#)
        #expect(result["displayName"] == nil)
        #expect(result["emails"]?.arrayValue?.count == 1)
    }

    @Test func removingRequiredAttributeIsInvalidValue() {
        #expect(patchError(storedUser, #"[{"op":"remove","path":"userName"}]"#)?.scimType == .invalidValue)
        #expect(patchError(storedGroup, #"[{"op":"replace","path":"displayName","value":null}]"#, .group)?.scimType == .invalidValue)
    }

    @Test func pathlessValueMustBeAnObject() {
        #expect(patchError(storedUser, #"[{"op":"replace","value":"x"}]"#)?.scimType == .invalidValue)
        #expect(patchError(storedUser, #"[{"op":"add","value":[{"active":true}]}]"#)?.scimType == .invalidValue)
    }

    @Test func valueFilterOnSingleValuedAttributeIsInvalidPath() {
        #expect(patchError(storedUser, #"[{"op":"replace","path":"name[givenName eq \"Hollis\"].familyName","value":"X"}]"#)?.scimType == .invalidPath)
        #expect(patchError(storedUser, #"[{"op":"replace","path":"userName.first","value":"X"}]"#)?.scimType == .invalidPath)
    }

    @Test func valueFilterThatDoesNotFitSchemaIsInvalidFilter() {
        #expect(patchError(storedUser, #"[{"op":"replace","path":"emails[primary gt \"x\"].value","value":"X"}]"#)?.scimType == .invalidFilter)
    }

    @Test func settingPrimaryDemotesTheOthers() throws {
        let added = try applyPatch(storedUser, #"[{"op":"add","path":"emails","value":[{"value":"new@x","type":"other","primary":true}]}]"#)
        #expect(added["emails"] == json(#"[{"value":"hollis.brandt@example.com","type":"work","primary":false},{"value":"hollis@home.example","type":"home"},{"value":"new@x","type":"other","primary":true}]"#))
        let moved = try applyPatch(storedUser, #"[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]"#)
        #expect(moved["emails"] == json(#"[{"value":"hollis.brandt@example.com","type":"work","primary":false},{"value":"hollis@home.example","type":"home","primary":true}]"#))
    }

    @Test func literalTopLevelExtensionKeyIsMovedWhenPatched() throws {
        let quirky = object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Old"}"#)
        let result = try applyPatch(quirky, #"[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"C"},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"New"}]"#)
        #expect(result[SCIMSchemas.enterpriseUserURN] == json(#"{"costCenter":"C","department":"New"}"#))
        #expect(result["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"] == nil)
    }

    @Test func subAttributeRemoval() throws {
        let result = try applyPatch(storedUser, #"[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"emails[type eq \"work\"].primary"},{"op":"remove","path":"addresses.region"}]"#)
        #expect(result["name"] == json(#"{"familyName":"Brandt"}"#))
        #expect(result["emails"]?.arrayValue?.first == json(#"{"value":"hollis.brandt@example.com","type":"work"}"#))
        #expect(result["addresses"] == json(#"[{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood"}]"#))
    }

    @Test func unknownAttributesArePatchedToo() throws {
        let result = try applyPatch(storedUser, #"[{"op":"add","path":"favorite_color","value":"teal"},{"op":"add","path":"tags","value":["a"]},{"op":"add","path":"tags","value":["b","a"]}]"#)
        #expect(result["favorite_color"] == "teal")
        #expect(result["tags"] == json(#"["a","b"]"#))
    }

    @Test func operationErrorNamesTheOperation() {
        let error = patchError(storedUser, #"[{"op":"replace","path":"nickName","value":"n"},{"op":"replace","path":"active","value":"sometimes"}]"#)
        #expect(error?.detail.hasPrefix("operation 2 (replace active):") == true)
    }

    @Test func failingLastOperationAppliesNothing() {
        let input = storedUser
        let error = patchError(input, #"[{"op":"replace","path":"displayName","value":"Changed"},{"op":"add","path":"nickName","value":"N"},{"op":"replace","path":"id","value":"x"}]"#)
        #expect(error?.scimType == .mutability)
        #expect(input == storedUser)
        #expect(input["displayName"] == "Hollis Brandt")
    }

    @Test func resultIsNormalizedAndDropsIdAndMeta() throws {
        var withMeta = storedUser
        withMeta["id"] = "x"
        withMeta["meta"] = ["resourceType": "User"]
        let result = try applyPatch(withMeta, #"[{"op":"add","path":"emails","value":{"value":"e@x","primary":"True"}}]"#)
        #expect(result["id"] == nil)
        #expect(result["meta"] == nil)
        #expect(result["emails"]?.arrayValue?.last == json(#"{"value":"e@x","primary":true}"#))
    }
}

/// How a Group PATCH splits into member edits and the rest (see `GroupMemberPatch`).
@Suite struct GroupMemberPatchTests {
    func split(_ operations: JSONValue) throws -> GroupMemberPatch? {
        try GroupMemberPatch.split(try PatchRequest.parse(["Operations": operations]))
    }

    @Test func theShapesIdentityProvidersSendAreSplit() throws {
        let plan = try #require(
            try split([
                ["op": "add", "path": "members", "value": [["value": "a", "Display": "A"]]],
                ["op": "remove", "path": #"members[value eq "b"]"#],
                ["op": "Remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [["value": "c"]]],
                ["op": "add", "path": "members", "value": "d"],
                ["op": "replace", "path": "displayName", "value": "New"],
                ["op": "replace", "value": ["displayName": "Newer", "externalId": "x"]],
            ]))
        #expect(plan.memberEdits == [
            .add([["value": "a", "display": "A"]]), .removeMatching("b"), .removeListed([["value": "c"]]), .add([["value": "d"]]),
        ])
        #expect(plan.otherOperations.count == 2)
        #expect(plan.otherOperations.map(\.op) == [.replace, .replace])
    }

    @Test func operationsThatNeedTheWholeListAreNotSplit() throws {
        let needsWholeList: [JSONValue] = [
            ["op": "replace", "path": "members", "value": [["value": "a"]]],
            ["op": "remove", "path": "members"],
            ["op": "replace", "path": #"members[value eq "a"].display"#, "value": "A"],
            ["op": "remove", "path": #"members[display eq "A"]"#],
            ["op": "remove", "path": #"members[value eq "a" or value eq "b"]"#],
            ["op": "add", "path": #"members[value eq "a"]"#, "value": ["display": "A"]],
            ["op": "add", "value": ["members": [["value": "a"]]]],
            ["op": "add", "value": ["urn:ietf:params:scim:schemas:core:2.0:Group:members": [["value": "a"]]]],
            ["op": "add", "path": "members", "value": [["display": "no value"]]],
        ]
        for operation in needsWholeList {
            #expect(try split([operation]) == nil, "\(operation)")
        }
        // An extension attribute named members is not the Group's.
        let plan = try split([["op": "add", "path": "urn:example:ext:members", "value": "x"]])
        #expect(plan?.memberEdits == [])
        #expect(plan?.otherOperations.count == 1)
    }

    @Test func aMemberValueOfTheWrongTypeIsRefusedNamingTheOperation() throws {
        #expect(throws: SCIMError.self) { _ = try split([["op": "add", "path": "members", "value": [["value": ["x": 1]]]]]) }
        do {
            _ = try split([["op": "replace", "path": "displayName", "value": "x"], ["op": "add", "path": "members", "value": [["nested"]]]])
            Issue.record("expected invalidValue")
        } catch let error as SCIMError {
            #expect(error.scimType == .invalidValue)
            #expect(error.detail.hasPrefix("operation 2 (add members)"))
        }
    }

    @Test func sameValueMatchesOnValueAndOnTypeWhenBothHaveOne() {
        #expect(PatchEngine.sameValue(["value": "a"], ["value": "a", "type": "User"]))
        #expect(!PatchEngine.sameValue(["value": "a", "type": "Group"], ["value": "a", "type": "User"]))
        #expect(PatchEngine.sameValue(["value": "a", "type": "user"], ["value": "a", "type": "User"]))
        #expect(!PatchEngine.sameValue(["value": "a"], ["value": "A"]))
    }
}
