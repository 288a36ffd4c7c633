import SCIMJSON
import Testing
@testable import SCIMModel

/// U+0000 is refused in every string scimd takes in: the JSON walk that finds it, and filters.
@Suite struct NULTests {
    @Test func pathOfFirstNULNamesMembersAndListPositions() throws {
        let value = try JSONParser().parse(#"{"a": 1, "emails": [{"value": "x"}, {"value": "y\u0000"}], "name": {"givenName": "g"}}"#)
        #expect(value.pathOfFirstNUL() == "emails[1].value")
        #expect(try JSONParser().parse(#"{"name": {"givenName": "\u0000"}}"#).pathOfFirstNUL() == "name.givenName")
        #expect(try JSONParser().parse(#"[["ok", "b\u0000"]]"#).pathOfFirstNUL() == "[0][1]")
        #expect(try JSONParser().parse(#"{"ke\u0000y": 1}"#).pathOfFirstNUL() == "ke\\u0000y")
        #expect(try JSONParser().parse(#""\u0000""#).pathOfFirstNUL() == "")
        // Other control characters and non-ASCII are fine.
        #expect(try JSONParser().parse(#"{"a": "tab\there", "b": "jos\u00e9", "c": ["\u0001"]}"#).pathOfFirstNUL() == nil)
    }

    @Test(arguments: [#"userName eq "ada\u0000x""#, #"emails[value eq "\u0000"]"#, #"userName eq "ok" or title co "a\u0000""#])
    func filterStringWithNULIsRefused(text: String) {
        #expect(throws: (any Error).self) { try Filter.parse(text) }
        do {
            _ = try Filter.parse(text)
        } catch {
            #expect("\(error)".contains("U+0000"), "\(error)")
        }
    }
}
