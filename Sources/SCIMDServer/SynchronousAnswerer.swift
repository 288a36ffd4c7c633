import NIOCore
import SCIMDFraming
import SCIMJSON

/// What the request loop of a socket connection receives: a frame as read, or a line the
/// ``SynchronousAnswerer`` already parsed and could not answer at once.
enum RPCInbound: Sendable {
    case frame(InboundFrame)
    case message(JSONValue)
}

/// What the request loop writes: answers (or a notification), or the last answers of a batch it
/// was handed, which tells the ``SynchronousAnswerer`` that the loop is done with that batch.
enum RPCOutbound: Sendable {
    case bytes(ByteBuffer)
    /// The end of one batch, with its last answers (empty when they all went out already).
    case batchEnd(ByteBuffer)
}

/// Answers on the event loop, without a task, the calls that need no waiting, and hands the rest
/// of each batch of lines to the connection's request loop (``RPCServer``).
///
/// A sequential `system.health` went from the event loop to the request loop's task and back: the
/// async channel's stream, a continuation resumed, a job on the executor and the outbound writer's
/// hop, each run cold after every wake-up. That path cost about three times what a bare echo
/// server spends per round trip. Here a line is parsed once, on the thread that read it, and a
/// method registered to answer synchronously (``RPCDispatcher/registerSynchronous(_:_:)``) is
/// answered in place and written in the same pass.
///
/// Answers stay in the order of their lines: the answerer only answers while the request loop has
/// nothing of this connection's (``batchesInLoop`` is 0, counted up when a batch is handed on and
/// down when its ``RPCOutbound/batchEnd(_:)`` passes here on its way out, after all its answers).
/// From the first line it cannot answer, the rest of the read goes to the loop in order. It also
/// hands everything on while the channel is not writable, and writes its answers every
/// ``RPCServer/answerFlushBytes`` (handing the rest of the read on once the channel stops being
/// writable), so a client that does not read its answers meets the request loop's backpressure,
/// not an unbounded outbound buffer.
final class SynchronousAnswerer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = [InboundFrame]
    typealias InboundOut = [RPCInbound]
    typealias OutboundIn = RPCOutbound
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RPCDispatcher
    private let counters: TransportCounters
    /// Batches handed to the request loop whose end has not come back yet.
    private(set) var batchesInLoop = 0

    init(dispatcher: RPCDispatcher, counters: TransportCounters) {
        self.dispatcher = dispatcher
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frames = unwrapInboundIn(data)
        var next = 0
        var deferred: JSONValue? = nil
        if batchesInLoop == 0, context.channel.isWritable {
            var answers = context.channel.allocator.buffer(capacity: 0)
            // The access-log lines of the calls answered here go out together, after the answers.
            let logLines = LogLineBatch()
            LogLineBatch.$current.withValue(logLines) {
                while next < frames.count, case .line(let line) = frames[next] {
                    if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                        next += 1
                        continue
                    }
                    switch dispatcher.answerSynchronously(line: line.readableBytesView) {
                    case .answered(let response):
                        counters.served.add(1, ordering: .relaxed)
                        if let response {
                            answers.writeBytes(response)
                            answers.writeInteger(UInt8(ascii: "\n"))
                        }
                        next += 1
                        // A long run of answers (pipelined pages of users) is not gathered whole:
                        // it goes out at the loop's threshold, and once the socket stops taking
                        // more, the rest of the read goes to the loop, whose writes wait for it.
                        if answers.readableBytes >= RPCServer.answerFlushBytes {
                            context.writeAndFlush(wrapOutboundOut(answers), promise: nil)
                            answers = context.channel.allocator.buffer(capacity: 0)
                            logLines.flush()
                            if !context.channel.isWritable { return }
                        }
                    case .deferred(let message):
                        deferred = message
                        next += 1
                        return
                    }
                }
            }
            if answers.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(answers), promise: nil) }
            logLines.flush()
        }
        guard deferred != nil || next < frames.count else { return }
        var rest: [RPCInbound] = []
        rest.reserveCapacity(frames.count - next + 1)
        if let deferred { rest.append(.message(deferred)) }
        for frame in frames[next...] { rest.append(.frame(frame)) }
        batchesInLoop += 1
        context.fireChannelRead(wrapInboundOut(rest))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .bytes(let bytes):
            context.write(wrapOutboundOut(bytes), promise: promise)
        case .batchEnd(let bytes):
            batchesInLoop -= 1
            if bytes.readableBytes > 0 {
                context.write(wrapOutboundOut(bytes), promise: promise)
            } else {
                promise?.succeed(())
            }
        }
    }
}
