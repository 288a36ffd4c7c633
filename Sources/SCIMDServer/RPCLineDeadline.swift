import Logging
import NIOCore
import SCIMDProtocol

/// The deadline of one JSON-RPC connection's partial line: a line that has started must end (its
/// newline arrive) within `--rpc-line-timeout`, extended by one second for every
/// ``Limits/bytesPerExtraSecond`` bytes of it received, so a large line sent at any sane rate still
/// gets through while a client trickling bytes cannot hold a connection (and the buffered
/// partial line) forever.
///
/// A connection with no partial line has no deadline at all: an idle client, or an event
/// subscriber that only reads, stays connected however long it waits. Only time with a read
/// outstanding counts (``WaitClock``): while the server is busy with lines it already read, it
/// does not read, and that time is not the client's.
///
/// A pure state machine: no I/O, the clock is passed in; ``RPCLineTimer`` drives it.
struct RPCLineDeadline {
    /// The configured limits.
    struct Limits: Equatable {
        /// Time allowed for a line, from its first byte, before any extension.
        var line: TimeAmount
        /// Each this many bytes of the line received extend its deadline by one second.
        var bytesPerExtraSecond: Int
    }

    /// What the connection saw.
    enum Event: Equatable {
        /// Raw bytes arrived: `count` of them, of which `afterLastNewline` follow the last newline
        /// in them (nil when they hold no newline).
        case received(count: Int, afterLastNewline: Int?)
        /// A read was issued: the server waits for the client.
        case readRequested
        /// The reads so far were delivered.
        case readCompleted
        /// The client closed its side (or the connection closed).
        case inputClosed
        /// The time asked for in ``Action/wakeUp(at:)`` came.
        case timer
    }

    /// What the connection must do.
    enum Action: Equatable {
        /// No deadline is running.
        case none
        /// Deliver ``Event/timer`` no later than this (an earlier timer will do: the machine asks again).
        case wakeUp(at: NIODeadline)
        /// Answer with a `line_timeout` error and close.
        case reject
    }

    private enum State: Equatable {
        /// No partial line.
        case idle
        /// A line started and has `bytes` so far.
        case partial(bytes: Int)
        /// Rejected, or the input ended: no more deadlines.
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
        case .received(let count, let afterLastNewline):
            clock.startWaiting(now: now)
            switch (state, afterLastNewline) {
            case (.finished, _):
                break
            case (.idle, nil):
                state = .partial(bytes: count)
                clock.restart(now: now)
            case (.partial(let bytes), nil):
                state = .partial(bytes: bytes + count)
            case (_, 0?):
                // Ends exactly at a newline: every line in it is complete.
                state = .idle
            case (_, let tail?):
                state = .partial(bytes: tail)
                clock.restart(now: now)
            }
        case .inputClosed:
            // The last partial line is the last message (LineFrameDecoder hands it on at EOF).
            state = .finished
        case .timer:
            break
        }
        guard case .partial(let bytes) = state, clock.isWaiting else { return .none }
        let left = limits.line + .earned(by: bytes, atRate: limits.bytesPerExtraSecond) - clock.waited(now: now)
        guard left <= .zero else { return .wakeUp(at: now + left) }
        state = .finished
        return .reject
    }
}

/// Drives ``RPCLineDeadline`` for one JSON-RPC connection, in front of the line decoder (it sees
/// raw bytes and the reads the pipeline issues). On a deadline it writes one `-32600`
/// `line_timeout` error line and closes (``NIOCore/ChannelHandlerContext/answerThenClose(_:linger:)``);
/// what the client still sends is dropped.
final class RPCLineTimer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = ByteBuffer

    private var machine: RPCLineDeadline
    /// The one timer, and when it fires (it may fire early: the machine then asks for the next).
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var rejected = false
    let logger: Logger
    let linger: TimeAmount

    init(limits: RPCLineDeadline.Limits, logger: Logger, linger: TimeAmount = .seconds(2)) {
        self.machine = RPCLineDeadline(limits: limits)
        self.logger = logger
        self.linger = linger
    }

    /// The error line a client gets when its line does not end in time.
    static func timeoutLine(limits: RPCLineDeadline.Limits) -> ByteBuffer {
        let error = RPCError(
            code: .invalidRequest,
            message: "line not completed within \(limits.line.forLog) of its first byte, plus 1 s per \(limits.bytesPerExtraSecond) bytes received (--rpc-line-timeout)",
            kind: "line_timeout")
        var line = RPCDispatcher.response(id: nil, error: error)
        line.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: line)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !rejected else { return }
        let bytes = unwrapInboundIn(data).readableBytesView
        let afterLastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")).map { bytes.endIndex - $0 - 1 }
        feed(.received(count: bytes.count, afterLastNewline: afterLastNewline), context: context)
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
                // The client read the error and closed: nothing left to wait for.
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

    private func feed(_ event: RPCLineDeadline.Event, context: ChannelHandlerContext) {
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
        case .reject:
            cancelTimer()
            rejected = true
            logger.notice("closing a JSON-RPC connection: a line did not end in time", metadata: ["limit": "\(machine.limits.line.forLog)"])
            // Our side first: on Linux, closing a Unix socket with unread bytes in it can make the
            // client's next read fail with ECONNRESET, before it sees the error line.
            context.answerThenClose(Self.timeoutLine(limits: machine.limits), linger: linger)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }
}
