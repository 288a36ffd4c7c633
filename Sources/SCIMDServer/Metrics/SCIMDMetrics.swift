import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDService
import SCIMDStore

import class Prometheus.PrometheusCollectorRegistry

/// scimd's metrics: what the transports record as requests are answered (through swift-metrics,
/// into a swift-prometheus registry) and the gauges computed from the daemon's state when
/// Prometheus scrapes (``render(from:)``).
///
/// Instrumentation sits at the edges: the JSON-RPC dispatcher (``rpcCall(method:outcome:duration:)``),
/// the SCIM engine's request observer (``scimRequest(_:)``, both doors), the HTTP listener
/// (``httpResponse(status:)``), the store's commit observer (``groupCommit(_:)``) and the event
/// feed's subscriptions (``subscriptionStarted()``). Everything that describes state — resources,
/// warnings, subscribers' lag, file sizes, memory — is read at scrape time from public queries,
/// so nothing in the service counts for metrics.
public final class SCIMDMetrics: Sendable {
    /// The collectors; `emitToBuffer()` renders the Prometheus text format.
    public let registry: PrometheusCollectorRegistry
    let factory: CatalogMetricsFactory
    /// Open subscriptions → the feed sequence each has read up to.
    private let subscriptions = NIOLockedValueBox<[UUID: Int64]>([:])
    /// The gauges the previous scrape set, so that those it no longer sets (a deleted connection)
    /// disappear instead of showing a stale value forever.
    private let scrapeGauges = NIOLockedValueBox<[GaugeKey: CoreMetrics.Gauge]>([:])
    /// Handles already made, by their label values: one lock and one lookup per request instead of
    /// a registry lookup (name and label validation, hashing) per metric. Bounded like the labels.
    private let requestHandles = NIOLockedValueBox<[[String]: (counter: CoreMetrics.Counter, timer: CoreMetrics.Timer)]>([:])

    /// Metrics in a registry of their own.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = CatalogMetricsFactory(registry: registry)
    }

    // MARK: recorded as it happens

    /// One JSON-RPC call answered: `method` is a registered method's name, `unknown` or `invalid`;
    /// `outcome` is `ok` or the error's kind.
    public func rpcCall(method: String, outcome: String, duration: Duration) {
        let handles = handles(["rpc", method, outcome]) {
            (
                CoreMetrics.Counter(
                    label: MetricsCatalog.rpcRequests.name, dimensions: [("method", method), ("outcome", outcome)], factory: factory),
                CoreMetrics.Timer(label: MetricsCatalog.rpcDuration.name, dimensions: [("method", method)], factory: factory)
            )
        }
        handles.counter.increment()
        handles.timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// The counter and timer for `key`, made by `make` the first time.
    private func handles(
        _ key: [String], make: () -> (CoreMetrics.Counter, CoreMetrics.Timer)
    ) -> (counter: CoreMetrics.Counter, timer: CoreMetrics.Timer) {
        requestHandles.withLockedValue { handles in
            if let existing = handles[key] { return existing }
            let made = make()
            handles[key] = made
            return made
        }
    }

    /// One SCIM request answered by the engine (``ServiceConfiguration/requestObserver``).
    public func scimRequest(_ request: SCIMRequestObservation) {
        let endpoint = Self.endpointLabel(request.endpoint)
        let method = Self.methodLabel(request.method)
        let connection = request.connection ?? "none"
        let statusClass = Self.statusClass(request.status)
        let handles = handles(["scim", connection, endpoint, method, statusClass]) {
            (
                CoreMetrics.Counter(
                    label: MetricsCatalog.scimRequests.name,
                    dimensions: [("connection", connection), ("endpoint", endpoint), ("method", method), ("status_class", statusClass)],
                    factory: factory),
                CoreMetrics.Timer(
                    label: MetricsCatalog.scimDuration.name, dimensions: [("endpoint", endpoint), ("method", method)], factory: factory)
            )
        }
        handles.counter.increment()
        handles.timer.recordNanoseconds(Self.nanoseconds(request.duration))
    }

    /// One response written by the SCIM HTTP listener.
    public func httpResponse(status: Int) {
        CoreMetrics.Counter(
            label: MetricsCatalog.httpResponses.name, dimensions: [("status_class", Self.statusClass(status))], factory: factory
        ).increment()
    }

    /// One SQLite group commit (``Store``'s commit observer).
    public func groupCommit(_ commit: GroupCommitObservation) {
        CoreMetrics.Timer(
            label: MetricsCatalog.commitDuration.name, dimensions: [("outcome", commit.committed ? "committed" : "failed")],
            factory: factory
        ).recordNanoseconds(Self.nanoseconds(commit.duration))
        CoreMetrics.Recorder(label: MetricsCatalog.commitWrites.name, dimensions: [], aggregate: true, factory: factory)
            .record(commit.writes)
    }

    /// An `events.subscribe` stream began at feed position `after`; returns its handle for
    /// ``subscriptionProgressed(_:readUpTo:)`` and ``subscriptionEnded(_:)``.
    public func subscriptionStarted(after: Int64) -> UUID {
        let id = UUID()
        subscriptions.withLockedValue { $0[id] = after }
        return id
    }

    /// The subscription has read the feed up to `readUpTo`.
    public func subscriptionProgressed(_ id: UUID, readUpTo: Int64) {
        subscriptions.withLockedValue { if $0[id] != nil { $0[id] = readUpTo } }
    }

    /// The subscription's stream ended (the client left, or it was dropped).
    public func subscriptionEnded(_ id: UUID) {
        _ = subscriptions.withLockedValue { $0.removeValue(forKey: id) }
    }

    // MARK: computed at scrape time

    /// Where scrape-time gauges come from: the service's public queries and the process.
    public struct Sources: Sendable {
        /// Every connection with its counts (`connections.list`).
        public var connections: @Sendable () async throws -> [ConnectionInfo]
        /// The newest event's sequence number (`events.list`'s `latestSequence`).
        public var latestEventSequence: @Sendable () async throws -> Int
        /// `system.health`'s checks, as they stand (never waits).
        public var healthChecks: @Sendable () -> [HealthCheck]
        /// JSON-RPC socket connections open now.
        public var openRPCConnections: @Sendable () -> Int
        /// The SQLite database file; its `-wal` lies beside it.
        public var databasePath: String
        /// What is in memory and `--memory-limit` (``SCIMDService/memoryResidency()``); nil: not reported.
        public var residency: (@Sendable () -> ReplicaResidency)?

        public init(
            connections: @escaping @Sendable () async throws -> [ConnectionInfo],
            latestEventSequence: @escaping @Sendable () async throws -> Int,
            healthChecks: @escaping @Sendable () -> [HealthCheck], openRPCConnections: @escaping @Sendable () -> Int,
            databasePath: String, residency: (@Sendable () -> ReplicaResidency)? = nil
        ) {
            self.residency = residency
            self.connections = connections
            self.latestEventSequence = latestEventSequence
            self.healthChecks = healthChecks
            self.openRPCConnections = openRPCConnections
            self.databasePath = databasePath
        }

        /// The sources of a running daemon.
        public static func scimd(
            service: SCIMDService, health: HealthMonitor, counters: TransportCounters, databasePath: String
        ) -> Sources {
            Sources(
                connections: { try await service.listConnections() },
                latestEventSequence: { try await service.latestEventSequence() },
                healthChecks: { health.checks() }, openRPCConnections: { counters.openConnections },
                databasePath: databasePath, residency: { service.memoryResidency() })
        }
    }

    /// Sets the scrape-time gauges from `sources`, then renders every metric in the Prometheus
    /// text format (version 0.0.4). A source that fails leaves its gauges out of this scrape
    /// rather than failing it (the rest is still worth having; the log says why).
    public func render(from sources: Sources, onError: @Sendable (String, any Error) -> Void = { _, _ in }) async -> [UInt8] {
        var values: [(MetricsCatalog.Metric, [(String, String)], Double)] = []
        do {
            for connection in try await sources.connections() {
                let id = connection.id
                values.append((MetricsCatalog.resources, [("connection", id), ("type", "User")], Double(connection.users)))
                values.append((MetricsCatalog.resources, [("connection", id), ("type", "Group")], Double(connection.groups)))
                values.append((MetricsCatalog.activeUsers, [("connection", id)], Double(connection.activeUsers)))
                values.append((MetricsCatalog.openWarnings, [("connection", id)], Double(connection.openWarnings)))
                values.append(
                    (MetricsCatalog.connectionInfo, [("connection", id), ("name", connection.name), ("disabled", "\(connection.disabled)")], 1))
            }
        } catch {
            onError("connections", error)
        }
        let readUpTo = subscriptions.withLockedValue { Array($0.values) }
        values.append((MetricsCatalog.subscribers, [], Double(readUpTo.count)))
        do {
            let latest = Int64(try await sources.latestEventSequence())
            values.append((MetricsCatalog.eventSequence, [], Double(latest)))
            let lag = readUpTo.map { max(0, latest - $0) }.max() ?? 0
            values.append((MetricsCatalog.subscriberLag, [], Double(lag)))
        } catch {
            onError("event feed", error)
        }
        for check in sources.healthChecks() {
            values.append((MetricsCatalog.healthCheck, [("check", check.name)], check.status == "ok" ? 1 : 0))
        }
        values.append((MetricsCatalog.rpcConnections, [], Double(sources.openRPCConnections())))
        if let residency = sources.residency?() {
            values.append((MetricsCatalog.residentConnections, [], Double(residency.residentConnections)))
            values.append((MetricsCatalog.residentEstimate, [], Double(residency.residentBytes)))
            if let limit = residency.limitBytes { values.append((MetricsCatalog.memoryLimit, [], Double(limit))) }
        }
        let files = ProcessStatistics.databaseFiles(sources.databasePath)
        values.append((MetricsCatalog.databaseSize, [("file", "database")], Double(files.database)))
        values.append((MetricsCatalog.databaseSize, [("file", "wal")], Double(files.wal)))
        if let free = ProcessStatistics.freeBytes(onFileSystemOf: sources.databasePath) {
            values.append((MetricsCatalog.freeSpace, [], Double(free)))
        }
        let process = ProcessStatistics.current()
        if let rss = process.residentBytes { values.append((MetricsCatalog.residentMemory, [], Double(rss))) }
        if let fds = process.openDescriptors { values.append((MetricsCatalog.openDescriptors, [], Double(fds))) }
        if let limit = process.maxDescriptors { values.append((MetricsCatalog.maxDescriptors, [], Double(limit))) }
        if let start = process.startTime { values.append((MetricsCatalog.startTime, [], start)) }
        setScrapeGauges(values)
        return registry.emitToBuffer()
    }

    /// Sets each gauge and removes those the previous scrape set but this one does not.
    func setScrapeGauges(_ values: [(MetricsCatalog.Metric, [(String, String)], Double)]) {
        scrapeGauges.withLockedValue { gauges in
            var current: [GaugeKey: CoreMetrics.Gauge] = [:]
            for (metric, labels, value) in values {
                let key = GaugeKey(name: metric.name, labels: labels.map { "\($0.0)=\($0.1)" })
                let gauge = gauges[key] ?? CoreMetrics.Gauge(label: metric.name, dimensions: labels, factory: factory)
                gauge.record(value)
                current[key] = gauge
            }
            for (key, gauge) in gauges where current[key] == nil { gauge.destroy() }
            gauges = current
        }
    }

    struct GaugeKey: Hashable {
        var name: String
        var labels: [String]
    }

    // MARK: labels

    /// The SCIM endpoints RFC 7644 §3.2 defines (and `/Me`), in their spelling; anything else a
    /// client sends is `other`, so a path can never mint a label value. `/` is `root`.
    static let endpoints = ["Users", "Groups", "ServiceProviderConfig", "Schemas", "ResourceTypes", "Bulk", "Me", ".search"]

    /// The `endpoint` label of a request whose first path segment is `segment`.
    public static func endpointLabel(_ segment: String) -> String {
        if segment.isEmpty { return "root" }
        return endpoints.first { $0.caseInsensitiveCompare(segment) == .orderedSame } ?? "other"
    }

    /// The `method` label of an HTTP method: the five SCIM uses, else `other`.
    public static func methodLabel(_ method: String) -> String {
        let upper = method.uppercased()
        return ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(upper) ? upper : "other"
    }

    /// `2xx`, `4xx`, … for a status in 100…599; `other` for anything else.
    public static func statusClass(_ status: Int) -> String {
        (100...599).contains(status) ? "\(status / 100)xx" : "other"
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
