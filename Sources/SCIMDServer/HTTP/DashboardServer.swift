import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SCIMDDashboard
import SCIMDFraming
import ServiceLifecycle

/// The optional web dashboard's listener (`--dashboard`, or the systemd socket named
/// `dashboard`), as a ServiceLifecycle `Service`. It reads each request whole with NIO's HTTP/1.1
/// codec and hands it to ``SCIMDDashboard/Dashboard/respond(to:)``; the same protections as the
/// SCIM listener apply: head and body deadlines (408), idle timeout, a connection limit (503),
/// a body limit (413), graceful shutdown that lets each connection finish its request.
public final class DashboardServer: Service, Sendable {
    /// The listener's settings (`--dashboard`, `--dashboard-trust-forwarded`).
    public struct Configuration: Sendable {
        /// Where to listen.
        public var address: HTTPListenAddress
        /// Believe `X-Forwarded-Proto: https` from a reverse proxy: cookies get `Secure`.
        public var trustForwarded: Bool
        /// Largest form post accepted (bytes); a mapping draft is the largest form.
        public var maxBodyBytes: Int
        /// Connections served at once; one more gets 503 and is closed.
        public var maxConnections: Int
        public var idleTimeout: Duration
        public var shutdownGracePeriod: Duration

        public init(
            address: HTTPListenAddress, trustForwarded: Bool = false, maxBodyBytes: Int = 1 << 20, maxConnections: Int = 256,
            idleTimeout: Duration = .seconds(60), shutdownGracePeriod: Duration = .seconds(5)
        ) {
            self.address = address
            self.trustForwarded = trustForwarded
            self.maxBodyBytes = maxBodyBytes
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
            self.shutdownGracePeriod = shutdownGracePeriod
        }
    }

    let configuration: Configuration
    let dashboard: Dashboard
    let logger: Logger
    let limiter: ConnectionLimiter
    let counters = TransportCounters()
    /// Called once the socket listens, with the URL operators open (`http://127.0.0.1:8081/`).
    let onReady: @Sendable (String) -> Void
    /// Open connections, so graceful shutdown can quiesce them; nil once shutdown began.
    private let children = NIOLockedValueBox<[ObjectIdentifier: any Channel]?>([:])

    public init(configuration: Configuration, dashboard: Dashboard, logger: Logger, onReady: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.dashboard = dashboard
        self.logger = logger
        self.onReady = onReady
        self.limiter = ConnectionLimiter(limit: configuration.maxConnections, listener: "dashboard", option: "its limit of", logger: logger)
    }

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// Listens and serves until graceful shutdown; throws a ``ListenError`` when it cannot listen.
    public func run() async throws {
        let serverChannel = try await bind()
        let url = MetricsServer.describe(serverChannel.channel.localAddress).map { "http://\($0)/" } ?? configuration.address.description
        logger.info("dashboard listener ready", metadata: ["url": "\(url)"])
        if case .tcp(let host, _) = configuration.address, !["127.0.0.1", "::1", "localhost"].contains(host), !host.hasPrefix("127.") {
            logger.warning(
                "the dashboard listens beyond loopback over plain HTTP: passwords and session cookies cross the network unencrypted; keep it on loopback or a Unix socket behind a TLS proxy",
                metadata: ["address": "\(configuration.address)"])
        }
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
            serverChannel.channel.close(promise: nil)
            for child in self.children.withLockedValue({ children in defer { children = nil }; return Array((children ?? [:]).values) }) {
                child.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                child.eventLoop.scheduleTask(in: SCIMHTTPServer.timeAmount(self.configuration.shutdownGracePeriod)) { child.close(promise: nil) }
            }
        }
        if case .unix(let path) = configuration.address { unlink(path) }
        logger.info("dashboard listener stopped")
    }

    private func bind() async throws -> NIOAsyncChannel<Admission<Connection>, Never> {
        var refusal = ByteBuffer()
        refusal.writeString("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
        return try await HTTPListenerSocket.bind(
            .init(
                address: configuration.address, listener: "dashboard", descriptorName: "dashboard", purpose: "the dashboard", backlog: 128,
                idleTimeout: SCIMHTTPServer.timeAmount(configuration.idleTimeout),
                limits: HTTPRequestDeadlines.Limits(header: .seconds(20), body: .seconds(20), minBodyRate: 1024), allowHalfClosure: true),
            limiter: limiter, counters: counters, refusal: refusal, logger: logger)
    }

    /// Serves one browser connection until it closes. Never throws: a failing client only ends itself.
    private func serve(_ connection: Connection) async {
        let key = ObjectIdentifier(connection.channel)
        let registered = children.withLockedValue { children -> Bool in
            guard children != nil else { return false }
            children![key] = connection.channel
            return true
        }
        if !registered { connection.channel.close(promise: nil) }
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
                        var response = await dashboard.respond(to: request(head, body))
                        // Server time, for the browser's developer tools and the benchmark
                        // (scimd-bench reads it): the page's work, without the network.
                        let elapsed = ContinuousClock.now - started
                        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                        response.headers.append(("Server-Timing", "app;dur=\(String(format: "%.2f", milliseconds))"))
                        if let stream = response.stream {
                            try await self.stream(stream, response: response, for: head, on: connection.channel, to: outbound)
                            return
                        }
                        try await write(response, for: head, to: outbound)
                        logger.debug(
                            "dashboard request",
                            metadata: [
                                "method": "\(head.method.rawValue)", "path": "\(head.uri.split(separator: "?").first ?? "")",
                                "status": "\(response.status)", "duration": "\(ContinuousClock.now - started)",
                            ])
                    case .refuseTooLarge(let head):
                        let response = DashboardResponse(
                            status: 413, headers: [("Content-Type", "text/plain; charset=utf-8")],
                            body: Array("the form is larger than \(configuration.maxBodyBytes) bytes\n".utf8))
                        var closing = head
                        closing.headers.replaceOrAdd(name: "Connection", value: "close")
                        try await write(response, for: closing, to: outbound)
                    case .close:
                        return
                    }
                }
            }
        } catch {
            logger.debug("dashboard connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// The dashboard's view of a request. `isSecure` only from a proxy the operator said to trust.
    func request(_ head: HTTPRequestHead, _ body: ByteBuffer?) -> DashboardRequest {
        let forwardedHTTPS =
            configuration.trustForwarded && head.headers["X-Forwarded-Proto"].first?.lowercased() == "https"
        return DashboardRequest(
            method: head.method.rawValue, target: head.uri, headers: head.headers.map { ($0.name, $0.value) },
            body: body.map { Array($0.readableBytesView) } ?? [], isSecure: forwardedHTTPS)
    }

    /// A Server-Sent Events response: the head (chunked, no length), then whatever the stream
    /// writes, until it ends, the browser closes the connection, or shutdown closes it (the
    /// connection then ends: an event stream is the last thing on its connection).
    private func stream(
        _ stream: @escaping DashboardResponse.EventStream, response: DashboardResponse, for head: HTTPRequestHead, on channel: any Channel,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "Connection", value: "close")
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // A stream that ends (or fails: the browser left) closes its connection, which
                // also ends the watcher below.
                if (try? await stream { chunk in try await outbound.write(.body(.byteBuffer(ByteBuffer(string: chunk)))) }) != nil {
                    try? await outbound.write(.end(nil))
                }
                channel.close(promise: nil)
            }
            // The browser left, or scimd is shutting down: the stream is cancelled. Graceful
            // shutdown closes a stream at once (it has no request to finish; the browser
            // reconnects to whichever scimd serves next).
            group.addTask {
                await withGracefulShutdownHandler {
                    try? await channel.closeFuture.get()
                } onGracefulShutdown: {
                    channel.close(promise: nil)
                }
            }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func write(
        _ response: DashboardResponse, for head: HTTPRequestHead, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders(response.headers.map { ($0.name, $0.value) })
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !head.isKeepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        var parts: [HTTPServerResponsePart] = [
            .head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers))
        ]
        if head.method != .HEAD && !response.body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
        parts.append(.end(nil))
        // After `Connection: close` the guard closes the channel once this is written.
        try await outbound.write(contentsOf: parts)
    }
}
