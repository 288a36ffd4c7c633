import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

@Suite("Default mapping")
struct DefaultMappingTests {
    @Test func defaultConfigurationCompiles() throws {
        _ = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        _ = try CompiledMapping(MappingConfiguration.default.groups, resourceType: .group)
        #expect(MappingConfiguration.default.users.properties.map(\.name)
            == ["userName", "email", "givenName", "familyName", "displayName", "active", "externalId"])
        #expect(MappingConfiguration.default.groups.properties.map(\.name) == ["displayName", "externalId"])
        #expect(MappingConfiguration.default.users.property(named: "email")?.warnIfMissing == true)
    }

    @Test func oktaUser() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object(SCIMMappingTests.oktaUser))
        #expect(result.issues.isEmpty)
        #expect(result.properties.keys
            == ["userName", "email", "givenName", "familyName", "displayName", "active", "externalId"])
        #expect(result.properties["userName"] == "marisol.quenby@example.com")
        #expect(result.properties["email"] == "marisol.quenby@example.com")
        #expect(result.properties["givenName"] == "Marisol")
        #expect(result.properties["familyName"] == "Quenby")
        #expect(result.properties["displayName"] == "Marisol Quenby")
        #expect(result.properties["active"] == true)
        #expect(result.properties["externalId"] == "00u7rq2mzkQx5TbW80h7")
    }

    @Test func entraUserFallsBackToFormattedName() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object(entraUser))
        #expect(result.issues.isEmpty)
        #expect(result.properties["email"] == "Test_User_a73f2b19@example.com")
        #expect(result.properties["displayName"] == "Wilhelmina Achterberg")  // from name.formatted
        #expect(result.properties["externalId"] == "8d4b2e6f-1a3c-4f7e-b905-62c1d8a4e0f3")
    }

    @Test func entraUserWithoutPrimaryEmailUsesWorkEmailAndDefaultActive() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object(entraUserNoPrimary))
        #expect(result.issues.isEmpty)
        // home email comes first, but the work one is preferred over "first email".
        #expect(result.properties["email"] == "rosalind.okafor@example.com")
        #expect(result.properties["active"] == true)  // default
        #expect(result.properties["displayName"] == nil)  // neither displayName nor name.formatted
        #expect(result.properties.keys.contains("displayName") == false)
    }

    @Test func firstEmailOfAnyKindIsTheLastResort() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object("""
            {"userName":"alder.quist","emails":[{"type":"home","value":"alder.home@example.net"},
             {"type":"other","value":"alder.other@example.net"}]}
            """))
        #expect(result.properties["email"] == "alder.home@example.net")
    }

    @Test func entraStringFalseDeactivates() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object(#"{"userName":"x","emails":[{"value":"x@example.com"}],"active":"False"}"#))
        #expect(result.properties["active"] == false)
        #expect(result.issues.isEmpty)
    }

    @Test func userWithoutEmailWarns() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.users, resourceType: .user)
        let result = mapping.evaluate(object(#"{"userName":"jdoe","emails":[]}"#))
        #expect(result.issues.map(\.property) == ["email"])
        let issue = try #require(result.issues.first)
        #expect(issue.kind == .missing)
        #expect(issue.pathsTried == ["emails[primary eq true].value", "emails[type eq \"work\"].value", "emails.value"])
        #expect(issue.detail?.contains("emails.value") == true)
        #expect(result.properties["userName"] == "jdoe")
    }

    @Test func groups() throws {
        let mapping = try CompiledMapping(MappingConfiguration.default.groups, resourceType: .group)
        let entra = mapping.evaluate(object("""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
             "externalId":"4e9a1c7b-2f5d-4e8a-9b3c-6d1f8a2c4e7b","displayName":"Harbour Ops","meta":{"resourceType":"Group"}}
            """))
        #expect(entra.issues.isEmpty)
        #expect(entra.properties["displayName"] == "Harbour Ops")
        #expect(entra.properties["externalId"] == "4e9a1c7b-2f5d-4e8a-9b3c-6d1f8a2c4e7b")

        let okta = mapping.evaluate(object(#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Field Engineering","members":[]}"#))
        #expect(okta.issues.isEmpty)
        #expect(okta.properties.keys == ["displayName"])

        let nameless = mapping.evaluate(object(#"{"members":[]}"#))
        #expect(nameless.issues.map(\.property) == ["displayName"])
    }
}
