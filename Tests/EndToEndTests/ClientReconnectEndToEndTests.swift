import Foundation
@testable import SCIMDClient
import Testing

/// The long-lived client against real daemons that stop, restart and refuse.
// A hang guard, not a speed requirement: a stream that never resumes would otherwise wait forever.
@Suite(.timeLimit(.minutes(5))) struct ClientReconnectEndToEndTests {
    /// Creates `count` users through `scim.handle` on a scoped connection of its own.
    static func createUsers(_ daemon: Daemon, token: String, prefix: String, count: Int) async throws {
        try await daemon.client { client in
            for i in 0..<count {
                let response = try await client.handleSCIM(
                    method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(token)"],
                    body: #"{"userName":"\#(prefix)\#(i)@example.com"}"#)
                #expect(response.status == 201, "\(response)")
            }
        }
    }

    @Test func aClientCarriesOnAfterTheDaemonRestarts() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let client = SCIMDClient(socketPath: daemon.socket, configuration: .init(timeout: .seconds(60)))
        #expect(try await client.health().status == "ok")
        daemon.stop()
        try daemon.start()
        // The first call after the restart may be the one that finds the old connection gone.
        var answered = false
        for _ in 0..<3 where !answered {
            do {
                answered = try await client.health().status == "ok"
            } catch SCIMDClientError.connectionClosed {
                continue
            }
        }
        #expect(answered)
        await client.shutdown()
    }

    @Test func aCallMadeBeforeTheDaemonListensIsAnsweredOnceItDoes() async throws {
        let daemon = try Daemon()
        let client = SCIMDClient(socketPath: daemon.socket, configuration: .init(timeout: .seconds(120)))
        try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await client.health().status }
            // The call is waiting for a connection (the socket does not exist yet) when scimd starts.
            while client.pendingCallCount == 0 { await Task.yield() }
            try daemon.start()
            #expect(try await group.next() == "ok")
        }
        await client.shutdown()
    }

    /// Exactly-once delivery across restarts: the stream subscribes again after the last sequence
    /// it delivered, so the sequence numbers are contiguous and each is delivered once.
    @Test func anEventStreamResumesAcrossDaemonRestartsWithoutLossOrDuplicates() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Resume") }
        let client = SCIMDClient(socketPath: daemon.socket, configuration: .init(timeout: .seconds(60)))
        let start = try await client.listEvents(.init(after: 0, limit: 1)).latestSequence
        let stream = try await client.subscribeEvents(EventSelection(after: start))
        let rounds = 3
        let perRound = 20
        var iterator = stream.makeAsyncIterator()
        var delivered: [Int] = []
        for round in 0..<rounds {
            try await Self.createUsers(daemon, token: created.token, prefix: "r\(round)-", count: perRound)
            // Read part of this round's events, then restart scimd with the rest unread by us
            // (some already buffered by the client, some not yet pushed by scimd).
            for _ in 0..<(perRound / 2) {
                guard let event = try await iterator.next() else { break }
                delivered.append(event.sequence)
            }
            daemon.stop()
            try daemon.start()
        }
        let feed = try await daemon.client { try await $0.listEvents(.init(after: start, limit: 1000)).events.map(\.sequence) }
        #expect(feed.count >= rounds * perRound)
        while delivered.count < feed.count {
            guard let event = try await iterator.next() else { break }
            delivered.append(event.sequence)
        }
        // Every event of the feed, in order, each once.
        #expect(delivered == feed, "\(delivered)")
        await client.shutdown()
    }

    /// At --max-connections scimd refuses with `unavailable`: a reconnecting client passes that on
    /// to the call (it does not wait for a slot), and works once a slot is free.
    @Test func theConnectionLimitReachesAReconnectingClientsCall() async throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--max-connections", "1"])
        let holder = try await ScimctlConventionsTests.holdTheOnlySlot(daemon)
        let client = SCIMDClient(socketPath: daemon.socket, configuration: .init(timeout: .seconds(120)))
        do {
            _ = try await client.health()
            Issue.record("a client over --max-connections was served")
        } catch let error as RPCError {
            #expect(error.kind == "unavailable", "\(error)")
            #expect(error.message.contains("--max-connections"))
        }
        close(holder.fd)  // the slot is given back
        holder.fd = -1
        // The slot is free once scimd has seen the holder go; the refusal may repeat until then.
        var served = false
        for _ in 0..<100 where !served {
            do {
                served = try await client.health().status == "ok"
            } catch let error as RPCError where error.kind == "unavailable" {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(served)
        await client.shutdown()
    }

    /// `scimctl events tail` keeps following across a restart and prints every event once.
    @Test func scimctlEventsTailResumesAfterARestart() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Tail") }
        let output = daemon.directory.appendingPathComponent("tail.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let tail = Process()
        tail.executableURL = Daemon.binaries.appendingPathComponent("scimctl")
        tail.arguments = ["events", "tail", "--after", "0", "--socket", daemon.socket]
        let errors = daemon.directory.appendingPathComponent("tail.err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        tail.standardOutput = try FileHandle(forWritingTo: output)
        tail.standardError = try FileHandle(forWritingTo: errors)
        try tail.run()
        defer { if tail.isRunning { tail.terminate() } }
        func printedSequences() -> [Int] {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { Int($0.split(separator: " ").first ?? "") }
        }
        try await Self.createUsers(daemon, token: created.token, prefix: "a", count: 5)
        // scimd restarts only once tail follows it (a tail that cannot connect at all exits, by design).
        let before = try await daemon.client { try await $0.listEvents(.init(after: 0, limit: 1000)).events.count }
        for _ in 0..<600 where printedSequences().count < before {
            try await Task.sleep(for: .milliseconds(100))
        }
        daemon.stop()
        try daemon.start()
        try await Self.createUsers(daemon, token: created.token, prefix: "b", count: 5)
        let feed = try await daemon.client { try await $0.listEvents(.init(after: 0, limit: 1000)).events.map(\.sequence) }
        // Polls the file scimctl writes to (no clock asserted: the bound only stops a hung test).
        for _ in 0..<600 where printedSequences().count < feed.count {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(tail.isRunning, "scimctl events tail ended: \((try? String(contentsOf: errors, encoding: .utf8)) ?? "")")
        #expect(printedSequences() == feed)
    }
}
