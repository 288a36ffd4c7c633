import Foundation
import SCIMJSON

/// Encodes and decodes typed params/results, identically on both ends of the socket.
public enum RPCCodec {
    /// Compact JSON bytes of `value` (no newlines, so safe inside one framed line), members in the
    /// order of its type's fields (``OrderedJSONEncoder``).
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let json = value as? JSONValue { return JSONSerializer.bytes(json) }
        if let fast = value as? any FastJSONEncodable, let json = fast.fastJSON { return JSONSerializer.bytes(json) }
        // Members in the order of the result type's fields, the same in every run (Foundation's
        // JSONEncoder orders them by a per-process hash seed), so a result saved to a file
        // (`mapping show --json`) diffs cleanly and reads `id`, `name` first. See OrderedJSONEncoder.
        return JSONSerializer.bytes(try OrderedJSONEncoder().encode(value))
    }

    /// Decodes `type` from a JSON value (`params` or `result`). Absent params decode as `{}`.
    /// Throws ``RPCError`` `invalid_params` naming the offending field.
    public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue?) throws(RPCError) -> T {
        let value = json ?? .object([:])
        if T.self == JSONValue.self { return value as! T }
        // Methods without params (`system.health`, `system.stats`, …): unknown names were already
        // refused by `RPCMethod.normalizedParams`, so an object is all there is to check.
        if T.self == Empty.self, case .object = value { return Empty() as! T }
        if case .array = value {
            throw RPCError.invalidParams("params must be an object (by-name); positional params are not supported")
        }
        if let fast = T.self as? any FastJSONDecodable.Type, let decoded = fast.fastDecode(value) { return decoded as! T }
        do {
            return try JSONDecoder().decode(T.self, from: Data(JSONSerializer.bytes(value)))
        } catch let error as DecodingError {
            // Foundation reports a number an integer field cannot hold (`1.5`, `2^63`) as corrupt
            // data with no path ("The given data was not valid JSON."): name the field instead.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let (field, number) = firstNonInteger(in: value) {
                throw RPCError.invalidParams("param '\(field)' must be an integer (got \(number))", field: field)
            }
            throw invalidParams(error)
        } catch {
            throw RPCError.invalidParams("invalid params: \(error)")
        }
    }

    /// The first number in `value` (depth first, in member order) that no integer field can hold:
    /// one with a fraction, or past `Int`'s range (the parser keeps such numbers as `Double`).
    /// Its dotted path (`limit`, `filter.after`, `ids[2]`) and its text.
    static func firstNonInteger(in value: JSONValue, at path: String = "") -> (String, String)? {
        switch value {
        case .double(let number) where number.rounded() != number || abs(number) >= 9.2e18:
            return (path, JSONSerializer.string(value))
        case .object(let object):
            for (key, member) in object {
                if let found = firstNonInteger(in: member, at: path.isEmpty ? key : path + "." + key) { return found }
            }
            return nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = firstNonInteger(in: element, at: path + "[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }

    /// Turns a `DecodingError` into `invalid_params` with the dotted field path.
    static func invalidParams(_ error: DecodingError) -> RPCError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .invalidParams("missing required param '\(field)'", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .invalidParams("param '\(field)' has the wrong type (expected \(typeName(type)))", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .invalidParams("param '\(field)' must not be null (expected \(typeName(type)))", field: field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return .invalidParams("param '\(field)' is invalid: \(context.debugDescription)", field: field.isEmpty ? nil : field)
        @unknown default:
            return .invalidParams("invalid params")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Int.Type, is Int64.Type: return "integer"
        case is Double.Type: return "number"
        case is Bool.Type: return "boolean"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "array" }
            if name.hasPrefix("Dictionary") { return "object" }
            return "object"
        }
    }
}
