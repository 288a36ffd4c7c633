import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDService
import SCIMDStore
import SCIMJSON
import Testing

/// Request ids and the access log of SCIM requests.
@Suite struct AccessLogTests {
    final class Fixture: Sendable {
        let directory: URL
        let service: SCIMDService
        let messages = NIOLockedValueBox<[(String, Logger.Metadata)]>([])

        init(accessLog: Bool) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-access-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let messages = self.messages
            let logger = Logger(label: "test", factory: { _ in Recorder(messages: messages) })
            var configuration = ServiceConfiguration()
            configuration.accessLog = accessLog
            service = try SCIMDService(
                store: try Store(path: directory.appendingPathComponent("db.sqlite").path), configuration: configuration, logger: logger)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }

        func lines(_ message: String) -> [Logger.Metadata] { messages.withLockedValue { $0.filter { $0.0 == message }.map(\.1) } }
    }

    struct Recorder: LogHandler {
        let messages: NIOLockedValueBox<[(String, Logger.Metadata)]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { messages.withLockedValue { $0.append(("\(event.message)", event.metadata ?? [:])) } }
    }

    @Test func everyResponseCarriesARequestIdThatTheLogsShare() async throws {
        let f = try Fixture(accessLog: true)
        let token = try await f.service.createConnection(.init(name: "Acme")).token
        let created = await f.service.handleSCIM(
            .init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(token)"], body: #"{"userName":"ada@example.com"}"#))
        let id = try #require(created.headers["X-Request-Id"])
        #expect(id.count == 16 && id.allSatisfy(\.isHexDigit))
        let line = try #require(f.lines("SCIM request").last)
        #expect(line["requestId"] == .string(id))
        #expect(line["method"] == "POST" && line["path"] == "/Users" && line["status"] == "201")
        #expect(line["connection"] == .string(try await f.service.getConnection("Acme").id))
        #expect(line["ms"] != nil)
        // The request log keeps it: requests show prints it.
        let logged = try await f.service.listRequests(.init(connection: "Acme")).requests.first
        let detail = try await f.service.getRequest(try #require(logged?.id))
        #expect(detail.requestId == id)

        // A proxy's own id is kept; an implausible one is replaced.
        let proxied = await f.service.handleSCIM(
            .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(token)", "X-Request-Id": "edge-7f3a.1"]))
        #expect(proxied.headers["X-Request-Id"] == "edge-7f3a.1")
        let hostile = await f.service.handleSCIM(
            .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(token)", "X-Request-Id": "a b\nforged=1"]))
        #expect(hostile.headers["X-Request-Id"] != "a b\nforged=1")
        #expect(hostile.headers["X-Request-Id"]?.count == 16)
    }

    @Test func aRefusedRequestSaysWhyAndWhoAsked() async throws {
        let f = try Fixture(accessLog: true)
        _ = try await f.service.createConnection(.init(name: "Acme"))
        let refused = await f.service.handleSCIM(
            .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer nope", "X-Forwarded-For": "203.0.113.9, 10.0.0.1"]))
        #expect(refused.status == 401)
        let line = try #require(f.lines("SCIM request refused").last)
        #expect(line["reason"] == "unknown_token")
        #expect(line["remote"] == "203.0.113.9")
        #expect(line["requestId"] == .string(refused.headers["X-Request-Id"] ?? "?"))
        #expect(f.lines("SCIM request").last?["status"] == "401")
    }

    @Test func theHTTPListenersPeerIsTheRemoteUnlessAForwardingHeaderNamesTheClient() async throws {
        let f = try Fixture(accessLog: true)
        let token = try await f.service.createConnection(.init(name: "Acme")).token
        // No header: the TCP peer the HTTP listener passes, in the refusal and in the access log.
        let refused = await f.service.handleSCIM(
            .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer nope"]), canHold: false, scheme: "http",
            peer: "198.51.100.7")
        #expect(refused.status == 401)
        #expect(f.lines("SCIM request refused").last?["remote"] == "198.51.100.7")
        #expect(f.lines("SCIM request").last?["remote"] == "198.51.100.7")
        // Answered in place (a GET the index serves): the same.
        let served = f.service.handleSCIMImmediately(
            .init(method: "GET", path: "/Users?filter=userName%20eq%20%22x%22", headers: ["Authorization": "Bearer \(token)"]),
            scheme: "http", peer: "198.51.100.8")
        #expect(served?.status == 200)
        #expect(f.lines("SCIM request").last?["remote"] == "198.51.100.8")
        // A forwarding header (which the listener passes only from a trusted proxy) names the client.
        _ = await f.service.handleSCIM(
            .init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer nope", "X-Real-IP": "203.0.113.10"]), canHold: false,
            scheme: "http", peer: "10.0.0.2")
        #expect(f.lines("SCIM request refused").last?["remote"] == "203.0.113.10")
        // scim.handle without forwarding headers: the application is the peer, and no remote is named.
        _ = await f.service.handleSCIM(.init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer nope"]))
        #expect(f.lines("SCIM request refused").last?["remote"] == nil)
        #expect(f.lines("SCIM request").last?["remote"] == nil)
    }

    @Test func theAccessLogCanBeOff() async throws {
        let f = try Fixture(accessLog: false)
        let token = try await f.service.createConnection(.init(name: "Acme")).token
        let r = await f.service.handleSCIM(.init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(token)"]))
        #expect(r.headers["X-Request-Id"] != nil)
        #expect(f.lines("SCIM request").isEmpty)
    }
}
