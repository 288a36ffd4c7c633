import SCIMJSON
import Testing
@testable import SCIMModel

@Suite struct AttributePathTests {
    @Test func simpleAttribute() throws {
        let p = try AttributePath.parse("userName")
        #expect(p.schemaURN == nil)
        #expect(p.attribute == "userName")
        #expect(p.valueFilter == nil)
        #expect(p.subAttribute == nil)
    }

    @Test func subAttribute() throws {
        let p = try AttributePath.parse("name.givenName")
        #expect(p.attribute == "name")
        #expect(p.subAttribute == "givenName")
    }

    @Test func enterpriseExtensionAttributeKeepsVersionDotsInURN() throws {
        let p = try AttributePath.parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
        #expect(p.schemaURN == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        #expect(p.attribute == "manager")
        #expect(p.subAttribute == "value")
    }

    @Test func customExtensionAttribute() throws {
        let p = try AttributePath.parse("urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter")
        #expect(p.schemaURN == "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User")
        #expect(p.attribute == "costCenter")
        #expect(p.subAttribute == nil)
    }

    @Test func coreURNPrefix() throws {
        let p = try AttributePath.parse("urn:ietf:params:scim:schemas:core:2.0:User:userName")
        #expect(p.schemaURN == SCIMSchemas.userURN)
        #expect(p.attribute == "userName")
    }

    @Test(arguments: [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User",
        "urn:scim:schemas:core:1.0",
    ])
    func wholeExtensionURNIsTheAttribute(text: String) throws {
        let p = try AttributePath.parse(text)
        #expect(p.schemaURN == nil)
        #expect(p.attribute == text)
        #expect(p.isExtensionURN)
    }

    @Test func valuePathWithSubAttribute() throws {
        let p = try AttributePath.parse(#"emails[type eq "work"].value"#)
        #expect(p.attribute == "emails")
        #expect(p.subAttribute == "value")
        #expect(p.valueFilter == .compare(AttributePath(attribute: "type"), .eq, "work"))
    }

    @Test func valuePathWithoutSubAttribute() throws {
        let p = try AttributePath.parse(#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
        #expect(p.attribute == "members")
        #expect(p.subAttribute == nil)
        #expect(p.valueFilter == .compare(AttributePath(attribute: "value"), .eq, "2819c223-7f76-453a-919d-413861904646"))
    }

    @Test func valuePathWithLogicalFilterAndBracketInString() throws {
        let p = try AttributePath.parse(#"emails[type eq "work" and value ew "]x[:y"]"#)
        #expect(p.valueFilter == .and(
            .compare(AttributePath(attribute: "type"), .eq, "work"),
            .compare(AttributePath(attribute: "value"), .ew, "]x[:y")))
    }

    @Test func extensionValuePath() throws {
        let p = try AttributePath.parse(#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "a:b"].value"#)
        #expect(p.schemaURN == SCIMSchemas.userURN)
        #expect(p.attribute == "emails")
        #expect(p.subAttribute == "value")
    }

    @Test func surroundingWhitespaceIgnored() throws {
        #expect(try AttributePath.parse("  displayName ") == AttributePath(attribute: "displayName"))
    }

    @Test func dollarRefSubAttribute() throws {
        let p = try AttributePath.parse("members.$ref")
        #expect(p.subAttribute == "$ref")
    }

    @Test func equalityIgnoresCase() throws {
        #expect(try AttributePath.parse("NAME.GIVENNAME") == AttributePath.parse("name.givenName"))
        #expect(try AttributePath.parse("NAME.GIVENNAME").hashValue == AttributePath.parse("name.givenName").hashValue)
        #expect(try AttributePath.parse("name.familyName") != AttributePath.parse("name.givenName"))
    }

    @Test(arguments: [
        "userName", "name.givenName", #"emails[type eq "work"].value"#, #"members[value eq "x"]"#,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        #"addresses[type eq "work" and (primary eq true or not (region pr))].streetAddress"#,
    ])
    func descriptionParsesBack(text: String) throws {
        let p = try AttributePath.parse(text)
        #expect(try AttributePath.parse(p.description) == p)
        #expect(p.description == text)
    }

    @Test(arguments: [
        "", "   ", "name..givenName", ".name", "name.", "a.b.c", "9lives", "user name", "emails[type eq \"work\"",
        "emails[]", "emails]", "emails[type eq \"work\"]]", "emails[type eq \"work\"].", "emails[type eq \"work\"]x",
        "emails[type eq work]", "emails[type zz \"work\"]", "emails[type eq \"w]", "name.givenName[x pr]",
        "emails[x[y pr]]", "urn:a::b:c", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:man ager",
        "emails[type eq \"work\"].value.x", "user@name",
    ])
    func invalidPaths(text: String) {
        let error = scimError { () throws(SCIMError) in try AttributePath.parse(text) }
        #expect(error?.scimType == .invalidPath)
        #expect(error?.status == 400)
        #expect(error?.detail.contains("invalid attribute path") == true)
    }

    @Test func invalidPathDetailExplainsTheProblem() {
        let error = scimError { () throws(SCIMError) in try AttributePath.parse("name..givenName") }
        #expect(error?.detail.contains("empty name segment") == true)
        let unbalanced = scimError { () throws(SCIMError) in try AttributePath.parse("emails[type eq \"work\"") }
        #expect(unbalanced?.detail.contains("missing ']'") == true)
    }
}
