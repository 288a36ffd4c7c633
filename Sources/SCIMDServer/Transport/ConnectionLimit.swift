import Logging
import NIOCore
import Synchronization

/// Admits at most `limit` connections at a time to one listener (`--max-connections`,
/// `--http-max-connections`), so that a flood of clients is refused with an answer instead of
/// running the daemon out of descriptors, where nobody new gets in and nobody learns why.
final class ConnectionLimiter: Sendable {
    /// Most connections open at once.
    let limit: Int
    private let live = Atomic<Int>(0)
    /// Refused since the last connection admitted: the log says when refusing starts and when it
    /// ends, not once per refused client (a flood would otherwise flood the log too).
    private let refusedInEpisode = Atomic<Int>(0)
    /// Refused connections that may stay open while they wait for the client to close first
    /// (see ``NIOCore/ChannelHandlerContext/answerThenClose(_:linger:)``). Past this many, a
    /// refused connection is closed as soon as its answer is written: a flood of refused clients
    /// that keep their side open must not hold a descriptor each (see ``DescriptorBudget``).
    static let maxLingeringRefusals = 8
    private let lingering = Atomic<Int>(0)
    let logger: Logger
    /// Names the listener and its option in the log.
    let listener: String
    let option: String

    init(limit: Int, listener: String, option: String, logger: Logger) {
        self.limit = limit
        self.listener = listener
        self.option = option
        self.logger = logger
    }

    /// Connections admitted and not yet closed.
    var current: Int { live.load(ordering: .relaxed) }

    /// Takes a slot if one is free. A compare-exchange rather than add-then-check, so that two
    /// accepts racing for the last slot cannot both be refused.
    func tryAdmit() -> Bool {
        var seen = live.load(ordering: .relaxed)
        while seen < limit {
            let (exchanged, original) = live.compareExchange(expected: seen, desired: seen + 1, ordering: .relaxed)
            if exchanged { return true }
            seen = original
        }
        return false
    }

    /// Gives back the slot of a connection that closed.
    func release() {
        live.subtract(1, ordering: .relaxed)
    }

    /// Admits `channel` (its slot is given back when it closes) and returns true or, over the
    /// limit, sets its pipeline up to send `refusal` and close, counts it in `counters`, and
    /// returns false.
    /// Runs in the child channel initializer, before the channel is registered.
    func admit(_ channel: any Channel, refusal: ByteBuffer, counters: TransportCounters) throws -> Bool {
        if tryAdmit() {
            channel.closeFuture.whenComplete { _ in self.release() }
            let refused = refusedInEpisode.exchange(0, ordering: .relaxed)
            if refused > 0 {
                logger.warning(
                    "\(listener) listener admits connections again after refusing \(refused) at \(option) \(limit)",
                    metadata: ["refused": "\(refused)"])
            }
            return true
        }
        counters.refused.add(1, ordering: .relaxed)
        if refusedInEpisode.add(1, ordering: .relaxed).newValue == 1 {
            logger.warning("\(listener) listener is at \(option) \(limit): refusing new connections until some close")
        }
        if lingering.add(1, ordering: .relaxed).newValue <= Self.maxLingeringRefusals {
            channel.closeFuture.whenComplete { _ in self.lingering.subtract(1, ordering: .relaxed) }
            try channel.pipeline.syncOperations.addHandler(RefusingHandler(answer: refusal))
        } else {
            lingering.subtract(1, ordering: .relaxed)
            try channel.pipeline.syncOperations.addHandler(RefusingHandler(answer: refusal, linger: .zero))
        }
        return false
    }
}

/// What a listener's child channel initializer hands the accept loop: a connection to serve, or
/// one that was refused and answers and closes by itself (never wrapped for async use: nothing
/// reads from it).
enum Admission<Connection: Sendable>: Sendable {
    case serve(Connection)
    case refused
}

/// Answers a connection the server will not serve with one message, then closes it
/// (``NIOCore/ChannelHandlerContext/answerThenClose(_:linger:)``), dropping whatever it sends.
final class RefusingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let answer: ByteBuffer
    let linger: TimeAmount
    private var answered = false

    init(answer: ByteBuffer, linger: TimeAmount = .seconds(2)) {
        self.answer = answer
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { respond(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        respond(context: context)
        context.fireChannelActive()
    }

    private func respond(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        context.answerThenClose(answer, linger: linger)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Dropped: the client is not served.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension ChannelHandlerContext {
    /// Writes `answer` from this handler towards the socket, closes our side once it is written,
    /// and closes the connection when the peer closes its side or `linger` passes, whichever
    /// comes first. The caller drops what the peer still sends.
    ///
    /// Why not close at once: closing a TCP socket with unread bytes in it sends a reset, and a
    /// client that already sent (part of) its request would then often get the reset instead of
    /// the answer. The linger bounds how long such a client holds the descriptor.
    func answerThenClose(_ answer: ByteBuffer, linger: TimeAmount) {
        let loopBound = self.loopBound
        writeAndFlush(NIOAny(answer)).whenComplete { _ in
            let context = loopBound.value
            let halfClosed = context.eventLoop.makePromise(of: Void.self)
            // A transport without half-closure: close outright, the answer is already written.
            halfClosed.futureResult.whenFailure { _ in loopBound.value.close(promise: nil) }
            context.close(mode: .output, promise: halfClosed)
        }
        eventLoop.assumeIsolated().scheduleTask(in: linger) {
            loopBound.value.close(promise: nil)
        }
    }
}
