import Foundation
import HTTPTestClient
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import SCIMDProtocol
import SCIMDServer
import SCIMDService
import SCIMDStore
import ServiceLifecycle
import Testing

/// The metrics registry, its labels and scrape-time gauges, the dispatcher's instrumentation and
/// the `/metrics` listener, in this process. The daemon scraped for real is in EndToEndTests.
@Suite struct MetricsTests {
    /// The sample lines of `text` (no comments), as `name{labels} value`.
    static func samples(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    static func render(_ metrics: SCIMDMetrics) -> String {
        String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
    }

    /// The value of the one sample that starts with `prefix` (`name{labels}`), nil if none.
    static func value(_ text: String, _ prefix: String) -> Double? {
        samples(text).first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func requestsAreCountedByBoundedLabelsWithHelpAndType() {
        let metrics = SCIMDMetrics()
        metrics.rpcCall(method: "system.health", outcome: "ok", duration: .microseconds(200))
        metrics.rpcCall(method: "system.health", outcome: "ok", duration: .milliseconds(3))
        metrics.scimRequest(.init(method: "post", endpoint: "users", status: 201, connection: "c1", duration: .milliseconds(2)))
        metrics.scimRequest(.init(method: "GET", endpoint: "Users", status: 200, connection: "c1", duration: .milliseconds(1)))
        metrics.scimRequest(.init(method: "GET", endpoint: "../../etc/passwd", status: 404, connection: nil, duration: .zero))
        metrics.scimRequest(.init(method: "BREW", endpoint: "", status: 418, connection: "c2", duration: .zero))
        metrics.httpResponse(status: 503)
        let text = Self.render(metrics)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="system.health",outcome="ok"}"#) == 2)
        #expect(Self.value(text, #"scimd_rpc_request_duration_seconds_count{method="system.health"}"#) == 2)
        // Durations are in seconds: 200 µs falls in the 0.00025 bucket, 3 ms does not.
        #expect(Self.value(text, #"scimd_rpc_request_duration_seconds_bucket{method="system.health",le="0.00025"}"#) == 1)
        #expect(Self.value(text, #"scimd_rpc_request_duration_seconds_bucket{method="system.health",le="0.005"}"#) == 2)
        let sum = Self.value(text, #"scimd_rpc_request_duration_seconds_sum{method="system.health"}"#) ?? 0
        #expect(abs(sum - 0.0032) < 1e-9)
        #expect(Self.value(text, #"scimd_scim_requests_total{connection="c1",endpoint="Users",method="POST",status_class="2xx"}"#) == 1)
        #expect(Self.value(text, #"scimd_scim_requests_total{connection="c1",endpoint="Users",method="GET",status_class="2xx"}"#) == 1)
        // A path the client made up, an unknown method: bounded values, never the client's text.
        #expect(Self.value(text, #"scimd_scim_requests_total{connection="none",endpoint="other",method="GET",status_class="4xx"}"#) == 1)
        #expect(Self.value(text, #"scimd_scim_requests_total{connection="c2",endpoint="root",method="other",status_class="4xx"}"#) == 1)
        #expect(!text.contains("passwd") && !text.contains("BREW"))
        #expect(Self.value(text, #"scimd_http_responses_total{status_class="5xx"}"#) == 1)
        #expect(text.contains("# HELP scimd_rpc_requests_total JSON-RPC calls answered"))
        #expect(text.contains("# TYPE scimd_rpc_requests_total counter"))
        #expect(text.contains("# TYPE scimd_scim_request_duration_seconds histogram"))
    }

    @Test func groupCommitsRecordDurationByOutcomeAndTheirSize() {
        let metrics = SCIMDMetrics()
        metrics.groupCommit(.init(writes: 1, duration: .milliseconds(2), committed: true))
        metrics.groupCommit(.init(writes: 40, duration: .milliseconds(9), committed: true))
        metrics.groupCommit(.init(writes: 3, duration: .milliseconds(1), committed: false))
        let text = Self.render(metrics)
        #expect(Self.value(text, #"scimd_sqlite_commit_duration_seconds_count{outcome="committed"}"#) == 2)
        #expect(Self.value(text, #"scimd_sqlite_commit_duration_seconds_count{outcome="failed"}"#) == 1)
        #expect(Self.value(text, "scimd_sqlite_group_commit_writes_count") == 3)
        #expect(Self.value(text, "scimd_sqlite_group_commit_writes_sum") == 44)
        #expect(Self.value(text, #"scimd_sqlite_group_commit_writes_bucket{le="1.0"}"#) == 1)
        #expect(Self.value(text, #"scimd_sqlite_group_commit_writes_bucket{le="4.0"}"#) == 2)
        #expect(Self.value(text, #"scimd_sqlite_group_commit_writes_bucket{le="64.0"}"#) == 3)
    }

    @Test func labelValuesAreBounded() {
        #expect(SCIMDMetrics.endpointLabel("users") == "Users")
        #expect(SCIMDMetrics.endpointLabel("SERVICEPROVIDERCONFIG") == "ServiceProviderConfig")
        #expect(SCIMDMetrics.endpointLabel("") == "root")
        #expect(SCIMDMetrics.endpointLabel("Users2") == "other")
        #expect(SCIMDMetrics.methodLabel("patch") == "PATCH")
        #expect(SCIMDMetrics.methodLabel("OPTIONS") == "other")
        #expect(SCIMDMetrics.statusClass(100) == "1xx")
        #expect(SCIMDMetrics.statusClass(204) == "2xx")
        #expect(SCIMDMetrics.statusClass(599) == "5xx")
        #expect(SCIMDMetrics.statusClass(99) == "other")
        #expect(SCIMDMetrics.statusClass(600) == "other")
    }

    /// Sources whose answers the test sets.
    final class FakeState: Sendable {
        let connections = NIOLockedValueBox<[ConnectionInfo]>([])
        let latest = NIOLockedValueBox<Int>(0)
        let failing = NIOLockedValueBox<Bool>(false)
        let databasePath: String

        init(databasePath: String) { self.databasePath = databasePath }

        struct Failure: Error {}

        var sources: SCIMDMetrics.Sources {
            SCIMDMetrics.Sources(
                connections: {
                    if self.failing.withLockedValue({ $0 }) { throw Failure() }
                    return self.connections.withLockedValue { $0 }
                },
                latestEventSequence: { self.latest.withLockedValue { $0 } },
                healthChecks: { [HealthCheck(name: "state", status: "ok"), HealthCheck(name: "disk", status: "failing")] },
                openRPCConnections: { 3 }, databasePath: databasePath,
                residency: { ReplicaResidency(limitBytes: 1 << 30, connections: 2, residentConnections: 1, residentBytes: 5_000_000) })
        }

        static func connection(_ id: String, name: String, users: Int, groups: Int, warnings: Int) -> ConnectionInfo {
            ConnectionInfo(
                id: id, name: name, customerId: nil, idp: nil, disabled: false, createdAt: "", updatedAt: "", users: users,
                activeUsers: users - 1, groups: groups, openWarnings: warnings)
        }
    }

    @Test func scrapeTimeGaugesFollowStateAndForgetDeletedConnections() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-metrics-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("scimd.sqlite").path
        try Data(count: 4096).write(to: URL(fileURLWithPath: database))
        try Data(count: 1000).write(to: URL(fileURLWithPath: database + "-wal"))
        let state = FakeState(databasePath: database)
        state.connections.withLockedValue {
            $0 = [
                FakeState.connection("c1", name: "Acme \"Inc\"", users: 10, groups: 2, warnings: 4),
                FakeState.connection("c2", name: "Globex", users: 5, groups: 0, warnings: 0),
            ]
        }
        state.latest.withLockedValue { $0 = 12 }
        let metrics = SCIMDMetrics()
        let subscription = metrics.subscriptionStarted(after: 5)
        _ = metrics.subscriptionStarted(after: 10)

        var text = String(decoding: await metrics.render(from: state.sources), as: UTF8.self)
        #expect(Self.value(text, #"scimd_resources{connection="c1",type="User"}"#) == 10)
        #expect(Self.value(text, #"scimd_resources{connection="c1",type="Group"}"#) == 2)
        #expect(Self.value(text, #"scimd_active_users{connection="c1"}"#) == 9)
        #expect(Self.value(text, #"scimd_open_warnings{connection="c1"}"#) == 4)
        #expect(Self.value(text, #"scimd_open_warnings{connection="c2"}"#) == 0)
        // A name with quotes is escaped as the text format requires.
        #expect(Self.value(text, #"scimd_connection_info{connection="c1",name="Acme \"Inc\"",disabled="false"}"#) == 1)
        #expect(Self.value(text, "scimd_event_feed_sequence") == 12)
        #expect(Self.value(text, "scimd_event_feed_subscribers") == 2)
        #expect(Self.value(text, "scimd_event_feed_max_subscriber_lag_events") == 7)
        #expect(Self.value(text, #"scimd_health_check{check="state"}"#) == 1)
        #expect(Self.value(text, #"scimd_health_check{check="disk"}"#) == 0)
        #expect(Self.value(text, "scimd_rpc_open_connections") == 3)
        #expect(Self.value(text, #"scimd_database_size_bytes{file="database"}"#) == 4096)
        #expect(Self.value(text, #"scimd_database_size_bytes{file="wal"}"#) == 1000)
        #expect((Self.value(text, "scimd_database_filesystem_free_bytes") ?? 0) > 0)
        #expect((Self.value(text, "process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((Self.value(text, "process_open_fds") ?? 0) > 2)
        #expect((Self.value(text, "process_max_fds") ?? 0) >= (Self.value(text, "process_open_fds") ?? 0))
        let start = Self.value(text, "process_start_time_seconds") ?? 0
        #expect(abs(start - Date().timeIntervalSince1970) < 24 * 3600)

        // c1 is deleted, a subscriber catches up, the other leaves.
        state.connections.withLockedValue { $0.removeFirst() }
        metrics.subscriptionProgressed(subscription, readUpTo: 12)
        metrics.subscriptionEnded(subscription)
        text = String(decoding: await metrics.render(from: state.sources), as: UTF8.self)
        #expect(!text.contains(#"connection="c1""#))
        #expect(Self.value(text, #"scimd_resources{connection="c2",type="User"}"#) == 5)
        #expect(Self.value(text, "scimd_event_feed_subscribers") == 1)
        #expect(Self.value(text, "scimd_event_feed_max_subscriber_lag_events") == 2)
    }

    @Test func aFailingSourceLeavesItsGaugesOutAndSaysWhy() async {
        let state = FakeState(databasePath: "/nonexistent/scimd.sqlite")
        state.connections.withLockedValue { $0 = [FakeState.connection("c1", name: "Acme", users: 1, groups: 0, warnings: 0)] }
        let metrics = SCIMDMetrics()
        var text = String(decoding: await metrics.render(from: state.sources), as: UTF8.self)
        #expect(Self.value(text, #"scimd_resources{connection="c1",type="User"}"#) == 1)
        state.failing.withLockedValue { $0 = true }
        let failures = NIOLockedValueBox<[String]>([])
        text = String(decoding: await metrics.render(from: state.sources) { source, _ in failures.withLockedValue { $0.append(source) } }, as: UTF8.self)
        #expect(failures.withLockedValue { $0 } == ["connections"])
        #expect(!text.contains("scimd_resources{"))
        // The rest of the scrape is still there; missing files count as empty.
        #expect(Self.value(text, #"scimd_database_size_bytes{file="wal"}"#) == 0)
        #expect(Self.value(text, "scimd_event_feed_sequence") == 0)
    }

    @Test func everyExportedNameIsInTheCatalogAndFollowsTheConventions() async {
        let metrics = SCIMDMetrics()
        metrics.rpcCall(method: "m", outcome: "ok", duration: .zero)
        metrics.scimRequest(.init(method: "GET", endpoint: "Users", status: 200, connection: "c", duration: .zero))
        metrics.httpResponse(status: 200)
        metrics.groupCommit(.init(writes: 1, duration: .zero, committed: true))
        let state = FakeState(databasePath: "/tmp/none.sqlite")
        state.connections.withLockedValue { $0 = [FakeState.connection("c1", name: "Acme", users: 1, groups: 0, warnings: 0)] }
        _ = metrics.subscriptionStarted(after: 0)
        let text = String(decoding: await metrics.render(from: state.sources), as: UTF8.self)
        let typed = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let catalog = Set(MetricsCatalog.all.map(\.name))
        #expect(typed == catalog)
        for metric in MetricsCatalog.all {
            #expect(metric.name.hasPrefix("scimd_") || metric.name.hasPrefix("process_"), "\(metric.name)")
            #expect((metric.kind == .counter) == metric.name.hasSuffix("_total"), "\(metric.name)")
            if metric.unit == "seconds" { #expect(metric.name.hasSuffix("_seconds"), "\(metric.name)") }
            if metric.unit == "bytes" { #expect(metric.name.hasSuffix("_bytes"), "\(metric.name)") }
            #expect(!metric.labels.contains { ["user", "userName", "group", "path", "token"].contains($0) }, "\(metric.name)")
            #expect(text.contains("# HELP \(metric.name) "), "\(metric.name)")
        }
    }

    @Test func theREADMEListsEveryMetric() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        #expect(text.contains(MetricsCatalog.markdownTable()), "README's Metrics table differs from MetricsCatalog.markdownTable()")
    }

    @Test func theDispatcherCountsEveryCallWithoutMintingLabelsFromClientText() async {
        let metrics = SCIMDMetrics()
        var dispatcher = RPCDispatcher(logger: Logger(label: "test"), metrics: metrics)
        dispatcher.register(SystemVersion.self) { _ in .init(version: "1", protocolVersion: 1, sqliteVersion: "3") }
        dispatcher.register(ConnectionsGet.self) { _ in throw RPCError.notFound("no such connection") }
        _ = await dispatcher.handle(line: Array(#"{"jsonrpc":"2.0","id":1,"method":"system.version"}"#.utf8))
        _ = await dispatcher.handle(line: Array(#"[{"jsonrpc":"2.0","id":2,"method":"system.version"},{"jsonrpc":"2.0","id":3,"method":"connections.get","params":{"id":"x"}}]"#.utf8))
        _ = await dispatcher.handle(line: Array(#"{"jsonrpc":"2.0","id":4,"method":"secret.customer-42"}"#.utf8))
        _ = await dispatcher.handle(line: Array(#"{"jsonrpc":"2.0","id":5,"method":"system.version","params":7}"#.utf8))
        _ = await dispatcher.handle(line: Array(#"{"jsonrpc":"2.0","id":6}"#.utf8))
        _ = await dispatcher.handle(line: Array("{not json".utf8))
        _ = await dispatcher.handle(line: Array("[]".utf8))
        let text = Self.render(metrics)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="system.version",outcome="ok"}"#) == 2)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="connections.get",outcome="not_found"}"#) == 1)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="unknown",outcome="method_not_found"}"#) == 1)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="system.version",outcome="invalid_params"}"#) == 1)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="invalid",outcome="invalid_request"}"#) == 2)
        #expect(Self.value(text, #"scimd_rpc_requests_total{method="invalid",outcome="parse_error"}"#) == 1)
        #expect(!text.contains("customer-42"))
    }

    @Test func processFiguresParseTheKernelsFormats() {
        #expect(ProcessStatistics.residentBytes(statm: "12345 678 90 1 0 300 0\n", pageSize: 4096) == 678 * 4096)
        #expect(ProcessStatistics.residentBytes(statm: "garbage", pageSize: 4096) == nil)
        // A command name with spaces and a parenthesis: fields are counted after the last ')'.
        let fields = (3...30).map { $0 == 22 ? "987654" : "\($0)" }.joined(separator: " ")
        #expect(ProcessStatistics.startTicks(stat: "4242 (sc) imd x) \(fields)") == 987654)
        #expect(ProcessStatistics.startTicks(stat: "4242 (scimd) S 1 2") == nil)
        #expect(ProcessStatistics.startTicks(stat: "no parenthesis") == nil)
    }

    @Test func theListenerServesMetricsAndNothingElse() async throws {
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        let scrapes = NIOLockedValueBox(0)
        let server = MetricsServer(
            address: .tcp(host: "127.0.0.1", port: 0),
            render: {
                let n = scrapes.withLockedValue { $0 += 1; return $0 }
                return Array("# TYPE scrape_number gauge\nscrape_number \(n)\n".utf8)
            }, logger: Logger(label: "test"), onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var addresses = ready.makeAsyncIterator()
            let address = try #require(await addresses.next())
            let port = try #require(Int(address.split(separator: ":").last ?? ""))
            let client = try HTTPTestClient(port: port)
            // Keep-alive: two scrapes on one connection, each rendered afresh.
            let first = try await offloaded { try client.exchange(HTTPTestRequest(.GET, "/metrics")) }
            #expect(first.status == 200)
            #expect(first[header: "Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(first.body == "# TYPE scrape_number gauge\nscrape_number 1\n")
            let second = try await offloaded { try client.exchange(HTTPTestRequest(.GET, "/metrics?x=1")) }
            #expect(second.body.hasSuffix("scrape_number 2\n"))
            let head = try await offloaded { try client.exchange(HTTPTestRequest(.HEAD, "/metrics")) }
            #expect(head.status == 200 && head.body.isEmpty)
            let elsewhere = try await offloaded { try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users")) }
            #expect(elsewhere.status == 404)
            let post = try await offloaded { try client.exchange(HTTPTestRequest(.POST, "/metrics", body: "x")) }
            #expect(post.status == 405)
            #expect(post[header: "Allow"] == "GET, HEAD")
            #expect(scrapes.withLockedValue { $0 } == 3)
            // Connection: close is honoured once the answer is written.
            let closing = try await offloaded {
                try client.exchange(HTTPTestRequest(.GET, "/metrics", headers: [("Connection", "close")]))
            }
            #expect(closing.status == 200)
            #expect(try await offloaded { client.isClosedByPeer() })
            // Malformed HTTP gets NIO's 400.
            let garbage = try HTTPTestClient(port: port)
            garbage.send("NOT HTTP AT ALL\r\n\r\n")
            try garbage.expectResponse()
            let answer = try await offloaded { try garbage.readResponse() }
            #expect(answer?.status == 400)
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    @Test func anAddressInUseIsAListenError() async throws {
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        let first = MetricsServer(
            address: .tcp(host: "127.0.0.1", port: 0), render: { [] }, logger: Logger(label: "test"),
            onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [first], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var addresses = ready.makeAsyncIterator()
            let address = try #require(await addresses.next())
            let port = try #require(Int(address.split(separator: ":").last ?? ""))
            let second = MetricsServer(address: .tcp(host: "127.0.0.1", port: port), render: { [] }, logger: Logger(label: "test"))
            await #expect(throws: ListenError.self) { try await second.run() }
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }
}
