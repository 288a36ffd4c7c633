import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// scimctl's conventions: global options on either side of the subcommand, exit codes, JSON errors
/// with --json, stable JSON output, bare scimctl.
@Suite struct ScimctlConventionsTests {
    @Test func globalOptionsWorkBeforeTheSubcommand() async throws {
        let daemon = try Daemon()
        try daemon.start()
        _ = try await daemon.client { try await $0.createConnection(name: "Acme") }
        let before = try runTool("scimctl", ["--socket", daemon.socket, "--json", "connections", "list"])
        #expect(before.status == 0, "\(before.stderr)")
        let after = try runTool("scimctl", ["connections", "list", "--socket", daemon.socket, "--json"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try JSONParser().parse(before.stdout)["connections"]?.arrayValue?.first?["name"] == "Acme")
        let equals = try runTool("scimctl", ["--socket=\(daemon.socket)", "health"])
        #expect(equals.status == 0, "\(equals.stderr)")
    }

    @Test func jsonOutputIsStableFromRunToRun() async throws {
        let daemon = try Daemon()
        try daemon.start()
        _ = try await daemon.client { try await $0.createConnection(name: "Acme") }
        let env = ["SCIMD_SOCKET": daemon.socket]
        let first = try runTool("scimctl", ["mapping", "show", "Acme", "--json"], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        for _ in 0..<3 {
            #expect(try runTool("scimctl", ["mapping", "show", "Acme", "--json"], environment: env).stdout == first.stdout)
        }
        // Members come in the order of the result's fields (ConnectionInfo: id, name, then
        // customerId and idp, absent here, …), in every run.
        let shown = try runTool("scimctl", ["connections", "show", "Acme", "--json"], environment: env)
        #expect(shown.status == 0, "\(shown.stderr)")
        let keys = try JSONParser().parse(shown.stdout).objectValue.map { $0.map(\.key) } ?? []
        #expect(Array(keys.prefix(5)) == ["id", "name", "disabled", "createdAt", "updatedAt"], "\(shown.stdout)")
        for _ in 0..<3 {
            #expect(try runTool("scimctl", ["connections", "show", "Acme", "--json"], environment: env).stdout == shown.stdout)
        }
    }

    @Test func errorsAreJSONWithJSONAndExitCodesAreDocumented() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let missing = try runTool("scimctl", ["--json", "connections", "show", "nope"], environment: env)
        #expect(missing.status == 3)
        let error = try JSONParser().parse(missing.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(error["error"]?["data"]?["kind"] == "not_found")
        #expect(error["error"]?["code"] == -32004)
        let plain = try runTool("scimctl", ["connections", "show", "nope"], environment: env)
        #expect(plain.status == 3)
        #expect(plain.stderr.hasPrefix("error: "))
        let unreachable = try runTool("scimctl", ["--json", "--socket", daemon.directory.path + "/none.sock", "health"])
        #expect(unreachable.status == 69)
        #expect(try JSONParser().parse(unreachable.stderr.trimmingCharacters(in: .whitespacesAndNewlines))["error"]?["data"]?["kind"] == "daemon_unreachable")
        let bare = try runTool("scimctl", [])
        #expect(bare.status == 64)
        #expect(bare.stderr.contains("USAGE: scimctl"))
        let help = try runTool("scimctl", ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit codes: 0 success"))
        let usage = try runTool("scimctl", ["connections", "show"], environment: env)
        #expect(usage.status == 64)
    }

    /// Takes the one slot of a daemon started with `--max-connections 1` (the harness's readiness
    /// probe may hold it for a moment first) and returns the connection holding it.
    static func holdTheOnlySlot(_ daemon: Daemon) async throws -> RawSocket {
        for _ in 0..<100 {
            let candidate = try RawSocket(path: daemon.socket)
            if (try? candidate.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#))?["result"] != nil { return candidate }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("the only JSON-RPC slot was never free")
    }

    /// At its connection limit scimd answers a new client with `unavailable` before closing; the
    /// client library and scimctl pass that on instead of "connection closed".
    @Test func theConnectionLimitReachesScimctlAsUnavailable() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--max-connections", "1"])
        let holder = try await Self.holdTheOnlySlot(daemon)
        let refused = try runTool("scimctl", ["health"], environment: ["SCIMD_SOCKET": daemon.socket])
        #expect(refused.status == 69)
        #expect(refused.stderr.contains("[unavailable]") && refused.stderr.contains("--max-connections"), "\(refused.stderr)")
        withExtendedLifetime(holder) {}  // the slot stays taken until here
    }

    /// A refusal can reach the client before its first call is even made (scimd answers at
    /// accept): that call gets the refusal, not "connection closed". (scimctl met this race under
    /// load: scimd's `unavailable` line was read, found no call waiting, and was lost.)
    @Test func aRefusalThatArrivesBeforeTheFirstCallIsWhatTheCallGets() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--max-connections", "1"])
        let holder = try await Self.holdTheOnlySlot(daemon)
        do {
            _ = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                // Long enough for the refusal line to arrive and the connection to close.
                try await Task.sleep(for: .milliseconds(500))
                return try await client.callRaw("system.health", params: [:])
            }
            Issue.record("a client over --max-connections was served")
        } catch let error as RPCError {
            #expect(error.data?.kind == "unavailable", "\(error)")
            #expect(error.message.contains("--max-connections"))
        }
        withExtendedLifetime(holder) {}
    }

    @Test func aMistypedEnvironmentVariableIsReported() async throws {
        let daemon = try Daemon()
        try daemon.start(environment: ["SCIMD_LOGLEVEL": "debug"])
        #expect(daemon.log.contains("ignoring SCIMD_LOGLEVEL"), "\(daemon.log.prefix(500))")
    }
}
