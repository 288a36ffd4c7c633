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
}
