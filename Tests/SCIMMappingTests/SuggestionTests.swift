import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

@Suite("Suggestions and the seed scenarios")
struct SuggestionTests {
    let group = MappingProperty(
        name: "group", type: .string, path: "\(enterpriseURN):group", warnIfMissing: true,
        description: "Team")

    /// Okta sends a custom attribute at the top level instead of in the enterprise extension.
    let oktaManager = """
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"aurelio.banks@example.com",
         "name":{"givenName":"Aurelio","familyName":"Banks"},
         "emails":[{"primary":true,"value":"aurelio.banks@example.com","type":"work"}],
         "displayName":"Aurelio Banks","externalId":"00u4aa1bb2CC3dd4e0h7","active":true,"group":"Managers","id":"u1"}
        """

    @Test func groupSentAtTopLevel() throws {
        // 1. The configured path finds nothing: a missing issue.
        let before = try compile([group])
        let user = object(oktaManager)
        let result = before.evaluate(user)
        #expect(result.properties["group"] == nil)
        #expect(result.issues == [PropertyIssue(
            property: "group", kind: .missing, detail: "no value at \(enterpriseURN):group",
            pathsTried: ["\(enterpriseURN):group"])])

        // 2. suggest proposes the top-level key (matched on the last segment of the path).
        let other = object(#"{"userName":"wren","group":"Engineers"}"#)
        let noGroup = object(#"{"userName":"soraya"}"#)
        let suggestions = MappingSuggester.suggest(property: group, resources: [user, other, noGroup], resourceType: .user)
        #expect(suggestions == [PathSuggestion(path: "group", resourcesFixed: 2, exampleValue: "Managers")])

        // 3. Adding it as a fallback resolves the issue and maps "Managers".
        var fixed = group
        fixed.fallbackPaths.append(try #require(suggestions.first).path)
        let after = try compile([fixed])
        let remapped = after.evaluate(user)
        #expect(remapped.issues.isEmpty)
        #expect(remapped.properties["group"] == "Managers")

        let diff = MappingDiff.diff(old: result, new: remapped)
        #expect(diff.gained == ["group"])
        #expect(diff.resolvedIssues.map(\.property) == ["group"])
        #expect(diff.openedIssues.isEmpty)
    }

    @Test func groupInTheExtensionStillWins() throws {
        var fixed = group
        fixed.fallbackPaths = ["group"]
        let m = try compile([fixed])
        let r = m.evaluate(object(#"{"group":"Top","\#(enterpriseURN)":{"group":"Extension"}}"#))
        #expect(r.properties["group"] == "Extension")
    }

    let favoriteColor = MappingProperty(
        name: "favoriteColor", type: .enumeration(options: ["teal", "navy", "red"]),
        path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:favoriteColor", warnIfMissing: true)

    @Test func favoriteColorAsSnakeCaseTopLevel() throws {
        let users = [
            object(#"{"userName":"a","favorite_color":"Teal"}"#),
            object(#"{"userName":"b","favorite_color":"navy"}"#),
        ]
        let m = try compile([favoriteColor])
        #expect(users.allSatisfy { m.evaluate($0).issues.map(\.kind) == [.missing] })
        let s = MappingSuggester.suggest(property: favoriteColor, resources: users, resourceType: .user)
        #expect(s == [PathSuggestion(path: "favorite_color", resourcesFixed: 2, exampleValue: "teal")])

        var fixed = favoriteColor
        fixed.fallbackPaths = [s[0].path]
        let after = try compile([fixed])
        #expect(after.evaluate(users[0]).properties["favoriteColor"] == "teal")
        #expect(after.evaluate(users[1]).properties["favoriteColor"] == "navy")
        #expect(after.evaluate(users[1]).issues.isEmpty)
    }

    @Test func favoriteColorNested() throws {
        let users = [object(#"{"userName":"a","preferences":{"favoriteColor":"red","language":"en"}}"#)]
        let s = MappingSuggester.suggest(property: favoriteColor, resources: users, resourceType: .user)
        #expect(s == [PathSuggestion(path: "preferences.favoriteColor", resourcesFixed: 1, exampleValue: "red")])
        var fixed = favoriteColor
        fixed.fallbackPaths = ["preferences.favoriteColor"]
        let r = try compile([fixed]).evaluate(users[0])
        #expect(r.issues.isEmpty)
        #expect(r.properties["favoriteColor"] == "red")
    }

    @Test func favoriteColorInCustomExtension() throws {
        // As Okta's AIW app sends it (okta-aiw-put-lifecycle fixture), but without the top-level copy.
        let users = [object("""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:custom:2.0:User"],
             "userName":"dashiell.ortega@example.com","active":true,
             "urn:ietf:params:scim:schemas:extension:custom:2.0:User":{"favoriteColor":"navy"}}
            """)]
        let s = MappingSuggester.suggest(property: favoriteColor, resources: users, resourceType: .user)
        #expect(s.map(\.path) == ["urn:ietf:params:scim:schemas:extension:custom:2.0:User:favoriteColor"])
        var fixed = favoriteColor
        fixed.fallbackPaths = s.map(\.path)
        #expect(try compile([fixed]).evaluate(users[0]).properties["favoriteColor"] == "navy")
    }

    @Test func suggestionsAreRankedByResourcesFixed() throws {
        let users = [
            object(#"{"userName":"a","preferences":{"favoriteColor":"red"}}"#),
            object(#"{"userName":"b","favorite_color":"teal"}"#),
            object(#"{"userName":"c","favorite_color":"navy"}"#),
            object(#"{"userName":"d","FAVORITE-COLOR":"red"}"#),
            object(#"{"userName":"e","urn:x:custom:2.0:User":{"FavoriteColor":"teal"}}"#),
        ]
        let s = MappingSuggester.suggest(property: favoriteColor, resources: users, resourceType: .user)
        // favorite_color and FAVORITE-COLOR are different keys; attribute names are case-insensitive
        // but '_' and '-' are not interchangeable in a path.
        #expect(s.first == PathSuggestion(path: "favorite_color", resourcesFixed: 2, exampleValue: "teal"))
        #expect(Set(s.dropFirst().map(\.path))
            == ["preferences.favoriteColor", "FAVORITE-COLOR", "urn:x:custom:2.0:User:FavoriteColor"])
        #expect(s.dropFirst().allSatisfy { $0.resourcesFixed == 1 })
        // Ties keep the order in which keys were met.
        #expect(s.map(\.path) == ["favorite_color", "preferences.favoriteColor", "FAVORITE-COLOR", "urn:x:custom:2.0:User:FavoriteColor"])
        // Every suggested path parses.
        for suggestion in s { _ = try AttributePath.parse(suggestion.path) }
    }

    @Test func suggestionsAreVerifiedAgainstTheType() throws {
        let users = [
            object(#"{"userName":"a","favorite_color":"chartreuse"}"#),          // not an option
            object(#"{"userName":"b","favoriteColor":{"name":"red"}}"#),        // an object
            object(#"{"userName":"c","a":{"b":{"favoriteColor":"red"}}}"#),     // too deep for a SCIM path
            object(#"{"userName":"d","favouriteColour":"red"}"#),               // different name
        ]
        #expect(MappingSuggester.suggest(property: favoriteColor, resources: users, resourceType: .user).isEmpty)
    }

    @Test func existingPathsAreNotSuggested() throws {
        var p = group
        p.fallbackPaths = ["GROUP"]
        let users = [object(#"{"group":"Managers"}"#)]
        #expect(MappingSuggester.suggest(property: p, resources: users, resourceType: .user).isEmpty)
    }

    @Test func listPropertySuggestionCollectsAllValues() throws {
        let p = MappingProperty(name: "teams", type: .list(.string), path: "\(enterpriseURN):teams")
        let users = [object(#"{"userName":"a","memberships":[{"teams":"blue"},{"teams":"green"}]}"#)]
        let s = MappingSuggester.suggest(property: p, resources: users, resourceType: .user)
        #expect(s == [PathSuggestion(path: "memberships.teams", resourcesFixed: 1, exampleValue: ["blue", "green"])])
    }

    @Test func groupResourcesToo() throws {
        let p = MappingProperty(name: "costCenter", path: "urn:x:ext:2.0:Group:costCenter", warnIfMissing: true)
        let groups = [object(#"{"displayName":"Harbour Ops","cost_center":"CC-12"}"#)]
        let s = MappingSuggester.suggest(property: p, resources: groups, resourceType: .group)
        #expect(s == [PathSuggestion(path: "cost_center", resourcesFixed: 1, exampleValue: "CC-12")])
    }

    @Test func genericLastSegmentIsNotUsed() throws {
        // email's path ends in ".value": it must not suggest every "value" key around.
        let email = try #require(MappingConfiguration.default.users.property(named: "email"))
        let users = [object(#"{"userName":"x","phoneNumbers":[{"value":"+1-555-0142"}],"mail":"x@example.com"}"#)]
        #expect(MappingSuggester.suggest(property: email, resources: users, resourceType: .user).isEmpty)
        let withEmailKey = [object(#"{"userName":"x","Email":"x@example.com"}"#)]
        #expect(MappingSuggester.suggest(property: email, resources: withEmailKey, resourceType: .user).map(\.path) == ["Email"])
    }

    @Test(arguments: [
        ("favorite_color", "favoritecolor"),
        ("FavoriteColor", "favoritecolor"),
        ("favorite-color", "favoritecolor"),
        ("preferences.favoriteColor", "favoritecolor"),
        ("urn:ietf:params:scim:schemas:extension:custom:2.0:User:favoriteColor", "favoritecolor"),
        ("group", "group"),
    ])
    func normalization(_ key: String, _ expected: String) {
        #expect(MappingSuggester.normalizedName(key) == expected)
    }
}
