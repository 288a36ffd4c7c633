/// Every metric scimd exports: name, type, labels, unit and help text, in one list.
///
/// The list is the contract: the README's "Metrics" table is written from it, the metrics
/// factory takes each metric's `# HELP` text and histogram buckets from it, and the tests check
/// that a scrape holds exactly these names. Names follow Prometheus' conventions (`scimd_` prefix,
/// base units, `_total` for counters, `_seconds`/`_bytes` suffixes); the `process_` metrics use
/// the names every Prometheus client library uses for them, so stock dashboards work.
///
/// Label values are bounded: a connection id (one per SCIM connection), a registered RPC method,
/// a SCIM endpoint from a fixed list, a status class. Never a user, a group, a path or a token.
public enum MetricsCatalog {
    /// The Prometheus metric types scimd uses.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One exported metric.
    public struct Metric: Sendable, Equatable {
        /// The Prometheus name (`scimd_rpc_requests_total`).
        public var name: String
        public var kind: Kind
        /// Label names, in the order they are emitted.
        public var labels: [String]
        /// What one unit of the value is (`seconds`, `bytes`, `requests`), for the README.
        public var unit: String
        /// The `# HELP` line.
        public var help: String
        /// Upper bounds of a histogram's buckets, in its unit (seconds for durations); empty otherwise.
        public var buckets: [Double]

        public init(name: String, kind: Kind, labels: [String], unit: String, help: String, buckets: [Double] = []) {
            self.name = name
            self.kind = kind
            self.labels = labels
            self.unit = unit
            self.help = help
            self.buckets = buckets
        }
    }

    /// Request latencies: 100 µs (a health check) to 10 s (a large re-map).
    static let latencyBuckets: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
    /// Group commits: from one write to the writer's maximum of 512.
    static let groupSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]

    public static let rpcRequests = Metric(
        name: "scimd_rpc_requests_total", kind: .counter, labels: ["method", "outcome"], unit: "requests",
        help: "JSON-RPC calls answered, by method (unknown for a name not served, invalid for a line that is no request) and outcome (ok or the error kind).")
    public static let rpcDuration = Metric(
        name: "scimd_rpc_request_duration_seconds", kind: .histogram, labels: ["method"], unit: "seconds",
        help: "Time from a JSON-RPC call's decoding to its answer, by method.", buckets: latencyBuckets)
    public static let scimRequests = Metric(
        name: "scimd_scim_requests_total", kind: .counter, labels: ["connection", "endpoint", "method", "status_class"],
        unit: "requests",
        help: "SCIM requests answered by the engine (scim.handle and the HTTP listener), by connection id (none when refused before one was known), endpoint, HTTP method and status class.")
    public static let scimDuration = Metric(
        name: "scimd_scim_request_duration_seconds", kind: .histogram, labels: ["endpoint", "method"], unit: "seconds",
        help: "Time the engine took to answer a SCIM request, its durable commit included, by endpoint and HTTP method.",
        buckets: latencyBuckets)
    public static let httpResponses = Metric(
        name: "scimd_http_responses_total", kind: .counter, labels: ["status_class"], unit: "responses",
        help: "Responses the SCIM HTTP listener wrote, its own (404 outside the base path, 413, /healthz) included, by status class.")
    public static let commitDuration = Metric(
        name: "scimd_sqlite_commit_duration_seconds", kind: .histogram, labels: ["outcome"], unit: "seconds",
        help: "Time of one SQLite group commit, from BEGIN to the end of COMMIT and its fsync, by outcome (committed or failed).",
        buckets: latencyBuckets)
    public static let commitWrites = Metric(
        name: "scimd_sqlite_group_commit_writes", kind: .histogram, labels: [], unit: "writes",
        help: "Writes (request transactions) committed together in one SQLite transaction and fsync.", buckets: groupSizeBuckets)
    public static let resources = Metric(
        name: "scimd_resources", kind: .gauge, labels: ["connection", "type"], unit: "resources",
        help: "Resources stored per connection, by type (User, Group).")
    public static let activeUsers = Metric(
        name: "scimd_active_users", kind: .gauge, labels: ["connection"], unit: "users",
        help: "Users whose SCIM active attribute is true, per connection.")
    public static let openWarnings = Metric(
        name: "scimd_open_warnings", kind: .gauge, labels: ["connection"], unit: "warnings",
        help: "Open mapping warnings (one per resource and property) per connection.")
    public static let connectionInfo = Metric(
        name: "scimd_connection_info", kind: .gauge, labels: ["connection", "name", "disabled"], unit: "1",
        help: "Always 1: a SCIM connection's id with its name and whether it is disabled, to join on the connection label.")
    public static let eventSequence = Metric(
        name: "scimd_event_feed_sequence", kind: .gauge, labels: [], unit: "events",
        help: "Sequence number of the newest event in the change feed.")
    public static let subscribers = Metric(
        name: "scimd_event_feed_subscribers", kind: .gauge, labels: [], unit: "subscribers",
        help: "Open events.subscribe subscriptions.")
    public static let subscriberLag = Metric(
        name: "scimd_event_feed_max_subscriber_lag_events", kind: .gauge, labels: [], unit: "events",
        help: "Events written to the feed that the furthest-behind subscriber has not read yet (0 without subscribers); it is dropped past 100,000.")
    public static let databaseSize = Metric(
        name: "scimd_database_size_bytes", kind: .gauge, labels: ["file"], unit: "bytes",
        help: "Size of the SQLite database's files: file=database (the main file) or file=wal (its write-ahead log).")
    public static let freeSpace = Metric(
        name: "scimd_database_filesystem_free_bytes", kind: .gauge, labels: [], unit: "bytes",
        help: "Space available to scimd on the file system holding the database.")
    public static let healthCheck = Metric(
        name: "scimd_health_check", kind: .gauge, labels: ["check"], unit: "1",
        help: "1 while a system.health check passes, 0 while it fails, by check (state, database, storage, disk).")
    public static let rpcConnections = Metric(
        name: "scimd_rpc_open_connections", kind: .gauge, labels: [], unit: "connections",
        help: "JSON-RPC socket connections open now.")
    public static let residentConnections = Metric(
        name: "scimd_memory_resident_connections", kind: .gauge, labels: [], unit: "connections",
        help: "SCIM connections whose users, groups and warnings are in memory now (the others load on their next read).")
    public static let residentEstimate = Metric(
        name: "scimd_memory_resident_estimate_bytes", kind: .gauge, labels: [], unit: "bytes",
        help: "Estimated bytes the resident connections hold (rows' text plus indexes), the quantity --memory-limit bounds.")
    public static let memoryLimit = Metric(
        name: "scimd_memory_limit_bytes", kind: .gauge, labels: [], unit: "bytes",
        help: "--memory-limit, in bytes; absent when there is no limit.")
    public static let residentMemory = Metric(
        name: "process_resident_memory_bytes", kind: .gauge, labels: [], unit: "bytes",
        help: "Resident memory of the scimd process (from /proc/self/statm).")
    public static let openDescriptors = Metric(
        name: "process_open_fds", kind: .gauge, labels: [], unit: "descriptors",
        help: "File descriptors the scimd process has open.")
    public static let maxDescriptors = Metric(
        name: "process_max_fds", kind: .gauge, labels: [], unit: "descriptors",
        help: "The process's limit on open file descriptors (RLIMIT_NOFILE, soft).")
    public static let startTime = Metric(
        name: "process_start_time_seconds", kind: .gauge, labels: [], unit: "seconds",
        help: "When the scimd process started, in seconds since the Unix epoch.")

    /// Every metric, in the order the README lists them.
    public static let all: [Metric] = [
        rpcRequests, rpcDuration, scimRequests, scimDuration, httpResponses, commitDuration, commitWrites, resources,
        activeUsers, openWarnings, connectionInfo, eventSequence, subscribers, subscriberLag, databaseSize, freeSpace,
        healthCheck, rpcConnections, residentConnections, residentEstimate, memoryLimit, residentMemory, openDescriptors,
        maxDescriptors, startTime,
    ]

    /// The metric named `name`, if scimd exports one.
    public static func metric(named name: String) -> Metric? {
        all.first { $0.name == name }
    }

    /// A Markdown table of every metric (the README's "Metrics" section holds it verbatim; a test
    /// keeps the two equal).
    public static func markdownTable() -> String {
        var lines = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
        for metric in all {
            let labels = metric.labels.isEmpty ? "" : metric.labels.map { "`\($0)`" }.joined(separator: ", ")
            lines.append("| `\(metric.name)` | \(metric.kind.rawValue) | \(labels) | \(metric.unit) | \(metric.help) |")
        }
        return lines.joined(separator: "\n")
    }
}
