import Logging
import NIOCore
import SCIMModel

/// The deadlines of one HTTP connection's requests: the whole request head within
/// `--http-header-timeout`, and the body within `--http-body-timeout`, extended by one second for
/// every `--http-min-body-rate` bytes received (Apache's mod_reqtimeout `header=20, body=20,
/// MinRate=…`; nginx's client_header_timeout and client_body_timeout; Go's ReadHeaderTimeout).
///
/// `IdleStateHandler` cannot do this: every byte resets it, so a client sending one byte per
/// idle timeout held a connection forever. The head's deadline starts at the first byte of a
/// request, so an idle keep-alive connection is still governed by the idle timeout alone, and
/// nothing here runs while the server works on a complete request. Only time with a read
/// outstanding counts (``WaitClock``).
///
/// A pure state machine: no I/O, the clock is passed in. ``HTTPRequestTimer`` feeds it what the
/// connection sees (raw bytes before the HTTP decoder; request and response parts, through
/// ``HTTPConnectionGuard``, after it) and does what it answers.
struct HTTPRequestDeadlines {
    /// The configured limits.
    struct Limits: Equatable {
        /// Time allowed for the whole request head, from its first byte.
        var header: TimeAmount
        /// Time allowed for the body, from the end of the head, before any extension.
        var body: TimeAmount
        /// Each this many body bytes received extend the body's deadline by one second.
        var minBodyRate: Int
    }

    /// Which part of the request was too slow.
    enum Phase: Equatable, CustomStringConvertible {
        case head, body
        var description: String { self == .head ? "request head" : "request body" }
    }

    /// What the connection saw.
    enum Event: Equatable {
        /// Raw bytes arrived (before the HTTP decoder).
        case received(bytes: Int)
        /// A read was issued: the server waits for the client.
        case readRequested
        /// The reads so far were delivered.
        case readCompleted
        /// The decoder produced a request head.
        case requestHead
        /// The decoder produced the request's end.
        case requestEnd
        /// The last part of a response was written.
        case responseEnd
        /// The client closed its side (or the connection closed).
        case inputClosed
        /// The time asked for in ``Action/wakeUp(at:)`` came.
        case timer
    }

    /// What the connection must do.
    enum Action: Equatable {
        /// No deadline is running.
        case none
        /// Deliver ``Event/timer`` no later than this (a timer already due earlier will do: the
        /// machine asks again).
        case wakeUp(at: NIODeadline)
        /// Answer `408 Request Timeout` and close: this phase of the request took too long.
        case reject(Phase)
        /// Close without an answer: the response was already sent (an early 413) and the rest of
        /// the body the client still owes did not come in time.
        case close
    }

    private enum State: Equatable {
        /// Between requests: nothing of the next one has arrived.
        case idle
        /// Bytes of a request arrived, its head is not complete.
        case head
        /// The head arrived; `bytes` of body (or anything) since.
        case body(bytes: Int)
        /// The request is complete and the server works on it; `nextStarted` when bytes of the
        /// next (pipelined) request arrived meanwhile.
        case working(nextStarted: Bool)
        /// Answered before the request's body ended (413); the client still sends it.
        case draining(bytes: Int)
        /// Rejected or closing: no more deadlines.
        case finished
    }

    let limits: Limits
    private var state = State.idle
    private var clock = WaitClock()

    init(limits: Limits) {
        self.limits = limits
    }

    /// Feeds one event at `now` and says what to do.
    mutating func event(_ event: Event, now: NIODeadline) -> Action {
        switch event {
        case .readRequested:
            clock.startWaiting(now: now)
        case .readCompleted:
            clock.stopWaiting(now: now)
        case .received(let count):
            clock.startWaiting(now: now)
            switch state {
            case .idle:
                state = .head
                clock.restart(now: now)
            case .body(let bytes):
                state = .body(bytes: bytes + count)
            case .draining(let bytes):
                state = .draining(bytes: bytes + count)
            case .working:
                state = .working(nextStarted: true)
            case .head, .finished:
                break
            }
        case .requestHead:
            if state != .finished {
                state = .body(bytes: 0)
                clock.restart(now: now)
            }
        case .requestEnd:
            switch state {
            case .draining: state = .finished
            case .finished: break
            default: state = .working(nextStarted: false)
            }
        case .responseEnd:
            switch state {
            case .working(let nextStarted):
                state = nextStarted ? .head : .idle
                clock.restart(now: now)
            case .body(let bytes):
                state = .draining(bytes: bytes)
            case .idle, .head, .draining, .finished:
                break
            }
        case .inputClosed:
            // What was sent is all there will be: the decoder and the server decide the rest.
            state = .finished
        case .timer:
            break
        }
        return check(now: now)
    }

    /// The deadline of the current phase, or what to do now that it passed.
    private func allowance() -> TimeAmount? {
        switch state {
        case .head: return limits.header
        case .body(let bytes), .draining(let bytes): return limits.body + .earned(by: bytes, atRate: limits.minBodyRate)
        case .idle, .working, .finished: return nil
        }
    }

    private mutating func check(now: NIODeadline) -> Action {
        guard let allowed = allowance(), clock.isWaiting else { return .none }
        let left = allowed - clock.waited(now: now)
        guard left <= .zero else { return .wakeUp(at: now + left) }
        let action: Action =
            switch state {
            case .head: .reject(.head)
            case .body: .reject(.body)
            default: .close  // draining: the answer was already sent
            }
        state = .finished
        return action
    }
}

/// Drives ``HTTPRequestDeadlines`` for one connection. It sits first in the pipeline, before the
/// HTTP decoder, so it sees raw bytes and the reads the pipeline issues; ``HTTPConnectionGuard``,
/// after the decoder, tells it about request heads and ends and response ends. Both run on the
/// connection's event loop, so they share it directly.
///
/// On a deadline it answers `408 Request Timeout` with a SCIM error body and `Connection: close`
/// as raw bytes, written from here straight to the socket: NIO's HTTP encoder cannot be used, as
/// there may be no request head for it to answer. Then it closes (our side first, see
/// ``NIOCore/ChannelHandlerContext/answerThenClose(_:linger:)``) and drops whatever else arrives.
final class HTTPRequestTimer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = ByteBuffer

    private var machine: HTTPRequestDeadlines
    private var context: ChannelHandlerContext?
    /// The one timer, and when it fires. It may fire before the machine's deadline (which only
    /// moves later as bytes arrive); the machine then asks for the next one.
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// A 408 was sent: what the client still sends is dropped.
    private var rejected = false
    let linger: TimeAmount
    let logger: Logger

    init(limits: HTTPRequestDeadlines.Limits, logger: Logger, linger: TimeAmount = .seconds(2)) {
        self.machine = HTTPRequestDeadlines(limits: limits)
        self.logger = logger
        self.linger = linger
    }

    /// Tells the deadlines what the HTTP layer saw (request head/end, response end).
    func observe(_ event: HTTPRequestDeadlines.Event) {
        guard let context else { return }
        feed(event, context: context)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        feed(.received(bytes: unwrapInboundIn(data).readableBytes), context: context)
        guard !rejected else { return }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        feed(.readCompleted, context: context)
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        feed(.readRequested, context: context)
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            feed(.inputClosed, context: context)
            if rejected {
                // The client read the 408 and closed: nothing left to wait for.
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    private func feed(_ event: HTTPRequestDeadlines.Event, context: ChannelHandlerContext) {
        switch machine.event(event, now: context.eventLoop.now) {
        case .none:
            break
        case .wakeUp(let deadline):
            if let scheduled = timerDeadline, scheduled <= deadline { return }
            cancelTimer()
            timerDeadline = deadline
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.timer = nil
                self.timerDeadline = nil
                self.feed(.timer, context: context)
            }
        case .reject(let phase):
            reject(phase, context: context)
        case .close:
            cancelTimer()
            logger.debug("closing an HTTP connection: the client did not finish sending a refused request's body in time")
            context.close(promise: nil)
        }
    }

    private func reject(_ phase: HTTPRequestDeadlines.Phase, context: ChannelHandlerContext) {
        cancelTimer()
        rejected = true
        let limits = machine.limits
        let detail =
            switch phase {
            case .head:
                "the request head was not complete within \(limits.header.forLog) of its first byte (--http-header-timeout)"
            case .body:
                "the request body came too slowly: it must arrive within \(limits.body.forLog) "
                    + "plus 1 s per \(limits.minBodyRate) bytes received (--http-body-timeout, --http-min-body-rate)"
            }
        logger.notice(
            "closing an HTTP connection: client too slow", metadata: ["phase": "\(phase)", "remote": "\(context.remoteAddress?.description ?? "?")"])
        context.answerThenClose(
            SCIMHTTPTranslator.rawErrorResponse(SCIMError(status: 408, scimType: nil, detail: detail)), linger: linger)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }
}
