import Foundation
import HTTPTestClient
import NIOHTTP1
import SCIMJSON
import Testing

/// What the real scimd does when it runs out of file descriptors, and its connection limits
/// (`--max-connections`, `--http-max-connections`).
@Suite(.serialized) struct ConnectionLimitEndToEndTests {
    static let health = #"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#
    static let stats = #"{"jsonrpc":"2.0","id":2,"method":"system.stats"}"#

    /// CPU time (user + system) the process has used, in clock ticks, from /proc/PID/stat.
    static func cpuTicks(pid: Int32) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        let afterName = try #require(text.range(of: ")", options: .backwards)).upperBound
        let fields = text[afterName...].split(separator: " ")
        // fields[0] is field 3 (state), so utime (14) and stime (15) are 11 and 12.
        return try #require(Int(fields[11])) + (try #require(Int(fields[12])))
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    static func eventually(timeout: TimeInterval = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// Clients cannot make scimd run out of file descriptors: with a low limit (`ulimit -n 96`,
    /// hard and soft) it lowers `--max-connections` to what fits beside its reserve (96 − 64 − 16 =
    /// 16), says so once at start, answers every client past the cap with `unavailable` instead of
    /// failing to accept, keeps serving the clients it has, and serves new ones once others leave.
    ///
    /// This replaced a test that exhausted the descriptors on purpose and checked the accept
    /// backoff: in about 2 of 7 full runs scimd died of SIGILL there. The core dump showed
    /// libdispatch's worker-pool monitor (`_dispatch_workq_monitor_pools`), which opens
    /// `/proc/<tid>/stat` while work is queued and traps when that open fails. A process at its
    /// descriptor limit can therefore die whatever its own code does, so scimd must not get there
    /// (see ``DescriptorBudget``); the backoff stays as a second line of defence, tested in
    /// `AcceptAndLimitTests`.
    @Test func aLowDescriptorLimitLowersTheCapInsteadOfRunningOut() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--log-level", "info"], descriptorLimit: 96)
        let pid = try #require(daemon.process?.processIdentifier)
        let existing = try RawSocket(path: daemon.socket)
        #expect(try existing.json(Self.health)["result"]?["status"] == "ok")
        #expect(daemon.log.contains("connection caps lowered to fit the file descriptor limit"), "\(daemon.log.suffix(2000))")
        #expect(daemon.log.contains("maxConnections=16"), "\(daemon.log.suffix(2000))")
        let refusedBefore = try #require(try existing.json(Self.stats)["result"]?["refusedConnections"]?.intValue)

        // Three times the cap: every client is either admitted or told why not.
        var clients: [RawSocket] = []
        for _ in 0..<90 { clients.append(try RawSocket(path: daemon.socket, receiveTimeout: 5)) }
        var admitted = 0
        var refused = 0
        for client in clients {
            client.send(Self.health + "\n")
            let answer = try JSONParser().parse(try #require(client.readLine(), "a client got no answer"))
            if answer["result"]?["status"] == "ok" {
                admitted += 1
            } else if answer["error"]?["data"]?["kind"] == "unavailable" {
                refused += 1
            }
        }
        #expect(admitted == 15, "16 slots, one of them held by the first client")
        #expect(refused == 75)
        #expect(try existing.json(Self.stats)["result"]?["refusedConnections"] == .int(refusedBefore + 75))
        #expect(!daemon.log.contains("could not accept"), "\(daemon.log.suffix(2000))")
        #expect(kill(pid, 0) == 0, "scimd is gone: \(daemon.log.suffix(2000))")
        #expect(try existing.json(Self.health)["result"]?["status"] == "ok")

        // Others leave: new clients are served.
        clients.removeAll()
        let fresh = try Self.admittedClient(daemon)
        #expect(try fresh.json(Self.health)["result"]?["status"] == "ok")
        #expect(daemon.stop() == 0)
    }

    /// A client that connects and is admitted (a slot held by a connection closed an instant ago
    /// is given back asynchronously, so an early refusal is retried).
    static func admittedClient(_ daemon: Daemon) throws -> RawSocket {
        for _ in 0..<100 {
            let client = try RawSocket(path: daemon.socket)
            if try client.json(health)["result"] != nil { return client }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("no JSON-RPC connection was admitted")
    }

    @Test func jsonRPCConnectionsOverTheLimitAreRefusedAtOnce() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--max-connections", "2", "--log-level", "info"])
        let first = try Self.admittedClient(daemon)
        var second: RawSocket? = try Self.admittedClient(daemon)
        let refusedBefore = try #require(try first.json(Self.stats)["result"]?["refusedConnections"]?.intValue)

        // The third gets one error line without asking anything, then the connection closes.
        let third = try RawSocket(path: daemon.socket)
        let line = try #require(third.readLine())
        let answer = try JSONParser().parse(line)
        #expect(answer["jsonrpc"] == "2.0")
        #expect(answer["id"] == .null)
        #expect(answer["error"]?["code"] == -32003)
        #expect(answer["error"]?["data"]?["kind"] == "unavailable")
        #expect(answer["error"]?["message"]?.stringValue?.contains("--max-connections") == true)
        #expect(third.isClosedByPeer())
        #expect(third.buffer.isEmpty)

        // Counted, and logged once for the episode; those admitted are still served.
        #expect(try first.json(Self.stats)["result"]?["refusedConnections"] == .int(refusedBefore + 1))
        #expect(try second?.json(Self.health)["result"]?["status"] == "ok")
        #expect(daemon.log.contains("JSON-RPC listener is at --max-connections 2"))

        // A slot freed is a slot for the next client.
        second = nil
        let later = try Self.admittedClient(daemon)
        #expect(try later.json(Self.health)["result"]?["status"] == "ok")
        #expect(daemon.log.contains("JSON-RPC listener admits connections again"))
    }

    @Test func httpConnectionsOverTheLimitGetA503AndAreClosed() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-max-connections", "2"])
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let auth = [("Authorization", "Bearer \(token)")]
        var first: HTTPTestClient? = try HTTPTestClient(port: port)
        let second = try HTTPTestClient(port: port)
        #expect(try first?.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)
        #expect(try second.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)

        // The third is answered at once, whether or not it sent its request yet.
        let third = try HTTPTestClient(port: port)
        try third.send(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth))
        let refused = try #require(try third.readResponse())
        #expect(refused.status == 503)
        #expect(refused[header: "Retry-After"] == "1")
        #expect(refused[header: "Connection"] == "close")
        #expect(refused[header: "Content-Type"] == "application/scim+json; charset=utf-8")
        let body = try JSONParser().parse(refused.body)
        #expect(body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
        #expect(body["status"] == "503")
        #expect(third.isClosedByPeer())

        let stats = try RawSocket(path: daemon.socket).json(Self.stats)
        #expect(stats["result"]?["refusedConnections"] == 1)
        #expect(try second.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)

        // Once one closes, a new connection is served.
        first?.reset()
        first = nil
        #expect(
            Self.eventually {
                (try? HTTPTestClient(port: port).exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status) == 200
            })
    }

    @Test func connectionLimitsMustBePositive() throws {
        let directory = "/tmp/scimd-e2e-limits-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (option, value) in [("--max-connections", "0"), ("--http-max-connections", "0")] {
            let invalid = try runTool("scimd", ["--database", directory + "/db.sqlite", option, value])
            #expect(invalid.status == 64, "\(option)")
            #expect(invalid.stderr.contains(option), "\(option): \(invalid.stderr)")
        }
    }
}
