// libFuzzer target: what the JSON-RPC framer hands on — one line of bytes — through scimd's JSON
// parser and back through its serializer. Any input must parse or throw JSONParseError; a parsed
// value must serialize to one line that parses back to an equal value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRPCMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let value = try? JSONParser(maximumDepth: 256).parse(bytes: bytes) else { return 0 }
    let line = JSONSerializer.bytes(value)
    if line.contains(0x0A) { fatalError("serialized JSON contains a newline: it would break the framing") }
    guard let again = try? JSONParser(maximumDepth: 257).parse(bytes: line), again == value else {
        fatalError("JSON round trip failed for \(String(decoding: line, as: UTF8.self))")
    }
    return 0
}
