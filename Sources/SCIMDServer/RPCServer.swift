import Foundation
import SCIMDFraming
import Logging
import NIOCore
import NIOPosix
import SCIMDProtocol
import ServiceLifecycle
import NIOConcurrencyHelpers
import Synchronization

/// Where the JSON-RPC listener gets its socket.
public enum ListenSocket: Sendable, Equatable {
    /// Bind this path (mode 0660), removing a stale socket file first.
    case path(String)
    /// Adopt a descriptor systemd passed (already bound and listening).
    case inherited(descriptor: Int32)
}

/// Counters the transport keeps; read by `system.stats`.
public final class TransportCounters: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let served = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    public init() {}
    public var openConnections: Int { open.load(ordering: .relaxed) }
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    public var requestsServed: Int { served.load(ordering: .relaxed) }
    /// Connections refused at once because a listener was at its limit (`--max-connections`,
    /// `--http-max-connections`), on either listener, since start.
    public var refusedConnections: Int { refused.load(ordering: .relaxed) }
}

/// Errors starting the listener.
public struct ListenError: Error, CustomStringConvertible {
    public var description: String
}

/// The JSON-RPC 2.0 server on a Unix stream socket, newline-delimited, as a ServiceLifecycle `Service`.
///
/// Connections are served each in a child task of a discarding task group; errors are caught per
/// connection, so one bad client never affects another. Requests on one connection are answered
/// in order. On graceful shutdown it stops accepting, lets every connection finish the request it
/// is serving, then closes them.
public final class RPCServer: Service, Sendable {
    let socket: ListenSocket
    let dispatcher: RPCDispatcher
    let maximumLineLength: Int
    let logger: Logger
    public let counters: TransportCounters
    /// Called once the socket is listening (systemd READY=1).
    let onReady: @Sendable () -> Void
    /// Children still open, so shutdown can close their input.
    private let children = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    /// How long graceful shutdown waits for a connection to finish before closing it.
    let shutdownGracePeriod: TimeAmount

    /// Admits at most `--max-connections` clients at once.
    let limiter: ConnectionLimiter
    /// How long a started line may take to end (`--rpc-line-timeout`, extended per bytes received).
    let lineLimits: RPCLineDeadline.Limits

    /// - Parameters:
    ///   - maxConnections: clients served at once; one more gets a `-32003` `unavailable` error
    ///     line and is closed at once (counted in ``TransportCounters/refusedConnections``).
    ///   - lineTimeout: time a line may take from its first byte to its newline, extended by one
    ///     second per `lineBytesPerExtraSecond` bytes of it received; then a `-32600`
    ///     `line_timeout` error line and the connection is closed. A connection with no partial
    ///     line (idle, or an event subscriber) has no deadline.
    public init(
        socket: ListenSocket, dispatcher: RPCDispatcher, maximumLineLength: Int, counters: TransportCounters,
        logger: Logger, maxConnections: Int = 512, lineTimeout: TimeAmount = .seconds(30),
        lineBytesPerExtraSecond: Int = 64 * 1024, shutdownGracePeriod: TimeAmount = .seconds(5),
        onReady: @escaping @Sendable () -> Void = {}
    ) {
        self.lineLimits = RPCLineDeadline.Limits(line: lineTimeout, bytesPerExtraSecond: lineBytesPerExtraSecond)
        self.shutdownGracePeriod = shutdownGracePeriod
        self.socket = socket
        self.dispatcher = dispatcher
        self.maximumLineLength = maximumLineLength
        self.counters = counters
        self.logger = logger
        self.limiter = ConnectionLimiter(limit: maxConnections, listener: "JSON-RPC", option: "--max-connections", logger: logger)
        self.onReady = onReady
    }

    public func run() async throws {
        let serverChannel = try await bind()
        onReady()
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
            self.logger.info("graceful shutdown: no longer accepting connections")
            serverChannel.channel.close(promise: nil)
            // Closing input ends each connection's request stream after what it already read. A
            // client that stops reading (a stalled event subscriber) could hold its connection open
            // forever, so whatever is still open after the grace period is closed outright.
            let grace = self.shutdownGracePeriod
            for child in self.children.withLockedValue({ Array($0.values) }) {
                // On the connection's own event loop, and only once it is active: NIO asserts on an
                // input half-close of a channel still registering (an accept racing the SIGTERM;
                // `ShutdownRaceTests` caught it). One not yet active has nothing in flight: close it.
                child.eventLoop.execute {
                    if child.isActive {
                        // First: the partial line the input close hands the decoder is dropped.
                        child.pipeline.fireUserInboundEventTriggered(ShutdownLineFilter.ClosingInput())
                        child.close(mode: .input, promise: nil)
                    } else {
                        child.close(promise: nil)
                    }
                }
                child.eventLoop.scheduleTask(in: grace) { child.close(promise: nil) }
            }
        }
        if case .path(let path) = socket { unlink(path) }
        logger.info("listener stopped")
    }

    private typealias Connection = NIOAsyncChannel<[RPCInbound], RPCOutbound>

    /// Answers of one batch of lines (``LineBatcher``) are written once they reach this many
    /// bytes, not held until the batch ends: a read of pipelined `users.list` calls must not
    /// gather every page in memory first.
    static let answerFlushBytes = 64 * 1024

    /// The one line a client over `--max-connections` gets before it is closed.
    static func refusalLine(limit: Int) -> ByteBuffer {
        var line = RPCDispatcher.response(
            id: nil, error: .unavailable("scimd is serving its maximum of \(limit) JSON-RPC connections (--max-connections); try again later"))
        line.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: line)
    }

    private func bind() async throws -> NIOAsyncChannel<Admission<Connection>, Never> {
        let maximumLineLength = self.maximumLineLength
        let logger = self.logger
        let limiter = self.limiter
        let counters = self.counters
        let refusal = Self.refusalLine(limit: limiter.limit)
        let lineLimits = self.lineLimits
        let dispatcher = self.dispatcher
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            // A failed accept must neither end the listener (and the daemon with it) nor be retried at once.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addAcceptErrorHandling(logger: logger, listener: "JSON-RPC")
                }
            }
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Admission<Connection>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                guard try limiter.admit(channel, refusal: refusal, counters: counters) else { return .refused }
                // Before the decoder: it sees raw bytes, and where lines end in them.
                try channel.pipeline.syncOperations.addHandler(RPCLineTimer(limits: lineLimits, logger: logger))
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLineLength)))
                try channel.pipeline.syncOperations.addHandler(ShutdownLineFilter())
                try channel.pipeline.syncOperations.addHandler(LineBatcher())
                try channel.pipeline.syncOperations.addHandler(SynchronousAnswerer(dispatcher: dispatcher, counters: counters))
                return .serve(try acceptedConnection(channel, isOutboundHalfClosureEnabled: true, as: Connection.self))
            }
        }
        switch socket {
        case .inherited(let descriptor):
            logger.info("adopting socket passed by systemd", metadata: ["fd": "\(descriptor)"])
            return try await bootstrap.bind(descriptor, childChannelInitializer: initializer)
        case .path(let path):
            try Self.prepare(path: path)
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
            chmod(path, 0o660)
            logger.info("listening", metadata: ["socket": "\(path)"])
            return channel
        }
    }

    /// Checks a socket path before anything else starts (so a refused start leaves no files):
    /// throws ``ListenError`` when another daemon answers there or the directory is unsafe.
    public static func checkSocketPath(_ path: String) throws {
        try prepare(path: path)
    }

    /// Refuses to take over a socket another live daemon answers on; removes a stale one.
    /// Refuses a directory anyone may write to without the sticky bit: there, any local user
    /// could replace the socket with their own and receive scimd's clients and their tokens.
    static func prepare(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        var dirInfo = stat()
        if stat(directory.isEmpty ? "." : directory, &dirInfo) == 0,
            dirInfo.st_mode & S_IWOTH != 0, dirInfo.st_mode & S_ISVTX == 0
        {
            throw ListenError(
                description: "refusing to create the socket in \(directory.isEmpty ? "." : directory): the directory is world-writable without the sticky bit")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ListenError(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        if isAnswering(path: path) {
            throw ListenError(description: "another scimd is already listening on \(path); stop it first or choose another --socket")
        }
        unlink(path)
    }

    /// True when something accepts connections on the Unix socket at `path`.
    static func isAnswering(path: String) -> Bool {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Serves one client until it disconnects. Never throws: a failing client only ends itself.
    private func serve(_ connection: Connection) async {
        let key = ObjectIdentifier(connection.channel)
        children.withLockedValue { $0[key] = connection.channel }
        counters.open.add(1, ordering: .relaxed)
        counters.accepted.add(1, ordering: .relaxed)
        defer {
            children.withLockedValue { $0[key] = nil }
            counters.open.subtract(1, ordering: .relaxed)
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                // Notification streams (events.subscribe) run beside the request loop and end with it.
                try await withThrowingTaskGroup(of: Void.self) { streams in
                    defer { streams.cancelAll() }
                    // The lines of one read come as one batch (``LineBatcher``), less those the
                    // ``SynchronousAnswerer`` answered on the event loop. They are still handled one
                    // after another, in order, but their answers go out in one write, not one hop
                    // to the event loop (and one wake-up) per line. The batch's last write is its
                    // `batchEnd`, which tells the answerer it may answer lines again.
                    var answers = ByteBuffer()
                    for try await frames in inbound {
                        // The access-log lines of this read's calls are written together once
                        // their answers are out (``LogLineBatch``).
                        let logLines = LogLineBatch()
                        defer { logLines.flush() }
                        let keepOpen = try await LogLineBatch.$current.withValue(logLines) { () async throws -> Bool in
                            for frame in frames {
                                let outcome: RPCDispatcher.Outcome
                                switch frame {
                                case .frame(.tooLong):
                                    answers.writeBytes(RPCDispatcher.response(id: nil, error: .lineTooLong(limit: maximumLineLength)))
                                    answers.writeInteger(UInt8(ascii: "\n"))
                                    try await outbound.write(.batchEnd(answers))
                                    logger.notice("closing connection: line over the limit", metadata: ["limit": "\(maximumLineLength)"])
                                    return false
                                case .frame(.line(let line)):
                                    if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                                    outcome = await dispatcher.dispatch(line: line.readableBytesView)
                                case .message(let message):
                                    outcome = await dispatcher.dispatch(message: message)
                                }
                                counters.served.add(1, ordering: .relaxed)
                                if let response = outcome.response {
                                    answers.writeBytes(response)
                                    answers.writeInteger(UInt8(ascii: "\n"))
                                }
                                // A subscription's answer goes out before its first notification;
                                // a long run of answers does not wait for the rest of the batch.
                                if answers.readableBytes > 0, !outcome.streams.isEmpty || answers.readableBytes >= Self.answerFlushBytes {
                                    try await outbound.write(.bytes(answers))
                                    answers = ByteBuffer()
                                    logLines.flush()
                                }
                                for stream in outcome.streams {
                                    streams.addTask {
                                        // A stream outlives this read: its lines are not the batch's.
                                        try await LogLineBatch.$current.withValue(nil) {
                                            try await stream.run { method, params in
                                                var bytes = RPCDispatcher.notification(method: method, params: params)
                                                bytes.append(UInt8(ascii: "\n"))
                                                try await outbound.write(.bytes(ByteBuffer(bytes: bytes)))
                                            }
                                        }
                                    }
                                }
                            }
                            try await outbound.write(.batchEnd(answers))
                            answers = ByteBuffer()
                            return true
                        }
                        if !keepOpen { return }
                    }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }
}

/// Hands on the lines of one read as one batch (`[InboundFrame]`), at the read's end.
///
/// A client that pipelines sends many lines per read. Handed on one by one, each line's answer
/// was its own write: a hop from the request loop to the event loop and a wake-up of its thread,
/// which cost more than answering `system.health` itself (a JSON-RPC batch of the same calls was
/// 3× faster than the same lines pipelined). The request loop still handles the lines one after
/// another, in order, and writes their answers together (`RPCServer.serve`). A line that a read
/// completes is never held past that read: the batch goes on at `channelReadComplete`, and before
/// any event (input closed, the shutdown's ``ShutdownLineFilter/ClosingInput``) or the end of the
/// connection, so a last line without a newline is answered as before.
final class LineBatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = [InboundFrame]

    private var pending: [InboundFrame] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.append(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        flush(context)
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        flush(context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        flush(context)
        context.fireErrorCaught(error)
    }

    private func flush(_ context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = []
        context.fireChannelRead(wrapInboundOut(batch))
    }
}

/// Drops the unfinished line a shutdown would otherwise hand on as a request.
///
/// The line decoder passes on a last line without a newline when input ends, because a client
/// that sends one and closes its side (`printf '{…}' | nc -U`) meant it. When scimd itself closes
/// a connection's input at shutdown, the bytes after the last newline are the start of a line the
/// client is still sending: answering them was a `-32700` parse error (id null) to a request that
/// was never complete (`SIGTERMDurabilityTests`). Every complete line is decoded as soon as it is
/// read, so once ``ClosingInput`` has passed, the only line still to come is that unfinished one.
final class ShutdownLineFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = InboundFrame
    typealias InboundOut = InboundFrame

    /// Sent through the pipeline by the server just before it closes the connection's input.
    struct ClosingInput {}

    private var closingInput = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closingInput { return }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ClosingInput {
            closingInput = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
