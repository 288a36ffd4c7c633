import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore

/// What one maintenance pass did (``SCIMDService/runMaintenance(everyConnection:)``).
public struct MaintenanceReport: Sendable, Equatable {
    /// Connections whose request log retention was applied.
    public var connectionsPruned: Int
    /// Steps that failed (each is logged; the next pass tries again).
    public var failures: Int
}

/// What ``SCIMDService/finishInterruptedRemaps()`` did.
public struct RemapRecoveryReport: Sendable, Equatable {
    /// Connections whose current mapping version was re-mapped again, to the end.
    public var remapped: Int
    /// Connections whose rows were all found on the current version already (now recorded).
    public var alreadyComplete: Int
    /// Connections that failed (each is logged; the next start tries again).
    public var failures: Int
}

extension SCIMDService {
    /// Finishes the re-maps that never recorded reaching every resource: a crash or SIGKILL in
    /// the middle of `mapping.set` (the new version was saved and is current, but some rows still
    /// hold values of the older one), a batch that failed (disk full), or catch-up passes cut
    /// short. For each connection whose current version has no `remappedAt`: if a stored
    /// resource says an older version, the connection is re-mapped with the current one (rows it
    /// leaves as they are are not written); if none does, the version is only recorded as
    /// complete. A connection with nothing unfinished costs one indexed read. Holds each
    /// connection's mapping gate, so it never interleaves with `mapping.set`. Never throws; a
    /// failure is logged, counted, and tried again at the next start. The daemon's
    /// `MaintenanceService` runs it once at start, in the background.
    @discardableResult
    public func finishInterruptedRemaps() async -> RemapRecoveryReport {
        var report = RemapRecoveryReport(remapped: 0, alreadyComplete: 0, failures: 0)
        for id in connections.keys.sorted() {
            do {
                try await serialized(Self.mappingGate(id)) {
                    guard connections[id] != nil else { return }
                    let mapping = activeMapping(id)
                    let unfinished = try await store.read { db -> Bool? in
                        guard let version = try db.unfinishedRemap(connectionId: id), version.version == mapping.version else { return nil }
                        return try db.hasResourcesMappedBefore(connectionId: id, version: mapping.version)
                    }
                    switch unfinished {
                    case nil:
                        return
                    case false?:
                        let now = clock.now()
                        try await store.write { db in try db.markRemapped(connectionId: id, version: mapping.version, at: now) }
                        report.alreadyComplete += 1
                    case true?:
                        logger.notice(
                            "finishing an interrupted re-map", metadata: ["connection": "\(id)", "version": "\(mapping.version)"])
                        let summary = try await remap(connectionId: id, with: mapping, write: true)
                        report.remapped += 1
                        if summary.resourcesChanged > 0 { eventNotifier.notify() }
                    }
                }
            } catch {
                report.failures += 1
                if !(error is StorageFullError) {
                    logger.warning("could not finish an interrupted re-map", metadata: ["connection": "\(id)", "error": "\(error)"])
                }
            }
        }
        return report
    }

    /// Connections pruned per transaction: a pass over 1,000 connections costs 20 commits, and
    /// SCIM writes queued behind one wait for at most 50 small deletes.
    static let maintenanceBatch = 50

    /// Expired change-feed events deleted per transaction: 10–20 ms of the writer's time on a
    /// 2-core machine with 3.5 million events stored (5,000 took 40–80 ms).
    static let eventPruneBatch = 2_000

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
        let logged = connectionsLoggedSinceMaintenance.withLockedValue { logged in
            defer { logged = [] }
            return logged
        }
        let selected = everyConnection ? Set(connections.keys) : logged
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
                connectionsLoggedSinceMaintenance.withLockedValue { $0.formUnion(batch) }
                // A full disk is logged once per episode by the store.
                if !(error is StorageFullError) { logger.warning("maintenance: could not prune request logs", metadata: ["error": "\(error)"]) }
            }
        }
        // Expired events go a bounded batch per transaction, so after a long stop (or a shorter
        // retention) deleting millions never holds the writer for long.
        var more = true
        while more {
            do {
                more = try await store.write { db in try db.pruneEvents(olderThan: oldestEvent, limit: Self.eventPruneBatch) }
                    == Self.eventPruneBatch
            } catch {
                report.failures += 1
                more = false
                if !(error is StorageFullError) { logger.warning("maintenance: could not prune events", metadata: ["error": "\(error)"]) }
            }
        }
        do {
            try await store.write { db in
                try db.pruneWebhookDeliveries(keep: 1_000)
                try db.purgeExpiredCommits(now: now)
            }
        } catch {
            report.failures += 1
            if !(error is StorageFullError) {
                logger.warning(
                    "maintenance: could not prune webhook deliveries or expired held changes", metadata: ["error": "\(error)"])
            }
        }
        return report
    }
}
