import Foundation
import GRDB
import HTTPTestClient
import Logging
import NIOHTTP1
import SCIMDProtocol
import SCIMDServer
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import ServiceLifecycle
import NIOConcurrencyHelpers
import Testing

/// The listener in this process, with an engine the test controls: graceful shutdown and the
/// engine wiring. Real-daemon behaviour is in EndToEndTests.
@Suite(.serialized) struct HTTPListenerTests {
    /// An engine that answers `/scim/v2/slow` only when the test releases it.
    final class GatedEngine: Sendable {
        let arrived: AsyncStream<Void>
        private let arrivedContinuation: AsyncStream<Void>.Continuation
        /// Whether the gate is open, and the request waiting at it: one lock, so `open()` can never
        /// slip between a request's check and its wait (it once did, and the request waited forever).
        private let gate = NIOLockedValueBox<(isOpen: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

        init() {
            (arrived, arrivedContinuation) = AsyncStream.makeStream()
        }

        func handle(_ params: SCIMHandle.Params) async -> SCIMHandle.Result {
            if params.path.hasSuffix("/slow") {
                arrivedContinuation.yield()
                await withCheckedContinuation { continuation in
                    let isOpen = gate.withLockedValue { gate -> Bool in
                        if gate.isOpen { return true }
                        gate.waiter = continuation
                        return false
                    }
                    if isOpen { continuation.resume() }
                }
            }
            return .init(status: 200, headers: ["Content-Type": "application/scim+json"], body: #"{"path":"\#(params.path)"}"#, changes: [])
        }

        func open() {
            let waiter = gate.withLockedValue { gate -> CheckedContinuation<Void, Never>? in
                gate.isOpen = true
                defer { gate.waiter = nil }
                return gate.waiter
            }
            waiter?.resume()
        }
    }

    @Test func gracefulShutdownFinishesTheRequestInFlightAndClosesIdleConnections() async throws {
        let engine = GatedEngine()
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        // A grace period far longer than the test's steps (the late connection below may wait 5 s
        // for an answer): this test is about finishing the request in flight, and under the thread
        // sanitizer on a loaded machine the default 5 s ran out first and closed it outright.
        let server = SCIMHTTPServer(
            configuration: .init(address: .tcp(host: "127.0.0.1", port: 0), shutdownGracePeriod: .seconds(120)),
            engine: { params, _ in await engine.handle(params) }, logger: Logger(label: "test"), onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var urls = ready.makeAsyncIterator()
            let url = try #require(await urls.next())
            let port = try #require(Int(url.split(separator: ":").last?.split(separator: "/").first ?? ""))

            // An idle keep-alive connection (one request answered) and one whose request is in the engine.
            let idle = try HTTPTestClient(port: port)
            let first = try await offloaded { try idle.exchange(HTTPTestRequest(.GET, "/scim/v2/fast")) }
            #expect(first.status == 200)
            let busy = try HTTPTestClient(port: port)
            try busy.send(HTTPTestRequest(.GET, "/scim/v2/slow"))
            var arrivals = engine.arrived.makeAsyncIterator()
            _ = await arrivals.next()

            await group.triggerGracefulShutdown()
            #expect(try await offloaded { idle.isClosedByPeer() })
            // A connection arriving now is refused, or (accepted in the instant before the listening
            // socket closed) answered at most once, with Connection: close.
            if let late = try? HTTPTestClient(port: port, receiveTimeout: 5),
                let answer = try? await offloaded({ try late.exchange(HTTPTestRequest(.GET, "/scim/v2/fast")) })
            {
                #expect(answer[header: "Connection"] == "close")
            }

            engine.open()
            let answer = try await offloaded { try busy.readResponse() }
            #expect(answer?.status == 200)
            #expect(answer?.body == #"{"path":"/scim/v2/slow"}"#)
            #expect(answer?[header: "Connection"] == "close")
            #expect(try await offloaded { busy.isClosedByPeer() })
            try await tasks.next()
        }
    }

    @Test func aConnectionStillBusyAfterTheGracePeriodIsClosedOutright() async throws {
        let engine = GatedEngine()
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        let server = SCIMHTTPServer(
            configuration: .init(address: .tcp(host: "127.0.0.1", port: 0), shutdownGracePeriod: .milliseconds(100)),
            engine: { params, _ in await engine.handle(params) }, logger: Logger(label: "test"), onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var urls = ready.makeAsyncIterator()
            let url = try #require(await urls.next())
            let port = try #require(Int(url.split(separator: ":").last?.split(separator: "/").first ?? ""))
            let stuck = try HTTPTestClient(port: port)
            try stuck.send(HTTPTestRequest(.GET, "/scim/v2/slow"))
            var arrivals = engine.arrived.makeAsyncIterator()
            _ = await arrivals.next()
            await group.triggerGracefulShutdown()
            // The engine has not answered, and will not until the connection is gone.
            #expect(try await offloaded { stuck.isClosedByPeer() })
            engine.open()
            try await tasks.next()
        }
    }

    /// The head and body deadlines are for clients that are slow to send; one waiting for the
    /// engine is not slow, however long the engine takes.
    @Test func aRequestTheEngineWorksOnOutlivesTheHeadAndBodyDeadlines() async throws {
        let engine = GatedEngine()
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        let server = SCIMHTTPServer(
            configuration: .init(address: .tcp(host: "127.0.0.1", port: 0), headerTimeout: .seconds(1), bodyTimeout: .seconds(1)),
            engine: { params, _ in await engine.handle(params) }, logger: Logger(label: "test"), onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var urls = ready.makeAsyncIterator()
            let url = try #require(await urls.next())
            let port = try #require(Int(url.split(separator: ":").last?.split(separator: "/").first ?? ""))
            let client = try HTTPTestClient(port: port)
            try client.send(HTTPTestRequest(.POST, "/scim/v2/slow", body: "{}"))
            var arrivals = engine.arrived.makeAsyncIterator()
            _ = await arrivals.next()
            try await Task.sleep(for: .milliseconds(1500))
            engine.open()
            let answer = try await offloaded { try client.readResponse() }
            #expect(answer?.status == 200)
            // Still open for the next request.
            #expect(try await offloaded { try client.exchange(HTTPTestRequest(.GET, "/scim/v2/fast")) }.status == 200)
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    @Test func aConnectionInConfirmModeGets501AndNothingStaysHeld() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("db.sqlite").path)
        let service = try SCIMDService(store: store, logger: Logger(label: "test"))
        let created = try await service.createConnection(.init(name: "Held"))
        _ = try await service.updateConnection(.init(connection: "Held", confirmMode: true))
        let engine = SCIMHTTPServer.engine(service)

        let result = await engine(
            .init(
                method: "POST", path: "/scim/v2/Users", headers: ["authorization": "Bearer \(created.token)"],
                body: #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"held@example.com"}"#), "127.0.0.1")
        #expect(result.status == 501)
        #expect(result.actionRequired == nil)
        let body = try JSONParser().parse(result.body ?? "")
        #expect(body["detail"]?.stringValue?.contains("confirm mode") == true)
        let pending = try await store.readDatabase { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pendingCommit") }
        #expect(pending == 0)
        let list = await engine(.init(method: "GET", path: "/scim/v2/Users", headers: ["authorization": "Bearer \(created.token)"]), nil)
        #expect(try JSONParser().parse(list.body ?? "")["totalResults"] == 0)
        // The request log records the 501 the IdP got, not the hold it never saw.
        let logged = try await service.listRequests(.init(connection: "Held", method: "POST"))
        #expect(logged.requests.map(\.status) == [501])

        // Everything else is the engine's answer, untouched.
        _ = try await service.updateConnection(.init(connection: "Held", confirmMode: false))
        let served = await engine(
            .init(
                method: "POST", path: "/scim/v2/Users", headers: ["authorization": "Bearer \(created.token)"],
                body: #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"held@example.com"}"#), "127.0.0.1")
        #expect(served.status == 201)
        #expect(served.changes.count == 1)
    }
}
