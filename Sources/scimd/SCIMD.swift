import ArgumentParser
import Foundation
import Logging
import SCIMDServer
import SCIMDService
import SCIMDStore
import ServiceLifecycle

/// scimd: parse arguments, build the services, run the group. Everything else lives in the libraries.
@main
struct SCIMD: AsyncParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "scimd",
        abstract: "SCIM 2.0 provisioning daemon: JSON-RPC 2.0 over a Unix socket, state in SQLite.",
        discussion: """
            Under systemd, scimd adopts the socket passed by scimd.socket (socket activation) and keeps
            its database in $STATE_DIRECTORY. Standalone, it binds --socket itself.
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

    func validate() throws {
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard maxBodyBytes >= 1024, maxPatchOperations >= 1, maxResults >= 1, maxFilterLength >= 64, maxFilterDepth >= 2 else {
            throw ValidationError("limits are too small: see --help for their meaning")
        }
        guard requestLogMaxEntries >= 0, requestLogMaxAgeDays >= 0, eventRetentionDays >= 0 else {
            throw ValidationError("request log retention must not be negative")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "scimd")
        let environment = ProcessInfo.processInfo.environment

        let listen: ListenSocket
        let inherited = Systemd.listenDescriptors()
        if let first = inherited.first(where: { $0.name != "http" }) ?? inherited.first {
            listen = .inherited(descriptor: first.descriptor)
        } else {
            listen = .path(socket ?? environment["RUNTIME_DIRECTORY"].map { $0 + "/scimd.sock" } ?? "scimd.sock")
        }
        let databasePath = database ?? environment["STATE_DIRECTORY"].map { $0 + "/scimd.sqlite" } ?? "scimd.sqlite"

        do {
            if case .path(let path) = listen { try RPCServer.checkSocketPath(path) }
            let store = try Store(path: databasePath)
            let service = try SCIMDService(
                store: store,
                configuration: ServiceConfiguration(
                    version: Self.version, scimBasePath: scimBasePath, requestLogMaxEntries: requestLogMaxEntries,
                    requestLogMaxAgeSeconds: requestLogMaxAgeDays * 86_400, maxResults: maxResults,
                    maxPatchOperations: maxPatchOperations, maxBodyBytes: maxBodyBytes, maxFilterLength: maxFilterLength,
                    maxFilterDepth: maxFilterDepth, eventMaxAgeSeconds: eventRetentionDays * 86_400),
                logger: logger)
            let counters = TransportCounters()
            let dispatcher = RPCDispatcher.scimd(service: service, counters: counters, logger: logger)
            let server = RPCServer(
                socket: listen, dispatcher: dispatcher, maximumLineLength: maxLineBytes, counters: counters,
                logger: logger,
                onReady: {
                    logger.info("ready", metadata: ["database": "\(databasePath)"])
                    Systemd.notify("READY=1\nSTATUS=serving JSON-RPC")
                })
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
            if let interval = Systemd.watchdogInterval() {
                services.append(.init(service: WatchdogService(interval: interval, logger: logger)))
            }
            var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
            groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
            // Backstop: whatever still runs this long after SIGTERM is cancelled.
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
            groupConfiguration.maximumCancellationDuration = .seconds(5)
            let group = ServiceGroup(configuration: groupConfiguration)
            try await group.run()
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
