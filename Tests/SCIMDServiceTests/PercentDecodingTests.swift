import SCIMDProtocol
@testable import SCIMDService
import Testing

/// The request line's percent-decoding (RFC 3986 §2.1), which replaced Foundation's.
@Suite struct PercentDecodingTests {
    @Test(arguments: [
        ("userName%20eq%20%22a%40example.com%22", true, "userName eq \"a@example.com\""),
        ("a+b%2Bc", true, "a b+c"),
        ("a+b", false, "a+b"),
        ("caf%C3%A9", false, "café"),
        ("caf%c3%a9", false, "café"),
        ("plain", true, "plain"),
        ("", true, ""),
        // Malformed escapes and bytes that are not UTF-8 keep the text as sent (only `+` read).
        ("50%", true, "50%"),
        ("50%2", true, "50%2"),
        ("%zz+x", true, "%zz x"),
        ("%C3", false, "%C3"),
        ("%FF%FE", false, "%FF%FE"),
    ])
    func decodes(input: String, plusIsSpace: Bool, expected: String) {
        #expect(SCIMRequest.percentDecoded(input[...], plusIsSpace: plusIsSpace) == expected)
    }

    @Test func pathSegmentsAndQueryAreDecodedApart() {
        let request = SCIMRequest(
            SCIMHandle.Params(method: "get", path: "/scim/v2/Users/a%2Fb?filter=userName+eq+%22x%22&count=2", headers: nil, body: nil),
            basePath: "/scim/v2")
        #expect(request.segments == ["Users", "a/b"])
        #expect(request.queryValue("FILTER") == "userName eq \"x\"")
        #expect(request.queryValue("count") == "2")
    }

    /// The path and query are split on their ASCII delimiters byte by byte: a combining mark
    /// after `/`, `&` or `=` (one Character with it, for String's split) still splits there, and
    /// empty segments and pairs are dropped as before.
    @Test func delimitersSplitEvenBeforeACombiningMark() {
        let request = SCIMRequest(
            SCIMHandle.Params(method: "GET", path: "/Users//e\u{301}x/\u{301}y?a=\u{301}1&&\u{301}b=2=3&c", headers: nil, body: nil),
            basePath: "/scim/v2")
        #expect(request.segments == ["Users", "e\u{301}x", "\u{301}y"])
        #expect(request.query.map(\.name) == ["a", "\u{301}b", "c"])
        #expect(request.query.map(\.value) == ["\u{301}1", "2=3", ""])
    }

    @Test(arguments: [
        ("/scim/v2/Users", "/scim/v2", "/Users"),
        ("/SCIM/V2/Users", "/scim/v2", "/Users"),
        ("/scim/v2", "/scim/v2/", "/"),
        ("scim/v2/Groups/g1", "/scim/v2", "/Groups/g1"),
        ("/scim/v2x/Users", "/scim/v2", "/scim/v2x/Users"),
        ("/Users", "/scim/v2", "/Users"),
        ("/Users", "", "/Users"),
        ("/scím/v2/Users", "/scim/v2", "/scím/v2/Users"),
    ])
    func theBasePathIsStrippedWhateverItsCase(path: String, basePath: String, expected: String) {
        let request = SCIMRequest(SCIMHandle.Params(method: "GET", path: path, headers: nil, body: nil), basePath: basePath)
        #expect(request.path == expected)
    }

    @Test func methodsAreUpperCasedAndRequestIdsAreSixteenHexDigits() {
        for method in ["get", "Patch", "DELETE", "pOsT"] {
            let request = SCIMRequest(SCIMHandle.Params(method: method, path: "/Users", headers: nil, body: nil), basePath: "")
            #expect(request.method == method.uppercased())
        }
        var seen = Set<String>()
        for _ in 0..<200 {
            let id = SCIMRequest.newRequestId()
            #expect(id.utf8.count == 16 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }, "\(id)")
            seen.insert(id)
        }
        #expect(seen.count == 200)
    }
}
