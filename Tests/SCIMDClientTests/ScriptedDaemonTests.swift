import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import SCIMDClient

/// A stand-in for scimd on a Unix socket that follows a script: it accepts connections one after
/// another and hands each to the script, which reads the client's lines and writes answers and
/// notifications. The script runs on a thread of its own (blocking socket calls must not occupy
/// Swift's cooperative pool); ``finished()`` waits for it.
final class ScriptedDaemon: Sendable {
    let path: String
    private let directory: String
    private let listener: Int32
    private let done = NIOLockedValueBox<(finished: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// One accepted connection: blocking line reads (10 s receive timeout) and writes.
    final class Connection {
        let fd: Int32
        private var buffer: [UInt8] = []
        init(fd: Int32) {
            self.fd = fd
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd) }

        /// The next JSON message the client sent, or nil when it closed (or sent nothing for 10 s).
        func read() -> JSONValue? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    return try? JSONParser().parse(bytes: line)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 { return nil }
                buffer += chunk[..<n]
            }
        }

        func send(_ message: JSONValue) {
            let bytes = Array(JSONSerializer.string(message).utf8) + [UInt8(ascii: "\n")]
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        func answer(_ request: JSONValue, _ result: JSONValue) {
            send(["jsonrpc": "2.0", "id": request["id"] ?? .null, "result": result])
        }

        func event(_ subscription: String, _ sequence: Int) {
            send([
                "jsonrpc": "2.0", "method": "events.event",
                "params": [
                    "subscription": .string(subscription),
                    "event": [
                        "sequence": .int(sequence), "at": "2026-11-30T00:00:00Z", "type": "user.created",
                        "connection": "c", "data": [:],
                    ],
                ],
            ])
        }
    }

    /// Starts listening and runs `script` with each of `connections` accepted connections in turn.
    init(connections: Int, script: @escaping @Sendable (Int, Connection) -> Void) throws {
        directory = "/tmp/scimd-client-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/s.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        let done = self.done
        Thread.detachNewThread {
            for index in 0..<connections {
                let accepted = accept(fd, nil, nil)
                if accepted < 0 { break }
                script(index, Connection(fd: accepted))
            }
            let waiter = done.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.finished = true
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Waits until the script has run for every connection.
    func finished() async {
        await withCheckedContinuation { continuation in
            let now = done.withLockedValue { state -> Bool in
                if state.finished { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    deinit {
        close(listener)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

// A hang guard, not a speed requirement: a stream that never resumes would otherwise wait forever.
@Suite(.timeLimit(.minutes(2))) struct ScriptedDaemonTests {
    /// `events.dropped`: the client subscribes again after the last event it delivered, ignores the
    /// old subscription's stragglers and the new one's repeats.
    @Test func aDroppedSubscriptionResumesAfterTheLastDeliveredEventWithoutDuplicates() async throws {
        let afters = NIOLockedValueBox<[Int?]>([])
        let daemon = try ScriptedDaemon(connections: 1) { _, connection in
            guard let first = connection.read() else { return }
            afters.withLockedValue { $0.append(first["params"]?["after"]?.intValue) }
            connection.answer(first, ["subscription": "s1", "after": 0])
            for sequence in 1...3 { connection.event("s1", sequence) }
            connection.send(["jsonrpc": "2.0", "method": "events.dropped", "params": ["subscription": "s1", "reason": "slow", "resumeAfter": 3]])
            guard let second = connection.read() else { return }
            afters.withLockedValue { $0.append(second["params"]?["after"]?.intValue) }
            connection.event("s1", 7)  // from the dropped subscription: not this stream's any more
            connection.answer(second, ["subscription": "s2", "after": 3])
            for sequence in [3, 4, 5] { connection.event("s2", sequence) }
            _ = connection.read()  // until the client goes
        }
        let client = SCIMDClient(socketPath: daemon.path, configuration: .init(timeout: .seconds(30)))
        let stream = try await client.subscribeEvents(EventSelection(after: 0))
        var delivered: [Int] = []
        for try await event in stream {
            delivered.append(event.sequence)
            if delivered.count == 5 { break }
        }
        await client.shutdown()
        await daemon.finished()
        #expect(delivered == [1, 2, 3, 4, 5])
        #expect(afters.withLockedValue { $0 } == [0, 3])
    }

    /// A new connection after the old one ended: subscribed again after the last delivered event.
    @Test func aStreamResumesOnTheNextConnectionAfterTheLastDeliveredEvent() async throws {
        let afters = NIOLockedValueBox<[Int?]>([])
        let daemon = try ScriptedDaemon(connections: 2) { index, connection in
            guard let request = connection.read() else { return }
            afters.withLockedValue { $0.append(request["params"]?["after"]?.intValue) }
            connection.answer(request, ["subscription": .string("s\(index)"), "after": request["params"]?["after"] ?? 0])
            if index == 0 {
                for sequence in 1...2 { connection.event("s0", sequence) }
                return  // the connection closes: scimd went away
            }
            for sequence in [2, 3] { connection.event("s1", sequence) }
            _ = connection.read()
        }
        let client = SCIMDClient(socketPath: daemon.path, configuration: .init(timeout: .seconds(30)))
        let stream = try await client.subscribeEvents(EventSelection(after: 0))
        var delivered: [Int] = []
        for try await event in stream {
            delivered.append(event.sequence)
            if delivered.count == 3 { break }
        }
        await client.shutdown()
        await daemon.finished()
        #expect(delivered == [1, 2, 3])
        #expect(afters.withLockedValue { $0 } == [0, 2])
    }

    /// A call written before the connection dropped fails with `connectionClosed` and is not
    /// sent again: the next connection's first request is the next call's.
    @Test func aCallInFlightWhenTheConnectionDropsFailsAndIsNotResent() async throws {
        let methods = NIOLockedValueBox<[String]>([])
        let daemon = try ScriptedDaemon(connections: 2) { index, connection in
            guard let request = connection.read() else { return }
            methods.withLockedValue { $0.append(request["method"]?.stringValue ?? "?") }
            if index == 0 { return }  // read, not answered, connection closed
            connection.answer(request, ["status": "ok", "version": "test", "uptimeSeconds": 1])
            _ = connection.read()
        }
        let client = SCIMDClient(socketPath: daemon.path, configuration: .init(timeout: .seconds(30)))
        do {
            _ = try await client.linkUser("acme", user: "alice", appUserId: "42")
            Issue.record("an unanswered call succeeded")
        } catch SCIMDClientError.connectionClosed {}
        #expect(try await client.health().status == "ok")
        await client.shutdown()
        await daemon.finished()
        #expect(methods.withLockedValue { $0 } == ["users.link", "system.health"])
    }

    /// A line over `maximumResponseLength` fails the call with why, not "connection closed".
    @Test func aResponseLongerThanTheLimitFailsTheCallClearly() async throws {
        let daemon = try ScriptedDaemon(connections: 1) { _, connection in
            guard let request = connection.read() else { return }
            connection.answer(request, ["status": .string(String(repeating: "x", count: 200)), "version": "t", "uptimeSeconds": 1])
            _ = connection.read()
        }
        let client = SCIMDClient(socketPath: daemon.path, configuration: .init(timeout: .seconds(30), maximumResponseLength: 64))
        do {
            _ = try await client.health()
            Issue.record("a response over the limit was accepted")
        } catch SCIMDClientError.invalidResponse(let detail) {
            #expect(detail.contains("64 bytes"), "\(detail)")
        }
        await client.shutdown()
        await daemon.finished()
    }

    /// A batch goes out as one line and its answers come back in the order of its params, each a
    /// result or its own error.
    @Test func aBatchIsOneLineAndItsAnswersKeepTheirOrder() async throws {
        let daemon = try ScriptedDaemon(connections: 1) { _, connection in
            guard let batch = connection.read(), let requests = batch.arrayValue, requests.count == 2 else { return }
            // Answered in reverse order, one of them with an error.
            connection.send([
                ["jsonrpc": "2.0", "id": requests[1]["id"] ?? .null, "error": ["code": -32004, "message": "no such user", "data": ["kind": "not_found"]]],
                ["jsonrpc": "2.0", "id": requests[0]["id"] ?? .null, "result": ["id": "u1", "userName": "a", "appUserId": "1"]],
            ])
            _ = connection.read()
        }
        let client = SCIMDClient(socketPath: daemon.path, configuration: .init(timeout: .seconds(30)))
        let results = try await client.callBatch(UsersLink.self, [
            .init(connection: "acme", user: "a", appUserId: "1"), .init(connection: "acme", user: "b", appUserId: "2"),
        ])
        await client.shutdown()
        await daemon.finished()
        #expect(try results[0].get().id == "u1")
        #expect(throws: RPCError.self) { try results[1].get() }
    }
}
