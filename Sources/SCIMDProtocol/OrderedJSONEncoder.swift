import SCIMJSON

/// Encodes an `Encodable` value to a ``JSONValue`` whose object members come in the order the
/// value encodes them: for synthesized `Codable`, the declaration order of the type's stored
/// properties. Foundation's `JSONEncoder` on Linux orders members by a hash seeded per process, so
/// its output changes from run to run unless keys are sorted, and sorted keys lose the order a
/// reader expects (`id`, `name` first, not `activeUsers`).
///
/// - Object members: in encode order; encoding a key twice keeps its first position and the last value.
/// - A `Dictionary` with `String` keys has no order of its own (its iteration order is per
///   process): its members are sorted by key, so they are stable too.
/// - A ``JSONValue`` is taken as it is, so stored SCIM data keeps the member order it was sent in.
/// - `nil` optionals are left out (synthesized `encodeIfPresent`), as `JSONEncoder` does; a
///   non-finite floating-point number is an `EncodingError.invalidValue`, as there.
public struct OrderedJSONEncoder: Sendable {
    /// An encoder; it has no options.
    public init() {}

    /// The JSON of `value`. Throws what the value's `encode(to:)` throws, and
    /// `EncodingError.invalidValue` for NaN, infinity or an integer that JSON numbers cannot hold.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let slot = Slot()
        try Self.encode(value, into: slot, codingPath: [])
        return slot.resolved()
    }

    /// Encodes `value` into `slot`, handling the types that do not go through `encode(to:)`.
    static func encode<T: Encodable>(_ value: T, into slot: Slot, codingPath: [any CodingKey]) throws {
        if let json = value as? JSONValue {
            slot.content = .value(json)
        } else if value is any StringKeyedDictionary {
            try value.encode(to: OrderedEncoder(slot: slot, codingPath: codingPath))
            if case .object(let members) = slot.content {
                slot.content = .object(members.sorted { $0.key < $1.key })
            }
        } else {
            try value.encode(to: OrderedEncoder(slot: slot, codingPath: codingPath))
        }
    }

    /// Where one value is being built. A class, so containers can hand out nested slots that are
    /// filled after they were placed.
    final class Slot {
        enum Content {
            case empty
            case value(JSONValue)
            case object([(key: String, slot: Slot)])
            case array([Slot])
        }
        var content: Content = .empty

        /// What was encoded; an encoder that encoded nothing gives `{}` (as `JSONEncoder` does).
        func resolved() -> JSONValue {
            switch content {
            case .empty: .object([:])
            case .value(let value): value
            case .object(let members): .object(JSONObject(members.map { (key: $0.key, value: $0.slot.resolved()) }))
            case .array(let elements): .array(elements.map { $0.resolved() })
            }
        }

        /// The slot for `key` of an object: a new one at the end, or the existing one (replaced).
        func member(_ key: String) -> Slot {
            var members: [(key: String, slot: Slot)] = []
            if case .object(let existing) = content { members = existing }
            let slot = Slot()
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].slot = slot
            } else {
                members.append((key, slot))
            }
            content = .object(members)
            return slot
        }

        /// A new element at the end of an array.
        func element() -> Slot {
            var elements: [Slot] = []
            if case .array(let existing) = content { elements = existing }
            let slot = Slot()
            elements.append(slot)
            content = .array(elements)
            return slot
        }

        var count: Int {
            if case .array(let elements) = content { return elements.count }
            return 0
        }
    }
}

/// Dictionaries whose members must be sorted to be stable (see ``OrderedJSONEncoder``).
protocol StringKeyedDictionary {}
extension Dictionary: StringKeyedDictionary where Key == String {}

/// A coding key for array positions and `super`.
struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

struct OrderedEncoder: Encoder {
    let slot: OrderedJSONEncoder.Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = slot.content {} else { slot.content = .object([]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = slot.content {} else { slot.content = .array([]) }
        return UnkeyedContainer(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(slot: slot, codingPath: codingPath)
    }
}

/// Primitive values as JSON, with `JSONEncoder`'s refusals.
enum Primitive {
    static func double(_ value: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath, debugDescription: "\(value) is not a valid JSON number"))
        }
        return .double(value)
    }

    static func integer<T: BinaryInteger>(_ value: T, _ codingPath: [any CodingKey]) throws -> JSONValue {
        if let exact = Int(exactly: value) { return .int(exact) }
        if let approximate = Double(exactly: value) { return .double(approximate) }
        throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) does not fit a JSON number"))
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: OrderedJSONEncoder.Slot
    let codingPath: [any CodingKey]

    private func put(_ value: JSONValue, _ key: Key) { slot.member(key.stringValue).content = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try Primitive.double(value, codingPath + [key]), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try Primitive.double(Double(value), codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(try Primitive.integer(value, codingPath + [key]), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(try Primitive.integer(value, codingPath + [key]), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(try Primitive.integer(value, codingPath + [key]), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try OrderedJSONEncoder.encode(value, into: slot.member(key.stringValue), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        OrderedEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        OrderedEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        OrderedEncoder(slot: slot.member("super"), codingPath: codingPath + [IndexKey(stringValue: "super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        OrderedEncoder(slot: slot.member(key.stringValue), codingPath: codingPath + [key])
    }
}

struct UnkeyedContainer: UnkeyedEncodingContainer {
    let slot: OrderedJSONEncoder.Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }
    private func put(_ value: JSONValue) { slot.element().content = .value(value) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try Primitive.double(value, nextPath)) }
    mutating func encode(_ value: Float) throws { put(try Primitive.double(Double(value), nextPath)) }
    mutating func encode(_ value: Int) throws { put(.int(value)) }
    mutating func encode(_ value: Int8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int64) throws { put(try Primitive.integer(value, nextPath)) }
    mutating func encode(_ value: UInt) throws { put(try Primitive.integer(value, nextPath)) }
    mutating func encode(_ value: UInt8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt64) throws { put(try Primitive.integer(value, nextPath)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try OrderedJSONEncoder.encode(value, into: slot.element(), codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), codingPath: path)
    }
}

struct SingleValueContainer: SingleValueEncodingContainer {
    let slot: OrderedJSONEncoder.Slot
    let codingPath: [any CodingKey]

    private func put(_ value: JSONValue) { slot.content = .value(value) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try Primitive.double(value, codingPath)) }
    mutating func encode(_ value: Float) throws { put(try Primitive.double(Double(value), codingPath)) }
    mutating func encode(_ value: Int) throws { put(.int(value)) }
    mutating func encode(_ value: Int8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int64) throws { put(try Primitive.integer(value, codingPath)) }
    mutating func encode(_ value: UInt) throws { put(try Primitive.integer(value, codingPath)) }
    mutating func encode(_ value: UInt8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt64) throws { put(try Primitive.integer(value, codingPath)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try OrderedJSONEncoder.encode(value, into: slot, codingPath: codingPath)
    }
}
