import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
@testable import SCIMDServer
import SCIMDService
import SCIMDStore
import SCIMJSON
import Foundation
import Synchronization
import Testing

@Suite struct DispatcherTests {
    struct Echo: RPCMethod {
        static let name = "test.echo"
        static let summary = "echo"
        struct Params: Codable, Sendable { var text: String; var times: Int? }
        struct Result: Codable, Sendable { var text: String }
    }

    func dispatcher() -> RPCDispatcher {
        var d = RPCDispatcher(logger: Logger(label: "test"))
        d.register(Echo.self) { p in .init(text: String(repeating: p.text, count: p.times ?? 1)) }
        return d
    }

    func call(_ line: String) async throws -> JSONValue? {
        guard let bytes = await dispatcher().handle(line: Array(line.utf8)) else { return nil }
        return try JSONParser().parse(bytes: bytes)
    }

    /// A dispatcher whose access-log lines are kept, and a way to read their method, outcome and id.
    final class LoggedDispatcher {
        let lines = NIOLockedValueBox<[String]>([])
        var dispatcher: RPCDispatcher

        init(register: (inout RPCDispatcher) -> Void) {
            let lines = self.lines
            let handler = SCIMDLogHandler(level: .info, journal: true) { text in lines.withLockedValue { $0.append(text) } }
            var dispatcher = RPCDispatcher(logger: Logger(label: "test") { _ in handler }, accessLog: true)
            register(&dispatcher)
            self.dispatcher = dispatcher
        }

        /// `id=… method=… outcome=…` of each line written so far.
        var logged: [String] {
            lines.withLockedValue { $0 }.map { $0.trimmingCharacters(in: .newlines) }.map { line in
                line.split(separator: " ").filter { $0.hasPrefix("method=") || $0.hasPrefix("outcome=") || $0.hasPrefix("id=") }.joined(separator: " ")
            }
        }
    }

    /// Messages of every kind the access log distinguishes, and the line each gets.
    static let loggedMessages: [(message: String, line: String)] = [
        (#"{"jsonrpc":"2.0","id":"c2-9","method":"test.echo","params":{"text":"x"}}"#, "id=c2-9 method=test.echo outcome=ok"),
        (#"{"jsonrpc":"2.0","id":7,"method":"no.such"}"#, "id=7 method=unknown outcome=method_not_found"),
        (#"{bad json"#, "id=null method=invalid outcome=parse_error"),
        (#""str""#, "id=null method=invalid outcome=invalid_request"),
        (#"{"jsonrpc":"2.0","id":11}"#, "id=11 method=invalid outcome=invalid_request"),
        (#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"x"}}"#, "id=notification method=test.echo outcome=ok"),
        (#"{"jsonrpc":"2.0","id":12,"method":"test.echo","params":{"text":1}}"#, "id=12 method=test.echo outcome=invalid_params"),
    ]

    /// One access-log line per message, refused ones included, with the id as the client sent it.
    @Test func everyMessageHasAnAccessLogLine() async throws {
        let d = LoggedDispatcher { $0.register(Echo.self) { p in .init(text: p.text) } }
        for (message, _) in Self.loggedMessages { _ = await d.dispatcher.handle(line: Array(message.utf8)) }
        _ = await d.dispatcher.handle(line: Array("[]".utf8))
        #expect(d.logged == Self.loggedMessages.map(\.line) + ["id=null method=invalid outcome=invalid_request"])
    }

    /// Answered on the event loop (`answerSynchronously`), each message gets the same one line,
    /// and a batch is left, unlogged, to the task that will answer it.
    @Test func everyMessageAnsweredSynchronouslyHasOneAccessLogLine() throws {
        let d = LoggedDispatcher { $0.registerSynchronous(Echo.self) { p in .init(text: p.text) } }
        var responses: [String] = []
        let batch = #"[{"jsonrpc":"2.0","id":13,"method":"test.echo","params":{"text":"x"}}]"#
        for message in Self.loggedMessages.map(\.message) + [batch] {
            switch d.dispatcher.answerSynchronously(line: Array(message.utf8)) {
            case .answered(let response): responses.append(response.map { String(decoding: $0, as: UTF8.self) } ?? "none")
            case .deferred: responses.append("deferred")
            }
        }
        #expect(d.logged == Self.loggedMessages.map(\.line))
        #expect(responses[0] == #"{"jsonrpc":"2.0","id":"c2-9","result":{"text":"x"}}"#)
        #expect(responses[5] == "none", "a notification gets no answer")
        #expect(responses[6].contains("-32602"))
        #expect(responses[7] == "deferred")
    }

    @Test func answersARequestWithItsId() async throws {
        let r = try await call(#"{"jsonrpc":"2.0","id":"abc","method":"test.echo","params":{"text":"hi","times":2}}"#)
        #expect(r?["id"] == "abc")
        #expect(r?["result"]?["text"] == "hihi")
    }

    @Test func parseErrorIs32700WithNullId() async throws {
        let r = try await call(#"{"jsonrpc":"2.0","id":1,"method""#)
        #expect(r?["error"]?["code"] == -32700)
        #expect(r?["error"]?["data"]?["kind"] == "parse_error")
        #expect(r?["id"] == .null)
    }

    @Test func validJSONThatIsNotARequestIs32600() async throws {
        for line in [#"42"#, #"{"id":1,"method":"test.echo"}"#, #"{"jsonrpc":"2.0","id":1}"#, #"[]"#, #"{"jsonrpc":"2.0","id":{},"method":"x"}"#] {
            let r = try await call(line)
            #expect(r?["error"]?["code"] == -32600, "\(line)")
        }
    }

    @Test func unknownMethodIs32601() async throws {
        let r = try await call(#"{"jsonrpc":"2.0","id":7,"method":"nope"}"#)
        #expect(r?["error"]?["code"] == -32601)
        #expect(r?["id"] == 7)
    }

    @Test func badParamsAre32602NamingTheField() async throws {
        let missing = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{}}"#)
        #expect(missing?["error"]?["code"] == -32602)
        #expect(missing?["error"]?["data"]?["field"] == "text")
        let wrongType = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"text":"a","times":"x"}}"#)
        #expect(wrongType?["error"]?["data"]?["field"] == "times")
        let positional = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":["a"]}"#)
        #expect(positional?["error"]?["code"] == -32602)
        let scalar = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":3}"#)
        #expect(scalar?["error"]?["code"] == -32602)
    }

    /// A method's accepted names are walked at its first call, not at registration; every call,
    /// the first included, refuses a name `Params` does not decode.
    @Test func unknownParamsAreRefusedFromTheFirstCall() async throws {
        for _ in 0..<2 {
            let answer = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"text":"a","tiems":2}}"#)
            #expect(answer?["error"]?["code"] == -32602)
            #expect(answer?["error"]?["data"]?["field"] == "tiems")
        }
        #expect(try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"text":"a","times":2}}"#)?["result"] != nil)
    }

    @Test func aComputedOnceValueIsComputedByOneOfManyConcurrentFirstReads() async throws {
        let computed = Atomic<Int>(0)
        let once = ComputedOnce { () -> Int in
            computed.add(1, ordering: .relaxed)
            return 42
        }
        let values = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { once.value } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: 42, count: 16))
        #expect(computed.load(ordering: .relaxed) == 1)
    }

    @Test func notificationsGetNoResponse() async throws {
        #expect(try await call(#"{"jsonrpc":"2.0","method":"test.echo","params":{"text":"a"}}"#) == nil)
        #expect(try await call(#"{"jsonrpc":"2.0","method":"unknown"}"#) == nil)
    }

    @Test func batchesAnswerEachRequestAndSkipNotifications() async throws {
        let r = try await call(
            #"[{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"text":"a"}},{"jsonrpc":"2.0","method":"test.echo","params":{"text":"b"}},{"jsonrpc":"2.0","id":2,"method":"nope"},5]"#
        )
        let items = try #require(r?.arrayValue)
        #expect(items.count == 3)
        #expect(items[0]["result"]?["text"] == "a")
        #expect(items[1]["error"]?["code"] == -32601)
        #expect(items[2]["error"]?["code"] == -32600)
        #expect(try await call(#"[{"jsonrpc":"2.0","method":"test.echo","params":{"text":"b"}}]"#) == nil)
    }

    @Test func deeplyNestedInputIsAParseErrorNotACrash() async throws {
        let line = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let r = try await call(line)
        #expect(r?["error"]?["code"] == -32700)
    }

    @Test func discoverListsEveryMethodTheDaemonServes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-disc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try SCIMDService(store: try Store(path: directory.path + "/db.sqlite"), logger: Logger(label: "t"))
        let d = RPCDispatcher.scimd(service: service, counters: TransportCounters(), logger: Logger(label: "t"))
        let bytes = try #require(await d.handle(line: Array(#"{"jsonrpc":"2.0","id":1,"method":"rpc.discover"}"#.utf8)))
        let doc = try JSONParser().parse(bytes: bytes)["result"]
        let names = Set((doc?["methods"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        #expect(names == Set(allMethods.map { $0.name }))
        #expect(names.contains("scim.handle"))
        let create = doc?["methods"]?.arrayValue?.first { $0["name"] == "connections.create" }
        let params = create?["params"]?.arrayValue ?? []
        #expect(params.contains { $0["name"] == "name" && $0["required"] == true })
        #expect(params.contains { $0["name"] == "customerId" && $0["required"] == false })
        #expect(create?["result"]?["schema"]?["$ref"] == "#/components/schemas/ConnectionWithToken")
        #expect(doc?["components"]?["schemas"]?["ConnectionWithToken"]?["properties"]?["token"]?["type"] == "string")
    }

    @Test func paramsHoldingNULAreInvalidParamsNamingTheField() async throws {
        let r = try await call(#"{"jsonrpc":"2.0","id":1,"method":"test.echo","params":{"text":"a\u0000b"}}"#)
        #expect(r?["error"]?["code"] == -32602)
        #expect(r?["error"]?["data"]?["kind"] == "invalid_params")
        #expect(r?["error"]?["data"]?["field"] == "text")
    }

    /// Every key-bearing param of the daemon's methods (connection names, SSO claims, app user ids)
    /// is refused with NUL; `scim.handle` answers with the SCIM layer's 400 instead, for the IdP.
    @Test func theDaemonsMethodsRefuseNULButSCIMHandleAnswersInSCIM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-nul-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try SCIMDService(store: try Store(path: directory.path + "/db.sqlite"), logger: Logger(label: "t"))
        let d = RPCDispatcher.scimd(service: service, counters: TransportCounters(), logger: Logger(label: "t"))
        func call(_ line: String) async throws -> JSONValue? {
            try JSONParser().parse(bytes: try #require(await d.handle(line: Array(line.utf8))))
        }
        let created = try await call(#"{"jsonrpc":"2.0","id":1,"method":"connections.create","params":{"name":"Acme"}}"#)
        let token = try #require(created?["result"]?["token"]?.stringValue)
        for (line, field) in [
            (#"{"jsonrpc":"2.0","id":2,"method":"connections.create","params":{"name":"Ac\u0000me"}}"#, "name"),
            (#"{"jsonrpc":"2.0","id":3,"method":"sso.resolve","params":{"connection":"Acme","claims":{"email":"ada@example.com\u0000x"}}}"#, "claims.email"),
            (#"{"jsonrpc":"2.0","id":4,"method":"users.link","params":{"connection":"Acme","user":"ada","appUserId":"u\u00001"}}"#, "appUserId"),
            (#"{"jsonrpc":"2.0","id":5,"method":"connections.update","params":{"id":"Acme","name":"x\u0000"}}"#, "name"),
        ] {
            let r = try await call(line)
            #expect(r?["error"]?["data"]?["kind"] == "invalid_params", "\(line)")
            #expect(r?["error"]?["data"]?["field"] == .string(field), "\(line)")
        }
        let scim = try await call(
            #"{"jsonrpc":"2.0","id":6,"method":"scim.handle","params":{"method":"GET","path":"/Users?filter=userName eq \"a\u0000\"","headers":{"Authorization":"Bearer "#
                + token + #""}}}"#)
        #expect(scim?["error"] == nil)
        #expect(scim?["result"]?["status"] == 400)
        #expect(try await service.getConnection("Acme").name == "Acme")
    }
}
