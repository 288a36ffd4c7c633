import SCIMJSON
import SCIMModel

/// The attribute-path parser (RFC 7644 §3.10, PATCH paths) and lookups with it. A parsed path
/// must print to text that parses back to an equal path.
enum AttributePathTarget {
    static let user: JSONObject = ["userName": "a", "emails": [["value": "x", "type": "work"]], "name": ["givenName": "A"]]

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        guard let path = try? AttributePath.parse(text) else { return }
        guard let reparsed = try? AttributePath.parse(path.description), reparsed == path else {
            throw FuzzFailure("path round trip failed: \(text.debugDescription) → \(path.description)")
        }
        _ = user.values(at: path, resourceType: .user)
        _ = user.leaves(at: path, resourceType: .user)
    }
}
