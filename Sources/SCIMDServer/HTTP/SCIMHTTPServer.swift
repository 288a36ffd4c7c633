import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SCIMDProtocol
import SCIMJSON
import SCIMDService
import SCIMDFraming
import SCIMModel
import ServiceLifecycle
import NIOConcurrencyHelpers

/// The optional SCIM HTTP/1.1 listener, as a ServiceLifecycle `Service`: a second door to the
/// same engine that `scim.handle` serves (``SCIMHTTPServer/engine(_:)``).
///
/// HTTP itself is NIO's: `NIOHTTP1`'s decoder and encoder, `HTTPServerPipelineHandler` for
/// keep-alive and pipelining (one request at a time, answers in order) and for graceful
/// quiescing, ``HTTPProtocolErrorAnswerer`` for malformed requests (a SCIM 431 or 400, then close), and
/// `IdleStateHandler` for silent clients (see ``HTTPConnectionGuard``). Clients that send, but too
/// slowly, meet the request head and body deadlines (``HTTPRequestDeadlines``): 408, then close.
/// Past ``Configuration/maxConnections`` a new connection gets a 503 at once. Connections are served each
/// in a child task of a discarding task group, like the JSON-RPC listener; errors are caught per
/// connection. On graceful shutdown it stops accepting, lets every connection finish the request
/// it is working on (answered with `Connection: close`), and closes idle ones at once.
public final class SCIMHTTPServer: Service, Sendable {
    /// The listener's settings (`--http`, `--http-max-body-bytes`, …).
    public struct Configuration: Sendable {
        /// Where to listen (`--http`, or the systemd socket named `http`).
        public var address: HTTPListenAddress
        /// SCIM base path: requests outside it get a SCIM 404.
        public var basePath: String
        /// Largest request body accepted; more gets a SCIM 413 and the connection is closed.
        public var maxBodyBytes: Int
        /// Believe `X-Forwarded-*` headers (behind a reverse proxy that sets them).
        public var trustForwarded: Bool
        /// A client that sends nothing for this long while scimd is not working on its request
        /// (idle keep-alive, or a stalled request), or does not read its response for this long, is disconnected.
        public var idleTimeout: Duration
        /// On graceful shutdown, connections still open this long after it began are closed
        /// outright (a client that does not read its answer must not hold shutdown).
        public var shutdownGracePeriod: Duration
        /// Connections served at once (`--http-max-connections`); one more gets a SCIM 503 with
        /// `Retry-After` and is closed at once.
        public var maxConnections: Int
        /// Time a request head may take from its first byte (`--http-header-timeout`); then 408.
        public var headerTimeout: Duration
        /// Time a request body may take from the end of its head (`--http-body-timeout`), extended
        /// by one second for every ``minBodyRate`` bytes received; then 408.
        public var bodyTimeout: Duration
        /// Bytes of body that earn one more second (`--http-min-body-rate`): the slowest steady
        /// rate a body can arrive at past ``bodyTimeout``.
        public var minBodyRate: Int

        public init(
            address: HTTPListenAddress, basePath: String = "/scim/v2", maxBodyBytes: Int = 4 * 1024 * 1024,
            trustForwarded: Bool = false, idleTimeout: Duration = .seconds(60), shutdownGracePeriod: Duration = .seconds(5),
            maxConnections: Int = 1024, headerTimeout: Duration = .seconds(20), bodyTimeout: Duration = .seconds(20),
            minBodyRate: Int = 1024
        ) {
            self.address = address
            self.basePath = basePath
            self.maxBodyBytes = maxBodyBytes
            self.trustForwarded = trustForwarded
            self.idleTimeout = idleTimeout
            self.shutdownGracePeriod = shutdownGracePeriod
            self.maxConnections = maxConnections
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.minBodyRate = minBodyRate
        }
    }

    /// Serves one SCIM request; never throws (SCIM failures are SCIM responses). `peer`: the TCP
    /// client's IP address (nil on a Unix socket), for the engine's logs.
    public typealias Engine = @Sendable (_ params: SCIMHandle.Params, _ peer: String?) async -> SCIMHandle.Result
    /// Serves one SCIM request at once, on the event loop that read it, or returns nil when
    /// ``Engine`` must (``SCIMDService/handleSCIMImmediately(_:scheme:peer:)``). It must not block.
    public typealias ImmediateEngine = @Sendable (_ params: SCIMHandle.Params, _ peer: String?) -> SCIMHandle.Result?

    let configuration: Configuration
    let translator: SCIMHTTPTranslator
    let engine: Engine
    /// nil: every request goes to a task.
    let immediateEngine: ImmediateEngine?
    let logger: Logger
    /// Called once the socket listens, with the base URL clients use (`http://127.0.0.1:8080/scim/v2`).
    let onReady: @Sendable (String) -> Void
    /// Open connections, so graceful shutdown can quiesce them; `nil` once shutdown began.
    private let children = NIOLockedValueBox<[ObjectIdentifier: any Channel]?>([:])
    /// Counts refused connections (shared with the JSON-RPC listener, read by `system.stats`).
    let counters: TransportCounters
    /// Admits at most ``Configuration/maxConnections`` clients at once.
    let limiter: ConnectionLimiter

    /// Answers `GET /healthz` (see ``healthz(_:)``); nil: `/healthz` is not served.
    let isHealthy: (@Sendable () -> Bool)?
    /// Counts every response written, by status class; nil: metrics are off.
    let metrics: SCIMDMetrics?

    /// `isHealthy` backs the unauthenticated `GET /healthz` for load balancers; `metrics` counts
    /// responses; `immediateEngine` answers the `GET`s it can on the event loop (``HTTPImmediateAnswerer``).
    public init(
        configuration: Configuration, engine: @escaping Engine, immediateEngine: ImmediateEngine? = nil, logger: Logger,
        counters: TransportCounters = TransportCounters(), isHealthy: (@Sendable () -> Bool)? = nil, metrics: SCIMDMetrics? = nil,
        onReady: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.immediateEngine = immediateEngine
        self.isHealthy = isHealthy
        self.metrics = metrics
        self.configuration = configuration
        self.counters = counters
        self.limiter = ConnectionLimiter(
            limit: configuration.maxConnections, listener: "SCIM HTTP", option: "--http-max-connections", logger: logger)
        self.translator = SCIMHTTPTranslator(basePath: configuration.basePath, trustForwarded: configuration.trustForwarded)
        self.engine = engine
        self.logger = logger
        self.onReady = onReady
    }

    /// The engine behind `scim.handle`, for HTTP. A connection in confirm mode cannot be served
    /// here: confirm mode needs the application to answer `scim.commit`/`scim.reject` before the IdP
    /// gets its response, and over this door there is no application in between. Such a change is
    /// answered with a SCIM 501 naming the reason (``SCIMDService/handleSCIM(_:canHold:scheme:peer:)``):
    /// nothing is held or applied, and both logs record the 501 the IdP got. Locations use plain
    /// http, the scheme this listener speaks, unless a trusted proxy's `X-Forwarded-Proto` says
    /// otherwise. The logs name the TCP peer as the client unless a trusted proxy's
    /// `X-Forwarded-For` names another.
    public static func engine(_ service: SCIMDService) -> Engine {
        { params, peer in await service.handleSCIM(params, canHold: false, scheme: "http", peer: peer) }
    }

    /// ``engine(_:)`` without waiting, for the reads that need none. (A read is never held for
    /// confirmation, so confirm mode does not matter here.)
    public static func immediateEngine(_ service: SCIMDService) -> ImmediateEngine {
        { params, peer in service.handleSCIMImmediately(params, scheme: "http", peer: peer) }
    }

    /// Listens and serves until graceful shutdown; throws a ``ListenError`` when it cannot listen.
    public func run() async throws {
        let serverChannel = try await bind()
        let url = baseURL(serverChannel.channel.localAddress)
        logger.info("SCIM HTTP listener ready", metadata: ["url": "\(url)"])
        onReady(url)
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
            self.logger.info("graceful shutdown: SCIM HTTP listener no longer accepting connections")
            serverChannel.channel.close(promise: nil)
            for child in self.children.withLockedValue({ children in defer { children = nil }; return Array((children ?? [:]).values) }) {
                self.quiesce(child)
            }
        }
        if case .unix(let path) = configuration.address { unlink(path) }
        logger.info("SCIM HTTP listener stopped")
    }

    /// NIO's pipeline handler closes the connection now if it is idle, or after the response it is
    /// working on (sent with `Connection: close`); whatever is still open after the grace period is closed outright.
    private func quiesce(_ channel: any Channel) {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.eventLoop.scheduleTask(in: Self.timeAmount(configuration.shutdownGracePeriod)) { channel.close(promise: nil) }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// `http://host:port/scim/v2` for a TCP listener; `unix:/path` plus the base path for a Unix socket.
    func baseURL(_ address: SocketAddress?) -> String {
        let path = translator.normalizedBasePath
        switch address {
        case .v4(let a)?: return "http://\(a.host):\(address?.port ?? 0)\(path)"
        case .v6(let a)?: return "http://[\(a.host)]:\(address?.port ?? 0)\(path)"
        case .unixDomainSocket?: return "\(configuration.address)\(path)"
        case nil: return "\(configuration.address)\(path)"
        }
    }

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// What a client over `--http-max-connections` gets before it is closed.
    static func refusal(limit: Int) -> ByteBuffer {
        SCIMHTTPTranslator.rawErrorResponse(
            SCIMError(status: 503, scimType: nil, detail: "scimd is serving its maximum of \(limit) HTTP connections; try again later"),
            extraHeaders: [("Retry-After", "1")])
    }

    private func bind() async throws -> NIOAsyncChannel<Admission<Connection>, Never> {
        var answerer: (@Sendable () -> any ChannelHandler)? = nil
        if immediateEngine != nil {
            answerer = { HTTPImmediateAnswerer(answer: { head, peer in self.answerImmediately(head, peer: peer) }) }
        }
        return try await HTTPListenerSocket.bind(
            .init(
                address: configuration.address, listener: "SCIM HTTP", descriptorName: "http", purpose: "SCIM over HTTP", backlog: 256,
                idleTimeout: Self.timeAmount(configuration.idleTimeout),
                limits: HTTPRequestDeadlines.Limits(
                    header: Self.timeAmount(configuration.headerTimeout), body: Self.timeAmount(configuration.bodyTimeout),
                    minBodyRate: configuration.minBodyRate),
                allowHalfClosure: true, protocolErrorRefusal: Self.protocolErrorRefusal),
            limiter: limiter, counters: counters, refusal: Self.refusal(limit: limiter.limit), logger: logger,
            lastHandler: answerer)
    }

    /// A request NIO's decoder cannot parse, answered as a SCIM error (RFC 7644 §3.12): 431 for a
    /// request line and headers over its 80 KiB limit, 400 otherwise.
    @Sendable static func protocolErrorRefusal(_ error: HTTPParserError) -> HTTPProtocolErrorAnswerer.Refusal {
        let status = HTTPProtocolErrorAnswerer.status(for: error)
        let body = SCIMError(status: Int(status.code), scimType: nil, detail: HTTPProtocolErrorAnswerer.reason(for: error)).body
        return .init(status: status, contentType: "application/scim+json; charset=utf-8", body: JSONSerializer.string(body))
    }

    /// The response to a complete `GET` without a body when it needs no waiting: `/healthz`, a
    /// request the translator refuses, or what ``immediateEngine`` answers; nil otherwise. Counted
    /// and logged as the task's responses are. `peer`: the client's address.
    func answerImmediately(_ head: HTTPRequestHead, peer: SocketAddress?) -> (HTTPResponseHead, ByteBuffer?)? {
        let started = ContinuousClock.now
        let result: SCIMHandle.Result
        switch triage(head, body: nil) {
        case .answered(let answered): result = answered
        case .engine(let params):
            guard let immediate = immediateEngine?(params, peer?.ipAddress) else { return nil }
            result = immediate
        }
        let response = translator.response(result, version: head.version, closing: !head.isKeepAlive)
        metrics?.httpResponse(status: result.status)
        logDebug(head, status: result.status, started: started)
        return response
    }

    /// The listener's own SCIM error for a request it cannot hand over, with its `X-Request-Id`.
    static func unserved(_ error: SCIMError, head: HTTPRequestHead) -> SCIMHandle.Result {
        var result = SCIMHTTPTranslator.errorResult(error)
        result.headers["X-Request-Id"] = SCIMRequestId.resolve(given: head.headers.first(name: "x-request-id"))
        return result
    }

    private func logDebug(_ head: HTTPRequestHead, status: Int, started: ContinuousClock.Instant) {
        logger.debug(
            "SCIM HTTP request",
            metadata: [
                "method": "\(head.method.rawValue)", "uri": "\(head.uri)", "status": "\(status)",
                "duration": "\(ContinuousClock.now - started)",
            ])
    }

    /// Serves one client until it disconnects. Never throws: a failing client only ends itself.
    private func serve(_ connection: Connection) async {
        let key = ObjectIdentifier(connection.channel)
        let registered = children.withLockedValue { children -> Bool in
            guard children != nil else { return false }
            children![key] = connection.channel
            return true
        }
        if !registered {
            // Accepted just as shutdown began: close it as the others.
            quiesce(connection.channel)
        }
        defer { children.withLockedValue { _ = $0?.removeValue(forKey: key) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var assembler = HTTPRequestAssembler(maxBodyBytes: configuration.maxBodyBytes)
                for try await part in inbound {
                    switch assembler.receive(part) {
                    case .none:
                        continue
                    case .sendContinue(let version):
                        try await outbound.write(.head(HTTPResponseHead(version: version, status: .continue)))
                    case .serve(let head, let body):
                        let started = ContinuousClock.now
                        let result = await respond(to: head, body: body, peer: connection.channel.remoteAddress)
                        let (responseHead, responseBody) = translator.response(result, version: head.version, closing: !head.isKeepAlive)
                        try await write(responseHead, responseBody, to: outbound)
                        metrics?.httpResponse(status: result.status)
                        logDebug(head, status: result.status, started: started)
                        // After `Connection: close` the guard closes the channel once the answer is
                        // written, which ends this loop.
                    case .refuseTooLarge(let head):
                        let error = SCIMError.payloadTooLarge("the request body exceeds \(configuration.maxBodyBytes) bytes")
                        let (responseHead, responseBody) = translator.response(
                            SCIMHTTPTranslator.errorResult(error), version: head.version, closing: true)
                        try await write(responseHead, responseBody, to: outbound)
                        metrics?.httpResponse(status: error.status)
                        logger.notice(
                            "SCIM HTTP request refused: body too large",
                            metadata: ["method": "\(head.method.rawValue)", "uri": "\(head.uri)", "limit": "\(configuration.maxBodyBytes)"])
                    case .close:
                        return
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// The engine's answer, or the listener's own SCIM error for a request it cannot hand over.
    private func respond(to head: HTTPRequestHead, body: ByteBuffer?, peer: SocketAddress?) async -> SCIMHandle.Result {
        switch triage(head, body: body) {
        case .answered(let result): return result
        case .engine(let params): return await engine(params, peer?.ipAddress)
        }
    }

    /// What a complete request becomes before any engine sees it.
    enum Triage {
        /// Answered by the listener itself: `/healthz`, or a request it cannot hand over.
        case answered(SCIMHandle.Result)
        /// For the engine.
        case engine(SCIMHandle.Params)
    }

    /// Sorts a request into what the listener answers itself and what goes to an engine; the
    /// task's path and ``answerImmediately(_:peer:)`` share it.
    func triage(_ head: HTTPRequestHead, body: ByteBuffer?) -> Triage {
        if let isHealthy, let result = Self.healthz(head, isHealthy: isHealthy) { return .answered(result) }
        switch translator.params(for: head, body: body) {
        case .success(let params): return .engine(params)
        case .failure(let error): return .answered(Self.unserved(error, head: head))
        }
    }

    /// `GET /healthz` (or `HEAD`), outside the SCIM base path and without a token, for load
    /// balancers: 200 `{"status":"ok"}` while every health check passes, else 503
    /// `{"status":"degraded"}`, with `Cache-Control: no-store`. It says nothing else: which check
    /// fails is for `system.health` on the socket. nil for any other request.
    static func healthz(_ head: HTTPRequestHead, isHealthy: () -> Bool) -> SCIMHandle.Result? {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        guard path == "/healthz", head.method == .GET || head.method == .HEAD else { return nil }
        let healthy = isHealthy()
        return SCIMHandle.Result(
            status: healthy ? 200 : 503, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
            body: healthy ? #"{"status":"ok"}"# : #"{"status":"degraded"}"#, changes: [])
    }

    /// Writes a response in one flush; a large body goes in 64 KiB parts so that a client reading
    /// slowly but steadily keeps completing writes (the write timeout is for clients that stop).
    private func write(
        _ head: HTTPResponseHead, _ body: ByteBuffer?, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var parts: [HTTPServerResponsePart] = [.head(head)]
        if var body {
            while body.readableBytes > 0, let slice = body.readSlice(length: min(body.readableBytes, 65_536)) {
                parts.append(.body(.byteBuffer(slice)))
            }
        }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
    }
}
