import SCIMJSON
import SCIMModel

/// PATCH parsing and application (RFC 7644 §3.5.2). The input is a PatchOp body. Any input must
/// apply or throw `SCIMError`; a successfully patched user must still normalize.
enum PatchEngineTarget {
    static let user: JSONObject = [
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com", "active": true,
        "emails": [["value": "a@example.com", "type": "work", "primary": true]], "name": ["givenName": "A", "familyName": "B"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "R&D"],
    ]
    static let group: JSONObject = ["displayName": "G", "members": [["value": "u1"], ["value": "u2", "display": "U2"]]]

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let body = try? JSONParser(maximumDepth: 64).parse(bytes: input) else { return }
        guard let request = try? PatchRequest.parse(body, maximumOperations: 100) else { return }
        if let patched = try? PatchEngine.apply(request, to: user, resourceType: .user) {
            if (try? SCIMResource.normalizeAttributes(patched, resourceType: .user)) == nil {
                throw FuzzFailure("PATCH produced a user that does not normalize: \(patched)")
            }
        }
        _ = try? PatchEngine.apply(request, to: group, resourceType: .group)
    }
}
