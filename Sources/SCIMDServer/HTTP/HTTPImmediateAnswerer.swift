import Logging
import NIOCore
import NIOHTTP1
import SCIMDProtocol

/// Answers on the event loop the SCIM HTTP requests that need no waiting, as
/// ``SynchronousAnswerer`` does for the socket: a `GET` without a body that an index or list order
/// serves from a connection in memory (an IdP's `userName eq` before each push), `/healthz`, and
/// requests refused before they reach the data. Everything else goes to the connection's task
/// (``SCIMHTTPServer``) as before.
///
/// It sits after ``HTTPConnectionGuard``, behind NIO's `HTTPServerPipelineHandler`, so it sees one
/// request at a time, and the next only once the response to this one has been written: answers
/// keep the order of requests however they are answered. It holds a `GET`'s head until its end
/// arrives; a `GET` that turns out to have a body, and every request while the task is answering
/// one (until the task's response `.end` passes here), goes to the task whole. While the channel
/// is not writable it answers nothing itself, so a client that does not read meets the task's
/// backpressure.
final class HTTPImmediateAnswerer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Answers a complete request from the client at an address at once, or nil when the task
    /// must (see ``SCIMHTTPServer/answerImmediately(_:peer:)``).
    private let answer: (HTTPRequestHead, SocketAddress?) -> (HTTPResponseHead, ByteBuffer?)?
    /// A `GET` head held until its end comes.
    private var held: HTTPRequestHead?
    /// The task is answering a request: everything goes to it until its response's end.
    private(set) var taskBusy = false

    init(answer: @escaping (HTTPRequestHead, SocketAddress?) -> (HTTPResponseHead, ByteBuffer?)?) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if taskBusy {
            context.fireChannelRead(data)
            return
        }
        switch part {
        case .head(let head):
            if head.method == .GET, Self.hasNoBody(head), context.channel.isWritable {
                held = head
            } else {
                handToTask(context, data)
            }
        case .body:
            if let head = held {
                // A GET with a body after all: the task answers it, body and all.
                held = nil
                handToTask(context, wrapInboundOut(.head(head)))
                context.fireChannelRead(data)
            } else {
                context.fireChannelRead(data)
            }
        case .end:
            guard let head = held else {
                context.fireChannelRead(data)
                return
            }
            held = nil
            if context.channel.isWritable, let (responseHead, body) = answer(head, context.remoteAddress) {
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                if var body {
                    while body.readableBytes > 0, let slice = body.readSlice(length: min(body.readableBytes, 65_536)) {
                        context.write(wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
                    }
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                handToTask(context, wrapInboundOut(.head(head)))
                context.fireChannelRead(data)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only the task writes while it is busy: its response's end frees this handler again.
        if taskBusy, case .end = unwrapOutboundIn(data) { taskBusy = false }
        context.write(data, promise: promise)
    }

    private func handToTask(_ context: ChannelHandlerContext, _ data: NIOAny) {
        taskBusy = true
        context.fireChannelRead(data)
    }

    /// No `Content-Length` above 0, no `Transfer-Encoding` and no `Expect`: nothing will follow the head but its end.
    static func hasNoBody(_ head: HTTPRequestHead) -> Bool {
        let length = head.headers.first(name: "content-length")
        return (length == nil || length == "0") && !head.headers.contains(name: "transfer-encoding") && !head.headers.contains(name: "expect")
    }
}
