import Foundation
import HTTPTestClient
import NIOHTTP1
import SCIMJSON
import Testing

/// Health through the real daemon: `system.health` with its checks, and the HTTP listener's
/// unauthenticated `/healthz` for load balancers.
@Suite struct HealthEndToEndTests {
    @Test func healthzAnswersWithoutATokenAndSaysNothingElse() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP()
        let client = try HTTPTestClient(port: port)
        let ok = try client.exchange(HTTPTestRequest(.GET, "/healthz"))
        #expect(ok.status == 200)
        #expect(try JSONParser().parse(ok.body) == ["status": "ok"])
        #expect(ok.headers["Cache-Control"].first == "no-store")
        // Everything else still needs a token.
        #expect(try client.exchange(HTTPTestRequest(.GET, "/scim/v2/Users")).status == 401)
        let health = try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)
        #expect(health["result"]?["status"] == "ok")
        let names = (health["result"]?["checks"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        #expect(names == ["state", "database", "storage", "disk"])
    }

    /// A threshold no disk meets: the first probe turns health degraded, `/healthz` answers 503,
    /// and `system.health` names the failing check.
    @Test func lowDiskSpaceTurnsHealthDegraded() async throws {
        let daemon = try Daemon()
        let port = try daemon.startHTTP(extra: ["--min-free-disk-mb", "1000000000"])
        let client = try HTTPTestClient(port: port)
        var status = 0
        let deadline = Date().addingTimeInterval(10)
        while status != 503 && Date() < deadline {
            status = try client.exchange(HTTPTestRequest(.GET, "/healthz")).status
            if status != 503 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(status == 503)
        let health = try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)
        #expect(health["result"]?["status"] == "degraded")
        let disk = health["result"]?["checks"]?.arrayValue?.first { $0["name"] == "disk" }
        #expect(disk?["status"] == "failing")
        #expect(daemon.log.contains("health: degraded"))
        // scimctl health exits 1, with --json too (scripts read the exit code).
        for arguments in [["health"], ["health", "--json"]] {
            let checked = try runTool("scimctl", arguments, environment: ["SCIMD_SOCKET": daemon.socket])
            #expect(checked.status == 1, "\(arguments): \(checked.stdout)")
            #expect(checked.stdout.contains("degraded"), "\(arguments): \(checked.stdout)")
        }
    }
}
