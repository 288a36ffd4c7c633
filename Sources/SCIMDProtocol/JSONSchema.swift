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
    /// Deliberately untyped: a member of this type must state its real shape in its owner's
    /// ``JSONSchemaDocumented/fieldDocs`` (OpenRPCContractTests refuses a bare one).
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

/// What the OpenRPC document says about one member of a ``JSONSchemaDocumented`` type.
public struct FieldDoc: Sendable {
    /// For people and client generators (OpenRPC content descriptor / JSON Schema `description`).
    public var description: String
    /// The only values a string member takes (JSON Schema `enum`), for members typed `String` in Swift.
    public var enumValues: [String]?
    /// A schema that replaces the derived one, for members typed ``JSONValue`` whose shape is
    /// known (a SCIM resource, a mapping); `description` is added to it.
    public var schema: JSONValue?

    public init(_ description: String, enum enumValues: [String]? = nil, schema: JSONValue? = nil) {
        self.description = description
        self.enumValues = enumValues
        self.schema = schema
    }

    /// A member holding a JSON object of arbitrary members (a SCIM resource, mapped values).
    public static func object(_ description: String) -> FieldDoc {
        FieldDoc(description, schema: ["type": "object"])
    }

    /// A member holding any JSON value at all (a property's default, an example value).
    public static func anyValue(_ description: String) -> FieldDoc {
        FieldDoc(description, schema: ["type": ["string", "number", "integer", "boolean", "array", "object", "null"]])
    }
}

extension JSONValue {
    /// This schema object with `description` set (unchanged when it is not an object).
    public func merging(description: String) -> JSONValue {
        guard case .object(var object) = self else { return self }
        object["description"] = .string(description)
        return .object(object)
    }
}

/// A `Codable` struct that documents its members for the OpenRPC document: descriptions, enums
/// and, for ``JSONValue`` members, their real schema. The walk merges these into the schema it
/// derives from the same `Decodable` conformance, so names, types and requiredness still cannot
/// drift; a ``FieldDoc`` naming a member the type does not decode is ignored.
public protocol JSONSchemaDocumented {
    /// Member name → what the document says about it.
    static var fieldDocs: [String: FieldDoc] { get }
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
        var schema = recorder.schema
        if recorder.single == nil, case .object(var object) = schema {
            // A named object type becomes an OpenRPC component (see `OpenRPCDocument.make`).
            object["title"] = .string(componentName(of: type))
            if let documented = type as? any JSONSchemaDocumented.Type {
                object["properties"] = .object(Self.apply(documented.fieldDocs, to: object["properties"]?.objectValue ?? [:]))
            }
            schema = .object(object)
        }
        return (value, schema)
    }

    /// `SystemHealth.Result` for `SCIMDProtocol.SystemHealth.Result`: the component key of a type.
    static func componentName(of type: Any.Type) -> String {
        let full = String(reflecting: type)
        guard let dot = full.firstIndex(of: ".") else { return full }
        return String(full[full.index(after: dot)...])
    }

    private static func apply(_ docs: [String: FieldDoc], to properties: JSONObject) -> JSONObject {
        var out = properties
        for (name, doc) in docs {
            guard case .object(var schema)? = out[name] else { continue }
            if let replacement = doc.schema?.objectValue { schema = replacement }
            schema["description"] = .string(doc.description)
            if let values = doc.enumValues {
                schema["enum"] = .array(values.map { .string($0) })
            }
            out[name] = .object(schema)
        }
        return out
    }

    /// The member names a type's `init(from:)` reads at the top level (what params may hold).
    public static func memberNames<T: Decodable>(of type: T.Type) -> Set<String> {
        Set(schema(for: type)["properties"]?.objectValue?.keys ?? [])
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
///
/// Every named object type (a Swift struct) appears once under `components.schemas`, keyed by its
/// Swift name (`SystemHealth.Result`), and is referenced with `$ref` wherever it is used.
public enum OpenRPCDocument {
    /// `{"openrpc": "1.2.6", "info", "methods": [{"name", "summary", "params", "result", "errors", "examples"}],
    /// "components": {"schemas"}, "x-notifications": [...]}`.
    /// Params are by-name: one OpenRPC param per top-level member of the method's `Params`, plus
    /// one `deprecated` param per old name the method still accepts (``RPCMethod/deprecatedParamNames``).
    /// `x-notifications` describes what the daemon pushes without being asked (``RPCNotification``),
    /// which OpenRPC 1.2.6 has no object for.
    public static func make(methods: [any RPCMethod.Type], notifications: [any RPCNotification.Type] = allNotifications, version: String) -> JSONValue {
        var components = JSONObject()
        var list: [JSONValue] = []
        for method in methods { list.append(extractComponents(describe(method), into: &components)) }
        var pushed: [JSONValue] = []
        for notification in notifications { pushed.append(extractComponents(describe(notification), into: &components)) }
        return [
            "openrpc": "1.2.6",
            "info": [
                "title": "scimd",
                "version": .string(version),
                "description": """
                    SCIM 2.0 provisioning daemon: JSON-RPC 2.0 over a Unix socket, one message per line. \
                    Params are by name; a name the method does not know is refused with invalid_params \
                    (data.field names it). A connection is always named by the param `connection` and the \
                    resource inside it by `id`; older names still accepted are listed as deprecated params.
                    """,
            ],
            "methods": .array(list),
            "components": ["schemas": .object(components)],
            "x-notifications": .array(pushed),
        ]
    }

    /// One content descriptor per top-level member of `Params` (by-name params).
    static func paramDescriptors<P: Decodable>(_ type: P.Type, deprecated: [String: String] = [:]) -> [JSONValue] {
        let paramsSchema = JSONSchemaGenerator.schema(for: type)
        let requiredNames = Set(paramsSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var params: [JSONValue] = []
        for (name, schema) in paramsSchema["properties"]?.objectValue ?? [:] {
            var descriptor: JSONObject = ["name": .string(name), "required": .bool(requiredNames.contains(name)), "schema": schema]
            if let description = schema["description"] { descriptor["description"] = description }
            params.append(.object(descriptor))
        }
        for (old, current) in deprecated.sorted(by: { $0.key < $1.key }) {
            let schema = paramsSchema["properties"]?[current] ?? ["type": "string"]
            params.append([
                "name": .string(old), "required": false, "deprecated": true, "schema": schema,
                "description": .string("Deprecated: the old name of `\(current)`, still accepted. Give one or the other, not both."),
            ])
        }
        return params
    }

    private static func describe<M: RPCMethod>(_ method: M.Type) -> JSONValue {
        let resultSchema = JSONSchemaGenerator.schema(for: M.Result.self)
        var object: JSONObject = [
            "name": .string(M.name),
            "summary": .string(M.summary),
            "paramStructure": "by-name",
            "params": .array(paramDescriptors(M.Params.self, deprecated: M.deprecatedParamNames)),
            "result": [
                "name": .string(M.name + ".result"), "schema": resultSchema,
                "description": resultSchema["description"] ?? .string("The result of \(M.name)."),
            ],
        ]
        if let description = M.methodDescription { object["description"] = .string(description) }
        if let kinds = M.errors {
            // Every method can be called with params it does not accept, and can fail inside scimd.
            var all = kinds
            for always in [RPCErrorKind.invalidParams, .internalError] where !all.contains(always) { all.append(always) }
            object["errors"] = .array(all.map(\.errorObject))
        }
        if let example = M.example {
            object["examples"] = [
                [
                    "name": .string(example.name),
                    "description": .string(example.description),
                    "params": .array(example.params.map { ["name": .string($0.key), "value": $0.value] }),
                    "result": ["name": .string(M.name + ".result"), "value": example.result],
                ]
            ]
        }
        return .object(object)
    }

    private static func describe<N: RPCNotification>(_ notification: N.Type) -> JSONValue {
        [
            "name": .string(N.name),
            "summary": .string(N.summary),
            "paramStructure": "by-name",
            "params": .array(paramDescriptors(N.Params.self)),
        ]
    }

    /// Replaces every titled object schema inside `value` with a `$ref` to its copy under
    /// `components`, innermost first.
    private static func extractComponents(_ value: JSONValue, into components: inout JSONObject) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { extractComponents($0, into: &components) })
        case .object(let object):
            var out = JSONObject()
            for (key, member) in object { out[key] = extractComponents(member, into: &components) }
            if out["type"] == "object", let title = out["title"]?.stringValue, out["properties"] != nil {
                // A member's description stays at the use site; the component keeps the type's shape.
                let description = out["description"]
                out["description"] = nil
                components[title] = .object(out)
                var reference: JSONObject = ["$ref": .string("#/components/schemas/\(title)")]
                if let description { reference["description"] = description }
                return .object(reference)
            }
            return .object(out)
        default:
            return value
        }
    }
}
