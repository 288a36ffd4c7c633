import Foundation
import Testing

@testable import SCIMDClient

/// A Unix socket that accepts connections (the kernel's backlog does, without `accept`) and
/// never answers: a daemon that hangs. Removed with its directory on deinit.
final class SilentSocket {
    let path: String
    private let directory: String
    private let fd: Int32

    init() throws {
        directory = "/tmp/scimd-client-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = directory + "/s.sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit {
        close(fd)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

// A hang guard, not a speed requirement: a call that ignored its timeout or cancellation would wait forever.
@Suite(.timeLimit(.minutes(2))) struct ClientBehaviourTests {
    @Test func aCallThatGetsNoAnswerTimesOutWithTheClientDefault() async throws {
        let silent = try SilentSocket()
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: .milliseconds(200)))
        try await client.connect()  // so that the timeout is the answer's, not the connection's
        do {
            _ = try await client.health()
            Issue.record("a silent daemon answered")
        } catch SCIMDClientError.timedOut(let method, let after) {
            #expect(method == "system.health")
            #expect(after == .milliseconds(200))
        }
        #expect(client.pendingCallCount == 0)
        await client.shutdown()
    }

    @Test func aPerCallTimeoutOverridesTheDefault() async throws {
        let silent = try SilentSocket()
        // No default limit: only the call's own timeout can end it.
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: nil))
        try await client.connect()
        do {
            _ = try await client.callRaw("system.version", params: [:], timeout: .milliseconds(100))
            Issue.record("a silent daemon answered")
        } catch SCIMDClientError.timedOut(let method, let after) {
            #expect(method == "system.version")
            #expect(after == .milliseconds(100))
        }
        #expect(client.pendingCallCount == 0)
        await client.shutdown()
    }

    @Test func aCancelledCallThrowsCancellationErrorAndLeavesNothingBehind() async throws {
        let silent = try SilentSocket()
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: nil))
        try await client.connect()
        let outcome = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    _ = try await client.health()
                    return nil
                } catch {
                    return error
                }
            }
            // Cancel only once the call is registered (and so written to the silent socket).
            while client.pendingCallCount == 0 { await Task.yield() }
            group.cancelAll()
            return await group.next()!
        }
        #expect(outcome is CancellationError, "\(String(describing: outcome))")
        #expect(client.pendingCallCount == 0)
        await client.shutdown()
    }

    @Test func aCallInACancelledTaskIsNeverSent() async throws {
        let silent = try SilentSocket()
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: nil))
        let outcome = await withTaskGroup(of: (any Error)?.self) { group in
            group.cancelAll()
            group.addTask {
                do {
                    _ = try await client.health()
                    return nil
                } catch {
                    return error
                }
            }
            return await group.next()!
        }
        #expect(outcome is CancellationError, "\(String(describing: outcome))")
        #expect(client.pendingCallCount == 0)
        await client.shutdown()
    }

    @Test func connectFailsFastWhenNothingIsThere() async throws {
        let client = SCIMDClient(socketPath: "/tmp/scimd-client-absent-\(UUID().uuidString.prefix(8)).sock")
        do {
            try await client.connect()
            Issue.record("connected to nothing")
        } catch SCIMDClientError.daemonUnavailable(_, let reason) {
            #expect(reason == "no socket at that path")
        }
        await client.shutdown()
    }

    @Test func aCallWaitingForAnAbsentDaemonFailsWithWhyAtItsTimeout() async throws {
        let path = "/tmp/scimd-client-absent-\(UUID().uuidString.prefix(8)).sock"
        // Long enough for the first attempt (immediate) to fail even on a loaded machine.
        let client = SCIMDClient(socketPath: path, configuration: .init(timeout: .seconds(2)))
        do {
            _ = try await client.health()
            Issue.record("a call to nothing succeeded")
        } catch SCIMDClientError.daemonUnavailable(let socket, let reason) {
            #expect(socket == path)
            #expect(reason == "no socket at that path")
        }
        #expect(client.pendingCallCount == 0)
        await client.shutdown()
    }

    @Test func withConnectionToNothingThrowsDaemonUnavailable() async throws {
        do {
            _ = try await SCIMDClient.withConnection(socketPath: "/tmp/scimd-client-absent.sock") { try await $0.health() }
            Issue.record("connected to nothing")
        } catch SCIMDClientError.daemonUnavailable(let socket, _) {
            #expect(socket == "/tmp/scimd-client-absent.sock")
        }
    }

    @Test func shutdownFailsTheCallsInProgressAndEveryLaterCall() async throws {
        let silent = try SilentSocket()
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: nil))
        try await client.connect()
        let outcome = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                do {
                    _ = try await client.health()
                    return nil
                } catch {
                    return error
                }
            }
            while client.pendingCallCount == 0 { await Task.yield() }
            await client.shutdown()
            return await group.next()!
        }
        guard case SCIMDClientError.shutDown? = outcome else {
            Issue.record("expected shutDown, got \(String(describing: outcome))")
            return
        }
        await #expect(throws: SCIMDClientError.self) { try await client.health() }
        #expect(client.pendingCallCount == 0)
    }

    @Test func aSubscriptionThatIsNeverAnsweredTimesOutAndIsNotKept() async throws {
        let silent = try SilentSocket()
        let client = SCIMDClient(socketPath: silent.path, configuration: .init(timeout: .milliseconds(100)))
        // The silent daemon never answers the subscribe: it times out and the stream is not returned.
        await #expect(throws: SCIMDClientError.self) { _ = try await client.subscribeEvents(EventSelection(after: 0)) }
        #expect(client.pendingCallCount == 0)
        #expect(client.subscriptionCount == 0)
        await client.shutdown()
    }
}

@Suite struct BackoffTests {
    @Test func theDelayDoublesFromTheInitialOneUpToTheCap() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0)
        #expect((1...6).map { backoff.delay(attempt: $0, random: 0.5) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
        // A long outage stays at the cap.
        #expect(backoff.delay(attempt: 10_000, random: 0) == .seconds(1))
    }

    @Test func jitterOnlyShortensTheDelayByAtMostItsFraction() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(1), jitter: 0.25)
        #expect(backoff.delay(attempt: 1, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 1, random: 1) == .milliseconds(750))
        #expect(backoff.delay(attempt: 1, random: 0.5) == .milliseconds(875))
    }

    @Test func outOfRangeSettingsAreClamped() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(4), multiplier: 0.5, jitter: 3)
        #expect(backoff.multiplier == 1)
        #expect(backoff.jitter == 1)
        #expect(backoff.delay(attempt: 5, random: 0) == .seconds(1))
    }
}
