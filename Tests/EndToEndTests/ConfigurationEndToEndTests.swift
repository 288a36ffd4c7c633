import Foundation
import SCIMJSON
import Testing

/// Options from `SCIMD_*` environment variables, and log lines for journald.
@Suite struct ConfigurationEndToEndTests {
    @Test func environmentVariablesSetOptionsAndTheCommandLineWins() async throws {
        let daemon = try Daemon()
        // One JSON-RPC client at a time from the environment; the log level from the environment.
        try daemon.start(environment: ["SCIMD_MAX_CONNECTIONS": "1", "SCIMD_LOG_LEVEL": "debug"], logLevel: nil)
        // The harness's own readiness probe may still hold the one slot for a moment.
        var first: RawSocket? = nil
        for _ in 0..<100 where first == nil {
            let candidate = try RawSocket(path: daemon.socket)
            if (try? candidate.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#))?["result"]?["status"] == "ok" {
                first = candidate
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(first != nil)
        let second = try RawSocket(path: daemon.socket)
        let refused = try #require(second.readLine())
        #expect(try JSONParser().parse(refused)["error"]?["data"]?["kind"] == "unavailable")
        #expect(daemon.log.contains(" debug "), "\(daemon.log.suffix(1000))")
        #expect(daemon.log.contains("options from SCIMD_* environment variables: --log-level debug --max-connections 1"))
        #expect(daemon.stop() == 0)

        // The command line overrides the environment.
        let again = try Daemon()
        try again.start(extra: ["--max-connections", "4"], environment: ["SCIMD_MAX_CONNECTIONS": "1"])
        let a = try RawSocket(path: again.socket)
        let b = try RawSocket(path: again.socket)
        #expect(try a.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"] != nil)
        #expect(try b.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"] != nil)
    }

    /// When standard error is the journal (`JOURNAL_STREAM` names it), every line starts with its
    /// sd-daemon priority and carries no timestamp of its own.
    @Test func underJournaldLinesCarryTheirPriority() async throws {
        let daemon = try Daemon()
        try daemon.start(logLevel: "info", asJournal: true)
        #expect(daemon.stop() == 0)
        let lines = daemon.log.split(separator: "\n").filter { !$0.isEmpty }
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.hasPrefix("<6>") || line.hasPrefix("<5>") || line.hasPrefix("<4>"), "\(line)")
            #expect(!line.dropFirst(3).hasPrefix("20"), "a timestamp after the priority: \(line)")
        }
        #expect(lines.contains { $0.hasPrefix("<6>ready") })
    }
}

/// The access log through the real daemon: one line per RPC call and per SCIM request, off with
/// `--access-log off`.
@Suite struct AccessLogEndToEndTests {
    @Test func oneLinePerCallAndRequest() async throws {
        let daemon = try Daemon()
        try daemon.start(logLevel: "info")
        let rpc = try RawSocket(path: daemon.socket)
        let created = try rpc.json(#"{"jsonrpc":"2.0","id":"c1","method":"connections.create","params":{"name":"Acme"}}"#)
        let token = try #require(created["result"]?["token"]?.stringValue)
        _ = try rpc.json(#"{"jsonrpc":"2.0","id":7,"method":"connections.get","params":{"id":"nope"}}"#)
        let handled = try rpc.json(
            #"{"jsonrpc":"2.0","id":8,"method":"scim.handle","params":{"method":"GET","path":"/Users","headers":{"Authorization":"Bearer "#
                + token + #""}}}"#)
        let requestId = try #require(handled["result"]?["headers"]?["X-Request-Id"]?.stringValue)
        #expect(daemon.stop() == 0)
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.contains { $0.contains("RPC call") && $0.contains("method=connections.create") && $0.contains("outcome=ok") })
        #expect(lines.contains { $0.contains("RPC call") && $0.contains("method=connections.get") && $0.contains("outcome=not_found") && $0.contains("id=7") })
        #expect(lines.contains { $0.contains("SCIM request") && $0.contains("requestId=\(requestId)") && $0.contains("status=200") })

        let quiet = try Daemon()
        try quiet.start(extra: ["--access-log", "off"], logLevel: "info")
        _ = try RawSocket(path: quiet.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"connections.list"}"#)
        #expect(quiet.stop() == 0)
        #expect(!quiet.log.contains("RPC call"))
    }

    /// Pipelined calls' access-log lines are held for their read and written together: every call
    /// still has its line, in the order the calls were answered.
    @Test func pipelinedCallsKeepOneLineEachInOrder() async throws {
        let daemon = try Daemon()
        try daemon.start(logLevel: "info")
        let rpc = try RawSocket(path: daemon.socket)
        rpc.send((1...200).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"system.health"}"# + "\n" }.joined())
        for _ in 1...200 { #expect(rpc.readLine() != nil) }
        #expect(daemon.stop() == 0)
        let ids = daemon.log.split(separator: "\n").filter { $0.contains("RPC call") && $0.contains("method=system.health") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("id=") }.flatMap { Int($0.dropFirst(3)) }
        }
        // id 0 is the harness's own readiness call.
        #expect(ids.filter { $0 != 0 } == Array(1...200))
    }

    /// `--memory-limit`: a size that is not one is refused before anything starts, naming the
    /// option; under a limit smaller than any connection, every read still answers with what was
    /// written (connections come back from SQLite), and `system.stats` shows what is resident.
    @Test func aMemoryLimitIsCheckedEnforcedAndReported() async throws {
        let refused = try runTool("scimd", ["--memory-limit", "lots", "--socket", "/nonexistent/s.sock", "--database", "/nonexistent/db"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--memory-limit: 'lots' is not a size"), "\(refused.stderr)")

        let daemon = try Daemon()
        try daemon.start(extra: ["--memory-limit", "1K"], logLevel: "info")
        let tokens = try await daemon.client { client in
            var tokens: [String] = []
            for name in ["Acme", "Beta"] {
                let token = try await client.createConnection(name: name).token
                tokens.append(token)
                let body = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@\#(name.lowercased()).example"}"#
                let created = try await client.handleSCIM(method: "POST", path: "/scim/v2/Users", headers: ["Authorization": "Bearer \(token)"], body: body)
                #expect(created.status == 201)
            }
            return tokens
        }
        // Started again: the background load stops at the limit, so the reads below load the
        // connections on demand.
        #expect(daemon.stop() == 0)
        try daemon.start(extra: ["--memory-limit", "1K"], logLevel: "info")
        try await daemon.client { client in
            // Reads alternate between the two: each load evicts the other.
            for round in 0..<3 {
                for (token, name) in zip(tokens, ["acme", "beta"]) {
                    let r = try await client.handleSCIM(
                        method: "GET", path: "/scim/v2/Users?filter=userName%20eq%20%22ada@\(name).example%22",
                        headers: ["Authorization": "Bearer \(token)"])
                    #expect(r.status == 200 && (r.body ?? "").contains("\"totalResults\":1"), "round \(round): \(r.body ?? "")")
                }
            }
            let stats = try await client.stats()
            #expect(stats.memoryLimitBytes == 1024)
            #expect(stats.residentConnections == 1 && (stats.residentBytes ?? 0) > 0)
        }
        #expect(daemon.stop() == 0)
        #expect(daemon.log.contains("connections evicted from memory"), "\(daemon.log.suffix(2000))")
    }
}
