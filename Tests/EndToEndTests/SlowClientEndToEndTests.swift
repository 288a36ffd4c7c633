import Foundation
import HTTPTestClient
import NIOHTTP1
import SCIMJSON
import Testing

/// A client that sends slowly, on a plain socket (TCP or Unix): for the request head, body and
/// line deadlines, which are about bytes arriving too slowly, not about what they say.
final class TrickleClient {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            throw HarnessError("connect failed: \(errno)")
        }
        try setReceiveTimeout(seconds: 10)
    }

    /// Connects to the Unix socket at `path`.
    init(unixSocket path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            close(fd)
            throw HarnessError("connect failed: \(errno)")
        }
        try setReceiveTimeout(seconds: 10)
    }

    private func setReceiveTimeout(seconds: Int) throws {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends `bytes`; false when the peer no longer takes them.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// True when something (an answer, or the end of the stream) is ready to read.
    var hasAnswer: Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Sends `bytes` in pieces of `chunk`, one piece every `interval` seconds, until all are sent,
    /// the server answers or stops taking them, or `limit` seconds pass. Returns the seconds it took.
    @discardableResult
    func trickle(_ text: String, chunk: Int = 1, every interval: TimeInterval, limit: TimeInterval = 15) -> TimeInterval {
        let started = Date()
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count, Date().timeIntervalSince(started) < limit, !hasAnswer {
            let end = min(offset + chunk, bytes.count)
            if !send(Array(bytes[offset..<end])) { break }
            offset = end
            if offset < bytes.count { Thread.sleep(forTimeInterval: interval) }
        }
        return Date().timeIntervalSince(started)
    }

    /// Everything the server sends until it closes (or the receive timeout passes).
    func readToEnd() -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            received += chunk[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// True when the server closed the connection (EOF or reset) within the receive timeout.
    func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// Slow clients against the real scimd: request head and body deadlines on the HTTP listener,
/// the line deadline on the JSON-RPC socket.
@Suite(.serialized) struct SlowClientEndToEndTests {
    func createUser(_ userName: String, padding: Int = 0) -> String {
        #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(userName)","nickName":"\#(String(repeating: "n", count: padding))"}"#
    }

    /// The head and body of a raw HTTP response.
    func split(_ response: String) -> (head: [String], body: String) {
        let parts = response.components(separatedBy: "\r\n\r\n")
        return (parts[0].components(separatedBy: "\r\n"), parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test func aTrickledRequestHeadGets408AndIsClosed() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-header-timeout", "1"])
        let client = try TrickleClient(port: port)
        let took = client.trickle("GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\n\r\n", every: 0.3)
        let response = client.readToEnd()
        let (head, body) = split(response)
        #expect(head.first == "HTTP/1.1 408 Request Timeout", "\(response)")
        #expect(head.contains("Connection: close"))
        #expect(head.contains("Content-Type: application/scim+json; charset=utf-8"))
        #expect(head.contains("Content-Length: \(body.utf8.count)"))
        let error = try JSONParser().parse(body)
        #expect(error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
        #expect(error["status"] == "408")
        #expect(error["detail"]?.stringValue?.contains("--http-header-timeout") == true)
        // Not before the deadline, and not much after it (generous: a loaded machine is slow).
        #expect(took >= 0.9 && took < 6, "\(took) s")
        #expect(client.isClosedByPeer())
    }

    @Test func aBodyBelowTheMinimumRateIsCut() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-body-timeout", "1", "--http-min-body-rate", "100"])
        let client = try TrickleClient(port: port)
        let body = createUser("slow@example.com", padding: 100)
        client.send(Array("POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n".utf8))
        // About 3 bytes a second, far below 100: cut after about a second.
        let took = client.trickle(body, every: 0.3)
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(response)")
        #expect(response.contains("--http-min-body-rate"))
        #expect(took >= 0.9 && took < 6, "\(took) s")
        #expect(client.isClosedByPeer())
    }

    @Test func aSlowButSteadyBodyAboveTheRateIsServed() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-body-timeout", "1", "--http-min-body-rate", "100"])
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let client = try TrickleClient(port: port)
        let body = createUser("steady@example.com", padding: 500)
        client.send(
            Array(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/scim+json\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                    .utf8))
        // 50 bytes every 200 ms, 250 bytes a second: well over the minimum, and longer in total
        // (over 2 s) than the body timeout alone.
        let took = client.trickle(body, chunk: 50, every: 0.2)
        #expect(took > 1.5, "\(took) s")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 201 Created\r\n"), "\(response)")
    }

    @Test func anIdleKeepAliveConnectionIsNotCutByTheHeaderTimeout() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--http-header-timeout", "1", "--http-body-timeout", "1"])
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let client = try HTTPTestClient(port: port)
        let auth = [("Authorization", "Bearer \(token)")]
        #expect(try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)
        // Idle for longer than the head and body timeouts (the idle timeout is 60 s).
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users", headers: auth)).status == 200)
    }

    @Test func aTrickledJSONRPCLineGetsALineTimeoutErrorAndIsClosed() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--rpc-line-timeout", "1"])
        let client = try TrickleClient(unixSocket: daemon.socket)
        let took = client.trickle(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"# + "\n", every: 0.3)
        let answer = client.readToEnd()
        let lines = answer.split(separator: "\n")
        #expect(lines.count == 1, "\(answer)")
        let error = try JSONParser().parse(String(lines.first ?? ""))
        #expect(error["id"] == .null)
        #expect(error["error"]?["code"] == -32600)
        #expect(error["error"]?["data"]?["kind"] == "line_timeout")
        #expect(error["error"]?["message"]?.stringValue?.contains("--rpc-line-timeout") == true)
        #expect(took >= 0.9 && took < 6, "\(took) s")
        #expect(client.isClosedByPeer())
        // Everyone else is still served.
        #expect(try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":2,"method":"system.health"}"#)["result"]?["status"] == "ok")
    }

    @Test func anIdleJSONRPCConnectionOutlivesTheLineTimeout() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--rpc-line-timeout", "1"])
        let idle = try RawSocket(path: daemon.socket)
        #expect(try idle.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"]?["status"] == "ok")
        // An event subscriber waits like this: no partial line, so no deadline.
        let subscriber = try RawSocket(path: daemon.socket)
        #expect(try subscriber.json(#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{}}"#)["result"] != nil)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try idle.json(#"{"jsonrpc":"2.0","id":2,"method":"system.health"}"#)["result"]?["status"] == "ok")
        #expect(try subscriber.json(#"{"jsonrpc":"2.0","id":2,"method":"system.health"}"#)["result"]?["status"] == "ok")
    }

    @Test func timeoutsMustBePositive() throws {
        let directory = "/tmp/scimd-e2e-timeouts-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for option in ["--rpc-line-timeout", "--http-header-timeout", "--http-body-timeout", "--http-min-body-rate"] {
            let invalid = try runTool("scimd", ["--database", directory + "/db.sqlite", option, "0"])
            #expect(invalid.status == 64, "\(option)")
            #expect(invalid.stderr.contains(option), "\(option): \(invalid.stderr)")
        }
    }
}
