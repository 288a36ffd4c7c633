import SCIMJSON
import SCIMModel

/// The SCIM filter parser (RFC 7644 §3.4.2.2) and its printer. Any input must parse or throw
/// `SCIMError`; a parsed filter must print to text that parses back to an equal filter, and
/// evaluating it against a user must not crash.
enum FilterParserTarget {
    static let user: JSONObject = [
        "userName": "a@example.com", "emails": [["value": "a@example.com", "type": "work", "primary": true]],
        "name": ["givenName": "A"], "active": true, "meta": ["created": "2020-01-01T00:00:00Z"],
    ]

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let text = String(decoding: input, as: UTF8.self)
        guard let filter = try? Filter.parse(text) else { return }
        let printed = filter.description
        guard let reparsed = try? Filter.parse(printed) else {
            throw FuzzFailure("printed filter does not parse: \(printed) (from \(text.debugDescription))")
        }
        if reparsed != filter { throw FuzzFailure("round trip changed the filter: \(text.debugDescription) → \(printed)") }
        _ = try? filter.matches(user, resourceType: .user)
    }
}
