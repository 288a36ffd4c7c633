import SCIMJSON

/// A type that states its own JSON Schema, for types whose `Decodable` conformance cannot be
/// walked with placeholder values (enums with raw values, free-form JSON).
public protocol JSONSchemaDescribing {
    /// JSON Schema (draft 2020-12 subset) of the type's wire form.
    static var jsonSchema: JSONValue { get }
    /// A valid value, used when walking a containing type.
    static var schemaSample: Self { get }
}

extension JSONValue: JSONSchemaDescribing {
    public static var jsonSchema: JSONValue { ["description": "any JSON value"] }
    public static var schemaSample: JSONValue { .null }
}

extension RequestID: JSONSchemaDescribing {
    public static var jsonSchema: JSONValue { ["type": ["string", "integer"]] }
    public static var schemaSample: RequestID { .number(0) }
}

extension JSONRPCErrorCode: JSONSchemaDescribing {
    public static var jsonSchema: JSONValue { ["type": "integer"] }
    public static var schemaSample: JSONRPCErrorCode { .internalError }
}

/// Derives JSON Schemas from `Decodable` types by decoding them from a recording decoder.
///
/// Why: `rpc.discover` must describe exactly the params/results the dispatcher decodes. Walking the
/// same `Decodable` conformances means the OpenRPC document cannot drift from the code; a
/// hand-written schema next to each type could.
public enum JSONSchemaGenerator {
    /// The schema of `type`; `{}` (anything) when it cannot be walked.
    public static func schema<T: Decodable>(for type: T.Type) -> JSONValue {
        (try? walk(type).schema) ?? .object([:])
    }

    fileprivate static func walk<T: Decodable>(_ type: T.Type) throws -> (value: T, schema: JSONValue) {
        if let described = type as? any JSONSchemaDescribing.Type {
            return (described.schemaSample as! T, described.jsonSchema)
        }
        switch type {
        case is String.Type: return ("" as! T, ["type": "string"])
        case is Bool.Type: return (false as! T, ["type": "boolean"])
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type:
            return (try T(from: PrimitiveDecoder(value: .int(0))), ["type": "integer"])
        case is Double.Type, is Float.Type:
            return (try T(from: PrimitiveDecoder(value: .double(0))), ["type": "number"])
        default: break
        }
        let recorder = Recorder()
        let value = try T(from: RecordingDecoder(recorder: recorder))
        return (value, recorder.schema)
    }
}

extension Optional: JSONSchemaDescribing where Wrapped: Decodable {
    public static var jsonSchema: JSONValue { JSONSchemaGenerator.schema(for: Wrapped.self) }
    public static var schemaSample: Wrapped? { nil }
}

extension Array: JSONSchemaDescribing where Element: Decodable {
    public static var jsonSchema: JSONValue {
        ["type": "array", "items": JSONSchemaGenerator.schema(for: Element.self)]
    }
    public static var schemaSample: [Element] { [] }
}

extension Dictionary: JSONSchemaDescribing where Key == String, Value: Decodable {
    public static var jsonSchema: JSONValue {
        ["type": "object", "additionalProperties": JSONSchemaGenerator.schema(for: Value.self)]
    }
    public static var schemaSample: [String: Value] { [:] }
}

/// Collects what a type's `init(from:)` asks for. A reference type because the containers a
/// decoder hands out must all report into one place; it never leaves one schema walk.
private final class Recorder {
    var properties: [(name: String, schema: JSONValue)] = []
    var required: [String] = []
    /// Keys the type checked for null first: the standard library's `decodeIfPresent` for
    /// primitives does that before `decode`, so such keys are optional.
    var nilChecked: Set<String> = []
    var single: JSONValue?

    var schema: JSONValue {
        if let single { return single }
        var object: JSONObject = ["type": "object"]
        var props = JSONObject()
        for p in properties { props[p.name] = p.schema }
        object["properties"] = .object(props)
        if !required.isEmpty { object["required"] = .array(required.map { .string($0) }) }
        return .object(object)
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct RecordingDecoder: Decoder {
    let recorder: Recorder
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedRecorder<Key>(recorder: recorder))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "unkeyed not walkable"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleRecorder(recorder: recorder)
    }
}

private struct KeyedRecorder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: Recorder
    var codingPath: [any CodingKey] = []
    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool {
        recorder.nilChecked.insert(key.stringValue)
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (value, schema) = try JSONSchemaGenerator.walk(type)
        recorder.properties.append((key.stringValue, schema))
        if !recorder.nilChecked.contains(key.stringValue) { recorder.required.append(key.stringValue) }
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        recorder.properties.append((key.stringValue, JSONSchemaGenerator.schema(for: type)))
        return nil
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "nested not walkable"))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "nested not walkable"))
    }
    func superDecoder() throws -> any Decoder { RecordingDecoder(recorder: Recorder()) }
    func superDecoder(forKey key: Key) throws -> any Decoder { RecordingDecoder(recorder: Recorder()) }
}

private struct SingleRecorder: SingleValueDecodingContainer {
    let recorder: Recorder
    var codingPath: [any CodingKey] = []
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, schema) = try JSONSchemaGenerator.walk(type)
        recorder.single = schema
        return value
    }
}

/// Decodes one fixed primitive (used to make placeholder integers/doubles of any width).
private struct PrimitiveDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSONValue
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "primitive"))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "primitive"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
    func decodeNil() -> Bool { false }
    func decode(_ type: Int.Type) throws -> Int { 0 }
    func decode(_ type: Int64.Type) throws -> Int64 { 0 }
    func decode(_ type: Int32.Type) throws -> Int32 { 0 }
    func decode(_ type: UInt.Type) throws -> UInt { 0 }
    func decode(_ type: Double.Type) throws -> Double { 0 }
    func decode(_ type: Float.Type) throws -> Float { 0 }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

/// Builds the OpenRPC 1.2.6 document (https://spec.open-rpc.org) for a list of methods.
public enum OpenRPCDocument {
    /// `{"openrpc": "1.2.6", "info": {...}, "methods": [{"name", "summary", "params": [...], "result": {...}}]}`.
    /// Params are by-name: one OpenRPC param per top-level member of the method's `Params`.
    public static func make(methods: [any RPCMethod.Type], version: String) -> JSONValue {
        var list: [JSONValue] = []
        for method in methods { list.append(describe(method)) }
        return [
            "openrpc": "1.2.6",
            "info": [
                "title": "scimd",
                "version": .string(version),
                "description": "SCIM 2.0 provisioning daemon: JSON-RPC 2.0 over a Unix socket, one message per line.",
            ],
            "methods": .array(list),
        ]
    }

    private static func describe<M: RPCMethod>(_ method: M.Type) -> JSONValue {
        let paramsSchema = JSONSchemaGenerator.schema(for: M.Params.self)
        let requiredNames = Set(paramsSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var params: [JSONValue] = []
        for (name, schema) in paramsSchema["properties"]?.objectValue ?? [:] {
            params.append([
                "name": .string(name), "required": .bool(requiredNames.contains(name)), "schema": schema,
            ])
        }
        return [
            "name": .string(M.name),
            "summary": .string(M.summary),
            "paramStructure": "by-name",
            "params": .array(params),
            "result": ["name": .string(M.name + ".result"), "schema": JSONSchemaGenerator.schema(for: M.Result.self)],
        ]
    }
}
