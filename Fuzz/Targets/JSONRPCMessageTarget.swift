import SCIMDProtocol
import SCIMJSON

/// What the JSON-RPC framer hands on — one line of bytes — through scimd's JSON parser and
/// serializer, then as a request: the envelope members, and the params decoded for the method it
/// names (or, when it names none, for every method) through ``RPCCodec``, as the dispatcher does.
///
/// Properties: a parsed value serializes to one line (no newline) that parses back equal; decoding
/// params either succeeds or throws `invalid_params`; decoded params re-encode to JSON that decodes
/// and re-encodes to the same bytes.
enum JSONRPCMessageTarget {
    static let methods: [String: any RPCMethod.Type] = Dictionary(uniqueKeysWithValues: allMethods.map { ($0.name, $0) })

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let value = try? JSONParser(maximumDepth: 256).parse(bytes: input) else { return }
        let line = JSONSerializer.bytes(value)
        if line.contains(0x0A) { throw FuzzFailure("serialized JSON contains a newline: it would break the framing") }
        guard let again = try? JSONParser(maximumDepth: 257).parse(bytes: line), again == value else {
            throw FuzzFailure("JSON round trip failed for \(String(decoding: line, as: UTF8.self))")
        }
        switch value {
        case .array(let batch):
            for element in batch.prefix(8) { try request(element) }
        default:
            try request(value)
        }
    }

    /// One request object of a line or batch.
    static func request(_ message: JSONValue) throws(FuzzFailure) {
        guard let object = message.objectValue else { return }
        let params = object["params"]
        if let name = object["method"]?.stringValue, let method = methods[name] {
            try decode(params, as: method)
        } else if params != nil {
            // No known method: the params still reach every decoder, so mutations of any method's
            // params are explored from any seed.
            for method in allMethods { try decode(params, as: method) }
        }
    }

    static func decode<M: RPCMethod>(_ params: JSONValue?, as method: M.Type) throws(FuzzFailure) {
        let decoded: M.Params
        do {
            decoded = try RPCCodec.decode(M.Params.self, from: params)
        } catch {
            guard error.code == .invalidParams, error.kind == "invalid_params" else {
                throw FuzzFailure("\(M.name): decoding params failed with \(error), not invalid_params")
            }
            return
        }
        do {
            let encoded = try RPCCodec.encode(decoded)
            let reparsed = try JSONParser(maximumDepth: 257).parse(bytes: encoded)
            let redecoded = try RPCCodec.decode(M.Params.self, from: reparsed)
            let reencoded = try RPCCodec.encode(redecoded)
            if reencoded != encoded {
                throw FuzzFailure(
                    "\(M.name): params do not survive encode → decode → encode: \(String(decoding: encoded, as: UTF8.self)) → \(String(decoding: reencoded, as: UTF8.self))"
                )
            }
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("\(M.name): decoded params \(decoded) do not re-encode and decode: \(error)")
        }
    }
}
