import Foundation
import SCIMJSON
import Testing

@testable import SCIMDProtocol

/// RPC results (and so scimctl's `--json`) list members in the order of the result type's fields,
/// identically in every run; dictionaries come sorted; JSON carried as data keeps its own order.
@Suite struct JSONKeyOrderTests {
    func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try RPCCodec.encode(value), as: UTF8.self)
    }

    /// Member order ignored: what two encoders must agree on.
    func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            .object(JSONObject(object.map { (key: $0.key, value: canonical($0.value)) }.sorted { $0.key < $1.key }))
        case .array(let elements): .array(elements.map(canonical))
        default: value
        }
    }

    static let connection = ConnectionInfo(
        id: "c1", name: "Acme", customerId: "cust-9", idp: "Okta", disabled: false, createdAt: "2026-01-01T00:00:00Z",
        updatedAt: "2026-01-02T00:00:00Z", users: 3, activeUsers: 2, groups: 1, openWarnings: 4, resourcesWithWarnings: 2,
        domains: ["example.com"])

    @Test func resultsListTheirFieldsInDeclarationOrder() throws {
        #expect(
            try text(SystemHealth.Result(status: "ok", version: "0.1.0", uptimeSeconds: 1.5, checks: [.init(name: "state", status: "ok")]))
                == #"{"status":"ok","version":"0.1.0","uptimeSeconds":1.5,"checks":[{"name":"state","status":"ok"}]}"#)
        #expect(try text(SystemBackup.Result(path: "/b", bytes: 4096, milliseconds: 2.25)) == #"{"path":"/b","bytes":4096,"milliseconds":2.25}"#)
        let connection = try text(Self.connection)
        #expect(connection.hasPrefix(#"{"id":"c1","name":"Acme","customerId":"cust-9","idp":"Okta","disabled":false,"createdAt":"#))
        let keys = try JSONParser().parse(connection).objectValue.map { $0.map(\.key) } ?? []
        #expect(keys.prefix(6) == ["id", "name", "customerId", "idp", "disabled", "createdAt"])
        #expect(keys.firstIndex(of: "users")! < keys.firstIndex(of: "activeUsers")!)
        #expect(keys.firstIndex(of: "activeUsers")! < keys.firstIndex(of: "groups")!)
        #expect(keys.last == "domains")
        // Absent optionals are left out, as before.
        #expect(!connection.contains("lastRequestAt"))
    }

    @Test func dictionariesAreSortedAndDataKeepsItsOwnOrder() throws {
        let detail = RequestDetail(
            summary: RequestSummary(
                id: 7, connection: "c1", at: "t", method: "POST", path: "/Users", status: 201, durationMicroseconds: 900,
                resourceType: "User", resourceId: "u1", error: nil),
            requestHeaders: ["x-request-id": "r", "content-type": "application/scim+json", "accept": "*/*", "zz": "1", "a": "2"],
            requestBody: nil, responseBody: nil, requestId: "r")
        let encoded = try text(detail)
        #expect(encoded.contains(#""requestHeaders":{"a":"2","accept":"*/*","content-type":"application/scim+json","x-request-id":"r","zz":"1"}"#))
        #expect(encoded.hasPrefix(#"{"summary":{"id":7,"connection":"c1","at":"t","method":"POST","path":"/Users","status":201,"#))
        // Mapped properties are JSON data: their order is the order they were given in.
        let change = ResourceChange(
            resourceType: "User", id: "u1", change: "created", connection: "c1",
            mapped: try JSONParser().parse(#"{"zeta":1,"alpha":{"y":true,"b":null},"mid":[3,1]}"#))
        #expect(try text(change).contains(#""mapped":{"zeta":1,"alpha":{"y":true,"b":null},"mid":[3,1]}"#))
    }

    /// Only the order differs from Foundation's encoder (across processes, see ScimctlConventionsTests).
    @Test func theSameJSONAsFoundationApartFromOrder() throws {
        let values: [any Encodable] = [Self.connection, ConnectionsList.Result(connections: [Self.connection, Self.connection])]
        for value in values {
            let ours = try JSONParser().parse(bytes: try RPCCodec.encode(value))
            let foundation = try JSONParser().parse(bytes: Array(try JSONEncoder().encode(value)))
            #expect(canonical(ours) == canonical(foundation))
            #expect(try RPCCodec.encode(value) == (try RPCCodec.encode(value)))
        }
    }

    @Test func refusesWhatJSONCannotHold() throws {
        #expect(throws: EncodingError.self) { try RPCCodec.encode(SystemBackup.Result(path: "/b", bytes: 1, milliseconds: .nan)) }
        #expect(throws: EncodingError.self) { try RPCCodec.encode([Double.infinity]) }
        #expect(throws: EncodingError.self) { try OrderedJSONEncoder().encode(UInt64.max) }
        #expect(try OrderedJSONEncoder().encode(UInt64(7)) == .int(7))
    }

    struct Nested: Encodable {
        struct Inner: Encodable { var values: [Double] }
        var inner: Inner
    }

    /// The coding path is built only when an error needs it; it must still name the value.
    @Test func aRefusalNamesThePathOfTheValue() throws {
        func path(_ body: () throws -> Void) -> [String] {
            do {
                try body()
            } catch EncodingError.invalidValue(_, let context) {
                return context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            } catch {}
            return ["no EncodingError"]
        }
        #expect(path { _ = try OrderedJSONEncoder().encode(Nested(inner: .init(values: [1, 2, .infinity]))) } == ["inner", "values", "[2]"])
        #expect(path { _ = try OrderedJSONEncoder().encode(["k": Double.nan]) } == ["k"])
        #expect(path { _ = try OrderedJSONEncoder().encode([[UInt64(1)], [UInt64.max]]) } == ["[1]", "[0]"])
    }

    /// Hand-written `encode(to:)` shapes: nested containers, a key encoded twice, super encoders, nothing at all.
    struct Unusual: Encodable {
        enum Keys: String, CodingKey { case b, a, nested, list, again }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .b)
            try container.encode("x", forKey: .a)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .nested)
            try nested.encodeNil(forKey: .a)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode(true)
            var inner = list.nestedUnkeyedContainer()
            try inner.encode(Int8(-1))
            try list.encode(Optional<Int>.none)
            try container.encode(2, forKey: .b)
            try Empty().encode(to: container.superEncoder(forKey: .again))
        }
    }
    struct Empty: Encodable {}

    /// Many keys, one of them encoded twice after the object grew past the size where members
    /// are found through an index: first position, last value, no duplicate.
    struct Wide: Encodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for i in 0..<40 { try container.encode(i, forKey: Key(stringValue: "k\(i)")) }
            try container.encode(-1, forKey: Key(stringValue: "k3"))
            try container.encode(-2, forKey: Key(stringValue: "k39"))
        }
    }

    @Test func wideObjectsKeepFirstPositionsAndLastValues() throws {
        let object = try #require(try OrderedJSONEncoder().encode(Wide()).objectValue)
        #expect(object.keys == (0..<40).map { "k\($0)" })
        #expect(object["k3"] == .int(-1))
        #expect(object["k39"] == .int(-2))
        #expect(object["k20"] == .int(20))
        let dictionary = Dictionary(uniqueKeysWithValues: (0..<100).map { ("d\(1000 - $0)", $0) })
        let sorted = try #require(try OrderedJSONEncoder().encode(dictionary).objectValue)
        #expect(sorted.keys == dictionary.keys.sorted())
    }

    @Test func handWrittenEncodersKeepTheirOrder() throws {
        #expect(
            JSONSerializer.string(try OrderedJSONEncoder().encode(Unusual()))
                == #"{"b":2,"a":"x","nested":{"a":null},"list":[true,[-1],null],"again":{}}"#)
    }
}
