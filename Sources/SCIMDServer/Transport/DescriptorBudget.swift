import Foundation

/// Fits scimd's connection caps inside its file-descriptor limit, so that clients can never make
/// it run out of descriptors.
///
/// Running out is not only a refused `accept`: libdispatch (which GRDB's queues and Swift's
/// timers run on) checks its worker threads by opening `/proc/<tid>/stat` while work is queued,
/// and traps (SIGILL) when that open fails. A daemon at its descriptor limit therefore dies at
/// random, whatever scimd's own code does. So the caps come first: at start scimd raises its soft
/// `RLIMIT_NOFILE` towards the hard limit as far as the caps need, and if that is not enough it
/// lowers `--max-connections` and `--http-max-connections` to fit (and says so in the log).
/// Past the caps a client gets an answer and is closed: at most
/// ``ConnectionLimiter/maxLingeringRefusals`` of them per listener wait for the client to close
/// first, the others are closed as soon as the answer is written.
public struct DescriptorBudget: Equatable, Sendable {
    /// Descriptors kept for everything but client connections: standard streams, the database
    /// lock, SQLite's writer and readers (two files each) and shared memory, the event loops'
    /// epoll/eventfd/timerfd, libdispatch's own, the listeners, a backup being written,
    /// sd_notify and the transient opens of libdispatch and Foundation. About 40 are in use in
    /// the worst case measured (`ls /proc/PID/fd`); the rest is margin.
    public static let reserve = 64
    /// Descriptors per listener beyond its cap: refused connections waiting for their client to
    /// close (``ConnectionLimiter/maxLingeringRefusals``), and as many again accepted in one batch
    /// and not yet closed.
    public static let perListenerOverhead = 2 * ConnectionLimiter.maxLingeringRefusals

    /// The soft descriptor limit scimd runs with.
    public var limit: Int
    /// JSON-RPC connections served at once (`--max-connections`, lowered to fit when needed).
    public var maxConnections: Int
    /// SCIM HTTP connections served at once per HTTP listener (`--http-max-connections`, lowered to fit when needed).
    public var httpMaxConnections: Int
    /// Whether the caps asked for were lowered to fit `limit`.
    public var lowered: Bool

    /// The plan for the limits `soft` and `hard` and the caps asked for: the soft limit to run
    /// with (raised towards `hard` as far as the caps need) and the caps that fit in it. Throws
    /// ``TooFewDescriptors`` when not even one connection per listener fits beside the reserve.
    public static func plan(
        soft: Int, hard: Int, maxConnections: Int, httpMaxConnections: Int, httpListeners: Int
    ) throws(TooFewDescriptors) -> DescriptorBudget {
        let overhead = perListenerOverhead * (1 + httpListeners)
        let wanted = reserve + overhead + maxConnections + httpListeners * httpMaxConnections
        let limit = soft >= wanted ? soft : max(soft, min(hard, wanted))
        let available = limit - reserve - overhead
        let asked = maxConnections + httpListeners * httpMaxConnections
        guard available >= 1 + httpListeners else {
            throw TooFewDescriptors(limit: limit, needed: reserve + overhead + 1 + httpListeners)
        }
        if available >= asked {
            return DescriptorBudget(limit: limit, maxConnections: maxConnections, httpMaxConnections: httpMaxConnections, lowered: false)
        }
        // Share what is available in the proportion asked for, at least one each.
        let rpc = max(1, min(maxConnections, available * maxConnections / asked))
        let http = httpListeners == 0 ? httpMaxConnections : max(1, min(httpMaxConnections, (available - rpc) / httpListeners))
        return DescriptorBudget(limit: limit, maxConnections: rpc, httpMaxConnections: http, lowered: true)
    }

    /// Reads this process's `RLIMIT_NOFILE`, raises the soft limit as ``plan(soft:hard:maxConnections:httpMaxConnections:httpListeners:)``
    /// says, and returns the plan. Throws ``TooFewDescriptors``.
    public static func apply(maxConnections: Int, httpMaxConnections: Int, httpListeners: Int) throws(TooFewDescriptors) -> DescriptorBudget {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            // Cannot tell: keep the caps asked for.
            return DescriptorBudget(limit: Int.max, maxConnections: maxConnections, httpMaxConnections: httpMaxConnections, lowered: false)
        }
        let clamp: (rlim_t) -> Int = { $0 > rlim_t(Int32.max) ? Int(Int32.max) : Int($0) }
        let soft = clamp(limits.rlim_cur)
        let budget = try plan(
            soft: soft, hard: clamp(limits.rlim_max), maxConnections: maxConnections,
            httpMaxConnections: httpMaxConnections, httpListeners: httpListeners)
        guard budget.limit > soft else { return budget }
        var raised = limits
        raised.rlim_cur = rlim_t(budget.limit)
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { return budget }
        // Not raised after all: fit the caps in the limit as it is.
        return try plan(
            soft: soft, hard: soft, maxConnections: maxConnections, httpMaxConnections: httpMaxConnections, httpListeners: httpListeners)
    }
}

/// The descriptor limit leaves no room for even one client connection per listener.
public struct TooFewDescriptors: Error, CustomStringConvertible {
    /// The soft limit scimd would run with (raised as far as the hard limit allows).
    public var limit: Int
    /// The smallest limit that serves one client per listener.
    public var needed: Int
    public var description: String {
        "the file descriptor limit (\(limit)) is too low for scimd: it needs at least \(needed) (raise LimitNOFILE= or `ulimit -n`)"
    }
}
