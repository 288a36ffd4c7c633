/// How long the client waits before the next connection attempt after a failure: exponential
/// growth from ``initial`` by ``multiplier`` per failed attempt, capped at ``maximum``, then
/// shortened by a random fraction of up to ``jitter`` so that many clients of one restarted
/// daemon do not reconnect in lockstep.
public struct Backoff: Sendable, Equatable {
    /// The delay before the first retry (before jitter).
    public var initial: Duration
    /// The cap on the delay (before jitter).
    public var maximum: Duration
    /// Growth per failed attempt; at least 1.
    public var multiplier: Double
    /// The largest fraction (0…1) taken off a delay at random.
    public var jitter: Double

    /// Defaults: 50 ms, doubling, at most 5 s, up to 20 % jitter.
    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5), multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = max(1, multiplier)
        self.jitter = min(1, max(0, jitter))
    }

    /// The delay before retry number `attempt` (1 for the first retry), with `random` in 0…1
    /// choosing the jitter (the client passes `Double.random(in: 0...1)`).
    public func delay(attempt: Int, random: Double) -> Duration {
        let initialSeconds = Self.seconds(initial)
        let maximumSeconds = Self.seconds(maximum)
        var seconds = initialSeconds
        var step = 1
        // Multiplied step by step so a long outage cannot overflow `pow`.
        while step < attempt && seconds < maximumSeconds {
            seconds *= multiplier
            step += 1
        }
        seconds = min(seconds, maximumSeconds)
        seconds *= 1 - jitter * min(1, max(0, random))
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
