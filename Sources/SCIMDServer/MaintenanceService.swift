import Logging
import SCIMDService
import ServiceLifecycle

/// Finishes interrupted re-maps once at start (``SCIMDService/finishInterruptedRemaps()``), then
/// applies retention in the background (``SCIMDService/runMaintenance(everyConnection:)``): every
/// `interval` for the connections that logged requests since the previous pass, and over every
/// connection at start and every `fullPassInterval`, so idle connections' logs age out too.
///
/// It used to run inline in every 500th SCIM request, which then waited for the deletes; here no
/// request pays for it, and a quiet daemon still prunes.
public struct MaintenanceService: Service {
    let service: SCIMDService
    let interval: Duration
    let fullPassInterval: Duration
    let logger: Logger

    /// `interval`: between passes (default 30 s). `fullPassInterval`: between passes over every
    /// connection (default one hour).
    public init(service: SCIMDService, interval: Duration = .seconds(30), fullPassInterval: Duration = .seconds(3600), logger: Logger) {
        self.service = service
        self.interval = interval
        self.fullPassInterval = fullPassInterval
        self.logger = logger
    }

    public func run() async throws {
        // Ends (without error) when the group shuts down; a pass itself never fails.
        try? await cancelWhenGracefulShutdown {
            // Once, first: a re-map a crash or a failed batch left unfinished is finished
            // (``SCIMDService/finishInterruptedRemaps()``), while requests are already served.
            let recovery = await service.finishInterruptedRemaps()
            if recovery.remapped > 0 || recovery.failures > 0 {
                logger.info(
                    "interrupted re-maps", metadata: ["finished": "\(recovery.remapped)", "failures": "\(recovery.failures)"])
            }
            let clock = ContinuousClock()
            var lastFullPass: ContinuousClock.Instant? = nil
            while true {
                let started = clock.now
                let full = lastFullPass.map { started - $0 >= fullPassInterval } ?? true
                if full { lastFullPass = started }
                let report = await service.runMaintenance(everyConnection: full)
                logger.debug(
                    "maintenance pass",
                    metadata: [
                        "connections": "\(report.connectionsPruned)", "failures": "\(report.failures)", "every": "\(full)",
                        "elapsed": "\(clock.now - started)",
                    ])
                try await Task.sleep(for: interval)
            }
        }
    }
}
