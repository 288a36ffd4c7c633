import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Serves `GET /metrics` in the Prometheus text format (`--metrics 127.0.0.1:9464`, or the systemd
/// socket named `metrics`), as a ServiceLifecycle `Service`.
///
/// HTTP is NIO's, set up as for the SCIM listener: `NIOHTTP1`'s codec with
/// `HTTPServerPipelineHandler` (keep-alive, one request at a time, quiescing) and
/// `HTTPServerProtocolErrorHandler` (400 for malformed requests), the same idle timeout, request
/// deadlines and close-after-`Connection: close` (``HTTPConnectionGuard``), and a small connection
/// limit (Prometheus opens one connection per target). Only `/metrics` exists: `GET` and `HEAD`
/// answer it, another method gets 405 with `Allow`, another path 404. No authentication: bind it
/// to loopback or a private interface, as Prometheus exporters usually are.
public final class MetricsServer: Service, Sendable {
    /// The body of each scrape: sets the scrape-time gauges, then renders (``SCIMDMetrics/render(from:onError:)``).
    public typealias Render = @Sendable () async -> [UInt8]

    /// The media type of the Prometheus text format, version 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let address: HTTPListenAddress
    let render: Render
    let logger: Logger
    let idleTimeout: Duration
    let shutdownGracePeriod: Duration
    let limiter: ConnectionLimiter
    let counters = TransportCounters()
    /// Called once the socket listens, with its address (`127.0.0.1:9464`).
    let onReady: @Sendable (String) -> Void
    /// Open connections, so graceful shutdown can quiesce them; nil once shutdown began.
    private let children = NIOLockedValueBox<[ObjectIdentifier: any Channel]?>([:])

    /// A server for `address` that answers each scrape with `render()`.
    public init(
        address: HTTPListenAddress, render: @escaping Render, logger: Logger, maxConnections: Int = 16,
        idleTimeout: Duration = .seconds(60), shutdownGracePeriod: Duration = .seconds(5),
        onReady: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.address = address
        self.render = render
        self.logger = logger
        self.idleTimeout = idleTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
        self.limiter = ConnectionLimiter(limit: maxConnections, listener: "metrics", option: "its limit of", logger: logger)
        self.onReady = onReady
    }

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Listens and serves until graceful shutdown; throws a ``ListenError`` when it cannot listen.
    public func run() async throws {
        let serverChannel = try await bind()
        let listening = Self.describe(serverChannel.channel.localAddress) ?? address.description
        logger.info("metrics listener ready", metadata: ["metrics": "http://\(listening)/metrics"])
        onReady(listening)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await admission in inbound {
                        guard case .serve(let connection) = admission else { continue }
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            serverChannel.channel.close(promise: nil)
            for child in self.children.withLockedValue({ children in defer { children = nil }; return Array((children ?? [:]).values) }) {
                self.quiesce(child)
            }
        }
        if case .unix(let path) = address { unlink(path) }
        logger.info("metrics listener stopped")
    }

    /// `127.0.0.1:9464`, `[::1]:9464`, or nil for a Unix socket (its path is the address).
    static func describe(_ address: SocketAddress?) -> String? {
        switch address {
        case .v4(let a)?: "\(a.host):\(address?.port ?? 0)"
        case .v6(let a)?: "[\(a.host)]:\(address?.port ?? 0)"
        default: nil
        }
    }

    private func quiesce(_ channel: any Channel) {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.eventLoop.scheduleTask(in: SCIMHTTPServer.timeAmount(shutdownGracePeriod)) { channel.close(promise: nil) }
    }

    private func bind() async throws -> NIOAsyncChannel<Admission<Connection>, Never> {
        var refusal = ByteBuffer()
        refusal.writeString("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
        return try await HTTPListenerSocket.bind(
            .init(
                address: address, listener: "metrics", descriptorName: "metrics", purpose: "metrics", backlog: 64,
                idleTimeout: SCIMHTTPServer.timeAmount(idleTimeout),
                limits: HTTPRequestDeadlines.Limits(header: .seconds(20), body: .seconds(20), minBodyRate: 1024), allowHalfClosure: false),
            limiter: limiter, counters: counters, refusal: refusal, logger: logger)
    }

    /// Serves one scraper until it disconnects. Never throws: a failing client only ends itself.
    private func serve(_ connection: Connection) async {
        let key = ObjectIdentifier(connection.channel)
        let registered = children.withLockedValue { children -> Bool in
            guard children != nil else { return false }
            children![key] = connection.channel
            return true
        }
        if !registered { quiesce(connection.channel) }
        defer { children.withLockedValue { _ = $0?.removeValue(forKey: key) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body:
                        continue  // a scrape has no body; whatever comes is read and dropped
                    case .end:
                        guard let request = head else { continue }
                        head = nil
                        let (status, headers, body) = await respond(to: request)
                        var responseHeaders = headers
                        responseHeaders.add(name: "Content-Length", value: String(body.readableBytes))
                        if !request.isKeepAlive { responseHeaders.add(name: "Connection", value: "close") }
                        let responseHead = HTTPResponseHead(version: request.version, status: status, headers: responseHeaders)
                        var parts: [HTTPServerResponsePart] = [.head(responseHead)]
                        if request.method != .HEAD && body.readableBytes > 0 { parts.append(.body(.byteBuffer(body))) }
                        parts.append(.end(nil))
                        // After `Connection: close` the guard closes the channel once this is written.
                        try await outbound.write(contentsOf: parts)
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// The answer to one request: the metrics for `GET`/`HEAD /metrics`, else 404 or 405.
    func respond(to head: HTTPRequestHead) async -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        guard path == "/metrics" else {
            return (.notFound, ["Content-Type": "text/plain; charset=utf-8"], ByteBuffer(string: "not found: scimd serves only /metrics here\n"))
        }
        guard head.method == .GET || head.method == .HEAD else {
            return (
                .methodNotAllowed, ["Content-Type": "text/plain; charset=utf-8", "Allow": "GET, HEAD"],
                ByteBuffer(string: "method not allowed: use GET\n")
            )
        }
        let body = await render()
        return (.ok, ["Content-Type": Self.contentType, "Cache-Control": "no-store"], ByteBuffer(bytes: body))
    }
}
