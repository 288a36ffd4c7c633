import CSystemd
import Foundation
import Logging
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

/// Pings the systemd watchdog at half its interval while the daemon runs.
public struct WatchdogService: Service {
    let interval: Duration
    let logger: Logger

    public init(interval: Duration, logger: Logger) {
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        logger.info("systemd watchdog enabled", metadata: ["interval": "\(interval)"])
        let interval = self.interval
        // Ends (without error) when the group shuts down; the ping loop itself never fails.
        try? await cancelWhenGracefulShutdown {
            while true {
                Systemd.notify("WATCHDOG=1")
                try await Task.sleep(for: interval / 2)
            }
        }
    }
}
