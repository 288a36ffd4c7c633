import Foundation
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore

/// What `system.health`, the HTTP listener's `/healthz` and the systemd watchdog decide from.
///
/// A probe (``probe()``, run every few seconds by the daemon's health service) asks the state owner
/// to answer and the database to answer a read, and measures the free space where the database
/// lives. ``checks(now:)`` reports the last probe's findings, the store's own view of its writes
/// (a full disk, a failed commit), and — the point of the design — a probe that is still waiting:
/// a wedged actor or database never answers, so its check fails once the probe has waited past
/// `deadline`, without anyone having to wait for it. Nothing here blocks.
public final class HealthMonitor: Sendable {
    /// How long the state owner and the database may take to answer a probe.
    public let deadline: Duration
    /// Free bytes below which the `disk` check fails (the database's file system).
    public let minimumFreeBytes: Int64

    private let service: SCIMDService
    private let state = NIOLockedValueBox(State())
    /// How a probe asks the state owner and the database to answer (replaceable for tests that
    /// need a part to hang).
    private let askStateOwner: @Sendable () async -> Void
    private let askDatabase: @Sendable () async throws -> Void

    private struct State {
        /// When the current probe of each part started, while it waits for its answer.
        var stateProbeStarted: ContinuousClock.Instant? = nil
        var databaseProbeStarted: ContinuousClock.Instant? = nil
        /// The last finished probe's findings: nil = passed, else why it failed.
        var stateFailure: String?? = .none
        var databaseFailure: String?? = .none
        var freeBytes: Int64? = nil
    }

    /// - Parameters:
    ///   - deadline: how long a probe may wait for the state owner or the database (default 5 s).
    ///   - minimumFreeBytes: the `disk` check fails below this (default 64 MiB).
    public convenience init(service: SCIMDService, deadline: Duration = .seconds(5), minimumFreeBytes: Int64 = 64 * 1024 * 1024) {
        self.init(
            service: service, deadline: deadline, minimumFreeBytes: minimumFreeBytes, askStateOwner: { await service.ping() },
            askDatabase: { try await service.store.probeRead() })
    }

    /// For tests: `askStateOwner` and `askDatabase` stand in for the real questions.
    init(
        service: SCIMDService, deadline: Duration, minimumFreeBytes: Int64, askStateOwner: @escaping @Sendable () async -> Void,
        askDatabase: @escaping @Sendable () async throws -> Void
    ) {
        self.service = service
        self.deadline = deadline
        self.minimumFreeBytes = minimumFreeBytes
        self.askStateOwner = askStateOwner
        self.askDatabase = askDatabase
    }

    /// Asks the state owner and the database to answer, and measures free disk space. Waits as long
    /// as they take (a wedged part keeps it waiting; ``checks(now:)`` reports that meanwhile).
    public func probe() async {
        state.withLockedValue { $0.stateProbeStarted = .now }
        await askStateOwner()
        state.withLockedValue {
            $0.stateProbeStarted = nil
            $0.stateFailure = .some(nil)
        }

        state.withLockedValue { $0.databaseProbeStarted = .now }
        let databaseFailure: String?
        do {
            try await askDatabase()
            databaseFailure = nil
        } catch is CancellationError {
            // The daemon is stopping (a listener that could not bind stops it at once): no answer
            // about the database, which must not be reported as failing.
            state.withLockedValue { $0.databaseProbeStarted = nil }
            return
        } catch {
            databaseFailure = "the database did not answer a read: \(error)"
        }
        let free = Self.freeBytes(atDirectoryOf: service.store.path)
        state.withLockedValue {
            $0.databaseProbeStarted = nil
            $0.databaseFailure = .some(databaseFailure)
            $0.freeBytes = free
        }
    }

    /// The checks, as of `now`: `state`, `database`, `storage` (writes commit; failing while the
    /// disk is full or after a failed commit) and `disk` (free space). A part not probed yet is ok
    /// unless its first probe has waited past the deadline.
    public func checks(now: ContinuousClock.Instant = .now) -> [HealthCheck] {
        let snapshot = state.withLockedValue { $0 }
        var checks: [HealthCheck] = []
        func waited(_ started: ContinuousClock.Instant?) -> Duration? {
            guard let started, now - started > deadline else { return nil }
            return now - started
        }
        if let waited = waited(snapshot.stateProbeStarted) {
            checks.append(HealthCheck(name: "state", status: "failing", detail: "the state owner has not answered for \(Self.seconds(waited))"))
        } else if case .some(.some(let failure)) = snapshot.stateFailure {
            checks.append(HealthCheck(name: "state", status: "failing", detail: failure))
        } else {
            checks.append(HealthCheck(name: "state", status: "ok"))
        }
        if let waited = waited(snapshot.databaseProbeStarted) {
            checks.append(HealthCheck(name: "database", status: "failing", detail: "the database has not answered a read for \(Self.seconds(waited))"))
        } else if case .some(.some(let failure)) = snapshot.databaseFailure {
            checks.append(HealthCheck(name: "database", status: "failing", detail: failure))
        } else {
            checks.append(HealthCheck(name: "database", status: "ok"))
        }
        checks.append(contentsOf: service.healthChecks())
        if let free = snapshot.freeBytes, free < minimumFreeBytes {
            checks.append(
                HealthCheck(
                    name: "disk", status: "failing",
                    detail: "\(free / 1_048_576) MiB free where the database lives, below \(minimumFreeBytes / 1_048_576) MiB"))
        } else {
            checks.append(HealthCheck(name: "disk", status: "ok"))
        }
        return checks
    }

    /// Whether every check passes.
    public func isHealthy(now: ContinuousClock.Instant = .now) -> Bool {
        checks(now: now).allSatisfy { $0.status == "ok" }
    }

    /// Whether the daemon is alive: the state owner and the database answer. The systemd watchdog
    /// follows this, not ``isHealthy(now:)``: a restart helps a wedged daemon, but it cannot free
    /// disk space, and it would cut off the reads a daemon with a full disk still serves.
    public func isAlive(now: ContinuousClock.Instant = .now) -> Bool {
        checks(now: now).allSatisfy { $0.status == "ok" || !["state", "database"].contains($0.name) }
    }

    /// Free bytes available to scimd on the file system holding `path`; nil if it cannot be read.
    static func freeBytes(atDirectoryOf path: String) -> Int64? {
        let directory = (path as NSString).deletingLastPathComponent
        var info = statvfs()
        guard statvfs(directory.isEmpty ? "." : directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    static func seconds(_ duration: Duration) -> String {
        "\(duration.components.seconds) s"
    }
}

extension SCIMDService {
    /// Answers at once: the health monitor's proof that the actor is not wedged.
    func ping() {}
}
