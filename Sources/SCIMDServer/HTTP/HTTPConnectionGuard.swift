import Logging
import NIOCore
import NIOHTTP1

/// Decides when an HTTP connection closes, on the channel's event loop, where it sees both the
/// request parts coming in and the response parts going out.
///
/// - After a response marked `Connection: close` is fully written, it closes the connection; if
///   the client is still sending that request's body (a 413), it closes only our side, so the
///   client reads the answer instead of a reset, and the connection loop drops the rest.
/// - On `IdleStateHandler` events it closes a client that is slow or gone: a read timeout while
///   the server is *not* working on a complete request (an idle keep-alive connection, or a request
///   whose head or body stalls), or a write timeout while a response is being written and the
///   client does not read it. A read timeout while the engine works on a request is ignored:
///   the client is waiting for us, not the other way round.
///
/// It also tells ``HTTPRequestTimer`` (before the decoder) where requests and responses begin and
/// end, for the request head and body deadlines.
///
/// It sits after NIO's `HTTPServerPipelineHandler`, so it sees one request at a time.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request's head arrived and its end has not.
    private(set) var requestInProgress = false
    /// A request arrived and its response has not been written yet.
    private(set) var awaitingResponse = false
    /// A response's head was written and its end has not been.
    private(set) var writingResponse = false
    /// The response being written says `Connection: close`.
    private var closeAfterResponse = false
    private let logger: Logger
    /// The connection's request deadlines (same event loop); nil in tests of this guard alone.
    private let deadlines: HTTPRequestTimer?

    init(logger: Logger, deadlines: HTTPRequestTimer? = nil) {
        self.logger = logger
        self.deadlines = deadlines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestInProgress = true
            awaitingResponse = true
            deadlines?.observe(.requestHead)
        case .body:
            break
        case .end:
            requestInProgress = false
            deadlines?.observe(.requestEnd)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200:
            break  // 100 Continue: the real response is still to come
        case .head(let head):
            writingResponse = true
            closeAfterResponse = !head.isKeepAlive
        case .body:
            break
        case .end:
            // Updated before passing the write on: writing `.end` makes the pipeline handler deliver
            // the next pipelined request at once, re-entrantly, which sets these again.
            writingResponse = false
            awaitingResponse = false
            deadlines?.observe(.responseEnd)
            if closeAfterResponse {
                closeAfterResponse = false
                let mode: CloseMode = requestInProgress ? .output : .all
                let written = promise ?? context.eventLoop.makePromise()
                let bound = context.loopBound
                written.futureResult.whenComplete { _ in bound.value.close(mode: mode, promise: nil) }
                context.write(data, promise: written)
                return
            }
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let working = awaitingResponse && !requestInProgress
        switch idle {
        case .read where !working:
            logger.debug(
                "closing an HTTP connection: client idle too long",
                metadata: ["midRequest": "\(requestInProgress)", "remote": "\(context.remoteAddress?.description ?? "?")"])
            context.close(promise: nil)
        case .write where writingResponse:
            logger.debug("closing an HTTP connection: client stopped reading its response")
            context.close(promise: nil)
        default:
            break
        }
    }
}
