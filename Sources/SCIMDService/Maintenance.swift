import Logging
import SCIMDStore

/// What one maintenance pass did (``SCIMDService/runMaintenance(everyConnection:)``).
public struct MaintenanceReport: Sendable, Equatable {
    /// Connections whose request log retention was applied.
    public var connectionsPruned: Int
    /// Steps that failed (each is logged; the next pass tries again).
    public var failures: Int
}

extension SCIMDService {
    /// Connections pruned per transaction: a pass over 1,000 connections costs 20 commits, and
    /// SCIM writes queued behind one wait for at most 50 small deletes.
    static let maintenanceBatch = 50

    /// Applies retention: each connection's request log (`requestLogMaxEntries`,
    /// `requestLogMaxAgeSeconds`, keeping every warning's example request), change-feed events
    /// older than `eventMaxAgeSeconds`, webhook delivery logs beyond 1,000 per endpoint, and held
    /// changes (confirm mode) past their time.
    ///
    /// `everyConnection`: prune every connection's log, not only those that logged requests since
    /// the previous pass (age-based retention of idle connections). Runs outside any SCIM request:
    /// the daemon's `MaintenanceService` calls it periodically. Never throws; a failed step is
    /// logged and counted, and the connections it skipped are tried again at the next pass.
    @discardableResult
    public func runMaintenance(everyConnection: Bool = false) async -> MaintenanceReport {
        let selected = everyConnection ? Set(connections.keys) : connectionsLoggedSinceMaintenance
        connectionsLoggedSinceMaintenance = []
        let ids = selected.filter { connections[$0] != nil }.sorted()
        let keep = configuration.requestLogMaxEntries
        let now = clock.now()
        let oldestRequest = now - Milliseconds(configuration.requestLogMaxAgeSeconds) * 1000
        let oldestEvent = now - Milliseconds(configuration.eventMaxAgeSeconds) * 1000
        var report = MaintenanceReport(connectionsPruned: 0, failures: 0)
        var start = 0
        while start < ids.count {
            let batch = Array(ids[start..<min(start + Self.maintenanceBatch, ids.count)])
            start += batch.count
            do {
                try await store.write { db in
                    for id in batch { try db.pruneRequestLog(connectionId: id, keep: keep, olderThan: oldestRequest) }
                }
                report.connectionsPruned += batch.count
            } catch {
                report.failures += 1
                connectionsLoggedSinceMaintenance.formUnion(batch)
                // A full disk is logged once per episode by the store.
                if !(error is StorageFullError) { logger.warning("maintenance: could not prune request logs", metadata: ["error": "\(error)"]) }
            }
        }
        do {
            try await store.write { db in
                try db.pruneEvents(olderThan: oldestEvent)
                try db.pruneWebhookDeliveries(keep: 1_000)
                try db.purgeExpiredCommits(now: now)
            }
        } catch {
            report.failures += 1
            if !(error is StorageFullError) {
                logger.warning(
                    "maintenance: could not prune events, webhook deliveries or expired held changes", metadata: ["error": "\(error)"])
            }
        }
        return report
    }
}
