import Foundation
import HTTPTestClient
import NIOHTTP1
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// `scimd --metrics`: the real daemon scraped twice over HTTP around real traffic, each scrape
/// validated by Prometheus' own text-format parser (`scripts/check-metrics`, prometheus_client
/// from PyPI) against the README's list of metrics.
@Suite(.serialized) struct MetricsEndToEndTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The port of `metrics=http://127.0.0.1:PORT/metrics` in the daemon's log.
    func metricsPort(_ daemon: Daemon, timeout: TimeInterval = 20) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let range = daemon.log.range(of: "metrics=http://127.0.0.1:") {
                if let port = Int(daemon.log[range.upperBound...].prefix { $0.isNumber }) { return port }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("scimd logged no metrics listener within \(timeout)s:\n\(daemon.log)")
    }

    func scrape(_ port: Int) async throws -> String {
        let client = try HTTPTestClient(port: port)
        let response = try await offloaded { try client.exchange(HTTPTestRequest(.GET, "/metrics")) }
        #expect(response.status == 200)
        #expect(response[header: "Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        return response.body
    }

    /// The value of the sample line `series` (`name{labels}`), nil if absent.
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    func user(_ name: String) -> String {
        #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(name)"}"#
    }

    @Test func scrapesParseListEveryDocumentedMetricAndCountersGrow() async throws {
        let daemon = try Daemon()
        defer { daemon.stop() }
        // A memory limit, so that its gauge is in the scrape with the rest of the README's table.
        let httpPort = try daemon.startHTTP(extra: ["--metrics", "127.0.0.1:0", "--memory-limit", "1G"])
        let port = try metricsPort(daemon)
        let created = try await daemon.client { try await $0.createConnection(name: "Acme") }
        let connection = created.connection.id
        let scim = try HTTPTestClient(port: httpPort)
        let auth = [("Authorization", "Bearer \(created.token)"), ("Content-Type", "application/scim+json")]
        let first = try await offloaded { try scim.exchange(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: self.user("ada@example.com"))) }
        #expect(first.status == 201)
        let unauthorized = try await offloaded { try scim.exchange(HTTPTestRequest(.GET, "/scim/v2/Users")) }
        #expect(unauthorized.status == 401)
        // A group over the socket (scim.handle), and a subscriber that stays connected.
        let group = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Groups", body: #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Eng"}"#,
                connection: "Acme")
        }
        #expect(group.status == 201)
        let subscriber = try RawSocket(path: daemon.socket)
        subscriber.send(#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{}}"# + "\n")
        #expect(subscriber.readLine()?.contains("\"subscription\"") == true)
        let unknown = try RawSocket(path: daemon.socket).request(#"{"jsonrpc":"2.0","id":1,"method":"no.such.method"}"#)
        #expect(unknown.contains("-32601"))

        let before = try await scrape(port)
        #expect(value(before, #"scimd_resources{connection="\#(connection)",type="User"}"#) == 1)
        #expect(value(before, #"scimd_resources{connection="\#(connection)",type="Group"}"#) == 1)
        #expect(value(before, "scimd_event_feed_subscribers") == 1)
        #expect(value(before, #"scimd_scim_requests_total{connection="\#(connection)",endpoint="Users",method="POST",status_class="2xx"}"#) == 1)
        #expect(value(before, #"scimd_scim_requests_total{connection="none",endpoint="Users",method="GET",status_class="4xx"}"#) == 1)
        #expect(value(before, #"scimd_rpc_requests_total{method="unknown",outcome="method_not_found"}"#) == 1)
        #expect(!before.contains("no.such.method"))
        #expect((value(before, #"scimd_sqlite_commit_duration_seconds_count{outcome="committed"}"#) ?? 0) >= 2)
        #expect((value(before, "process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((value(before, #"scimd_database_size_bytes{file="database"}"#) ?? 0) > 0)
        #expect(!before.contains("ada@example.com"))

        // More traffic: a second user over HTTP, a lookup, RPC calls.
        let second = try await offloaded { try scim.exchange(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: self.user("grace@example.com"))) }
        #expect(second.status == 201)
        let lookup = try await offloaded {
            try scim.exchange(HTTPTestRequest(.GET, "/scim/v2/Users?filter=userName%20eq%20%22ada@example.com%22", headers: auth))
        }
        #expect(lookup.status == 200)
        _ = try await daemon.client { try await $0.listConnections() }
        let after = try await scrape(port)
        #expect(value(after, #"scimd_resources{connection="\#(connection)",type="User"}"#) == 2)
        #expect(value(after, #"scimd_scim_requests_total{connection="\#(connection)",endpoint="Users",method="POST",status_class="2xx"}"#) == 2)
        // The subscriber read everything written: it does not lag.
        #expect(value(after, "scimd_event_feed_max_subscriber_lag_events") == 0)

        let directory = URL(fileURLWithPath: daemon.directory.path)
        let firstFile = directory.appendingPathComponent("scrape-1.txt")
        let secondFile = directory.appendingPathComponent("scrape-2.txt")
        try before.write(to: firstFile, atomically: true, encoding: .utf8)
        try after.write(to: secondFile, atomically: true, encoding: .utf8)
        let check = Process()
        check.executableURL = Self.root.appendingPathComponent("scripts/check-metrics")
        check.arguments = [
            Self.root.appendingPathComponent("README.md").path, firstFile.path, secondFile.path, "scimd_rpc_requests_total",
            "scimd_scim_requests_total", "scimd_http_responses_total", "scimd_sqlite_commit_duration_seconds_count",
            "scimd_scim_request_duration_seconds_count",
        ]
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "\(text)")
        #expect(text.contains(" 0 failed"), "\(text)")
    }

    @Test func theEnvironmentTurnsMetricsOnAndABadAddressIsRefused() async throws {
        let daemon = try Daemon()
        defer { daemon.stop() }
        try daemon.start(environment: ["SCIMD_METRICS": "127.0.0.1:0"], logLevel: "info")
        let port = try metricsPort(daemon)
        #expect(value(try await scrape(port), "scimd_event_feed_subscribers") == 0)
        // A port already taken: scimd says so and exits 2 (as for the other listeners).
        let other = try Daemon()
        let taken = try runTool("scimd", ["--socket", other.socket, "--database", other.database, "--metrics", "127.0.0.1:\(port)"])
        #expect(taken.status == 2, "\(taken.stderr)")
        #expect(taken.stderr.contains("cannot listen for metrics on 127.0.0.1:\(port)"), "\(taken.stderr)")
        for bad in ["9464", "127.0.0.1:99999", "unix:relative.sock", ":9464"] {
            let refused = try runTool("scimd", ["--socket", other.socket, "--database", other.database, "--metrics", bad])
            #expect(refused.status == 64, "\(bad)")
            #expect(refused.stderr.contains("--metrics"), "\(bad): \(refused.stderr)")
        }
    }

    @Test func theCheckerFailsOnAMetricTheREADMEDoesNotList() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-check-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let readme = directory.appendingPathComponent("README.md")
        try """
            ## Metrics
            | metric | type | labels | unit | meaning |
            |---|---|---|---|---|
            | `scimd_rpc_requests_total` | counter | `method` | requests | calls |

            """.write(to: readme, atomically: true, encoding: .utf8)
        let first = directory.appendingPathComponent("1.txt")
        let second = directory.appendingPathComponent("2.txt")
        try "# TYPE scimd_rpc_requests_total counter\nscimd_rpc_requests_total{method=\"a\"} 5\n".write(to: first, atomically: true, encoding: .utf8)
        // Went down, and an undocumented metric appeared.
        try "# TYPE scimd_rpc_requests_total counter\nscimd_rpc_requests_total{method=\"a\"} 4\n# TYPE stray gauge\nstray 1\n"
            .write(to: second, atomically: true, encoding: .utf8)
        let check = Process()
        check.executableURL = Self.root.appendingPathComponent("scripts/check-metrics")
        check.arguments = [readme.path, first.path, second.path, "scimd_rpc_requests_total"]
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus != 0)
        #expect(text.contains("stray is exported but not documented"), "\(text)")
        #expect(text.contains("went down"), "\(text)")
        #expect(text.contains("did not increase"), "\(text)")
    }
}
