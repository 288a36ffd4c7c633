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
        try Self.encode(value, into: slot, path: .root)
        return slot.resolved()
    }

    /// Encodes `value` into `slot`, handling the types that do not go through `encode(to:)`.
    static func encode<T: Encodable>(_ value: T, into slot: Slot, path: LazyCodingPath) throws {
        if let json = value as? JSONValue {
            slot.set(json)
        } else if value is any StringKeyedDictionary {
            try value.encode(to: OrderedEncoder(slot: slot, path: path))
            slot.sortMembers()
        } else {
            try value.encode(to: OrderedEncoder(slot: slot, path: path))
        }
    }

    /// Where one value is being built. A class, so containers can hand out nested slots that are
    /// filled after they were placed. Members and elements are stored properties, not payloads of
    /// an enum: appending to an array held in an enum case copied the whole array on every member
    /// (the case still held a reference to it), which made encoding an object quadratic in its size.
    final class Slot {
        enum Kind {
            case empty, value, object, array
        }
        private(set) var kind: Kind = .empty
        private var value: JSONValue = .null
        private var members: [(key: String, slot: Slot)] = []
        private var elements: [Slot] = []

        /// Makes this slot a finished value.
        func set(_ value: JSONValue) {
            kind = .value
            self.value = value
            members = []
            positions = nil
            elements = []
        }

        /// Makes this slot an object, keeping its members if it already is one.
        func becomeObject() {
            guard kind != .object else { return }
            kind = .object
            elements = []
        }

        /// Makes this slot an array, keeping its elements if it already is one.
        func becomeArray() {
            guard kind != .array else { return }
            kind = .array
            members = []
            positions = nil
        }

        /// What was encoded; an encoder that encoded nothing gives `{}` (as `JSONEncoder` does).
        func resolved() -> JSONValue {
            switch kind {
            case .empty: return .object([:])
            case .value: return value
            case .object:
                // `member(_:)` keeps keys distinct.
                var resolved: [(key: String, value: JSONValue)] = []
                resolved.reserveCapacity(members.count)
                for member in members { resolved.append((member.key, member.slot.resolved())) }
                return .object(JSONObject(uniqueMembers: resolved))
            case .array:
                var array: [JSONValue] = []
                array.reserveCapacity(elements.count)
                for element in elements { array.append(element.resolved()) }
                return .array(array)
            }
        }

        /// Positions of the members by key, once an object has more than a few (a large
        /// dictionary would otherwise make the duplicate check below quadratic).
        private var positions: [String: Int]? = nil

        /// The slot for `key` of an object: a new one at the end, or the existing one (replaced).
        func member(_ key: String) -> Slot {
            becomeObject()
            let slot = Slot()
            if positions == nil, members.count >= 16 {
                positions = Dictionary(members.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
            }
            let existing = positions.map { $0[key] } ?? members.firstIndex(where: { $0.key == key })
            if let index = existing {
                members[index].slot = slot
            } else {
                positions?[key] = members.count
                members.append((key, slot))
            }
            return slot
        }

        /// A new element at the end of an array.
        func element() -> Slot {
            becomeArray()
            let slot = Slot()
            elements.append(slot)
            return slot
        }

        var count: Int { kind == .array ? elements.count : 0 }

        /// Sorts an object's members by key (a `Dictionary` encoded them in per-process order).
        func sortMembers() {
            guard kind == .object else { return }
            members.sort { $0.key < $1.key }
            positions = nil
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

/// A coding path turned into an array only when something asks for it (an error, or a type's own
/// `encode(to:)` reading `codingPath`): each nested value adds one node instead of copying the
/// whole array of keys, which every nested value did before.
struct LazyCodingPath {
    final class Node {
        let parent: Node?
        let key: any CodingKey
        init(parent: Node?, key: any CodingKey) {
            self.parent = parent
            self.key = key
        }
    }
    let last: Node?

    static var root: LazyCodingPath { LazyCodingPath(last: nil) }

    func appending(_ key: any CodingKey) -> LazyCodingPath {
        LazyCodingPath(last: Node(parent: last, key: key))
    }

    /// The keys from the root down.
    var keys: [any CodingKey] {
        var keys: [any CodingKey] = []
        var node = last
        while let current = node {
            keys.append(current.key)
            node = current.parent
        }
        return keys.reversed()
    }
}

struct OrderedEncoder: Encoder {
    let slot: OrderedJSONEncoder.Slot
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        slot.becomeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(slot: slot, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        slot.becomeArray()
        return UnkeyedContainer(slot: slot, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(slot: slot, path: path)
    }
}

/// Primitive values as JSON, with `JSONEncoder`'s refusals.
enum Primitive {
    static func double(_ value: Double, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: codingPath(), debugDescription: "\(value) is not a valid JSON number"))
        }
        return .double(value)
    }

    static func integer<T: BinaryInteger>(_ value: T, _ codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONValue {
        if let exact = Int(exactly: value) { return .int(exact) }
        if let approximate = Double(exactly: value) { return .double(approximate) }
        throw EncodingError.invalidValue(value, .init(codingPath: codingPath(), debugDescription: "\(value) does not fit a JSON number"))
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: OrderedJSONEncoder.Slot
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    private func put(_ value: JSONValue, _ key: Key) { slot.member(key.stringValue).set(value) }

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
        try OrderedJSONEncoder.encode(value, into: slot.member(key.stringValue), path: path.appending(key))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        OrderedEncoder(slot: slot.member(key.stringValue), path: path.appending(key)).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        OrderedEncoder(slot: slot.member(key.stringValue), path: path.appending(key)).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        OrderedEncoder(slot: slot.member("super"), path: path.appending(IndexKey(stringValue: "super")))
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        OrderedEncoder(slot: slot.member(key.stringValue), path: path.appending(key))
    }
}

struct UnkeyedContainer: UnkeyedEncodingContainer {
    let slot: OrderedJSONEncoder.Slot
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }
    var count: Int { slot.count }

    private var nextPath: LazyCodingPath { path.appending(IndexKey(intValue: count)) }
    private func put(_ value: JSONValue) { slot.element().set(value) }

    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try Primitive.double(value, nextPath.keys)) }
    mutating func encode(_ value: Float) throws { put(try Primitive.double(Double(value), nextPath.keys)) }
    mutating func encode(_ value: Int) throws { put(.int(value)) }
    mutating func encode(_ value: Int8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int64) throws { put(try Primitive.integer(value, nextPath.keys)) }
    mutating func encode(_ value: UInt) throws { put(try Primitive.integer(value, nextPath.keys)) }
    mutating func encode(_ value: UInt8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt64) throws { put(try Primitive.integer(value, nextPath.keys)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = nextPath
        try OrderedJSONEncoder.encode(value, into: slot.element(), path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), path: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), path: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let path = nextPath
        return OrderedEncoder(slot: slot.element(), path: path)
    }
}

struct SingleValueContainer: SingleValueEncodingContainer {
    let slot: OrderedJSONEncoder.Slot
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    private func put(_ value: JSONValue) { slot.set(value) }

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
        try OrderedJSONEncoder.encode(value, into: slot, path: path)
    }
}
