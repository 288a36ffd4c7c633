import Foundation
import SCIMDProtocol
import SCIMJSON

/// Differential: ``RPCCodec`` decodes `scim.handle`'s params and result with a hand-written fast
/// path before falling back to Foundation's `JSONDecoder`, and encodes them by hand before
/// falling back to `JSONEncoder`. For any JSON value, the codec must accept exactly what Codable
/// accepts, decode it to an equal value, and encode that value to JSON equal to Codable's.
///
/// The input is one JSON value, tried as each type with a fast path.
enum RPCParamsTarget {
    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let value = try? JSONParser(maximumDepth: 64).parse(bytes: input) else { return }
        try compare(value, as: SCIMHandle.Params.self)
        try compare(value, as: SCIMHandle.Result.self)
        try compare(value, as: ResourceChange.self)
    }

    static func compare<T: Codable & Equatable>(_ value: JSONValue, as type: T.Type) throws(FuzzFailure) {
        let text = JSONSerializer.string(value)
        let fast: T?
        do {
            fast = try RPCCodec.decode(T.self, from: value)
        } catch {
            fast = nil
        }
        // What the Codable path alone makes of the same value (RPCCodec hands it the same bytes).
        let codable = try? JSONDecoder().decode(T.self, from: Data(JSONSerializer.bytes(value)))
        switch (fast, codable) {
        case (nil, nil):
            return
        case (let fast?, nil):
            throw FuzzFailure("\(T.self): the fast path accepts what Codable refuses: \(text) → \(fast)")
        case (nil, let codable?):
            throw FuzzFailure("\(T.self): the fast path refuses what Codable accepts: \(text) → \(codable)")
        case (let fast?, let codable?):
            if fast != codable {
                throw FuzzFailure("\(T.self): fast and Codable decode \(text) differently: \(fast) vs \(codable)")
            }
            try compareEncodings(fast, source: text)
        }
    }

    /// ``RPCCodec/encode(_:)`` (the fast path where the type has one) against `JSONEncoder`.
    static func compareEncodings<T: Codable>(_ value: T, source: String) throws(FuzzFailure) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            let fast = try JSONParser(maximumDepth: 257).parse(bytes: try RPCCodec.encode(value))
            let codable = try JSONParser(maximumDepth: 257).parse(bytes: Array(try encoder.encode(value)))
            if fast != codable {
                throw FuzzFailure("\(T.self): fast and Codable encode differently (from \(source)): \(fast) vs \(codable)")
            }
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("\(T.self): a decoded value does not encode (from \(source)): \(error)")
        }
    }
}
