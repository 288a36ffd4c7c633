import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening socket every HTTP/1.1 listener of scimd binds (SCIM, metrics, dashboard), with
/// one pipeline: the connection limit first (a refusal is written at accept), then the request
/// deadlines (before the decoder: they see raw bytes), the idle timer, NIO's HTTP/1.1 server
/// pipeline with pipelining assistance, ``HTTPProtocolErrorAnswerer`` and ``HTTPConnectionGuard``.
enum HTTPListenerSocket {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// What differs between the listeners.
    struct Settings {
        var address: HTTPListenAddress
        /// For log lines: `SCIM HTTP`, `metrics`, `dashboard`.
        var listener: String
        /// The systemd socket's `FileDescriptorName=` (`http`, `metrics`, `dashboard`), for the adoption log line.
        var descriptorName: String
        /// For the error when it cannot listen: `SCIM over HTTP`, `metrics`, `the dashboard`.
        var purpose: String
        var backlog: Int32
        var idleTimeout: TimeAmount
        var limits: HTTPRequestDeadlines.Limits
        /// A client that half-closes after its request still gets the answer (not needed by scrapers).
        var allowHalfClosure: Bool
        /// What a request the HTTP decoder cannot parse is answered with (``HTTPProtocolErrorAnswerer``).
        var protocolErrorRefusal: @Sendable (HTTPParserError) -> HTTPProtocolErrorAnswerer.Refusal = HTTPProtocolErrorAnswerer.plainText
    }

    /// Binds (or adopts the systemd descriptor) and answers each accepted connection with an
    /// ``Admission``. `lastHandler` makes a handler of the listener's own for each connection,
    /// added after the HTTP handlers. Throws ``ListenError`` naming the address when it cannot listen.
    static func bind(
        _ settings: Settings, limiter: ConnectionLimiter, counters: TransportCounters, refusal: ByteBuffer, logger: Logger,
        lastHandler: (@Sendable () -> any ChannelHandler)? = nil
    ) async throws -> NIOAsyncChannel<Admission<Connection>, Never> {
        let (listener, limits, timeout) = (settings.listener, settings.limits, settings.idleTimeout)
        // NIO sets TCP_NODELAY on the listening socket (accepted sockets inherit it; on Unix
        // sockets it is skipped), so no per-connection socket option is needed: one that needs a
        // privilege scimd lacks under systemd would fail every connection.
        var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: settings.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A failed accept must neither end the listener (and the daemon with it) nor be retried at once.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addAcceptErrorHandling(logger: logger, listener: listener)
                }
            }
        if settings.allowHalfClosure { bootstrap = bootstrap.childChannelOption(.allowRemoteHalfClosure, value: true) }
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Admission<Connection>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                guard try limiter.admit(channel, refusal: refusal, counters: counters) else { return .refused }
                let sync = channel.pipeline.syncOperations
                // First, before the decoder: it sees raw bytes and may have to answer without it.
                let deadlines = HTTPRequestTimer(limits: limits, logger: logger)
                try sync.addHandler(deadlines)
                try sync.addHandler(IdleStateHandler(readTimeout: timeout, writeTimeout: timeout))
                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: false)
                // Where NIO's own error handler would go (after the pipelining handler), answering
                // with a status and a body that say what was wrong, and a log line.
                try sync.addHandler(HTTPProtocolErrorAnswerer(listener: listener, logger: logger, refusal: settings.protocolErrorRefusal))
                try sync.addHandler(HTTPConnectionGuard(logger: logger, deadlines: deadlines))
                // Last, next to the connection's task: the listener's own (``HTTPImmediateAnswerer``).
                if let lastHandler { try sync.addHandler(lastHandler()) }
                return .serve(try acceptedConnection(channel, as: Connection.self))
            }
        }
        do {
            switch settings.address {
            case .inherited(let descriptor):
                logger.info("adopting the \(settings.descriptorName) socket passed by systemd", metadata: ["fd": "\(descriptor)"])
                return try await bootstrap.bind(descriptor, childChannelInitializer: initializer)
            case .tcp(let host, let port):
                return try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
            case .unix(let path):
                try RPCServer.prepare(path: path)
                let channel = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
                chmod(path, 0o660)
                return channel
            }
        } catch let error as ListenError {
            throw error
        } catch let error as IOError {
            // NIO's own description names the system call and repeats a parenthesis
            // ("bind(descriptor:ptr:bytes:): Address already in use) (errno: 98)").
            throw ListenError(
                description: "cannot listen for \(settings.purpose) on \(settings.address): \(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))")
        } catch {
            throw ListenError(description: "cannot listen for \(settings.purpose) on \(settings.address): \(error)")
        }
    }
}
