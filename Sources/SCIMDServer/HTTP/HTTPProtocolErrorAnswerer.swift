import Logging
import NIOCore
import NIOHTTP1

/// Answers a request NIO's HTTP/1.1 decoder cannot parse, then lets the connection close, as
/// NIO's `HTTPServerProtocolErrorHandler` does, but with a status and a body that say why, and a
/// log line.
///
/// NIO's handler answers every parser error with a bare `400` and an empty body, and nothing was
/// logged: an IdP that sent a 100 KB filter in its URL (past the decoder's 80 KiB limit on the
/// request line and headers) got a 400 that neither it nor the operator could explain. Now a head
/// over the limit gets `431 Request Header Fields Too Large` (RFC 6585 §5), anything else
/// malformed a `400`, each with the listener's own error body (a SCIM error on the SCIM
/// listener), and a notice naming the error and the client.
///
/// Like NIO's handler it answers only when no response has started (a response already under
/// way cannot be replaced), passes the error on, and relies on the decoder closing the channel
/// right after.
final class HTTPProtocolErrorAnswerer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The status and body a listener answers a parser error with.
    struct Refusal {
        var status: HTTPResponseStatus
        var contentType: String
        var body: String
    }

    /// The refusal for an error: ``status(for:)`` and a body saying ``reason(for:)``.
    let refusal: @Sendable (HTTPParserError) -> Refusal
    let logger: Logger
    /// For the log line: `SCIM HTTP`, `metrics`, `dashboard`.
    let listener: String
    private var responseInProgress = false

    init(listener: String, logger: Logger, refusal: @escaping @Sendable (HTTPParserError) -> Refusal) {
        self.listener = listener
        self.logger = logger
        self.refusal = refusal
    }

    /// 431 for a request line and headers over the decoder's limit, else 400.
    static func status(for error: HTTPParserError) -> HTTPResponseStatus {
        error == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
    }

    /// What went wrong, for the client and the log.
    static func reason(for error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow:
            return "the request line and headers exceed 80 KiB; send long filters in the body of POST /.search (RFC 7644 §3.4.3)"
        default:
            return "malformed HTTP/1.1 request (\(error))"
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let answer = refusal(parserError)
        logger.notice(
            "HTTP request refused: malformed",
            metadata: [
                "listener": "\(listener)", "status": "\(answer.status.code)", "error": "\(parserError)",
                "remote": "\(context.remoteAddress?.ipAddress ?? "?")",
            ])
        if !responseInProgress {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: answer.contentType)
            headers.add(name: "Content-Length", value: String(answer.body.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 100 && head.status.code < 200 && head.status != .switchingProtocols:
            break  // informational: the final response is still to come
        case .head: responseInProgress = true
        case .body: break
        case .end: responseInProgress = false
        }
        context.write(data, promise: promise)
    }

    /// A plain-text refusal, for the listeners that do not speak SCIM (metrics, dashboard).
    @Sendable static func plainText(_ error: HTTPParserError) -> Refusal {
        Refusal(status: status(for: error), contentType: "text/plain; charset=utf-8", body: reason(for: error) + "\n")
    }
}
