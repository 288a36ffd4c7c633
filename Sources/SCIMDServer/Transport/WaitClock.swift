import NIOCore

/// How long the server has been waiting for a peer's bytes since a mark, counting only the time a
/// read was outstanding.
///
/// A connection stops reading when the server is behind (NIO's async channel holds reads back
/// while its buffer is full; the HTTP pipeline handler holds them while it answers an earlier
/// pipelined request). The peer may have sent everything by then, so time spent not reading is
/// the server's, never charged to the peer: a client that pipelines a long request behind a slow
/// one must not be cut off for the server's slowness.
struct WaitClock: Equatable {
    /// When the outstanding read was issued; nil while no read is outstanding.
    private var waitingSince: NIODeadline?
    /// Time waited since the mark, before `waitingSince`.
    private var waitedBefore: TimeAmount = .zero

    /// A read is outstanding: the server is waiting for the peer.
    var isWaiting: Bool { waitingSince != nil }

    /// Time waited for the peer since the last ``restart(now:)``.
    func waited(now: NIODeadline) -> TimeAmount {
        waitedBefore + (waitingSince.map { max(.zero, now - $0) } ?? .zero)
    }

    /// A read was issued (or bytes arrived, which means one was).
    mutating func startWaiting(now: NIODeadline) {
        if waitingSince == nil { waitingSince = now }
    }

    /// The reads so far were delivered and no new one is outstanding yet.
    mutating func stopWaiting(now: NIODeadline) {
        guard let since = waitingSince else { return }
        waitedBefore = waitedBefore + max(.zero, now - since)
        waitingSince = nil
    }

    /// Sets the mark: from now on, count from zero.
    mutating func restart(now: NIODeadline) {
        waitedBefore = .zero
        if waitingSince != nil { waitingSince = now }
    }
}

extension TimeAmount {
    /// The time `bytes` earn at `bytesPerSecond` (the minimum rate a peer must keep up), without
    /// overflowing for any byte count a connection can send.
    static func earned(by bytes: Int, atRate bytesPerSecond: Int) -> TimeAmount {
        guard bytesPerSecond > 0, bytes > 0 else { return .zero }
        // Whole seconds exactly; the fraction of one in floating point (nanosecond precision is plenty).
        let seconds = min(bytes / bytesPerSecond, Int(Int32.max))
        let fraction = Double(bytes % bytesPerSecond) / Double(bytesPerSecond)
        return .seconds(Int64(seconds)) + .nanoseconds(Int64(fraction * 1_000_000_000))
    }
}
