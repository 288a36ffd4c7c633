import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

/// A re-map evaluates each stored resource from only the members the mapping can read
/// (`CompiledMapping.topLevelMemberNames`), and reads each path through an `AttributeReader`
/// resolved once. Both must give exactly what evaluating the whole resource gave.
@Suite("Mapping input: members read and prepared paths")
struct PartialInputTests {
    /// Every way a path reaches a value: plain, core-URN-qualified, an extension attribute, the
    /// literal `urn:attribute` key some IdPs send, a value filter, a sub-attribute, a whole
    /// complex attribute, fallbacks, a list, and a path whose filter does not fit the schema.
    static let properties: [MappingProperty] = [
        MappingProperty(name: "userName", type: .string, path: "userName", warnIfMissing: true),
        MappingProperty(
            name: "email", type: .string, path: "emails[type eq \"work\"].value",
            fallbackPaths: ["emails[primary eq true].value", "emails.value"], warnIfMissing: true),
        MappingProperty(name: "family", type: .string, path: "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"),
        MappingProperty(name: "department", type: .string, path: "\(enterpriseURN):department", warnIfMissing: true),
        MappingProperty(name: "manager", type: .string, path: "\(enterpriseURN):manager.value"),
        MappingProperty(name: "costCenter", type: .string, path: "\(enterpriseURN):costCenter", fallbackPaths: ["costCenter"]),
        MappingProperty(name: "phones", type: .list(.string), path: "phoneNumbers.value"),
        MappingProperty(name: "badFilter", type: .string, path: "emails[primary gt 1].value"),
        MappingProperty(name: "id", type: .string, path: "id"),
    ]

    static let resources: [String] = [
        oktaUser, entraUser, entraUserNoPrimary,
        // The enterprise attributes under their literal `urn:attribute` keys, not in the object.
        """
        {"id":"u1","userName":"lit@example.com","\(enterpriseURN):department":"Sales",
         "\(enterpriseURN):manager":{"value":"m-1"},"costCenter":"CC-9",
         "phoneNumbers":[{"value":"+1 555 0100"},{"value":"+1 555 0101"}],"nickName":"not read"}
        """,
        // Keys in other cases, and members no path names.
        """
        {"ID":"u2","USERNAME":"Case@Example.com","Emails":[{"Type":"home","Value":"h@example.com"}],
         "\(enterpriseURN.uppercased())":{"Department":"People"},"title":"not read","locale":"en"}
        """,
    ]

    @Test(arguments: resources)
    func evaluatingTheMembersReadGivesWhatTheWholeResourceGives(_ text: String) throws {
        let mapping = try compile(Self.properties)
        let whole = object(text)
        let partial = try JSONParser().parseObject(text, keepingMembersIn: JSONMemberNames(mapping.topLevelMemberNames))
        #expect(partial.count < whole.count, "the resource has members the mapping does not read")
        #expect(mapping.evaluate(partial) == mapping.evaluate(whole))
        #expect(mapping.trace(partial) == mapping.trace(whole))
    }

    @Test func theMembersReadNameEveryPathsAttributeURNAndLiteralKey() throws {
        let mapping = try compile([
            MappingProperty(name: "a", type: .string, path: "title", fallbackPaths: ["\(enterpriseURN):division"]),
            MappingProperty(name: "b", type: .string, path: "urn:ietf:params:scim:schemas:core:2.0:User:nickName"),
        ])
        #expect(mapping.topLevelMemberNames == [
            "title", "division", enterpriseURN, "\(enterpriseURN):division",
            "nickName", "urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:User:nickName",
        ])
    }

    @Test(arguments: [
        "userName", "emails[type eq \"work\"].value", "emails.value", "emails", "name.givenName",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "\(enterpriseURN):department",
        "\(enterpriseURN):manager.value", "emails[primary gt 1].value", "groups[type eq \"direct\"].display",
    ])
    func aReaderResolvedOnceReadsWhatAPathResolvedPerCallReads(_ text: String) throws {
        let path = try AttributePath.parse(text)
        let reader = AttributeReader(path, resourceType: .user)
        for resource in Self.resources.map({ object($0) }) {
            #expect(reader.leaves(in: resource) == resource.leaves(at: path, resourceType: .user))
        }
    }
}
