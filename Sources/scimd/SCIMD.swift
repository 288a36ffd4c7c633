import ArgumentParser
import Foundation
import Logging
import SCIMDDashboard
import SCIMDServer
import SCIMDService
import SCIMDStore
import ServiceLifecycle

/// scimd: parse arguments, build the services, run the group. Everything else lives in the libraries.
/// Started from `main.swift`.
struct SCIMD: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "scimd",
        abstract: "SCIM 2.0 provisioning daemon: JSON-RPC 2.0 over a Unix socket, state in SQLite.",
        discussion: """
            Under systemd, scimd adopts the socket passed by scimd.socket (socket activation) and keeps
            its database in $STATE_DIRECTORY. Standalone, it binds --socket itself.

            The SCIM HTTP/1.1 listener is off unless --http is given or systemd passes a socket named \
            "http" (scimd-http.socket); it serves the same engine as scim.handle under --scim-base-path.

            Prometheus metrics (GET /metrics) are off unless --metrics is given or systemd passes a \
            socket named "metrics" (scimd-metrics.socket).

            The web dashboard is off unless --dashboard is given or systemd passes a socket named \
            "dashboard" (scimd-dashboard.socket); operators sign in (scimctl operators add).
            """,
        version: version)

    @Option(help: "Unix socket to listen on when not socket-activated (default: $RUNTIME_DIRECTORY/scimd.sock, else ./scimd.sock).")
    var socket: String?

    @Option(help: "SQLite database file (default: $STATE_DIRECTORY/scimd.sqlite, else ./scimd.sqlite).")
    var database: String?

    @Option(help: "Largest JSON-RPC message (one line) accepted, in bytes.")
    var maxLineBytes: Int = 8 * 1024 * 1024

    @Option(help: "SCIM base path stripped from scim.handle paths.")
    var scimBasePath: String = "/scim/v2"

    @Option(help: "Request log entries kept per connection.")
    var requestLogMaxEntries: Int = 10_000

    @Option(help: "Days a logged request is kept.")
    var requestLogMaxAgeDays: Int = 30

    @Option(help: "Days a change-feed event is kept (consumers must resume within this).")
    var eventRetentionDays: Int = 30

    @Option(help: "Largest SCIM request body accepted, in bytes (more: 413).")
    var maxBodyBytes: Int = 4 * 1024 * 1024

    @Option(help: "Most operations in one SCIM PATCH (more: 400 tooMany).")
    var maxPatchOperations: Int = 1_000

    @Option(help: "Most resources in one SCIM list page (a larger count is capped).")
    var maxResults: Int = 1_000

    @Option(help: "Longest SCIM filter, in characters (more: 400 invalidFilter).")
    var maxFilterLength: Int = 16_384

    @Option(help: "Deepest nesting of a SCIM filter (parentheses, not, value paths).")
    var maxFilterDepth: Int = 64

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(
        help: ArgumentHelp(
            "Serve SCIM over HTTP/1.1 on HOST:PORT (127.0.0.1:8080, [::1]:8080; port 0 picks one and logs it) or unix:PATH. Off by default.",
            valueName: "address"))
    var http: String?

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics (GET /metrics, text format) on HOST:PORT (127.0.0.1:9464; port 0 picks one and logs it) or unix:PATH. Off by default; no authentication, so keep it on loopback or a private network.",
            valueName: "address"))
    var metrics: String?

    @Option(
        help: ArgumentHelp(
            "Serve the operators' web dashboard on HOST:PORT (127.0.0.1:8081; port 0 picks one and logs it) or unix:PATH (for a reverse proxy). Off by default. Operators sign in: scimctl operators add NAME.",
            valueName: "address"))
    var dashboard: String?

    @Flag(help: "Believe X-Forwarded-Proto from the reverse proxy in front of the dashboard (cookies get Secure over HTTPS).")
    var dashboardTrustForwarded = false

    @Option(help: "Minutes a dashboard session may stay unused before it ends.")
    var dashboardSessionIdleMinutes: Int = 480

    @Option(help: "Cost of operators' password hashes: log2 of scrypt's N, 10…20 (15: 32 MiB per hash). Hashes already stored keep their own cost.")
    var passwordHashCost: Int = 15

    @Option(help: "Largest request body the HTTP listener reads, in bytes (more gets 413 at once). Default: --max-body-bytes.")
    var httpMaxBodyBytes: Int?

    @Flag(help: "Believe X-Forwarded-For/-Proto/-Host on HTTP requests: only behind a reverse proxy that sets them.")
    var httpTrustForwarded = false

    @Option(help: "Seconds an HTTP client may stay silent (idle keep-alive, stalled request) or stop reading its response before it is disconnected.")
    var httpIdleTimeout: Int = 60

    @Option(help: "Most JSON-RPC clients served at once; one more gets a -32003 'unavailable' error line and is closed.")
    var maxConnections: Int = 512

    @Option(help: "Most HTTP connections served at once; one more gets a SCIM 503 with Retry-After and is closed.")
    var httpMaxConnections: Int = 1024

    @Option(help: "Seconds a JSON-RPC line may take from its first byte to its newline, plus 1 s per 64 KiB of it received (then a -32600 line_timeout error and close). Idle connections have no limit.")
    var rpcLineTimeout: Int = 30

    @Option(help: "Seconds an HTTP request head may take from its first byte (then 408 and close). Idle keep-alive connections fall under --http-idle-timeout only.")
    var httpHeaderTimeout: Int = 20

    @Option(help: "Seconds an HTTP request body may take after its head, plus 1 s per --http-min-body-rate bytes received (then 408 and close).")
    var httpBodyTimeout: Int = 20

    @Option(help: "Bytes per second of body that extend --http-body-timeout by one second each: the slowest steady rate a long body may arrive at.")
    var httpMinBodyRate: Int = 1024

    @Option(help: "system.health and /healthz turn degraded when the database's file system has less free space than this, in MiB.")
    var minFreeDiskMB: Int = 64

    @Option(help: "One info line per JSON-RPC call and per SCIM request (method, connection, status or error kind, duration, request id): on or off.")
    var accessLog: String = "on"

    @Option(help: "Seconds a webhook delivery is retried (exponential backoff) after its event was committed; then it is logged as failed and the endpoint moves on.")
    var webhookRetryPeriod: Int = 86_400

    @Option(help: "Seconds one webhook delivery attempt may take (connect, send, answer); longer counts as a failed attempt.")
    var webhookTimeout: Int = 10

    @Option(
        help: ArgumentHelp(
            "Most memory the connections' users, groups and warnings may hold (estimated), e.g. 1536M or 1.5G. Past it, the connections read least recently are evicted and loaded again on their next read (about 1 s per 100k users). Default: no limit, every connection stays in memory.",
            valueName: "size"))
    var memoryLimit: String?

    @Option(
        help: ArgumentHelp(
            "Replace the database (--database) with a backup made by `scimctl backup`, then exit. scimd must be stopped.",
            valueName: "backup-file"))
    var restore: String?

    func validate() throws {
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard ["on", "off"].contains(accessLog) else { throw ValidationError("--access-log must be on or off") }
        guard maxBodyBytes >= 1024, maxPatchOperations >= 1, maxResults >= 1, maxFilterLength >= 64, maxFilterDepth >= 2 else {
            throw ValidationError("limits are too small: see --help for their meaning")
        }
        guard requestLogMaxEntries >= 0, requestLogMaxAgeDays >= 0, eventRetentionDays >= 0 else {
            throw ValidationError("request log retention must not be negative")
        }
        if let http {
            do { _ = try HTTPListenAddress(parsing: http) } catch { throw ValidationError("--http: \(error.message)") }
        }
        if let metrics {
            do { _ = try HTTPListenAddress(parsing: metrics) } catch { throw ValidationError("--metrics: \(error.message)") }
        }
        if let dashboard {
            do { _ = try HTTPListenAddress(parsing: dashboard) } catch { throw ValidationError("--dashboard: \(error.message)") }
        }
        guard dashboardSessionIdleMinutes >= 1 else { throw ValidationError("--dashboard-session-idle-minutes must be at least 1") }
        guard (10...20).contains(passwordHashCost) else { throw ValidationError("--password-hash-cost must be 10…20") }
        guard (httpMaxBodyBytes ?? maxBodyBytes) >= 1024 else { throw ValidationError("--http-max-body-bytes must be at least 1024") }
        guard httpIdleTimeout >= 1 else { throw ValidationError("--http-idle-timeout must be at least 1 second") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard httpMaxConnections >= 1 else { throw ValidationError("--http-max-connections must be at least 1") }
        guard rpcLineTimeout >= 1 else { throw ValidationError("--rpc-line-timeout must be at least 1 second") }
        guard httpHeaderTimeout >= 1 else { throw ValidationError("--http-header-timeout must be at least 1 second") }
        guard httpBodyTimeout >= 1 else { throw ValidationError("--http-body-timeout must be at least 1 second") }
        guard webhookRetryPeriod >= 0 else { throw ValidationError("--webhook-retry-period must not be negative") }
        guard webhookTimeout >= 1 else { throw ValidationError("--webhook-timeout must be at least 1 second") }
        guard httpMinBodyRate >= 1 else { throw ValidationError("--http-min-body-rate must be at least 1 byte per second") }
        if let memoryLimit {
            do { _ = try ByteSize.parse(memoryLimit) } catch { throw ValidationError("--memory-limit: \(error.description)") }
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let journal = SCIMDLogHandler.standardErrorIsJournal()
        LoggingSystem.bootstrap { _ in SCIMDLogHandler(level: level, journal: journal) }
        let logger = Logger(label: "scimd")
        let environment = ProcessInfo.processInfo.environment

        let plan = ListenerPlan.resolve(
            socketOption: socket, httpOption: try http.map { try HTTPListenAddress(parsing: $0) },
            metricsOption: try metrics.map { try HTTPListenAddress(parsing: $0) },
            dashboardOption: try dashboard.map { try HTTPListenAddress(parsing: $0) }, inherited: Systemd.listenDescriptors(),
            runtimeDirectory: environment["RUNTIME_DIRECTORY"])
        for note in plan.notes { logger.notice("\(note)") }
        for (descriptor, name) in plan.ignored {
            // Closed, so that its clients are refused at once instead of waiting on a socket nobody reads.
            logger.warning("\(ListenerPlan.ignoredWarning(descriptor: descriptor, name: name))")
            close(descriptor)
        }
        let databasePath = database ?? environment["STATE_DIRECTORY"].map { $0 + "/scimd.sqlite" } ?? "scimd.sqlite"
        if let restore {
            // A restore replaces a database: it must name which one, unless systemd's state
            // directory says (./scimd.sqlite would be a guess).
            guard database != nil || environment["STATE_DIRECTORY"] != nil else {
                FileHandle.standardError.write(Data("scimd: --restore needs --database PATH (the database to replace)\n".utf8))
                throw ExitCode(64)
            }
            do {
                let kept = try Store.restore(backup: restore, to: databasePath)
                print("Restored \(restore) into \(databasePath). Start scimd to serve it.")
                if let kept { print("The database it replaced is kept as \(kept) (and its -wal, if it had one); delete it once you are sure.") }
                return
            } catch let error as StoreError {
                FileHandle.standardError.write(Data("scimd: \(error.description)\n".utf8))
                throw ExitCode(2)
            }
        }

        // Before anything opens descriptors in numbers: clients must never exhaust them.
        let descriptors: DescriptorBudget
        do {
            descriptors = try DescriptorBudget.apply(
                maxConnections: maxConnections, httpMaxConnections: httpMaxConnections, httpListeners: plan.http.count)
        } catch {
            FileHandle.standardError.write(Data("scimd: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
        if descriptors.lowered {
            logger.warning(
                "connection caps lowered to fit the file descriptor limit",
                metadata: [
                    "limit": "\(descriptors.limit)", "maxConnections": "\(descriptors.maxConnections)",
                    "httpMaxConnections": "\(descriptors.httpMaxConnections)",
                    "hint": "raise LimitNOFILE= (or ulimit -n) to serve --max-connections \(maxConnections) and --http-max-connections \(httpMaxConnections)",
                ])
        }

        do {
            if case .path(let path) = plan.rpc { try RPCServer.checkSocketPath(path) }
            // Metrics cost nothing when off: no observer is installed anywhere.
            let metrics = plan.metrics.isEmpty ? nil : SCIMDMetrics()
            var commitObserver: (@Sendable (GroupCommitObservation) -> Void)? = nil
            if let metrics { commitObserver = { metrics.groupCommit($0) } }
            let store = try Store(
                path: databasePath, logger: logger, memoryLimit: try memoryLimit.map { try ByteSize.parse($0) },
                commitObserver: commitObserver)
            var serviceConfiguration = ServiceConfiguration(
                version: Self.version, scimBasePath: scimBasePath, requestLogMaxEntries: requestLogMaxEntries,
                requestLogMaxAgeSeconds: requestLogMaxAgeDays * 86_400, maxResults: maxResults,
                maxPatchOperations: maxPatchOperations, maxBodyBytes: maxBodyBytes, maxFilterLength: maxFilterLength,
                maxFilterDepth: maxFilterDepth, eventMaxAgeSeconds: eventRetentionDays * 86_400)
            serviceConfiguration.accessLog = accessLog == "on"
            serviceConfiguration.passwordHashLogRounds = passwordHashCost
            if let metrics { serviceConfiguration.requestObserver = { metrics.scimRequest($0) } }
            let service = try SCIMDService(store: store, configuration: serviceConfiguration, logger: logger)
            // In the background: the daemon answers at once; a request for a connection not loaded
            // yet waits for that connection only.
            store.startLoadingResources(logger: logger)
            let counters = TransportCounters()
            let health = HealthMonitor(service: service, minimumFreeBytes: Int64(minFreeDiskMB) * 1_048_576)
            let dispatcher = RPCDispatcher.scimd(
                service: service, counters: counters, logger: logger, health: health, accessLog: accessLog == "on",
                metrics: metrics)
            let status = plan.http.isEmpty ? "serving JSON-RPC" : "serving JSON-RPC and SCIM over HTTP"
            let readiness = ReadinessBarrier(count: 1 + plan.http.count + plan.metrics.count + plan.dashboard.count) {
                logger.info("ready", metadata: ["database": "\(databasePath)"])
                Systemd.notify("READY=1\nSTATUS=\(status)")
            }
            let server = RPCServer(
                socket: plan.rpc, dispatcher: dispatcher, maximumLineLength: maxLineBytes, counters: counters,
                logger: logger, maxConnections: descriptors.maxConnections, lineTimeout: .seconds(Int64(rpcLineTimeout)),
                onReady: { readiness.arrive() })
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
            // After the RPC server: the group shuts services down in reverse order, so HTTP stops first.
            for address in plan.http {
                let configuration = SCIMHTTPServer.Configuration(
                    address: address, basePath: scimBasePath, maxBodyBytes: httpMaxBodyBytes ?? maxBodyBytes,
                    trustForwarded: httpTrustForwarded, idleTimeout: .seconds(httpIdleTimeout),
                    maxConnections: descriptors.httpMaxConnections, headerTimeout: .seconds(httpHeaderTimeout),
                    bodyTimeout: .seconds(httpBodyTimeout), minBodyRate: httpMinBodyRate)
                let listener = SCIMHTTPServer(
                    configuration: configuration, engine: SCIMHTTPServer.engine(service),
                    immediateEngine: SCIMHTTPServer.immediateEngine(service), logger: logger,
                    counters: counters, isHealthy: { health.isHealthy() }, metrics: metrics, onReady: { _ in readiness.arrive() })
                services.append(.init(service: listener))
            }
            if let metrics {
                let sources = SCIMDMetrics.Sources.scimd(
                    service: service, health: health, counters: counters, databasePath: databasePath)
                for address in plan.metrics {
                    let server = MetricsServer(
                        address: address,
                        render: {
                            await metrics.render(from: sources) { source, error in
                                logger.warning("metrics: a source failed; its gauges are left out of this scrape", metadata: ["source": "\(source)", "error": "\(error)"])
                            }
                        },
                        logger: logger, onReady: { _ in readiness.arrive() })
                    services.append(.init(service: server))
                }
            }
            if !plan.dashboard.isEmpty {
                let dashboard = try Dashboard(
                    service: service, operators: service,
                    configuration: .init(idleLifetime: .seconds(dashboardSessionIdleMinutes * 60)), logger: logger)
                for address in plan.dashboard {
                    let configuration = DashboardServer.Configuration(address: address, trustForwarded: dashboardTrustForwarded)
                    services.append(
                        .init(service: DashboardServer(configuration: configuration, dashboard: dashboard, logger: logger, onReady: { _ in readiness.arrive() })))
                }
            }
            let webhookPolicy = WebhookPolicy(retryPeriod: .seconds(webhookRetryPeriod), attemptTimeout: .seconds(webhookTimeout))
            services.append(.init(service: WebhookDeliveryService(service: service, policy: webhookPolicy, logger: logger)))
            services.append(.init(service: MaintenanceService(service: service, logger: logger)))
            services.append(.init(service: HealthService(monitor: health, watchdogInterval: Systemd.watchdogInterval(), logger: logger)))
            var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
            groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
            // Backstop: whatever still runs this long after SIGTERM is cancelled.
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
            groupConfiguration.maximumCancellationDuration = .seconds(5)
            let group = ServiceGroup(configuration: groupConfiguration)
            try await group.run()
            await service.finishQueuedWrites()
            Systemd.notify("STOPPING=1\nSTATUS=checkpointing the database")
            service.checkpoint()
            logger.info("stopped cleanly")
        } catch let error as ListenError {
            FileHandle.standardError.write(Data("scimd: \(error.description)\n".utf8))
            throw ExitCode(2)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("scimd: \(error.description)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("scimd: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

