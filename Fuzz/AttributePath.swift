// libFuzzer target: the attribute-path parser (RFC 7644 §3.10, PATCH paths) and lookups with it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAttributePath(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let path = try? AttributePath.parse(text) else { return 0 }
    guard let reparsed = try? AttributePath.parse(path.description), reparsed == path else {
        fatalError("path round trip failed: \(text.debugDescription) → \(path.description)")
    }
    let resource: JSONObject = ["userName": "a", "emails": [["value": "x", "type": "work"]], "name": ["givenName": "A"]]
    _ = resource.values(at: path, resourceType: .user)
    return 0
}
