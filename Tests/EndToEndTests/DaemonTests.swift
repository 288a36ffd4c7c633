import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// The real scimd binary, over its real socket.
@Suite(.serialized) struct DaemonTests {
    @Test func clientCreatesAConnectionThatSurvivesARestart() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Acme", idp: "Okta") }
        #expect(created.connection.name == "Acme")
        let status = try await daemon.client { client in
            try await client.handleSCIM(
                method: "POST", path: "/scim/v2/Users", headers: ["Authorization": "Bearer \(created.token)"],
                body: #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"e2e@example.com"}"#)
        }
        #expect(status.status == 201)
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
        try daemon.start()
        let list = try await daemon.client { try await $0.listConnections() }
        #expect(list.map(\.name) == ["Acme"])
        #expect(list.first?.users == 1)
        let health = try await daemon.client { try await $0.health() }
        #expect(health.status == "ok")
    }

    @Test func rawBytesGetJSONRPCErrorsAndTheConnectionKeepsWorking() throws {
        let daemon = try Daemon()
        try daemon.start()
        let s = try RawSocket(path: daemon.socket)
        #expect(try s.json("{not json")["error"]?["code"] == -32700)
        #expect(try s.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"]?["status"] == "ok")
        #expect(try s.json(#"{"hello":"world"}"#)["error"]?["code"] == -32600)
        #expect(try s.json(#"{"jsonrpc":"2.0","id":2,"method":"no.such"}"#)["error"]?["code"] == -32601)
        let bad = try s.json(#"{"jsonrpc":"2.0","id":3,"method":"connections.create","params":{"name":5}}"#)
        #expect(bad["error"]?["code"] == -32602)
        #expect(bad["error"]?["data"]?["field"] == "name")
        // Invalid UTF-8 is a parse error too.
        s.send([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        #expect(try JSONParser().parse(s.readLine() ?? "")["error"]?["code"] == -32700)
        // Pipelined: three requests in one write, answered in order with their ids.
        s.send(
            #"{"jsonrpc":"2.0","id":10,"method":"system.health"}"# + "\n" + #"{"jsonrpc":"2.0","method":"system.health"}"# + "\n"
                + #"{"jsonrpc":"2.0","id":"x","method":"system.version"}"# + "\n")
        #expect(try JSONParser().parse(s.readLine() ?? "")["id"] == 10)
        #expect(try JSONParser().parse(s.readLine() ?? "")["id"] == "x")
        // A batch.
        let batch = try s.json(#"[{"jsonrpc":"2.0","id":1,"method":"system.health"},{"jsonrpc":"2.0","id":2,"method":"rpc.discover"}]"#)
        #expect(batch.arrayValue?.count == 2)
    }

    @Test func anOverlongLineIsAnsweredThenClosedWithoutHarmingOthers() throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--max-line-bytes", "4096"])
        let bystander = try RawSocket(path: daemon.socket)
        let s = try RawSocket(path: daemon.socket)
        s.send(String(repeating: "x", count: 10_000))
        let reply = try JSONParser().parse(s.readLine() ?? "")
        #expect(reply["error"]?["code"] == -32600)
        #expect(reply["error"]?["data"]?["kind"] == "line_too_long")
        #expect(s.isClosedByPeer())
        #expect(try bystander.json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"] != nil)
    }

    @Test func aStalledOrVanishingClientNeverDisturbsOthers() throws {
        let daemon = try Daemon()
        try daemon.start()
        let staller = try RawSocket(path: daemon.socket)
        staller.send(#"{"jsonrpc":"2.0","id":1,"meth"#)  // half a line, then silence
        do {
            let quitter = try RawSocket(path: daemon.socket)
            for i in 0..<200 { quitter.send(#"{"jsonrpc":"2.0","id":\#(i),"method":"rpc.discover"}"# + "\n") }
        }  // disconnects with responses unread
        let other = try RawSocket(path: daemon.socket)
        #expect(try other.json(#"{"jsonrpc":"2.0","id":1,"method":"system.stats"}"#)["result"]?["openSocketConnections"] != nil)
        staller.send(#"od":"system.health"}"# + "\n")
        #expect(try JSONParser().parse(staller.readLine() ?? "")["result"]?["status"] == "ok")
    }

    @Test func aSecondDaemonOnTheSameSocketRefusesToStart() throws {
        let daemon = try Daemon()
        try daemon.start()
        let second = try runTool("scimd", ["--socket", daemon.socket, "--database", daemon.database + "-2"])
        #expect(second.status != 0)
        #expect(second.stderr.contains("already listening"))
        #expect(try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#)["result"] != nil)
    }

    @Test func aStaleSocketFileIsReplaced() throws {
        let daemon = try Daemon()
        // A socket file nobody listens on, as a crashed daemon leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let b = Array(daemon.socket.utf8)
            raw.copyBytes(from: b)
            raw[b.count] = 0
        }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(bound == 0, "bind: \(errno)")
        #expect(FileManager.default.fileExists(atPath: daemon.socket))
        try daemon.start()
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.socket)[.posixPermissions] as? Int
        #expect(mode == 0o660)
    }

    @Test func socketActivationThroughSystemdSocketActivate() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate") else {
            Issue.record("systemd-socket-activate is not installed (Debian package systemd)")
            return
        }
        let daemon = try Daemon()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        p.arguments = [
            "-l", daemon.socket, "--fdname=rpc", Daemon.binaries.appendingPathComponent("scimd").path, "--database",
            daemon.database, "--log-level", "warning",
        ]
        FileManager.default.createFile(atPath: daemon.logFile, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: daemon.logFile)
        p.standardError = FileHandle(forWritingAtPath: daemon.logFile)
        try p.run()
        daemon.process = p
        try daemon.waitUntilAnswering()
        let s = try RawSocket(path: daemon.socket)
        let created = try s.json(#"{"jsonrpc":"2.0","id":1,"method":"connections.create","params":{"name":"Activated"}}"#)
        #expect(created["result"]?["connection"]?["name"] == "Activated")
        let stats = try s.json(#"{"jsonrpc":"2.0","id":2,"method":"system.stats"}"#)
        #expect(stats["result"]?["scimConnections"] == 1)
    }

    @Test func scimctlCreatesListsAndReportsErrors() throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket, "COLUMNS": "160"]
        let created = try runTool("scimctl", ["connections", "create", "--name", "Acme"], environment: env)
        #expect(created.status == 0)
        #expect(created.stdout.contains("scimd_"))
        let list = try runTool("scimctl", ["connections", "list"], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("Acme"))
        #expect(list.stdout.contains("0/0"))
        let json = try runTool("scimctl", ["connections", "list", "--json"], environment: env)
        let parsed = try JSONParser().parse(json.stdout)
        #expect(parsed["connections"]?.arrayValue?.first?["name"] == "Acme")
        let missing = try runTool("scimctl", ["connections", "show", "Nope"], environment: env)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("not_found"))
        let down = try runTool("scimctl", ["health", "--socket", daemon.directory.path + "/none.sock"])
        #expect(down.status != 0)
        #expect(down.stderr.contains("none.sock"))
        // Piped (not a terminal) and no COLUMNS: tables keep every character (a mapping's long
        // extension paths, here a long name); with COLUMNS they fit it.
        let longName = "Acme " + String(repeating: "Subsidiary ", count: 20)
        let createdLong = try runTool("scimctl", ["connections", "create", "--name", longName], environment: env)
        #expect(createdLong.status == 0, "\(createdLong.stderr)")
        let piped = try runTool("scimctl", ["connections", "list"], environment: ["SCIMD_SOCKET": daemon.socket])
        #expect(piped.stdout.contains(longName.trimmingCharacters(in: .whitespaces)), "\(piped.stdout)")
        #expect(!piped.stdout.contains("…"), "\(piped.stdout)")
        let fitted = try runTool("scimctl", ["connections", "list"], environment: env)
        #expect(fitted.stdout.split(separator: "\n").allSatisfy { $0.count <= 160 }, "\(fitted.stdout)")
        #expect(fitted.stdout.contains("…"))
        let none = try runTool("scimctl", ["requests", "list", "Acme", "--status", "4xx"], environment: env)
        #expect(none.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "No requests match.")
    }

    @Test func scimctlReplaysAFixtureScenario() throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let created = try runTool("scimctl", ["connections", "create", "--name", "Okta"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SCIMDServiceTests/Fixtures/idp/okta-user-lifecycle.json")
        let replay = try runTool("scimctl", ["replay", fixture.path, "--connection", "Okta"], environment: env)
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.contains("failed") && replay.stdout.contains(" 0 failed"))
        let requests = try runTool("scimctl", ["requests", "list", "Okta"], environment: env)
        #expect(requests.stdout.contains("/Users"))
        // The next-page hint repeats the query (it used to drop --status), and runs as printed.
        let paged = try runTool("scimctl", ["requests", "list", "Okta", "--status", "2xx", "--limit", "2"], environment: env)
        let hint = try #require(paged.stdout.split(separator: "\n").first { $0.hasPrefix("More: ") }, "\(paged.stdout)")
        #expect(hint.hasPrefix("More: scimctl requests list Okta --status 2xx --limit 2 --cursor "), "\(hint)")
        let next = try runTool("scimctl", hint.dropFirst("More: scimctl ".count).split(separator: " ").map(String.init), environment: env)
        #expect(next.status == 0 && next.stdout.split(separator: "\n").count == 4, "\(next.stdout)")  // header, two rows, a hint
        // A 20,000-character path (a refused filter) is cut in the table, not padded into every row.
        let long = try RawSocket(path: daemon.socket).json(
            #"{"jsonrpc":"2.0","id":9,"method":"scim.handle","params":{"method":"GET","path":"/Users?filter=userName%20eq%20%22"#
                + String(repeating: "x", count: 20_000) + #"%22","connection":"Okta"}}"#)
        #expect(long["result"]?["status"] == 400, "\(long)")
        let cut = try runTool("scimctl", ["requests", "list", "Okta", "--limit", "5"], environment: env)
        #expect(cut.stdout.split(separator: "\n").allSatisfy { $0.count < 400 }, "\(cut.stdout.prefix(500))")
        #expect(cut.stdout.contains("…"))
    }
}

/// The dashboard commands against a daemon that replayed real IdP traffic.
@Suite(.serialized) struct DashboardEndToEndTests {
    @Test func replayThenDashboardUsersAndShow() throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket, "COLUMNS": "200"]
        let created = try runTool("scimctl", ["connections", "create", "--name", "Entra", "--idp", "Entra ID"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SCIMDServiceTests/Fixtures/idp/entra-user-lifecycle.json")
        let replay = try runTool("scimctl", ["replay", fixture.path, "--connection", "Entra"], environment: env)
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        // A user with no email at all, so the default mapping warns.
        let stats = try runTool("scimctl", ["stats"], environment: env)
        #expect(stats.status == 0, "\(stats.stderr)")
        let noEmail = try RawSocket(path: daemon.socket).json(
            #"{"jsonrpc":"2.0","id":1,"method":"scim.handle","params":{"method":"POST","path":"/Users","connection":"Entra","body":"{\"userName\":\"no.mail@example.com\"}"}}"#)
        #expect(noEmail["result"]?["status"] == 201)

        let dashboard = try runTool("scimctl", ["dashboard"], environment: env)
        #expect(dashboard.status == 0)
        #expect(dashboard.stdout.contains("Entra"))
        #expect(dashboard.stdout.contains("Entra ID"))
        #expect(dashboard.stdout.contains("1/2") || dashboard.stdout.contains("2/2"))
        #expect(!dashboard.stdout.contains("\u{1B}"), "no colour when stdout is not a TTY")

        let warned = try runTool("scimctl", ["users", "list", "Entra", "--with-warnings"], environment: env)
        #expect(warned.status == 0)
        #expect(warned.stdout.contains("no.mail@example.com"))
        #expect(!warned.stdout.contains("Test_User_5e81c0d4"))

        let show = try runTool("scimctl", ["users", "show", "Entra", "no.mail@example.com"], environment: env)
        #expect(show.status == 0)
        #expect(show.stdout.contains("Open warnings (1)"))
        #expect(show.stdout.contains("email: missing"))
        #expect(show.stdout.contains("example request"))
        #expect(show.stdout.contains("Raw SCIM data"))

        let json = try runTool("scimctl", ["users", "list", "Entra", "--json"], environment: env)
        #expect(try JSONParser().parse(json.stdout)["users"]?.arrayValue?.count == 2)

        let unknown = try runTool("scimctl", ["users", "show", "Entra", "nobody"], environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("not_found"))
    }

    @Test func mappingAddFallbackThroughScimctlResolvesTheWarning() throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket, "COLUMNS": "200"]
        let created = try runTool("scimctl", ["connections", "create", "--name", "Acme"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let mappingFile = daemon.directory.appendingPathComponent("mapping.json").path
        let shown = try runTool("scimctl", ["mapping", "show", "Acme", "--json"], environment: env)
        var mapping = try JSONParser().parse(shown.stdout)
        var users = mapping["users"]?["properties"]?.arrayValue ?? []
        users.append([
            "name": "group", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group",
            "warnIfMissing": true,
        ])
        mapping = ["users": ["properties": .array(users)]]
        try JSONSerializer.string(mapping).write(toFile: mappingFile, atomically: true, encoding: .utf8)
        let set = try runTool("scimctl", ["mapping", "set", "Acme", mappingFile], environment: env)
        #expect(set.status == 0, "\(set.stderr)")
        let posted = try RawSocket(path: daemon.socket).json(
            #"{"jsonrpc":"2.0","id":1,"method":"scim.handle","params":{"method":"POST","path":"/Users","connection":"Acme","body":"{\"userName\":\"m@example.com\",\"group\":\"Managers\",\"emails\":[{\"value\":\"m@example.com\",\"primary\":true}]}"}}"#)
        #expect(posted["result"]?["status"] == 201, "\(posted)")
        let warnings = try runTool("scimctl", ["warnings", "Acme"], environment: env)
        #expect(warnings.stdout.contains("group"))
        // A user without an email misses two properties; --property shows only the one asked for.
        let bare = try RawSocket(path: daemon.socket).json(
            #"{"jsonrpc":"2.0","id":2,"method":"scim.handle","params":{"method":"POST","path":"/Users","connection":"Acme","body":"{\"userName\":\"bare\"}"}}"#)
        #expect(bare["result"]?["status"] == 201, "\(bare)")
        let listed = try runTool("scimctl", ["warnings", "Acme", "--list", "--property", "group"], environment: env)
        #expect(listed.status == 0, "\(listed.stderr)")
        let listedRows = listed.stdout.split(separator: "\n").filter { $0.contains("bare") || $0.contains("m@example.com") }
        #expect(listedRows.count == 2 && listedRows.allSatisfy { $0.contains(" group ") }, "\(listed.stdout)")
        let onlyEmail = try runTool("scimctl", ["warnings", "Acme", "--property", "email"], environment: env)
        #expect(onlyEmail.stdout.contains("email") && !onlyEmail.stdout.contains(" group "), "\(onlyEmail.stdout)")
        let both = try runTool("scimctl", ["warnings", "Acme", "--list"], environment: env)
        #expect(both.stdout.split(separator: "\n").filter { $0.contains("bare") }.count == 2, "\(both.stdout)")
        let suggest = try runTool("scimctl", ["mapping", "suggest", "Acme", "group"], environment: env)
        #expect(suggest.stdout.contains("add-fallback Acme group 'group'"), "\(suggest.stdout)")
        let add = try runTool("scimctl", ["mapping", "add-fallback", "Acme", "group", "group"], environment: env)
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("Warnings resolved: 1 (group 1)"), "\(add.stdout)")  // bare sends no group either way
        // What "changed" counts is said: here a value was gained and a warning resolved on one user.
        #expect(add.stdout.contains("; 1 with changed values or warnings."), "\(add.stdout)")
        let show = try runTool("scimctl", ["users", "show", "Acme", "m@example.com"], environment: env)
        #expect(show.stdout.contains("Open warnings (0)"))
        #expect(show.stdout.contains("Managers"))
        let bad = try runTool("scimctl", ["mapping", "add-fallback", "Acme", "group", "name..x"], environment: env)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("invalid_mapping"))
    }
}

@Suite(.serialized) struct SecurityEndToEndTests {
    @Test func secretsNeverReachTheDatabaseOrTheLog() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--log-level", "trace"])
        let created = try await daemon.client { try await $0.createConnection(name: "Secrets") }
        let password = "Pa55-\(UUID().uuidString)"
        let statuses = try await daemon.client { client -> [Int] in
            let made = try await client.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"],
                body: #"{"userName":"s@example.com","password":"\#(password)"}"#)
            let id = try JSONParser().parse(made.body ?? "{}")["id"]?.stringValue ?? ""
            let patched = try await client.handleSCIM(
                method: "PATCH", path: "/Users/\(id)", headers: ["Authorization": "Bearer \(created.token)"],
                body: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"\#(password)"}]}"#)
            let put = try await client.handleSCIM(
                method: "PUT", path: "/Users/\(id)", headers: ["Authorization": "Bearer \(created.token)"],
                body: #"{"userName":"s@example.com","password":"\#(password)"}"#)
            let refused = try await client.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(created.token)x"])
            return [made.status, patched.status, put.status, refused.status]
        }
        // The password went through every kind of write (and a wrong token was logged as refused).
        #expect(statuses == [201, 200, 200, 401])
        #expect(daemon.stop() == 0)
        for file in [daemon.database, daemon.database + "-wal", daemon.logFile] {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            #expect(!text.contains(password), "\(file) contains the password")
            #expect(!text.contains(created.token), "\(file) contains the token")
        }
        #expect(FileManager.default.contents(atPath: daemon.logFile)?.isEmpty == false, "the log was written")
    }

    @Test func refusesASocketInAWorldWritableDirectoryWithoutStickyBit() throws {
        let daemon = try Daemon()
        let open = daemon.directory.appendingPathComponent("open")
        try FileManager.default.createDirectory(at: open, withIntermediateDirectories: true)
        chmod(open.path, 0o777)
        let result = try runTool("scimd", ["--socket", open.appendingPathComponent("s.sock").path, "--database", daemon.database])
        #expect(result.status != 0)
        #expect(result.stderr.contains("world-writable"))
        chmod(open.path, 0o1777)  // with the sticky bit it is fine (like /tmp)
        let p = Process()
        p.executableURL = Daemon.binaries.appendingPathComponent("scimd")
        p.arguments = ["--socket", open.appendingPathComponent("s.sock").path, "--database", daemon.database]
        try p.run()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        var answered = false
        for _ in 0..<200 where !answered {
            answered = (try? RawSocket(path: open.appendingPathComponent("s.sock").path)) != nil
            if !answered { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(answered)
    }
}

@Suite(.serialized) struct DatabaseLockEndToEndTests {
    @Test func aSecondDaemonOnTheSameDatabaseRefusesAndLeavesNoFiles() throws {
        let daemon = try Daemon()
        try daemon.start()
        let other = daemon.directory.appendingPathComponent("other.sock").path
        let second = try runTool("scimd", ["--socket", other, "--database", daemon.database])
        #expect(second.status != 0)
        #expect(second.stderr.contains("in use by another scimd"))
        #expect(!FileManager.default.fileExists(atPath: other))
        // Refused for its socket: no database files appear.
        let otherDB = daemon.directory.appendingPathComponent("other.sqlite").path
        let third = try runTool("scimd", ["--socket", daemon.socket, "--database", otherDB])
        #expect(third.status != 0)
        #expect(!FileManager.default.fileExists(atPath: otherDB))
    }

    @Test func connectionParamNeverOverridesAToken() async throws {
        let daemon = try Daemon()
        try daemon.start(logLevel: "notice")
        let a = try await daemon.client { try await $0.createConnection(name: "A") }
        let b = try await daemon.client { try await $0.createConnection(name: "B") }
        let statuses = try await daemon.client { client -> [Int] in
            [
                try await client.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer nope"], connection: "A").status,
                try await client.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(b.token)"], connection: "A").status,
                try await client.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(a.token)"], connection: "A").status,
                try await client.handleSCIM(method: "GET", path: "/Users", connection: "A").status,
            ]
        }
        #expect(statuses == [401, 401, 200, 200])
        // The refusal of another connection's valid token says so, not "invalid bearer token".
        let mismatched = try await daemon.client {
            try await $0.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(b.token)"], connection: "A")
        }
        let detail = try JSONParser().parse(mismatched.body ?? "")["detail"]?.stringValue
        #expect(detail == "the bearer token belongs to another connection than 'A'", "\(detail ?? "")")
        #expect(daemon.log.contains("reason=token_of_another_connection"), "\(daemon.log)")
    }
}

@Suite(.serialized) struct ReplayLoggedRequestsTests {
    @Test func aLoggedRequestReplaysOnAnotherConnection() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let source = try await daemon.client { try await $0.createConnection(name: "Source") }
        _ = try await daemon.client { try await $0.createConnection(name: "Target") }
        let posted = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(source.token)", "Content-Type": "application/json"],
                body: #"{"userName":"logged@example.com"}"#)
        }
        #expect(posted.status == 201)
        let logged = try await daemon.client { try await $0.listRequests(.init(connection: "Source")) }.requests
        #expect(logged.count == 1)
        let id = try #require(logged.first?.id)
        let shown = try runTool("scimctl", ["requests", "show", "\(id)", "--json"], environment: env)
        let file = daemon.directory.appendingPathComponent("logged.json").path
        try shown.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let replay = try runTool("scimctl", ["replay", file, "--connection", "Target"], environment: env)
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.contains("201"))
        let target = try await daemon.client { try await $0.connection("Target") }
        #expect(target.users == 1)
        let notAScenario = daemon.directory.appendingPathComponent("x.json").path
        try #"{"hello":1}"#.write(toFile: notAScenario, atomically: true, encoding: .utf8)
        let bad = try runTool("scimctl", ["replay", notAScenario, "--connection", "Target"], environment: env)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("expected a scenario"))
    }
}
