import NIOConcurrencyHelpers

/// Which sockets scimd serves, worked out from its options and the descriptors systemd passed
/// (`sd_listen_fds_with_names`): pure, so the choice is tested without systemd.
///
/// Descriptors named `http` (`FileDescriptorName=http`, `systemd/scimd-http.socket`) are SCIM HTTP
/// listeners, descriptors named `metrics` (`systemd/scimd-metrics.socket`) serve Prometheus'
/// `GET /metrics`; the first other one is the JSON-RPC socket. Without an `http` descriptor and
/// without `--http` there is no HTTP listener at all, and likewise for metrics and `--metrics`.
public struct ListenerPlan: Equatable, Sendable {
    /// The JSON-RPC socket.
    public var rpc: ListenSocket
    /// SCIM HTTP listeners; empty when the listener is off.
    public var http: [HTTPListenAddress]
    /// Where `GET /metrics` is served; empty when metrics are off.
    public var metrics: [HTTPListenAddress] = []
    /// Where the web dashboard is served; empty when it is off.
    public var dashboard: [HTTPListenAddress] = []
    /// Things worth a log line (an option overridden by systemd).
    public var notes: [String]
    /// Descriptors systemd passed that scimd does not serve: neither the JSON-RPC socket (the
    /// first one not named for a listener) nor named `http`, `metrics` or `dashboard`. Left open,
    /// such a socket accepts connections nobody answers (an IdP's requests hang); scimd closes
    /// them and says why (``ignoredWarning(descriptor:name:)``).
    public var ignored: [(descriptor: Int32, name: String)] = []

    /// The name of the systemd socket (`FileDescriptorName=`) that carries SCIM over HTTP.
    public static let httpDescriptorName = "http"
    /// The name of the systemd socket (`FileDescriptorName=`) that serves Prometheus metrics.
    public static let metricsDescriptorName = "metrics"
    /// The name of the systemd socket (`FileDescriptorName=`) that serves the web dashboard.
    public static let dashboardDescriptorName = "dashboard"
    /// Descriptor names that are not the JSON-RPC socket.
    static let listenerNames: Set<String> = [httpDescriptorName, metricsDescriptorName, dashboardDescriptorName]

    /// The plan for `--socket` (`socketOption`), `--http` (`httpOption`), `--metrics`
    /// (`metricsOption`), `--dashboard` (`dashboardOption`), the descriptors systemd passed with
    /// their names, and `$RUNTIME_DIRECTORY` (where the default socket goes).
    public static func resolve(
        socketOption: String?, httpOption: HTTPListenAddress?, metricsOption: HTTPListenAddress? = nil,
        dashboardOption: HTTPListenAddress? = nil, inherited: [(descriptor: Int32, name: String)], runtimeDirectory: String?
    ) -> ListenerPlan {
        var notes: [String] = []
        let rpc: ListenSocket
        if let first = inherited.first(where: { !listenerNames.contains($0.name) }) {
            rpc = .inherited(descriptor: first.descriptor)
        } else {
            rpc = .path(socketOption ?? runtimeDirectory.map { $0 + "/scimd.sock" } ?? "scimd.sock")
        }
        var http = inherited.filter { $0.name == httpDescriptorName }.map { HTTPListenAddress.inherited(descriptor: $0.descriptor) }
        if http.isEmpty, let httpOption {
            http = [httpOption]
        } else if !http.isEmpty, let httpOption {
            notes.append("--http \(httpOption) ignored: systemd passed the http socket")
        }
        var metrics = inherited.filter { $0.name == metricsDescriptorName }.map { HTTPListenAddress.inherited(descriptor: $0.descriptor) }
        if metrics.isEmpty, let metricsOption {
            metrics = [metricsOption]
        } else if !metrics.isEmpty, let metricsOption {
            notes.append("--metrics \(metricsOption) ignored: systemd passed the metrics socket")
        }
        var dashboard = inherited.filter { $0.name == dashboardDescriptorName }.map { HTTPListenAddress.inherited(descriptor: $0.descriptor) }
        if dashboard.isEmpty, let dashboardOption {
            dashboard = [dashboardOption]
        } else if !dashboard.isEmpty, let dashboardOption {
            notes.append("--dashboard \(dashboardOption) ignored: systemd passed the dashboard socket")
        }
        var plan = ListenerPlan(rpc: rpc, http: http, metrics: metrics, dashboard: dashboard, notes: notes)
        plan.ignored = inherited.filter { passed in
            !listenerNames.contains(passed.name) && rpc != .inherited(descriptor: passed.descriptor)
        }
        return plan
    }

    /// What scimd logs for a descriptor it does not serve, and closes: its name, the names it
    /// serves, and the `FileDescriptorName=` that would make it one of them.
    public static func ignoredWarning(descriptor: Int32, name: String) -> String {
        "closing the socket systemd passed as descriptor \(descriptor), named '\(name)': scimd serves descriptors named "
            + "\(httpDescriptorName), \(metricsDescriptorName) and \(dashboardDescriptorName), and takes the first other one as its "
            + "JSON-RPC socket; name it in its .socket unit (FileDescriptorName=\(httpDescriptorName) for SCIM over HTTP) "
            + "or systemd-socket-activate --fdname"
    }

    /// Equal when every listener, note and ignored descriptor (by number and name) is.
    public static func == (a: ListenerPlan, b: ListenerPlan) -> Bool {
        a.rpc == b.rpc && a.http == b.http && a.metrics == b.metrics && a.dashboard == b.dashboard && a.notes == b.notes
            && a.ignored.map(\.descriptor) == b.ignored.map(\.descriptor) && a.ignored.map(\.name) == b.ignored.map(\.name)
    }
}

/// Runs `action` once, when every listener has reported that it listens (systemd `READY=1`).
public final class ReadinessBarrier: Sendable {
    private let remaining: NIOLockedValueBox<Int>
    private let action: @Sendable () -> Void

    public init(count: Int, action: @escaping @Sendable () -> Void) {
        self.remaining = NIOLockedValueBox(count)
        self.action = action
    }

    /// One listener is ready.
    public func arrive() {
        let last = remaining.withLockedValue { count -> Bool in
            count -= 1
            return count == 0
        }
        if last { action() }
    }
}
