import CSystemd
import Foundation
import Logging
import SCIMDService
import ServiceLifecycle

/// The parts of libsystemd scimd uses: socket activation (`sd_listen_fds(3)`), readiness and
/// status (`sd_notify(3)`), and the watchdog (`sd_watchdog_enabled(3)`). Every call is a no-op
/// outside systemd (no `NOTIFY_SOCKET`, no `LISTEN_FDS`).
public enum Systemd {
    /// Descriptors systemd passed (starting at `SD_LISTEN_FDS_START` = 3), with their
    /// `FileDescriptorName=` names. Unsets the `LISTEN_*` variables so children don't inherit them.
    public static func listenDescriptors() -> [(descriptor: Int32, name: String)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer { free(names) }
        var result: [(Int32, String)] = []
        for i in 0..<Int(count) {
            var name = "unknown"
            if let names, let cName = names[i] {
                name = String(cString: cName)
                free(cName)
            }
            result.append((Int32(SD_LISTEN_FDS_START) + Int32(i), name))
        }
        return result
    }

    /// Sends `state` (e.g. "READY=1\nSTATUS=serving") to the service manager; false if not under systemd.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// The watchdog interval systemd expects pings within, or nil when the watchdog is off.
    public static func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }
}

/// Probes the daemon's health every `interval` (see ``HealthMonitor``), logs when it turns
/// degraded or healthy again, and — under a systemd watchdog — sends `WATCHDOG=1` after each probe
/// only while the daemon is alive (``HealthMonitor/isAlive(now:)``), so systemd restarts a wedged
/// daemon: one whose state owner or database stops answering never completes its probe, and the
/// pings stop.
public struct HealthService: Service {
    let monitor: HealthMonitor
    let interval: Duration
    let watchdog: Bool
    let logger: Logger

    /// `watchdogInterval`: systemd's (`WatchdogSec=`), or nil without a watchdog; probes then run
    /// at least twice within it.
    public init(monitor: HealthMonitor, interval: Duration = .seconds(5), watchdogInterval: Duration?, logger: Logger) {
        self.monitor = monitor
        self.watchdog = watchdogInterval != nil
        self.interval = watchdogInterval.map { min(interval, $0 / 2) } ?? interval
        self.logger = logger
    }

    public func run() async throws {
        if watchdog { logger.info("systemd watchdog enabled", metadata: ["probeInterval": "\(interval)"]) }
        // Ends (without error) when the group shuts down; the probe loop itself never fails.
        try? await cancelWhenGracefulShutdown {
            var wasHealthy = true
            while true {
                await monitor.probe()
                // Stopping: what a cancelled probe saw says nothing about health.
                if Task.isCancelled { return }
                let checks = monitor.checks()
                let failing = checks.filter { $0.status != "ok" }
                if failing.isEmpty != wasHealthy {
                    wasHealthy = failing.isEmpty
                    if wasHealthy {
                        logger.notice("health: ok again")
                        Systemd.notify("STATUS=serving")
                    } else {
                        let summary = failing.map { "\($0.name): \($0.detail ?? "failing")" }.joined(separator: "; ")
                        logger.warning("health: degraded", metadata: ["failing": "\(summary)"])
                        Systemd.notify("STATUS=degraded: \(summary)")
                    }
                }
                if watchdog && monitor.isAlive() { Systemd.notify("WATCHDOG=1") }
                try await Task.sleep(for: interval)
            }
        }
    }
}
