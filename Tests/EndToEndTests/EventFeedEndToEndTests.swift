import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

@Suite(.serialized) struct EventFeedEndToEndTests {
    @Test func aSubscriberSeesChangesMadeOnAnotherSocketConnection() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let subscriber = try RawSocket(path: daemon.socket)
        let ack = try subscriber.json(#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"types":["user.*","connection.created"]}}"#)
        let subscription = try #require(ack["result"]?["subscription"]?.stringValue)
        let writer = try RawSocket(path: daemon.socket)
        _ = try writer.json(#"{"jsonrpc":"2.0","id":1,"method":"connections.create","params":{"name":"Feed"}}"#)
        _ = try writer.json(
            #"{"jsonrpc":"2.0","id":2,"method":"scim.handle","params":{"method":"POST","path":"/Users","connection":"Feed","body":"{\"userName\":\"feed@example.com\"}"}}"#)
        var types: [String] = []
        while types.count < 2, let line = subscriber.readLine() {
            let message = try JSONParser().parse(line)
            #expect(message["method"] == "events.event")
            #expect(message["id"] == nil, "pushed messages are notifications")
            #expect(message["params"]?["subscription"] == .string(subscription))
            types.append(message["params"]?["event"]?["type"]?.stringValue ?? "")
        }
        #expect(types == ["connection.created", "user.created"])
        // The subscriber's socket still answers requests.
        #expect(try subscriber.json(#"{"jsonrpc":"2.0","id":9,"method":"system.health"}"#)["id"] == 9)
    }

    @Test func theSwiftClientStreamsEventsAndResumesFromACursor() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Stream") }
        let events = try await daemon.client { client -> [EventInfo] in
            let stream = try await client.subscribeEvents(EventSelection(after: 0, types: ["user.created"]))
            try await SCIMDClient.withConnection(socketPath: daemon.socket) { other in
                for i in 0..<3 {
                    _ = try await other.handleSCIM(
                        method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"],
                        body: #"{"userName":"u\#(i)@example.com"}"#)
                }
            }
            var got: [EventInfo] = []
            for try await event in stream {
                got.append(event)
                if got.count == 3 { break }
            }
            return got
        }
        #expect(events.map { $0.data["userName"]?.stringValue ?? "" } == ["u0@example.com", "u1@example.com", "u2@example.com"])
        let resumed = try await daemon.client { try await $0.listEvents(.init(after: events[0].sequence, types: ["user.created"])) }
        #expect(resumed.events.map(\.sequence) == Array(events.dropFirst().map(\.sequence)))
    }

    @Test func aStalledSubscriberDoesNotHoldUpIngest() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Busy") }
        // Subscribes and never reads: its socket buffers fill, its stream blocks, nothing else may.
        let stalled = try RawSocket(path: daemon.socket)
        stalled.send(#"{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{}}"# + "\n")
        let body = String(repeating: "x", count: 2_000)
        let statuses = try await daemon.client { client -> [Int] in
            var statuses: [Int] = []
            for i in 0..<600 {
                let r = try await client.handleSCIM(
                    method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"],
                    body: #"{"userName":"bulk\#(i)@example.com","title":"\#(body)"}"#)
                statuses.append(r.status)
            }
            return statuses
        }
        #expect(statuses.allSatisfy { $0 == 201 })
        let info = try await daemon.client { try await $0.connection("Busy") }
        #expect(info.users == 600)
        // Shutdown does not wait forever for a client that never reads.
        let started = Date()
        daemon.process?.terminate()
        while daemon.process?.isRunning == true && Date().timeIntervalSince(started) < 60 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(daemon.process?.isRunning == false, "scimd still running 60 s after SIGTERM with a stalled subscriber")
        #expect(daemon.process?.terminationStatus == 0)
        withExtendedLifetime(stalled) {}
    }

    @Test func scimctlEventsListAndTail() throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        _ = try runTool("scimctl", ["connections", "create", "--name", "Tail"], environment: env)
        let list = try runTool("scimctl", ["events", "list"], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("connection.created"))
        // Lines name the connection, not its id.
        #expect(list.stdout.contains("connection.created  Tail"), "\(list.stdout)")
        let none = try runTool("scimctl", ["events", "list", "--types", "user.*"], environment: env)
        #expect(none.status == 0)
        #expect(none.stdout == "No events match.\n")
        // A cursor past anything the feed ever held is refused (another scimd's, or a restore).
        let beyond = try runTool("scimctl", ["events", "list", "--after", "1000"], environment: env)
        #expect(beyond.status == 1)
        #expect(beyond.stderr.contains("after 1000 is past the newest event this feed ever held"), "\(beyond.stderr)")
        let newest = try JSONParser().parse(try runTool("scimctl", ["events", "list", "--json"], environment: env).stdout)["latestSequence"]?.intValue ?? -1
        let atEnd = try runTool("scimctl", ["events", "list", "--after", "\(newest)"], environment: env)
        #expect(atEnd.stdout == "No events after \(newest) (the newest is \(newest)).\n", "\(atEnd.stdout)")
        // `get`, the RPC methods' verb, finds the `show` commands.
        let shown = try runTool("scimctl", ["connections", "get", "Tail"], environment: env)
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("Tail"))
        let typo = try runTool("scimctl", ["events", "list", "--types", "usr.*"], environment: env)
        #expect(typo.status != 0)
        #expect(typo.stderr.contains("'usr.*' selects no event type"))
        // tail --after 0 prints the backlog and keeps following; stop it after the first line.
        let p = Process()
        p.executableURL = Daemon.binaries.appendingPathComponent("scimctl")
        p.arguments = ["events", "tail", "--after", "0", "--json"]
        var environment = ProcessInfo.processInfo.environment
        environment["SCIMD_SOCKET"] = daemon.socket
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let handle = out.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n") && Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        p.terminate()
        p.waitUntilExit()
        let first = try JSONParser().parse(String(text.split(separator: "\n").first ?? ""))
        #expect(first["type"] == "connection.created")
    }
}

@Suite(.serialized) struct SSOEndToEndTests {
    @Test func scimctlResolvesLinksAndConfirms() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let created = try await daemon.client { try await $0.createConnection(name: "SSO") }
        _ = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"],
                body: #"{"userName":"sso@example.com"}"#)
        }
        let allow = try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=SSO@example.com"], environment: env)
        #expect(allow.status == 0, "\(allow.stderr)")
        #expect(allow.stdout.contains("allow"))
        let deny = try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=nobody@example.com"], environment: env)
        #expect(deny.status != 0)
        #expect(deny.stdout.contains("deny_not_provisioned"))
        let link = try runTool("scimctl", ["users", "link", "SSO", "sso@example.com", "app-42"], environment: env)
        #expect(link.status == 0, "\(link.stderr)")
        let json = try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=sso@example.com", "--json"], environment: env)
        #expect(json.status == 0)
        #expect(try JSONParser().parse(json.stdout)["user"]?["appUserId"] == "app-42")
        // With --json a denial still exits 1: scripts read the exit code.
        let deniedJSON = try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=nobody@example.com", "--json"], environment: env)
        #expect(deniedJSON.status == 1, "\(deniedJSON.stdout)")
        #expect(try JSONParser().parse(deniedJSON.stdout)["verdict"] == "deny_not_provisioned")
        // A disabled connection fails closed, and says why; enabled again, the login is allowed.
        let disable = try runTool("scimctl", ["connections", "update", "SSO", "--disable"], environment: env)
        #expect(disable.stdout.contains(": disabled."), "\(disable.stdout)")
        let closed = try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=sso@example.com"], environment: env)
        #expect(closed.status != 0)
        #expect(closed.stdout.contains("deny_deprovisioned") && closed.stdout.contains("connection_disabled"), "\(closed.stdout)")
        let enable = try runTool("scimctl", ["connections", "update", "SSO", "--enable"], environment: env)
        #expect(enable.stdout.contains(": enabled."), "\(enable.stdout)")
        #expect(try runTool("scimctl", ["sso", "resolve", "SSO", "--claim", "email=sso@example.com"], environment: env).status == 0)
        // Confirm mode through the real socket: held, then committed.
        let update = try runTool("scimctl", ["connections", "update", "SSO", "--confirm-mode"], environment: env)
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.contains("Confirm mode: on"), "\(update.stdout)")
        let held = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"], body: #"{"userName":"held@example.com"}"#)
        }
        #expect(held.status == 202)
        let commitId = try #require(held.actionRequired?.commitId)
        let committed = try await daemon.client { try await $0.commitSCIM(commitId) }
        #expect(committed.status == 201)
        // Off, it says only that: a hold timeout means nothing without confirm mode.
        let off = try runTool("scimctl", ["connections", "update", "SSO", "--no-confirm-mode"], environment: env)
        #expect(off.stdout.contains("Confirm mode: off") && !off.stdout.contains("wait"), "\(off.stdout)")
    }

    /// `--domain` through scimctl and the real daemon: a claim from another domain is refused with
    /// its reason; the local-part strategy is refused without domains.
    @Test func scimctlEmailDomainsRestrictSSO() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let created = try await daemon.client { try await $0.createConnection(name: "Dom") }
        _ = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"], body: #"{"userName":"mhopper"}"#)
        }
        let refused = try runTool("scimctl", ["connections", "update", "Dom", "--sso", "email_localpart_userName"], environment: env)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("domains"), "\(refused.stderr)")
        let update = try runTool(
            "scimctl", ["connections", "update", "Dom", "--sso", "email_localpart_userName", "--domain", "Example.com"], environment: env)
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.contains("Email domains: example.com"))
        let evil = try runTool("scimctl", ["sso", "resolve", "Dom", "--claim", "email=mhopper@evil.example.net"], environment: env)
        #expect(evil.status != 0)
        #expect(evil.stdout.contains("deny_not_provisioned") && evil.stdout.contains("domain_not_allowed"), "\(evil.stdout)")
        #expect(evil.stdout.contains("refused") && !evil.stdout.contains("looked up"), "\(evil.stdout)")
        let good = try runTool("scimctl", ["sso", "resolve", "Dom", "--claim", "email=mhopper@example.com"], environment: env)
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        let cleared = try runTool("scimctl", ["connections", "update", "Dom", "--clear-domains"], environment: env)
        #expect(cleared.status != 0)  // the local-part strategy still needs them
    }
}
