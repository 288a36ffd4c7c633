import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOConcurrencyHelpers

/// A local HTTP/1.1 server for webhook tests: it records every request it receives and answers
/// each from a script — a status, or no answer at all (to make the sender time out).
public final class WebhookReceiver: Sendable {
    /// How the receiver answers one request.
    public enum Reply: Sendable, Equatable {
        /// This status, empty body.
        case status(Int)
        /// Never answers (the connection stays open until the sender gives up).
        case hang
    }

    /// One request as received, with how it was answered.
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var reply: Reply

        /// The first value of a header, case-insensitively.
        public func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }

        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct State {
        var script: [Reply] = []
        var fallback: Reply = .status(200)
        var received: [Request] = []
    }

    private let state = NIOLockedValueBox(State())
    private let channel: any Channel
    /// The port it listens on (loopback).
    public let port: Int
    /// `http://127.0.0.1:<port>/<path>`.
    public func url(_ path: String = "hook") -> String { "http://127.0.0.1:\(port)/\(path)" }

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    /// Starts listening on a free loopback port.
    public static func start() async throws -> WebhookReceiver {
        let box = ReceiverBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(receiver: { box.value.withLockedValue { $0 } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let receiver = WebhookReceiver(channel: channel, port: channel.localAddress?.port ?? 0)
        box.value.withLockedValue { $0 = receiver }
        return receiver
    }

    /// Stops listening and closes open connections' listener.
    public func stop() async {
        try? await channel.close()
    }

    /// The next requests are answered with `replies`, in order; after them, with `fallback`.
    public func script(_ replies: [Reply], then fallback: Reply = .status(200)) {
        state.withLockedValue {
            $0.script = replies
            $0.fallback = fallback
        }
    }

    /// Every request received so far, in arrival order.
    public var requests: [Request] { state.withLockedValue { $0.received } }

    /// Waits until `condition` holds for the requests received (checking every 20 ms), at most
    /// `guardTime` (a hang guard, not a speed requirement); returns them. Throws on the guard.
    @discardableResult
    public func wait(
        upTo guardTime: Duration = .seconds(90), _ what: String = "requests", until condition: ([Request]) -> Bool
    ) async throws -> [Request] {
        let deadline = ContinuousClock.now + guardTime
        while ContinuousClock.now < deadline {
            let received = requests
            if condition(received) { return received }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HTTPTestClientError("the webhook receiver did not get \(what) within \(guardTime); got \(requests.count)")
    }

    fileprivate func answer(method: String, uri: String, headers: HTTPHeaders, body: [UInt8]) -> Reply {
        state.withLockedValue { state in
            let reply = state.script.isEmpty ? state.fallback : state.script.removeFirst()
            state.received.append(
                Request(method: method, uri: uri, headers: headers.map { ($0.name, $0.value) }, body: body, reply: reply))
            return reply
        }
    }

    /// The receiver, set once it exists, for the connections' handlers.
    private final class ReceiverBox: Sendable {
        let value = NIOLockedValueBox<WebhookReceiver?>(nil)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let receiver: () -> WebhookReceiver?
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(receiver: @escaping () -> WebhookReceiver?) { self.receiver = receiver }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end:
                guard let head, let receiver = receiver() else { return }
                let reply = receiver.answer(method: "\(head.method)", uri: head.uri, headers: head.headers, body: body)
                guard case .status(let code) = reply else { return }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers))),
                    promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
