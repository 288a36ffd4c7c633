// libFuzzer target: PATCH parsing and application (RFC 7644 §3.5.2). Input is a PatchOp body.
// Any input must apply or throw SCIMError; a successful result must be a valid stored user.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPatchEngine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let body = try? JSONParser(maximumDepth: 64).parse(bytes: UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    let user: JSONObject = [
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com", "active": true,
        "emails": [["value": "a@example.com", "type": "work", "primary": true]], "name": ["givenName": "A", "familyName": "B"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": ["department": "R&D"],
    ]
    let group: JSONObject = ["displayName": "G", "members": [["value": "u1"], ["value": "u2", "display": "U2"]]]
    guard let request = try? PatchRequest.parse(body, maximumOperations: 100) else { return 0 }
    if let patched = try? PatchEngine.apply(request, to: user, resourceType: .user) {
        if (try? SCIMResource.normalizeAttributes(patched, resourceType: .user)) == nil {
            fatalError("PATCH produced a user that does not normalize: \(patched)")
        }
    }
    _ = try? PatchEngine.apply(request, to: group, resourceType: .group)
    return 0
}
