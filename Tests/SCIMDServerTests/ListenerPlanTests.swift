import SCIMDServer
import NIOConcurrencyHelpers
import Testing

/// Which sockets scimd serves, from its options and systemd's descriptors.
@Suite struct ListenerPlanTests {
    @Test func withoutHTTPOptionOrHTTPDescriptorThereIsNoHTTPListener() {
        let plain = ListenerPlan.resolve(socketOption: "/tmp/s.sock", httpOption: nil, inherited: [], runtimeDirectory: nil)
        #expect(plain.http.isEmpty)
        #expect(plain.rpc == .path("/tmp/s.sock"))
        let activated = ListenerPlan.resolve(
            socketOption: nil, httpOption: nil, inherited: [(3, "rpc")], runtimeDirectory: "/run/scimd")
        #expect(activated.http.isEmpty)
        #expect(activated.rpc == .inherited(descriptor: 3))
        #expect(ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [], runtimeDirectory: "/run/scimd").rpc == .path("/run/scimd/scimd.sock"))
        #expect(ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [], runtimeDirectory: nil).rpc == .path("scimd.sock"))
    }

    @Test func theHTTPOptionTurnsTheListenerOn() {
        let plan = ListenerPlan.resolve(
            socketOption: nil, httpOption: .tcp(host: "127.0.0.1", port: 8080), inherited: [], runtimeDirectory: nil)
        #expect(plan.http == [.tcp(host: "127.0.0.1", port: 8080)])
        #expect(plan.notes.isEmpty)
    }

    @Test func descriptorsAreAdoptedByNameWhateverTheirOrder() {
        let plan = ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "http"), (4, "rpc")], runtimeDirectory: nil)
        #expect(plan.rpc == .inherited(descriptor: 4))
        #expect(plan.http == [.inherited(descriptor: 3)])
        // ListenStream=127.0.0.1:8080 and ListenStream=[::1]:8080 in one unit: two descriptors named http.
        let two = ListenerPlan.resolve(
            socketOption: nil, httpOption: nil, inherited: [(3, "rpc"), (4, "http"), (5, "http")], runtimeDirectory: nil)
        #expect(two.http == [.inherited(descriptor: 4), .inherited(descriptor: 5)])
    }

    /// A socket passed without a name scimd serves, or with a misspelled one, is listed to be
    /// closed with a warning: left open it accepted connections nobody answered.
    @Test func descriptorsScimdDoesNotServeAreListed() {
        // systemd-socket-activate without --fdname: both "unknown"; the first is JSON-RPC.
        let unnamed = ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "unknown"), (4, "unknown")], runtimeDirectory: nil)
        #expect(unnamed.rpc == .inherited(descriptor: 3))
        #expect(unnamed.http.isEmpty)
        #expect(unnamed.ignored.map(\.descriptor) == [4])
        let misspelled = ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "rpc"), (4, "htpp"), (5, "http")], runtimeDirectory: nil)
        #expect(misspelled.ignored.map(\.name) == ["htpp"])
        #expect(misspelled.http == [.inherited(descriptor: 5)])
        #expect(ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "rpc"), (4, "http")], runtimeDirectory: nil).ignored.isEmpty)
        let warning = ListenerPlan.ignoredWarning(descriptor: 4, name: "htpp")
        #expect(warning.contains("descriptor 4, named 'htpp'") && warning.contains("FileDescriptorName=http"))
    }

    @Test func anHTTPDescriptorIsNeverTakenForJSONRPC() {
        let plan = ListenerPlan.resolve(
            socketOption: "/tmp/s.sock", httpOption: nil, inherited: [(3, "http")], runtimeDirectory: nil)
        #expect(plan.rpc == .path("/tmp/s.sock"))
        #expect(plan.http == [.inherited(descriptor: 3)])
    }

    @Test func systemdsHTTPSocketWinsOverTheOptionAndSaysSo() {
        let plan = ListenerPlan.resolve(
            socketOption: nil, httpOption: .tcp(host: "127.0.0.1", port: 9999), inherited: [(3, "rpc"), (4, "http")],
            runtimeDirectory: nil)
        #expect(plan.http == [.inherited(descriptor: 4)])
        #expect(plan.notes.count == 1)
        #expect(plan.notes.first?.contains("--http 127.0.0.1:9999 ignored") == true)
    }

    @Test func metricsAreOffUnlessAskedForAndTheirSocketIsNeverTakenForJSONRPC() {
        let off = ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "rpc")], runtimeDirectory: nil)
        #expect(off.metrics.isEmpty)
        let option = ListenerPlan.resolve(
            socketOption: "/tmp/s.sock", httpOption: nil, metricsOption: .tcp(host: "127.0.0.1", port: 9464), inherited: [],
            runtimeDirectory: nil)
        #expect(option.metrics == [.tcp(host: "127.0.0.1", port: 9464)])
        #expect(option.notes.isEmpty)
        // scimd-metrics.socket first in the list, the JSON-RPC socket after it.
        let activated = ListenerPlan.resolve(
            socketOption: nil, httpOption: nil, inherited: [(3, "metrics"), (4, "http"), (5, "rpc")], runtimeDirectory: nil)
        #expect(activated.rpc == .inherited(descriptor: 5))
        #expect(activated.http == [.inherited(descriptor: 4)])
        #expect(activated.metrics == [.inherited(descriptor: 3)])
        let onlyMetrics = ListenerPlan.resolve(
            socketOption: "/tmp/s.sock", httpOption: nil, inherited: [(3, "metrics")], runtimeDirectory: nil)
        #expect(onlyMetrics.rpc == .path("/tmp/s.sock"))
    }

    @Test func systemdsMetricsSocketWinsOverTheOptionAndSaysSo() {
        let plan = ListenerPlan.resolve(
            socketOption: nil, httpOption: nil, metricsOption: .tcp(host: "127.0.0.1", port: 9999),
            inherited: [(3, "rpc"), (4, "metrics")], runtimeDirectory: nil)
        #expect(plan.metrics == [.inherited(descriptor: 4)])
        #expect(plan.notes == ["--metrics 127.0.0.1:9999 ignored: systemd passed the metrics socket"])
    }

    @Test func theDashboardIsOffUnlessAskedForAndItsSocketIsNeverTakenForJSONRPC() {
        let off = ListenerPlan.resolve(socketOption: nil, httpOption: nil, inherited: [(3, "rpc")], runtimeDirectory: nil)
        #expect(off.dashboard.isEmpty)
        let option = ListenerPlan.resolve(
            socketOption: "/tmp/s.sock", httpOption: nil, dashboardOption: .unix(path: "/run/scimd/dashboard.sock"), inherited: [],
            runtimeDirectory: nil)
        #expect(option.dashboard == [.unix(path: "/run/scimd/dashboard.sock")])
        // scimd-dashboard.socket first in the list, the JSON-RPC socket after it.
        let activated = ListenerPlan.resolve(
            socketOption: nil, httpOption: nil, dashboardOption: .tcp(host: "127.0.0.1", port: 9999),
            inherited: [(3, "dashboard"), (4, "rpc")], runtimeDirectory: nil)
        #expect(activated.rpc == .inherited(descriptor: 4))
        #expect(activated.dashboard == [.inherited(descriptor: 3)])
        #expect(activated.notes == ["--dashboard 127.0.0.1:9999 ignored: systemd passed the dashboard socket"])
    }

    @Test func readinessWaitsForEveryListener() {
        let calls = Counter()
        let barrier = ReadinessBarrier(count: 2) { calls.add() }
        barrier.arrive()
        #expect(calls.value == 0)
        barrier.arrive()
        #expect(calls.value == 1)
    }
}

/// HTTP listen addresses as `--http` takes them.
@Suite struct HTTPListenAddressTests {
    @Test func parsesHostPortIPv6AndUnixSockets() throws {
        #expect(try HTTPListenAddress(parsing: "127.0.0.1:8080") == .tcp(host: "127.0.0.1", port: 8080))
        #expect(try HTTPListenAddress(parsing: "localhost:0") == .tcp(host: "localhost", port: 0))
        #expect(try HTTPListenAddress(parsing: "0.0.0.0:443") == .tcp(host: "0.0.0.0", port: 443))
        #expect(try HTTPListenAddress(parsing: "[::1]:8080") == .tcp(host: "::1", port: 8080))
        #expect(try HTTPListenAddress(parsing: "unix:/run/scimd/http.sock") == .unix(path: "/run/scimd/http.sock"))
        #expect(HTTPListenAddress.tcp(host: "::1", port: 8080).description == "[::1]:8080")
        #expect(HTTPListenAddress.unix(path: "/x").description == "unix:/x")
    }

    @Test func refusesWhatIsNotAnAddress() {
        for text in ["8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1", "::1:8080",
            "[::1]8080", "[::1]", "unix:", "unix:relative.sock", "unix:/" + String(repeating: "x", count: 120)]
        {
            #expect(throws: HTTPListenAddressError.self, "\(text)") { try HTTPListenAddress(parsing: text) }
        }
    }
}

/// A thread-safe tally for callbacks.
final class Counter: Sendable {
    private let count = NIOLockedValueBox(0)
    func add() { count.withLockedValue { $0 += 1 } }
    var value: Int { count.withLockedValue { $0 } }
}
