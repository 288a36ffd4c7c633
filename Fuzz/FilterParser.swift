// libFuzzer target: the SCIM filter parser (RFC 7644 §3.4.2.2) and its printer.
// Any input must parse or throw SCIMError; a parsed filter must print to text that parses back
// to an equal filter. Built by scripts/fuzz; not part of the package.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFilterParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let filter = try? Filter.parse(text) else { return 0 }
    let printed = filter.description
    guard let reparsed = try? Filter.parse(printed) else {
        fatalError("printed filter does not parse: \(printed) (from \(text.debugDescription))")
    }
    if reparsed != filter { fatalError("round trip changed the filter: \(text.debugDescription) → \(printed)") }
    let resource: JSONObject = [
        "userName": "a@example.com", "emails": [["value": "a@example.com", "type": "work", "primary": true]],
        "name": ["givenName": "A"], "active": true, "meta": ["created": "2020-01-01T00:00:00Z"],
    ]
    _ = try? filter.matches(resource, resourceType: .user)
    return 0
}
