import Foundation
import SCIMJSON
import Testing

@testable import SCIMDProtocol

/// `scim.handle`'s hand-written JSON conversion must agree with its Codable conformance exactly,
/// and hand anything it does not accept to the Codable path (which names the bad field).
@Suite struct RPCCodecTests {
    /// What Foundation's coders make of a value: the reference the fast path must match.
    func viaCodable<T: Codable>(_ value: T) throws -> JSONValue {
        try JSONParser().parse(bytes: Array(JSONEncoder().encode(value)))
    }

    static let params: [SCIMHandle.Params] = [
        .init(method: "GET", path: "/scim/v2/Users"),
        .init(method: "POST", path: "/scim/v2/Users", headers: ["Authorization": "Bearer x", "Content-Type": "application/scim+json"],
              body: #"{"userName":"ü\n\"q\""}"#, connection: "acme"),
        .init(method: "PATCH", path: "/scim/v2/Groups/1", headers: [:], body: ""),
    ]

    static let results: [SCIMHandle.Result] = [
        .init(status: 204, headers: [:], body: nil, changes: []),
        .init(
            status: 201, headers: ["ETag": #"W/"1""#, "Location": "https://x/Users/1"], body: #"{"id":"1"}"#,
            changes: [
                .init(resourceType: "User", id: "1", change: "created", connection: "c", version: #"W/"1""#,
                      mapped: ["email": "a@b", "roles": ["admin"]], warningsOpened: ["department"], warningsResolved: []),
                .init(resourceType: "Group", id: "g", change: "member_added", connection: "c", member: "1"),
            ]),
    ]

    @Test(arguments: params) func paramsEncodeAndDecodeLikeCodable(_ params: SCIMHandle.Params) throws {
        let reference = try viaCodable(params)
        #expect(try JSONParser().parse(bytes: try RPCCodec.encode(params)) == reference)
        #expect(SCIMHandle.Params.fastDecode(reference) == params)
        #expect(try RPCCodec.decode(SCIMHandle.Params.self, from: reference) == params)
    }

    @Test(arguments: results) func resultsEncodeAndDecodeLikeCodable(_ result: SCIMHandle.Result) throws {
        let reference = try viaCodable(result)
        #expect(result.fastJSON != nil)
        #expect(try JSONParser().parse(bytes: try RPCCodec.encode(result)) == reference)
        #expect(SCIMHandle.Result.fastDecode(reference) == result)
    }

    @Test(arguments: [
        SystemHealth.Result(status: "ok", version: "1.2.3", uptimeSeconds: 12.625, checks: [.init(name: "state", status: "ok")]),
        SystemHealth.Result(
            status: "degraded", version: "1.2.3", uptimeSeconds: 0,
            checks: [.init(name: "storage", status: "failing", detail: "disk \"full\"\n"), .init(name: "disk", status: "ok")]),
        SystemHealth.Result(status: "ok", version: "1", uptimeSeconds: 3),
    ])
    func healthIsBuiltDirectlyWithTheBytesOfTheCodablePath(_ result: SystemHealth.Result) throws {
        let fast = try #require(result.fastJSON)
        #expect(JSONSerializer.bytes(fast) == JSONSerializer.bytes(try OrderedJSONEncoder().encode(result)))
        #expect(SystemHealth.Result(status: "ok", version: "1", uptimeSeconds: .nan).fastJSON == nil)
    }

    /// Foundation reports `1.5` or `2^63` for an integer field as corrupt data without a path;
    /// the error names the field, as it does for a string in its place.
    @Test func aNumberNoIntegerFieldHoldsIsNamed() {
        for (params, field, text) in [
            (["limit": .double(1.5)] as JSONValue, "limit", "1.5"), (["after": .double(9.223372036854775808e18)], "after", nil),
        ] as [(JSONValue, String, String?)] {
            do {
                _ = try RPCCodec.decode(EventsList.Params.self, from: params)
                Issue.record("\(params) decoded")
            } catch {
                #expect(error.data?.field == field, "\(error.message)")
                #expect(error.message.hasPrefix("param '\(field)' must be an integer (got "), "\(error.message)")
                if let text { #expect(error.message.contains(text)) }
            }
        }
        #expect((try? RPCCodec.decode(EventsList.Params.self, from: ["limit": .double(100)]))?.limit == 100, "a whole number in exponent form is an integer")
        #expect(RPCCodec.firstNonInteger(in: ["a": [1, ["b": .double(2.5)]]]) ?? ("", "") == ("a[1].b", "2.5"))
    }

    @Test func noParamsDecodeWithoutTheGenericDecoder() throws {
        #expect(try RPCCodec.decode(Empty.self, from: nil) == Empty())
        #expect(try RPCCodec.decode(Empty.self, from: .object([:])) == Empty())
        let error = #expect(throws: RPCError.self) { try RPCCodec.decode(Empty.self, from: .array([])) }
        #expect(error?.code == .invalidParams)
    }

    @Test func aHeldChangeFallsBackToCodable() throws {
        var result = Self.results[0]
        result.actionRequired = ActionRequired(commitId: "c1", action: "disable", user: ["id": "1"], mapped: [:], expiresAt: "2026-01-01T00:00:00Z")
        #expect(result.fastJSON == nil)
        let encoded = try JSONParser().parse(bytes: try RPCCodec.encode(result))
        #expect(encoded == (try viaCodable(result)))
        #expect(SCIMHandle.Result.fastDecode(encoded) == nil)
        #expect(try RPCCodec.decode(SCIMHandle.Result.self, from: encoded) == result)
    }

    @Test(arguments: [
        (#"{"path":"/Users"}"#, "method", "missing required param"),
        (#"{"method":"GET","path":"/Users","headers":{"a":1}}"#, "headers.a", "wrong type"),
        (#"{"method":"GET","path":"/Users","headers":[]}"#, "headers", "wrong type"),
        (#"{"method":"GET","path":7}"#, "path", "wrong type"),
        (#"{"method":"GET","path":"/Users","body":{"userName":"x"}}"#, "body", "wrong type"),
    ])
    func badParamsAreRefusedNamingTheField(json: String, field: String, message: String) throws {
        let value = try JSONParser().parse(json)
        #expect(SCIMHandle.Params.fastDecode(value) == nil)
        let error = #expect(throws: RPCError.self) { try RPCCodec.decode(SCIMHandle.Params.self, from: value) }
        #expect(error?.code == .invalidParams)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("'\(field)'") == true, "\(error?.message ?? "")")
    }

    @Test func nullOptionalsDecodeAsAbsent() throws {
        let value = try JSONParser().parse(#"{"method":"GET","path":"/Users","headers":null,"body":null,"connection":null}"#)
        #expect(SCIMHandle.Params.fastDecode(value) == SCIMHandle.Params(method: "GET", path: "/Users"))
    }
}
