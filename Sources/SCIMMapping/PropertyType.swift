import SCIMJSON

/// The type an application property is coerced to when a mapping is evaluated.
///
/// ## JSON shape
///
/// A type is written as an object whose `"type"` member names it; `enum` adds `"options"`,
/// `list` adds `"of"` (the element type):
///
/// ```json
/// {"type": "string"}            {"type": "integer"}        {"type": "number"}
/// {"type": "boolean"}           {"type": "date"}           {"type": "dateTime"}
/// {"type": "enum", "options": ["red", "green"]}
/// {"type": "list", "of": "string"}
/// {"type": "list", "of": {"type": "enum", "options": ["admin", "member"]}}
/// ```
///
/// Wherever a type is expected, a bare type-name string (`"string"`, `"dateTime"`, …) is accepted
/// too for types that take no parameters, and the encoder writes the element type of a list
/// (`"of"`) that way. Type names are matched case-insensitively when decoding (`"datetime"`
/// works) and always written in the spelling above.
///
/// In a ``MappingProperty`` the members of the type are flattened into the property object
/// (`"type": "enum", "options": [...]` sit next to `"name"` and `"path"`); see ``MappingProperty``.
public indirect enum PropertyType: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Text. Numbers and booleans found in the data are written as their JSON text.
    case string
    /// A whole number (`Int`).
    case integer
    /// Any finite number.
    case number
    /// `true` / `false`.
    case boolean
    /// A calendar date, produced as `"YYYY-MM-DD"`.
    case date
    /// An instant, produced as UTC `"YYYY-MM-DDThh:mm:ss[.fff]Z"`.
    case dateTime
    /// One of a fixed set of strings, matched case-insensitively and produced in the option's
    /// own spelling. `options` must be non-empty and unique ignoring case (checked by
    /// ``CompiledMapping``).
    case enumeration(options: [String])
    /// Zero or more values of the element type, produced as a JSON array. The element type may
    /// not itself be a list (checked by ``CompiledMapping``).
    case list(PropertyType)

    /// The name used in JSON: `string`, `integer`, `number`, `boolean`, `date`, `dateTime`,
    /// `enum` or `list`.
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .integer: return "integer"
        case .number: return "number"
        case .boolean: return "boolean"
        case .date: return "date"
        case .dateTime: return "dateTime"
        case .enumeration: return "enum"
        case .list: return "list"
        }
    }

    /// Human-readable form: `string`, `enum(red|green)`, `list<string>`.
    public var description: String {
        switch self {
        case .enumeration(let options): return "enum(\(options.joined(separator: "|")))"
        case .list(let element): return "list<\(element.description)>"
        default: return typeName
        }
    }

    /// The parameterless type named `name` (case-insensitive), or nil for `enum`, `list` and
    /// unknown names.
    static func simple(named name: String) -> PropertyType? {
        switch name.lowercased() {
        case "string": return .string
        case "integer", "int": return .integer
        case "number": return .number
        case "boolean", "bool": return .boolean
        case "date": return .date
        case "datetime": return .dateTime
        default: return nil
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, options, of
    }

    /// Decodes either a bare type name or the object form described on ``PropertyType``.
    /// Throws `DecodingError.dataCorrupted` for unknown names and `keyNotFound` when `enum`
    /// lacks `options` or `list` lacks `of`.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            guard let simple = PropertyType.simple(named: name) else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath,
                    debugDescription: PropertyType.unknownNameMessage(name)
                        + (["enum", "list"].contains(name.lowercased())
                            ? " (\"\(name)\" needs the object form with \"options\"/\"of\")" : "")))
            }
            self = simple
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self = try PropertyType(container: container, typeKey: .type, optionsKey: .options, ofKey: .of)
    }

    /// Decodes the flattened form used by ``PropertyType`` and ``MappingProperty``: the name at
    /// `typeKey` plus the `options`/`of` siblings. The name may also be a full type object.
    init<K: CodingKey>(container: KeyedDecodingContainer<K>, typeKey: K, optionsKey: K, ofKey: K) throws {
        if let name = try? container.decode(String.self, forKey: typeKey) {
            switch name.lowercased() {
            case "enum", "enumeration":
                let options = try container.decode([String].self, forKey: optionsKey)
                self = .enumeration(options: options)
            case "list", "array":
                let element = try container.decode(PropertyType.self, forKey: ofKey)
                self = .list(element)
            default:
                guard let simple = PropertyType.simple(named: name) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: typeKey, in: container, debugDescription: PropertyType.unknownNameMessage(name))
                }
                self = simple
            }
        } else {
            // "type": {"type": "enum", "options": [...]} — the nested object form.
            self = try container.decode(PropertyType.self, forKey: typeKey)
        }
    }

    static func unknownNameMessage(_ name: String) -> String {
        "unknown property type \"\(name)\"; expected one of string, integer, number, boolean, date, dateTime, enum, list"
    }

    /// Encodes the object form (`{"type": ...}` plus `options`/`of`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try encode(into: &container, typeKey: .type, optionsKey: .options, ofKey: .of)
    }

    /// Writes the flattened members: the name at `typeKey`, plus `options` or `of`.
    /// A list's element is written as a bare name unless it is an enum.
    func encode<K: CodingKey>(into container: inout KeyedEncodingContainer<K>, typeKey: K, optionsKey: K, ofKey: K)
        throws
    {
        try container.encode(typeName, forKey: typeKey)
        switch self {
        case .enumeration(let options):
            try container.encode(options, forKey: optionsKey)
        case .list(let element):
            switch element {
            case .enumeration, .list:
                try container.encode(element, forKey: ofKey)
            default:
                try container.encode(element.typeName, forKey: ofKey)
            }
        default:
            break
        }
    }
}
