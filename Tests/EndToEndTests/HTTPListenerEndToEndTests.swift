import Foundation
import HTTPTestClient
import NIOHTTP1
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// The SCIM HTTP listener of the real scimd binary, over real sockets.
@Suite(.serialized) struct HTTPListenerEndToEndTests {
    static var fixtureDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SCIMDServiceTests/Fixtures/idp")
    }

    static func fixtureFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
    }

    func token(_ daemon: Daemon, _ name: String = "Acme") async throws -> String {
        try await daemon.client { try await $0.createConnection(name: name) }.token
    }

    func createUser(_ userName: String) -> String {
        #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(userName)"}"#
    }

    func json(_ response: HTTPTestResponse) throws -> JSONValue { try JSONParser().parse(response.body) }

    @Test func fixtureFolderIsNotEmpty() {
        #expect(Self.fixtureFiles().count >= 12)
    }

    /// Every IdP scenario, replayed over real HTTP on one keep-alive connection per scenario.
    @Test(arguments: fixtureFiles())
    func scenarioPassesOverHTTP(_ file: String) async throws {
        let data = try Data(contentsOf: Self.fixtureDirectory.appendingPathComponent(file))
        let scenario = try Scenario(json: try JSONParser().parse(bytes: Array(data)))
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let token = try await token(daemon, scenario.idp ?? "IdP")
        let client = try HTTPTestClient(port: port)
        let results = try await ScenarioRunner.run(scenario) { request in
            var headers = request.headers.map { ($0.key, $0.value) }
            switch request.auth {
            case "none": break
            case "wrong": headers.append(("Authorization", "Bearer wrong-\(token)"))
            default: headers.append(("Authorization", "Bearer \(token)"))
            }
            let response = try client.exchange(
                HTTPTestRequest(HTTPMethod(rawValue: request.method), "/scim/v2" + request.path, headers: headers, body: request.body))
            return (response.status, response.body.isEmpty ? nil : response.body)
        }
        for result in results where !result.passed {
            Issue.record(
                "\(scenario.name) step \(result.index): \(result.request.method) \(result.request.path) expected \(result.expectedStatus) got \(result.status): \(result.failure ?? "")"
            )
        }
        #expect(results.count == scenario.steps.count)
    }

    @Test func responsesCarryTheEnginesHeadersAndSCIMFraming() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let token = try await token(daemon)
        let auth = [("Authorization", "Bearer \(token)")]
        let client = try HTTPTestClient(port: port)

        let created = try client.exchange(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth + [("Content-Type", "application/scim+json")], body: createUser("h@example.com")))
        #expect(created.status == 201)
        #expect(created[header: "Content-Type"] == "application/scim+json; charset=utf-8")
        #expect(created[header: "Content-Length"] == String(created.body.utf8.count))
        #expect(created[header: "ETag"] == #"W/"1""#)
        let id = try #require(try json(created)["id"]?.stringValue)
        // Without a trusted proxy, locations use the Host the client sent and plain http.
        #expect(created[header: "Location"] == "http://127.0.0.1:\(port)/scim/v2/Users/\(id)")
        #expect(try json(created)["meta"]?["location"]?.stringValue == "http://127.0.0.1:\(port)/scim/v2/Users/\(id)")

        let notModified = try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users/\(id)", headers: auth + [("If-None-Match", #"W/"1""#)]))
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        let deleted = try client.exchange(HTTPTestRequest(.DELETE, "/scim/v2/Users/\(id)", headers: auth))
        #expect(deleted.status == 204)
        #expect(deleted[header: "Content-Length"] == nil)

        let refused = try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users"))
        #expect(refused.status == 401)
        #expect(refused[header: "WWW-Authenticate"] == #"Bearer realm="scimd""#)
        // The refusal names the client: the TCP peer, not what an untrusted client claims to be.
        let spoofing = try client.exchange(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: [("Authorization", "Bearer guess"), ("X-Forwarded-For", "203.0.113.66"), ("X-Real-IP", "203.0.113.66")], body: createUser("x@example.com")))
        #expect(spoofing.status == 401)
        let refusals = daemon.log.split(separator: "\n").filter { $0.contains("SCIM request refused") }
        #expect(refusals.count == 2, "\(daemon.log)")
        #expect(refusals.allSatisfy { $0.contains("remote=127.0.0.1") }, "\(refusals)")
        #expect(!daemon.log.contains("203.0.113.66"))
        let wrongMethod = try client.exchange(HTTPTestRequest(.DELETE, "/scim/v2/Users", headers: auth))
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod[header: "Allow"] == "GET, POST")

        // application/json is as good as application/scim+json.
        let plainJSON = try client.exchange(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth + [("Content-Type", "application/json")], body: createUser("j@example.com")))
        #expect(plainJSON.status == 201)

        // A percent-encoded filter reaches the engine as sent (an encoded '+' stays a plus).
        _ = try client.exchange(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: createUser("a+b@example.com")))
        let filtered = try client.exchange(
            HTTPTestRequest(.GET, "/scim/v2/Users?filter=userName%20eq%20%22A%2Bb%40example.com%22", headers: auth))
        #expect(try json(filtered)["totalResults"] == 1)
        #expect(try json(filtered)["Resources"]?.arrayValue?.first?["userName"] == "a+b@example.com")

        // The request log has the request, with the token redacted.
        let logged = try await daemon.client { try await $0.listRequests(.init(connection: "Acme", limit: 50)) }
        #expect(logged.requests.contains { $0.path.hasPrefix("/Users?filter=") })
    }

    @Test func requestsOutsideTheBasePathGetA404SCIMError() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--scim-base-path", "/provisioning/scim"])
        let token = try await token(daemon)
        let client = try HTTPTestClient(port: port)
        for target in ["/", "/scim/v2/Users", "/provisioning/scimx/Users", "/favicon.ico"] {
            let response = try client.exchange(HTTPTestRequest(.GET, target, headers: [("Authorization", "Bearer \(token)")]))
            #expect(response.status == 404, "\(target)")
            #expect(try json(response)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], "\(target)")
            #expect(try json(response)["status"] == "404", "\(target)")
            #expect(response.headers.first(name: "X-Request-Id")?.count == 16, "a request id of its own for \(target)")
        }
        // A client's own request id is echoed, as the engine echoes it.
        let traced = try client.exchange(HTTPTestRequest(.GET, "/favicon.ico", headers: [("X-Request-Id", "trace-42")]))
        #expect(traced.status == 404 && traced.headers.first(name: "X-Request-Id") == "trace-42")
        let inside = try client.exchange(HTTPTestRequest(.GET, "/provisioning/scim/Users", headers: [("Authorization", "Bearer \(token)")]))
        #expect(inside.status == 200)
    }

    @Test func keepAliveAndPipelinedRequestsAreAnsweredInOrder() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let token = try await token(daemon)
        let auth = [("Authorization", "Bearer \(token)")]
        let client = try HTTPTestClient(port: port)
        // Three requests in one write; the third depends on the second having been applied.
        var bytes = try client.encode(HTTPTestRequest(.GET, "/scim/v2/ServiceProviderConfig", headers: auth))
        bytes += try client.encode(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: createUser("p@example.com")))
        bytes += try client.encode(HTTPTestRequest(.GET, "/scim/v2/Users?filter=userName%20eq%20%22p@example.com%22", headers: auth))
        client.send(bytes)
        let first = try #require(try client.readResponse())
        let second = try #require(try client.readResponse())
        let third = try #require(try client.readResponse())
        #expect(first.status == 200)
        #expect(try json(first)["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
        #expect(second.status == 201)
        #expect(try json(third)["totalResults"] == 1)
        // Still open: a fourth request on the same connection.
        #expect(try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)

        // A client asking to close gets the answer, then the close.
        let closing = try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth + [("Connection", "close")]))
        #expect(closing.status == 200)
        #expect(closing[header: "Connection"] == "close")
        #expect(client.isClosedByPeer())

        // HTTP/1.0 closes by default, and stays open when it asks to.
        let old = try HTTPTestClient(port: port)
        let once = try old.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth, version: .http1_0))
        #expect(once.status == 200)
        #expect(once.version == .http1_0)
        #expect(old.isClosedByPeer())
        let kept = try HTTPTestClient(port: port)
        let again = try kept.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth + [("Connection", "keep-alive")], version: .http1_0))
        #expect(again[header: "Connection"] == "keep-alive")
        #expect(try kept.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth + [("Connection", "keep-alive")], version: .http1_0)).status == 200)

        // A client that half-closes after its request still gets the answer.
        let halfClosed = try HTTPTestClient(port: port)
        try halfClosed.send(HTTPTestRequest(.GET, "/scim/v2/ServiceProviderConfig", headers: auth))
        halfClosed.shutdownWrite()
        #expect(try halfClosed.readResponse()?.status == 200)
    }

    @Test func aBodyOverTheLimitGets413WithASCIMErrorAndTheConnectionCloses() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-max-body-bytes", "2048"])
        let token = try await token(daemon)
        let auth = [("Authorization", "Bearer \(token)")]
        let padding = String(repeating: "x", count: 4000)
        let big = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@example.com","nickName":"\#(padding)"}"#

        // Declared by Content-Length: refused before the body is read, then drained and closed.
        let declared = try HTTPTestClient(port: port)
        let refused = try declared.exchange(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: big))
        #expect(refused.status == 413)
        #expect(refused[header: "Content-Type"] == "application/scim+json; charset=utf-8")
        #expect(refused[header: "Connection"] == "close")
        #expect(try json(refused)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
        #expect(try json(refused)["status"] == "413")
        #expect(declared.isClosedByPeer())

        // Chunked, no length given: refused once it grows past the limit.
        let chunked = try HTTPTestClient(port: port)
        var head = try chunked.encode(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth + [("Transfer-Encoding", "chunked")]))
        // encode() wrote the head and a final empty chunk; send the head, then our own chunks.
        head = Array(head.dropLast(5))
        chunked.send(head)
        for _ in 0..<3 { chunked.send(String(format: "%x\r\n", 1000) + String(repeating: "y", count: 1000) + "\r\n") }
        let chunkRefused = try #require(try chunked.readResponse())
        #expect(chunkRefused.status == 413)
        chunked.send("0\r\n\r\n")
        #expect(chunked.isClosedByPeer())

        // Expect: 100-continue with a body over the limit: 413 instead of 100.
        let expecting = try HTTPTestClient(port: port)
        let encoded = try expecting.encode(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth + [("Expect", "100-continue")], body: big))
        let headOnly = Array(encoded.prefix(encoded.count - big.utf8.count))
        expecting.send(headOnly)
        #expect(try expecting.readResponse()?.status == 413)

        // Just under the limit: 100 Continue, then served.
        let small = try HTTPTestClient(port: port)
        let body = createUser("small@example.com")
        let request = try small.encode(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth + [("Expect", "100-continue")], body: body))
        small.send(Array(request.prefix(request.count - body.utf8.count)))
        #expect(try small.readResponse()?.status == 100)
        small.send(body)
        #expect(try small.readResponse()?.status == 201)
    }

    @Test func slowAndIdleClientsAreDisconnected() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-idle-timeout", "1"])
        let token = try await token(daemon)
        // Half a request head, then silence.
        let stalled = try HTTPTestClient(port: port)
        stalled.send("GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthor")
        #expect(stalled.isClosedByPeer())
        // A head and half the body it announced.
        let slowBody = try HTTPTestClient(port: port)
        slowBody.send("POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"userName\"")
        #expect(slowBody.isClosedByPeer())
        // An idle keep-alive connection after a complete exchange.
        let idle = try HTTPTestClient(port: port)
        #expect(try idle.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)")])).status == 200)
        #expect(idle.isClosedByPeer())
        // The listener still serves everyone else.
        let fresh = try HTTPTestClient(port: port)
        #expect(try fresh.exchange(HTTPTestRequest(.GET, "/scim/v2/ServiceProviderConfig", headers: [("Authorization", "Bearer \(token)")])).status == 200)
    }

    @Test func malformedHTTPGetsASCIMErrorAndIsClosed() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let token = try await token(daemon)
        for garbage in [
            "GARBAGE\r\n\r\n", "GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhello",
            "GET /scim/v2/Users HTTP/9.9\r\n\r\n",
        ] {
            let client = try HTTPTestClient(port: port)
            try client.expectResponse()
            client.send(garbage)
            let response = try client.readResponse()
            #expect(response?.status == 400, "\(garbage)")
            // A SCIM error that says so, not an empty body.
            let body = try JSONParser().parse(response?.body ?? "")
            #expect(body["status"] == "400" && body["detail"]?.stringValue?.hasPrefix("malformed HTTP/1.1 request") == true, "\(garbage)")
            #expect(client.isClosedByPeer(), "\(garbage)")
        }
        // A request line over the decoder's 80 KiB: 431 with a SCIM error that names the limit
        // and the way around it, and a log line (before, a bare 400 that nothing explained).
        let long = try HTTPTestClient(port: port)
        let huge = try long.exchange(
            HTTPTestRequest(.GET, "/scim/v2/Users?filter=userName%20eq%20%22" + String(repeating: "a", count: 100_000) + "%22",
                headers: [("Authorization", "Bearer \(token)")]))
        #expect(huge.status == 431)
        #expect(huge[header: "Content-Type"] == "application/scim+json; charset=utf-8")
        let detail = try JSONParser().parse(huge.body)["detail"]?.stringValue ?? ""
        #expect(detail.contains("exceed 80 KiB") && detail.contains("/.search"), "\(detail)")
        #expect(long.isClosedByPeer())
        #expect(daemon.log.contains("HTTP request refused: malformed") && daemon.log.contains("status=431"), "\(daemon.log)")
        let fine = try HTTPTestClient(port: port)
        #expect(try fine.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)")])).status == 200)
    }

    @Test func forwardingHeadersAreBelievedOnlyWhenTrusted() async throws {
        let forwarded = [("X-Forwarded-Host", "scim.example.com"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.9")]
        for trusted in [false, true] {
            let daemon = try Daemon()
            let port = try daemon.startHTTP(extra: trusted ? ["--http-trust-forwarded"] : [])
            let token = try await token(daemon)
            let client = try HTTPTestClient(port: port)
            let created = try client.exchange(
                HTTPTestRequest(.POST, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)")] + forwarded, body: createUser("f@example.com")))
            let id = try #require(try json(created)["id"]?.stringValue)
            let expected = trusted ? "https://scim.example.com/scim/v2/Users/\(id)" : "http://127.0.0.1:\(port)/scim/v2/Users/\(id)"
            #expect(created[header: "Location"] == expected)
            #expect(try json(created)["meta"]?["location"]?.stringValue == expected)
            // What the request log kept is what the engine saw.
            let logged = try await daemon.client { try await $0.listRequests(.init(connection: "Acme", limit: 5)) }
            let detail = try await daemon.client { try await $0.request(id: try #require(logged.requests.first).id) }
            #expect((detail.requestHeaders["x-forwarded-for"] != nil) == trusted)
            // Only what the client sent: untrusted, its X-Forwarded-Proto was stripped and the
            // listener added none of its own (its scheme reaches the engine apart from the headers).
            #expect(detail.requestHeaders["x-forwarded-proto"] == (trusted ? "https" : nil))
            #expect(detail.requestHeaders["authorization"] == "[redacted]")
        }
    }

    @Test func theListenerIsOffUnlessConfigured() async throws {
        let plain = try Daemon()
        try plain.start(extra: ["--log-level", "info"])
        let pid = try #require(plain.process?.processIdentifier)
        #expect(try listeningTCPPorts(pid: pid).isEmpty)
        #expect(!plain.log.contains("HTTP listener"))

        // The same check sees the listener when there is one.
        let served = try Daemon()
        let port = try served.startHTTP()
        #expect(try listeningTCPPorts(pid: try #require(served.process?.processIdentifier)) == [port])
    }

    @Test func aUnixSocketListenerForAProxyOnTheSameMachine() async throws {
        let daemon = try Daemon()
        let path = daemon.directory.appendingPathComponent("http.sock").path
        try daemon.start(extra: ["--http", "unix:\(path)"])
        let token = try await token(daemon)
        let client = try HTTPTestClient(unixSocket: path)
        let created = try client.exchange(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)"), ("Host", "scim.internal")], body: createUser("u@example.com")))
        #expect(created.status == 201)
        #expect(created[header: "Location"]?.hasPrefix("http://scim.internal/scim/v2/Users/") == true)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o660)
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func anUnusableAddressStopsScimdWithAClearMessage() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let second = try runTool(
            "scimd", ["--socket", daemon.directory.path + "/second.sock", "--database", daemon.database + "-2", "--http", "127.0.0.1:\(port)"])
        #expect(second.status == 2)
        #expect(second.stderr.contains("cannot listen for SCIM over HTTP on 127.0.0.1:\(port): Address already in use (errno 98)"), "\(second.stderr)")
        // Only the address is blamed: the health probe the stop cancelled is not a failing database.
        #expect(!second.stderr.contains("health: degraded"), "\(second.stderr)")
        for bad in [["--http", "8080"], ["--http", "127.0.0.1:99999"], ["--http", "unix:"],
            ["--http", "127.0.0.1:0", "--http-idle-timeout", "0"], ["--http", "127.0.0.1:0", "--http-max-body-bytes", "10"]]
        {
            let invalid = try runTool("scimd", ["--database", daemon.database + "-3"] + bad)
            #expect(invalid.status == 64, "\(bad)")
            #expect(invalid.stderr.contains("--http"), "\(bad): \(invalid.stderr)")
        }
    }

    /// Under systemd scimd runs as its own user with no capabilities; anything the listener does
    /// per connection must work unprivileged. (Run as root, as CI does, this drops to nobody;
    /// run unprivileged, every test here already is, and this one is reported as skipped.)
    @Test(
        .enabled(
            if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "needs root and /usr/bin/setpriv to drop to nobody"))
    func anUnprivilegedScimdServesHTTPAndSurvivesResetConnections() async throws {
        let daemon = try Daemon()
        #expect(chown(daemon.directory.path, 65534, 65534) == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = [
            "--reuid=65534", "--regid=65534", "--clear-groups", Daemon.binaries.appendingPathComponent("scimd").path, "--socket",
            daemon.socket, "--database", daemon.database, "--http", "127.0.0.1:0", "--log-level", "info",
        ]
        FileManager.default.createFile(atPath: daemon.logFile, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: daemon.logFile)
        try p.run()
        daemon.process = p
        try daemon.waitUntilAnswering()
        let port = try daemon.waitForHTTPPort()
        let token = try await token(daemon)
        let auth = [("Authorization", "Bearer \(token)")]
        let client = try HTTPTestClient(port: port)
        #expect(try client.exchange(HTTPTestRequest(.POST, "/scim/v2/Users", headers: auth, body: createUser("nobody@example.com"))).status == 201, "\(daemon.log)")
        // Clients that vanish at once (reset) cost nothing but themselves.
        for _ in 0..<20 { try HTTPTestClient(port: port).reset() }
        #expect(try HTTPTestClient(port: port).exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)
        #expect(daemon.stop() == 0)
    }

    @Test func sigtermClosesIdleHTTPConnectionsAndExitsCleanly() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let token = try await token(daemon)
        let idle = try HTTPTestClient(port: port)
        #expect(try idle.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)")])).status == 200)
        #expect(daemon.stop() == 0)
        #expect(idle.isClosedByPeer())
        #expect(daemon.log.contains("SCIM HTTP listener stopped"))
    }

    @Test func socketActivationWithNamedRPCAndHTTPSockets() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
            Issue.record("systemd-socket-activate is not installed (Debian package systemd)")
            return
        }
        let daemon = try Daemon()
        let port = try freeLoopbackPort()
        // The HTTP socket first: scimd must pick each by name, not by position.
        try startSocketActivated(daemon, listening: ["127.0.0.1:\(port)", daemon.socket], names: "http:rpc")
        let token = try await token(daemon)
        let client = try HTTPTestClient(port: port)
        let created = try client.exchange(
            HTTPTestRequest(.POST, "/scim/v2/Users", headers: [("Authorization", "Bearer \(token)")], body: createUser("sa@example.com")))
        #expect(created.status == 201, "\(daemon.log)")
        #expect(daemon.log.contains("adopting the http socket passed by systemd"))
        let stats = try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"system.stats"}"#)
        #expect(stats["result"]?["scimConnections"] == 1)
        #expect(daemon.stop() == 0)
    }

    /// A second socket passed without a name scimd serves (no --fdname: "unknown") is closed with
    /// a warning that says how to name it: IdPs are refused at once, not left waiting on a socket
    /// nobody reads.
    @Test func aSocketScimdDoesNotServeIsClosedAndNamed() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
            Issue.record("systemd-socket-activate is not installed (Debian package systemd)")
            return
        }
        let daemon = try Daemon()
        let port = try freeLoopbackPort()
        try startSocketActivated(daemon, listening: [daemon.socket, "127.0.0.1:\(port)"], names: nil)
        #expect(daemon.log.contains("closing the socket systemd passed as descriptor 4, named 'unknown'"), "\(daemon.log)")
        #expect(daemon.log.contains("FileDescriptorName=http"))
        #expect(throws: HTTPTestClientError.self, "the port refuses connections") { _ = try HTTPTestClient(port: port, receiveTimeout: 2) }
        #expect(daemon.stop() == 0)
    }
}

/// Starts `daemon`'s scimd under `systemd-socket-activate` on the `listening` addresses (Unix paths
/// or HOST:PORT), with `--fdname=names` when given, logging at info, and waits until it answers.
func startSocketActivated(_ daemon: Daemon, listening: [String], names: String?) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
    p.arguments = listening.flatMap { ["-l", $0] } + (names.map { ["--fdname=\($0)"] } ?? []) + [
        Daemon.binaries.appendingPathComponent("scimd").path, "--database", daemon.database, "--log-level", "info",
    ]
    FileManager.default.createFile(atPath: daemon.logFile, contents: nil)
    p.standardError = FileHandle(forWritingAtPath: daemon.logFile)
    try p.run()
    daemon.process = p
    try daemon.waitUntilAnswering()
}

/// TCP ports the process listens on, read from /proc: its socket inodes matched against the
/// LISTEN entries of /proc/PID/net/tcp and tcp6.
func listeningTCPPorts(pid: Int32) throws -> [Int] {
    let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
    var inodes = Set<String>()
    for fd in fds {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
            target.hasPrefix("socket:[")
        {
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
    }
    var ports: [Int] = []
    for table in ["tcp", "tcp6"] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])) else { continue }
            if let port = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) { ports.append(port) }
        }
    }
    return ports.sorted()
}
