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
