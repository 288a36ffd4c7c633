import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

@Suite("Validation")
struct ValidationTests {
    let ok = MappingProperty(name: "email", path: "emails.value")

    @Test func emptyName() throws {
        let e = try #require(compileError([ok, MappingProperty(name: "", path: "userName")]))
        #expect(e.property == "")
        #expect(e.index == 1)
        #expect(e.field == "name")
        #expect(e.position == nil)
        #expect(e.kind == "invalid_mapping")
        #expect(e.message == "property name is empty")
    }

    @Test func blankName() throws {
        let e = try #require(compileError([MappingProperty(name: "  ", path: "userName")]))
        #expect(e.field == "name")
        #expect(e.index == 0)
    }

    @Test func duplicateNameIgnoringCase() throws {
        let e = try #require(compileError([ok, MappingProperty(name: "Email", path: "userName")]))
        #expect(e.property == "Email")
        #expect(e.index == 1)
        #expect(e.field == "name")
        #expect(e.message.contains("duplicate"))
        #expect(e.message.contains("#0"))
    }

    @Test func enumWithoutOptions() throws {
        let e = try #require(compileError([MappingProperty(name: "color", type: .enumeration(options: []), path: "color")]))
        #expect(e.property == "color")
        #expect(e.field == "type")
        #expect(e.message == "enum type has no options")
    }

    @Test func enumWithEmptyOrDuplicateOption() throws {
        let empty = try #require(compileError([MappingProperty(name: "c", type: .enumeration(options: ["a", ""]), path: "c")]))
        #expect(empty.field == "type")
        #expect(empty.message == "enum option is empty")
        let dup = try #require(compileError([MappingProperty(name: "c", type: .enumeration(options: ["Red", "red"]), path: "c")]))
        #expect(dup.field == "type")
        #expect(dup.property == "c")
        #expect(dup.message.contains("duplicate enum option"))
    }

    @Test func enumInsideListIsValidated() throws {
        let e = try #require(compileError([MappingProperty(name: "roles", type: .list(.enumeration(options: [])), path: "roles.value")]))
        #expect(e.property == "roles")
        #expect(e.message == "enum type has no options")
    }

    @Test func listOfList() throws {
        let e = try #require(compileError([MappingProperty(name: "m", type: .list(.list(.string)), path: "m")]))
        #expect(e.property == "m")
        #expect(e.field == "type")
        #expect(e.message == "a list's element type cannot be a list")
    }

    @Test func emptyPath() throws {
        let e = try #require(compileError([ok, MappingProperty(name: "x", path: "")]))
        #expect(e.property == "x")
        #expect(e.field == "path")
        #expect(e.position == 0)
        #expect(e.index == 1)
    }

    @Test func emptyFallbackPath() throws {
        let e = try #require(compileError([MappingProperty(name: "x", path: "userName", fallbackPaths: ["nickName", " "])]))
        #expect(e.field == "fallbackPaths[1]")
        #expect(e.position == 0)
    }

    /// Unparseable paths: the error names the property, which path, and where in it.
    @Test(arguments: [
        ("emails[type eq \"work\"", 21),   // unclosed bracket: at the end
        ("name..givenName", 5),            // empty sub-attribute
        ("1abc", 0),                       // attribute must start with a letter
        ("emails[type eq \"work\"]value", 22),  // junk after ']'
        ("name.given name", 11),           // a second word after the path
        ("emails[type xx \"work\"].value", 12),  // unknown operator
    ])
    func invalidPathPosition(_ text: String, _ position: Int) throws {
        let e = try #require(compileError([ok, MappingProperty(name: "p", path: text)]))
        #expect(e.property == "p")
        #expect(e.field == "path")
        #expect(e.index == 1)
        #expect(e.position == position, "\(e)")
        #expect(e.message.contains(text))
    }

    @Test func invalidFallbackPathNamesIt() throws {
        let e = try #require(compileError([
            MappingProperty(name: "group", path: "\(enterpriseURN):group", fallbackPaths: ["group", "grp..x"]),
        ]))
        #expect(e.property == "group")
        #expect(e.field == "fallbackPaths[1]")
        #expect(e.position == 4)
        #expect(e.description.hasPrefix("property \"group\" fallbackPaths[1] at position 4: invalid path \"grp..x\""))
    }

    @Test func defaultMustCoerce() throws {
        let e = try #require(compileError([MappingProperty(name: "age", type: .integer, path: "age", default: "abc")]))
        #expect(e.property == "age")
        #expect(e.field == "default")
        #expect(e.message.contains("\"abc\""))
        let en = try #require(compileError([MappingProperty(
            name: "color", type: .enumeration(options: ["Red"]), path: "c", default: "purple")]))
        #expect(en.field == "default")
        let list = try #require(compileError([MappingProperty(name: "l", type: .list(.integer), path: "l", default: ["x"])]))
        #expect(list.field == "default")
    }

    @Test func nullDefaultIsNoDefault() throws {
        let m = try compile([MappingProperty(name: "age", type: .integer, path: "age", default: .null, warnIfMissing: true)])
        #expect(m.evaluate(JSONObject()).issues.map(\.kind) == [.missing])
    }

    @Test func firstProblemInPropertyOrderIsReported() throws {
        let e = try #require(compileError([
            MappingProperty(name: "a", path: "a..b"),
            MappingProperty(name: "", path: "x"),
        ]))
        #expect(e.property == "a")
    }

    @Test func compiledMappingKeepsTheMapping() throws {
        let mapping = Mapping(properties: [ok])
        let compiled = try CompiledMapping(mapping, resourceType: .group)
        #expect(compiled.mapping == mapping)
        #expect(compiled.resourceType == .group)
    }
}

@Suite("Whole configuration")
struct ConfigurationCompileTests {
    @Test func compilesBothAndNamesTheFailingMapping() throws {
        let compiled = try CompiledMappingConfiguration(.default)
        #expect(compiled.users.resourceType == .user)
        #expect(compiled.groups.resourceType == .group)
        #expect(compiled.evaluate(object(#"{"displayName":"Ops"}"#), resourceType: .group).properties["displayName"] == "Ops")

        var broken = MappingConfiguration.default
        broken.groups.properties.append(MappingProperty(name: "displayName", path: "displayName"))
        do {
            _ = try CompiledMappingConfiguration(broken)
            Issue.record("duplicate name in groups should fail")
        } catch {
            #expect(error.mapping == "groups")
            #expect(error.index == 2)
            #expect(error.description.hasPrefix("groups: property \"displayName\" name: duplicate property name"))
        }
    }
}
