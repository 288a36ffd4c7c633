import Foundation
import SCIMDProtocol
@testable import SCIMDService
import Testing

/// `system.health`'s checks: a part that stops answering fails its check once the probe has waited
/// past the deadline, without anyone waiting for it; the watchdog follows only liveness.
@Suite struct HealthMonitorTests {
    /// A question that does not answer until `open()`.
    final class Gate: Sendable {
        let stream: AsyncStream<Void>
        let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream.makeStream() }
        func wait() async { for await _ in stream { return } }
        func open() { continuation.yield(); continuation.finish() }
    }

    func status(_ checks: [HealthCheck], _ name: String) -> String? { checks.first { $0.name == name }?.status }

    @Test func aWedgedStateOwnerFailsItsCheckAfterTheDeadline() async throws {
        let f = try ServiceFixture()
        let gate = Gate()
        let monitor = HealthMonitor(
            service: f.service, deadline: .seconds(2), minimumFreeBytes: 0, askStateOwner: { await gate.wait() }, askDatabase: {})
        async let probe: Void = monitor.probe()
        // Give the probe time to start waiting; then look from 10 s in the future.
        let giveUp = ContinuousClock.now + .seconds(60)  // a deadline for a loaded machine; the loop ends once the check fails
        while monitor.checks(now: .now + .seconds(10)).allSatisfy({ $0.status == "ok" }) && ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(5))
        }
        let later = monitor.checks(now: .now + .seconds(10))
        #expect(status(later, "state") == "failing")
        #expect(later.first { $0.name == "state" }?.detail?.contains("has not answered") == true)
        #expect(!monitor.isAlive(now: .now + .seconds(10)))
        // Within the deadline it is not yet a failure.
        #expect(status(monitor.checks(), "state") == "ok")
        gate.open()
        await probe
        #expect(monitor.isHealthy())
        #expect(monitor.isAlive(now: .now + .seconds(10)))
    }

    @Test func aDatabaseThatFailsItsReadIsReported() async throws {
        let f = try ServiceFixture()
        struct Broken: Error {}
        let monitor = HealthMonitor(service: f.service, deadline: .seconds(2), minimumFreeBytes: 0, askStateOwner: {}, askDatabase: { throw Broken() })
        await monitor.probe()
        #expect(status(monitor.checks(), "database") == "failing")
        #expect(!monitor.isAlive())
    }

    @Test func lowDiskSpaceDegradesButDoesNotStopTheWatchdog() async throws {
        let f = try ServiceFixture()
        let monitor = HealthMonitor(service: f.service, minimumFreeBytes: Int64.max)
        await monitor.probe()
        let checks = monitor.checks()
        #expect(status(checks, "disk") == "failing")
        #expect(status(checks, "state") == "ok" && status(checks, "database") == "ok" && status(checks, "storage") == "ok")
        #expect(!monitor.isHealthy())
        #expect(monitor.isAlive())
    }

    @Test func theRealProbePasses() async throws {
        let f = try ServiceFixture()
        let monitor = HealthMonitor(service: f.service, minimumFreeBytes: 0)
        await monitor.probe()
        #expect(monitor.checks().map(\.name) == ["state", "database", "storage", "disk"])
        #expect(monitor.isHealthy())
    }
}
