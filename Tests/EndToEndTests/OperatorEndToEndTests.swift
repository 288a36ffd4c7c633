import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// Dashboard operators through the real daemon: `scimctl operators` drives every `operators.*`
/// RPC over the socket, with its exit codes, and the refusals reach a raw socket client as
/// documented. Operators survive a restart of the daemon.
@Suite struct OperatorEndToEndTests {
    /// The password line `scimctl operators add|reset-password` prints (indented, alone on its line).
    static func password(in output: String) -> String? {
        let lines = output.split(separator: "\n")
        guard let index = lines.firstIndex(where: { $0.contains("shown once") }), index + 1 < lines.count else { return nil }
        return lines[index + 1].trimmingCharacters(in: .whitespaces)
    }

    @Test func scimdRefusesAPasswordHashCostOutsideItsRange() throws {
        for cost in ["9", "21"] {
            let run = try runTool("scimd", ["--password-hash-cost", cost, "--socket", "/nonexistent/s.sock"])
            #expect(run.status == 64, "\(run.stderr)")
            #expect(run.stderr.contains("--password-hash-cost must be 10…20"))
        }
    }

    @Test func scimctlDrivesEveryOperatorCommand() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]

        let empty = try runTool("scimctl", ["operators", "list"], environment: env)
        #expect(empty.status == 0 && empty.stdout.contains("No operators"))

        let added = try runTool("scimctl", ["operators", "add", "dana.ops", "--role", "admin"], environment: env)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("Added operator dana.ops (admin)"))
        #expect(added.stdout.contains("shown once"))
        let first = try #require(Self.password(in: added.stdout))
        #expect(first.count == 20 && !first.contains { "0O1lI ".contains($0) })

        let viewer = try runTool("scimctl", ["operators", "add", "sam", "--json"], environment: env)
        #expect(viewer.status == 0)
        let viewerJSON = try JSONParser().parse(viewer.stdout)
        #expect(viewerJSON["operator"]?["role"] == "viewer", "viewer is the default")
        #expect(viewerJSON["password"]?.stringValue?.count == 20)

        // list: a table, and --json with exactly the RPC result (never a password or a hash).
        let table = try runTool("scimctl", ["operators", "list"], environment: env)
        #expect(table.status == 0 && table.stdout.contains("dana.ops") && table.stdout.contains("admin") && table.stdout.contains("sam"))
        let listed = try runTool("scimctl", ["operators", "list", "--json"], environment: env)
        let operators = try #require(try JSONParser().parse(listed.stdout)["operators"]?.arrayValue)
        #expect(operators.map { $0["name"]?.stringValue } == ["dana.ops", "sam"])
        #expect(operators.allSatisfy { $0.objectValue?.keys == ["id", "name", "role", "createdAt", "passwordChangedAt"] })
        #expect(!listed.stdout.contains(first) && !listed.stdout.contains("scrypt"))

        // Refusals: exit 1 with the kind and field, 3 for not found, 64 for a role scimctl does not know.
        let duplicate = try runTool("scimctl", ["operators", "add", "DANA.OPS"], environment: env)
        #expect(duplicate.status == 1 && duplicate.stderr.contains("[conflict]"))
        let badName = try runTool("scimctl", ["operators", "add", "dana ops"], environment: env)
        #expect(badName.status == 1 && badName.stderr.contains("invalid_params") && badName.stderr.contains("field: name"))
        let badNameJSON = try runTool("scimctl", ["operators", "add", "", "--json"], environment: env)
        #expect(badNameJSON.status == 1)
        #expect(try JSONParser().parse(badNameJSON.stderr)["error"]?["data"]?["field"] == "name")
        let badRole = try runTool("scimctl", ["operators", "add", "eve", "--role", "root"], environment: env)
        #expect(badRole.status == 64 && badRole.stderr.contains("root"))
        for command in [["remove", "nobody"], ["reset-password", "nobody"], ["set-role", "nobody", "--role", "admin"]] {
            let missing = try runTool("scimctl", ["operators"] + command, environment: env)
            #expect(missing.status == 3 && missing.stderr.contains("not_found"), "\(command)")
        }

        let reset = try runTool("scimctl", ["operators", "reset-password", "Dana.Ops"], environment: env)
        #expect(reset.status == 0 && reset.stdout.contains("Reset the password of operator dana.ops (admin)"))
        let second = try #require(Self.password(in: reset.stdout))
        #expect(second.count == 20 && second != first)

        let demoted = try runTool("scimctl", ["operators", "set-role", "dana.ops", "--role", "viewer"], environment: env)
        #expect(demoted.status == 0 && demoted.stdout.contains("dana.ops is now viewer"))
        let demotedJSON = try runTool("scimctl", ["operators", "set-role", "sam", "--role", "admin", "--json"], environment: env)
        #expect(try JSONParser().parse(demotedJSON.stdout)["role"] == "admin")

        // What was committed is what a restarted daemon knows.
        #expect(daemon.stop() == 0)
        try daemon.start()
        let afterRestart = try JSONParser().parse(try runTool("scimctl", ["operators", "list", "--json"], environment: env).stdout)
        #expect(afterRestart["operators"]?.arrayValue?.map { "\($0["name"]?.stringValue ?? ""):\($0["role"]?.stringValue ?? "")" }
            == ["dana.ops:viewer", "sam:admin"])

        let removed = try runTool("scimctl", ["operators", "remove", "dana.ops"], environment: env)
        #expect(removed.status == 0 && removed.stdout.contains("Removed operator dana.ops"))
        let removedAgain = try runTool("scimctl", ["operators", "remove", "dana.ops", "--json"], environment: env)
        #expect(removedAgain.status == 3)
        #expect(try JSONParser().parse(removedAgain.stderr)["error"]?["data"]?["kind"] == "not_found")
        let left = try JSONParser().parse(try runTool("scimctl", ["operators", "list", "--json"], environment: env).stdout)
        #expect(left["operators"]?.arrayValue?.map { $0["name"]?.stringValue } == ["sam"])
    }

    /// What a client in another language sees on the socket: typed refusals naming the field, and
    /// no way to attribute a mapping change (`changedBy` is not a param).
    @Test func theSocketRefusesWhatItShould() async throws {
        let daemon = try Daemon()
        try daemon.start()
        _ = try await daemon.client { try await $0.createConnection(name: "acme") }
        let socket = try RawSocket(path: daemon.socket)

        let badRole = try socket.json(#"{"jsonrpc":"2.0","id":1,"method":"operators.add","params":{"name":"eve","role":"root"}}"#)
        #expect(badRole["error"]?["code"] == -32602)
        #expect(badRole["error"]?["data"]?["kind"] == "invalid_params" && badRole["error"]?["data"]?["field"] == "role")
        let missingRole = try socket.json(#"{"jsonrpc":"2.0","id":2,"method":"operators.setRole","params":{"name":"eve"}}"#)
        #expect(missingRole["error"]?["data"]?["field"] == "role")
        // A caller cannot choose the password.
        let chosen = try socket.json(#"{"jsonrpc":"2.0","id":3,"method":"operators.add","params":{"name":"eve","password":"hunter2"}}"#)
        #expect(chosen["error"]?["data"]?["field"] == "password")
        let attributed = try socket.json(
            #"{"jsonrpc":"2.0","id":4,"method":"mapping.set","params":{"connection":"acme","changedBy":"operator:eve"}}"#)
        #expect(attributed["error"]?["data"]?["field"] == "changedBy")

        let added = try socket.json(#"{"jsonrpc":"2.0","id":5,"method":"operators.add","params":{"name":"eve"}}"#)
        #expect(added["result"]?["operator"]?["role"] == "viewer" && added["result"]?["password"]?.stringValue?.count == 20)
        let conflict = try socket.json(#"{"jsonrpc":"2.0","id":6,"method":"operators.add","params":{"name":"EVE"}}"#)
        #expect(conflict["error"]?["code"] == -32009 && conflict["error"]?["data"]?["kind"] == "conflict")
        let removed = try socket.json(#"{"jsonrpc":"2.0","id":7,"method":"operators.remove","params":{"name":"eve"}}"#)
        #expect(removed["result"]?["removed"] == true)
        let gone = try socket.json(#"{"jsonrpc":"2.0","id":8,"method":"operators.resetPassword","params":{"name":"eve"}}"#)
        #expect(gone["error"]?["code"] == -32004)

        // A mapping changed over the socket names nobody.
        let history = try socket.json(#"{"jsonrpc":"2.0","id":9,"method":"mapping.history","params":{"connection":"acme"}}"#)
        #expect(history["result"]?["versions"]?.arrayValue?.allSatisfy { $0["changedBy"] == nil } == true)
    }
}
