import SCIMJSON

/// Hashes a JSON value consistently with `JSONValue.==`: numbers hash by their `Double` value
/// (so `1` and `1.0` collide, as they compare equal) and object members are combined
/// order-independently (object equality ignores member order).
///
/// `JSONValue` is only `Equatable` in SCIMJSON; rather than adding a retroactive `Hashable`
/// conformance (which another module could also add), mapping types hash through this.
func hashJSON(_ value: JSONValue?, into hasher: inout Hasher) {
    guard let value else {
        hasher.combine(0 as UInt8)
        return
    }
    switch value {
    case .null: hasher.combine(1 as UInt8)
    case .bool(let b):
        hasher.combine(2 as UInt8)
        hasher.combine(b)
    case .int, .double:
        hasher.combine(3 as UInt8)
        let d = value.doubleValue ?? 0
        hasher.combine(d == 0 ? 0 : d)  // -0.0 == 0.0
    case .string(let s):
        hasher.combine(4 as UInt8)
        hasher.combine(s)
    case .array(let elements):
        hasher.combine(5 as UInt8)
        hasher.combine(elements.count)
        for e in elements { hashJSON(e, into: &hasher) }
    case .object(let object):
        hasher.combine(6 as UInt8)
        hasher.combine(object.count)
        var combined = 0
        for (k, v) in object {
            var member = Hasher()
            member.combine(k)
            hashJSON(v, into: &member)
            combined ^= member.finalize()
        }
        hasher.combine(combined)
    }
}
