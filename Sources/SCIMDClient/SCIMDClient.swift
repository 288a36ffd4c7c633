import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SCIMDFraming
import SCIMDProtocol
import SCIMJSON

/// An async/await client for scimd's JSON-RPC socket: one typed call per method.
///
/// Create one per process and share it: it is `Sendable`, calls from many tasks are pipelined on
/// one Unix-socket connection and matched to their answers by request id.
///
/// ```swift
/// let scimd = SCIMDClient(socketPath: "/run/scimd/scimd.sock")
/// let health = try await scimd.health()
/// …
/// await scimd.shutdown()
/// ```
///
/// - The connection is opened by the first call (or ``connect()``) and, when scimd restarts,
///   opened again with exponential ``Backoff``. Calls made while there is no connection wait for
///   one, up to their timeout, then fail with ``SCIMDClientError/daemonUnavailable(socket:reason:)``.
/// - A call already written when the connection drops fails with
///   ``SCIMDClientError/connectionClosed`` and is never re-sent: it may have taken effect.
/// - Every call has a timeout (``Configuration/timeout``, or the call's `timeout:` argument) and
///   honours task cancellation: a cancelled call throws `CancellationError` at once.
/// - ``subscribeEvents(_:timeout:)`` streams survive reconnects: the client subscribes again after the last
///   sequence number it delivered, so no event is lost or delivered twice.
/// - When scimd refuses the connection because it is at `--max-connections`, the waiting calls
///   get its `RPCError` (kind `unavailable`) at once, and so does every call until the next
///   attempt (after the backoff delay); subscriptions keep retrying.
///
/// Call ``shutdown()`` when done: the connection and its timers hold the client.
/// ``withConnection(socketPath:configuration:_:)`` does it for a scoped use.
public final class SCIMDClient: Sendable {
    /// How a client connects, retries and times out.
    public struct Configuration: Sendable {
        /// The default timeout of every call, counted from the call (also while waiting for a
        /// connection); nil waits without limit. Override per call with `timeout:`.
        public var timeout: Duration?
        /// Whether the client opens a new connection when one ends (scimd restarted). Without,
        /// the first connection's end is final: later calls fail with the reason it ended.
        public var reconnects: Bool
        /// The delays between connection attempts.
        public var backoff: Backoff
        /// The longest line (one response, or one batch's responses) accepted from scimd, in bytes.
        /// A longer one closes the connection and fails the calls on it with
        /// ``SCIMDClientError/invalidResponse(_:)``.
        public var maximumResponseLength: Int

        /// Defaults: 60 s timeout, reconnecting, default ``Backoff``, 1 GiB lines.
        public init(timeout: Duration? = .seconds(60), reconnects: Bool = true, backoff: Backoff = Backoff(),
                    maximumResponseLength: Int = 1 << 30) {
            self.timeout = timeout
            self.reconnects = reconnects
            self.backoff = backoff
            self.maximumResponseLength = maximumResponseLength
        }
    }

    /// The default socket: `$SCIMD_SOCKET`, else `/run/scimd/scimd.sock` when it exists, else `./scimd.sock`.
    public static var defaultSocketPath: String {
        if let env = ProcessInfo.processInfo.environment["SCIMD_SOCKET"], !env.isEmpty { return env }
        if FileManager.default.fileExists(atPath: "/run/scimd/scimd.sock") { return "/run/scimd/scimd.sock" }
        return "scimd.sock"
    }

    /// The daemon's socket.
    public let socketPath: String
    /// As given to ``init(socketPath:configuration:)``.
    public let configuration: Configuration
    /// Every connection, read, timer and state change of this client runs on this one loop, so
    /// answers and notifications are handled in the order they arrived, across reconnects.
    private let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<ClientState>

    /// A client of the daemon at `socketPath`. Connects on first use; never throws.
    public init(socketPath: String = SCIMDClient.defaultSocketPath, configuration: Configuration = Configuration()) {
        self.socketPath = socketPath
        self.configuration = configuration
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.state = NIOLockedValueBox(ClientState())
    }

    /// Connects to the daemon at `socketPath`, runs `body` with a client, then shuts it down.
    ///
    /// The client does not reconnect (its `configuration` has `reconnects` false unless given
    /// otherwise) and its calls have no timeout by default: one connection, for the duration of `body`.
    /// Throws ``SCIMDClientError/daemonUnavailable(socket:reason:)`` when nothing answers there.
    public static func withConnection<T: Sendable>(
        socketPath: String = defaultSocketPath,
        configuration: Configuration = Configuration(timeout: nil, reconnects: false),
        _ body: (SCIMDClient) async throws -> T
    ) async throws -> T {
        let client = SCIMDClient(socketPath: socketPath, configuration: configuration)
        do {
            try await client.connect()
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    // MARK: Connection

    /// Opens the connection now if there is none, and waits for it: fails fast with
    /// ``SCIMDClientError/daemonUnavailable(socket:reason:)`` when scimd cannot be reached (one
    /// attempt), instead of leaving the first call to wait for its timeout.
    public func connect() async throws {
        let promise = eventLoop.makePromise(of: Void.self)
        let action: ConnectAction = state.withLockedValue { state in
            switch state.link {
            case .connected:
                return .succeed
            case .closed(let error):
                return .fail(error)
            case .connecting:
                state.connectWaiters.append(promise)
                return .none
            case .idle, .waiting:
                state.connectWaiters.append(promise)
                state.cancelRetryTimer()
                state.link = .connecting
                return .open
            }
        }
        switch action {
        case .succeed: promise.succeed(())
        case .fail(let error): promise.fail(error)
        case .open: open()
        case .none: break
        }
        try await promise.futureResult.get()
    }

    private enum ConnectAction { case succeed, fail(any Error), open, none }

    /// Closes the connection, fails every call in progress with ``SCIMDClientError/shutDown``
    /// (one refused or ended earlier keeps that reason) and ends every event stream. Later calls fail
    /// with the same error. Idempotent.
    public func shutdown() async {
        let (channel, work) = state.withLockedValue { state -> ((any Channel)?, ClientState.Completions) in
            let channel: (any Channel)?
            if case .connected(let c) = state.link { channel = c } else { channel = nil }
            if case .closed = state.link { return (nil, .init()) }
            state.cancelRetryTimer()
            let work = state.failEverything(SCIMDClientError.shutDown, includingSubscriptions: true)
            state.link = .closed(SCIMDClientError.shutDown)
            return (channel, work)
        }
        work.run()
        if let channel {
            let closed: EventLoopFuture<Void> = channel.close()
            try? await closed.get()  // already closed by scimd is as good
        }
    }

    /// Starts one connection attempt; the caller has set `link` to `.connecting`.
    private func open() {
        let maximum = configuration.maximumResponseLength
        // A refusal read before `opened` runs belongs to this attempt (see `received`).
        state.withLockedValue { $0.connectionEndedBy = nil }
        ClientBootstrap(group: eventLoop)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maximum)))
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(client: self))
                }
            }
            .connect(unixDomainSocketPath: socketPath)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel): opened(channel)
                case .failure(let error): failedToOpen(error)
                }
            }
    }

    private func opened(_ channel: any Channel) {
        let (writes, waiters, closeIt) = state.withLockedValue { state -> ([ByteBuffer], [EventLoopPromise<Void>], Bool) in
            guard case .connecting = state.link else { return ([], [], true) }  // shut down meanwhile
            state.link = .connected(channel)
            let waiters = state.connectWaiters
            state.connectWaiters = []
            var writes: [ByteBuffer] = []
            // Subscriptions first, each after the last sequence it delivered.
            for key in state.subscriptions.keys.sorted()
            where state.subscriptions[key]?.serverID == nil && state.subscriptions[key]?.subscribing == false {
                writes.append(state.resubscribe(key, on: eventLoop))
            }
            writes += state.outbox.map(\.bytes)
            for entry in state.outbox { for id in entry.ids { state.pending[id]?.sent = true } }
            state.outbox = []
            return (writes, waiters, false)
        }
        if closeIt { channel.close(promise: nil); return }
        for waiter in waiters { waiter.succeed(()) }
        for bytes in writes { channel.write(bytes, promise: nil) }
        channel.flush()
        // scimd may have answered and closed (a refusal at --max-connections is written at
        // accept) before this ran: its `channelInactive` then found the link still `.connecting`
        // and did nothing, so end the connection here, or the calls just queued would wait forever.
        if !channel.isActive { connectionEnded(channel) }
    }

    private func failedToOpen(_ error: any Error) {
        let reason: String
        let permanent: Bool
        if let error = error as? IOError {
            switch error.errnoCode {
            case ENOENT: reason = "no socket at that path"; permanent = false
            case ECONNREFUSED: reason = "nothing is listening there"; permanent = false
            case EACCES: reason = "permission denied: add your user to the socket's group"; permanent = true
            default: reason = String(cString: strerror(error.errnoCode)); permanent = false
            }
        } else {
            reason = "\(error)"
            permanent = false
        }
        // A missing socket or refused connect is what a restart looks like: calls keep waiting.
        // No permission will not fix itself: calls fail now.
        let failure = SCIMDClientError.daemonUnavailable(socket: socketPath, reason: reason)
        let work = state.withLockedValue { state -> ClientState.Completions in
            guard case .connecting = state.link else { return .init() }
            return afterFailure(&state, failure, failFast: permanent)
        }
        work.run()
    }

    /// The connection ended (scimd closed it, stopped, or restarted).
    fileprivate func connectionEnded(_ channel: any Channel) {
        let work = state.withLockedValue { state -> ClientState.Completions in
            guard case .connected(let current) = state.link, current === channel else { return .init() }
            let reason = state.connectionEndedBy ?? SCIMDClientError.connectionClosed
            // Written calls are not re-sent: they may have taken effect.
            var work = state.failSent(reason)
            for key in state.subscriptions.keys {
                state.subscriptions[key]?.serverID = nil
                state.subscriptions[key]?.subscribing = false
            }
            state.serverSubscriptions = [:]
            // scimd's own refusal (`id: null`, e.g. at --max-connections) is an answer, not an outage:
            // the waiting calls get it now rather than wait for a slot.
            let refused = state.connectionEndedBy != nil
            work.merge(afterFailure(&state, reason, failFast: refused))
            return work
        }
        work.run()
    }

    /// After a failed attempt or a lost connection: close for good, or wait and retry.
    private func afterFailure(_ state: inout ClientState, _ failure: any Error, failFast: Bool) -> ClientState.Completions {
        var work = ClientState.Completions()
        work.connectWaiters = state.connectWaiters.map { ($0, failure) }
        state.connectWaiters = []
        guard configuration.reconnects else {
            work.merge(state.failEverything(failure, includingSubscriptions: true))
            state.link = .closed(failure)
            return work
        }
        if failFast { work.merge(state.failUnsent(failure)) }
        state.failedAttempts += 1
        state.lastFailure = failure
        let delay = configuration.backoff.delay(attempt: state.failedAttempts, random: Double.random(in: 0...1))
        state.link = .waiting(failFast: failFast ? failure : nil)
        state.retryTimer = eventLoop.scheduleTask(in: Self.timeAmount(delay)) { [self] in retry() }
        return work
    }

    /// The backoff delay is over: connect again if anyone is waiting for it.
    private func retry() {
        let reopen = state.withLockedValue { state -> Bool in
            guard case .waiting = state.link else { return false }
            state.retryTimer = nil
            if state.outbox.isEmpty && state.subscriptions.isEmpty && state.connectWaiters.isEmpty {
                state.link = .idle  // the next call connects
                return false
            }
            state.link = .connecting
            return true
        }
        if reopen { open() }
    }

    // MARK: Inbound

    fileprivate func received(_ line: ByteBuffer, on channel: any Channel) {
        guard let message = try? JSONParser(maximumDepth: 1024).parse(bytes: line.readableBytesView) else { return }
        for response in message.arrayValue ?? [message] {
            if let id = response["id"]?.intValue {
                answer(id, response)
            } else if response["method"] == nil, let payload = response["error"] {
                // An error with `id: null` answers no request of ours: it is about the connection
                // (over --max-connections, a line too long or too slow), and scimd closes it next.
                // Every call waiting on it gets that error, not a bare "connection closed".
                let error: any Error = RPCError(json: payload) ?? SCIMDClientError.invalidResponse("malformed error object")
                let work = state.withLockedValue { state -> ClientState.Completions in
                    switch state.link {
                    case .connected(let current) where current === channel:
                        state.connectionEndedBy = error
                        return state.failSent(error)
                    case .connecting:
                        // Read before `opened` ran: the only connection in flight is this one.
                        // `opened` (or `channelInactive` after it) ends it with this error.
                        state.connectionEndedBy = error
                        return .init()
                    default:
                        return .init()
                    }
                }
                work.run()
            } else {
                notification(response, on: channel)
            }
        }
    }

    /// scimd sent a line longer than ``Configuration/maximumResponseLength``: the connection is
    /// closed (the rest of the line cannot be told from the next one), and the calls on it fail
    /// with why rather than a bare "connection closed".
    fileprivate func responseTooLong(on channel: any Channel) {
        let error = SCIMDClientError.invalidResponse(
            "a line longer than \(configuration.maximumResponseLength) bytes (Configuration.maximumResponseLength)")
        let work = state.withLockedValue { state -> ClientState.Completions in
            guard case .connected(let current) = state.link, current === channel else { return .init() }
            state.connectionEndedBy = error
            return state.failSent(error)
        }
        work.run()
    }

    private func answer(_ id: Int, _ response: JSONValue) {
        let found = state.withLockedValue { state -> (ClientState.Pending, Bool, AsyncThrowingStream<EventInfo, any Error>.Continuation?)? in
            // A real answer: this connection is good, the next outage starts the backoff afresh.
            state.failedAttempts = 0
            guard let pending = state.pending.removeValue(forKey: id) else { return nil }
            var refused: AsyncThrowingStream<EventInfo, any Error>.Continuation?
            if let key = pending.subscription, state.subscriptions[key] != nil {
                state.subscriptions[key]?.subscribing = false
                if let server = response["result"]?["subscription"]?.stringValue {
                    // Routed before anything else runs on this loop, so the notifications right
                    // behind the response are never missed.
                    state.subscriptions[key]?.serverID = server
                    state.serverSubscriptions[server] = key
                } else {
                    // scimd refused the subscription (its connection was deleted, …): the stream ends.
                    refused = state.subscriptions.removeValue(forKey: key)?.continuation
                }
            }
            // The batch's timer goes with its last answer.
            let lastOfBatch = !pending.batch.contains { state.pending[$0] != nil }
            return (pending, lastOfBatch, refused)
        }
        guard let found else { return }  // timed out or cancelled meanwhile
        let (pending, lastOfBatch, refused) = found
        if lastOfBatch { pending.timeout?.cancel() }
        if let payload = response["error"] {
            let error: any Error = RPCError(json: payload) ?? SCIMDClientError.invalidResponse("malformed error object")
            refused?.finish(throwing: error)
            pending.promise.fail(error)
        } else if let result = response["result"] {
            pending.promise.succeed(result)
        } else {
            pending.promise.fail(SCIMDClientError.invalidResponse("response has neither result nor error"))
        }
    }

    private func notification(_ message: JSONValue, on channel: any Channel) {
        guard let method = message["method"]?.stringValue, let params = message["params"],
            let server = params["subscription"]?.stringValue
        else { return }
        switch method {
        case EventsSubscribe.eventNotification:
            guard let raw = params["event"], let event = try? RPCCodec.decode(EventInfo.self, from: raw) else { return }
            let continuation = state.withLockedValue { state -> AsyncThrowingStream<EventInfo, any Error>.Continuation? in
                guard let key = state.serverSubscriptions[server], let subscription = state.subscriptions[key],
                    event.sequence > subscription.lastDelivered
                else { return nil }  // one we stopped following, or already delivered before a resume
                state.subscriptions[key]?.lastDelivered = event.sequence
                return subscription.continuation
            }
            // Yielded outside the lock (a consumer's termination handler takes it), still in order:
            // every read of every connection of this client runs on the one event loop.
            continuation?.yield(event)
        case EventsSubscribe.droppedNotification:
            // Too far behind for scimd's buffer: subscribe again on the same connection after the
            // last delivered event; the backlog comes from the durable feed.
            let bytes = state.withLockedValue { state -> ByteBuffer? in
                guard case .connected(let current) = state.link, current === channel,
                    let key = state.serverSubscriptions.removeValue(forKey: server), state.subscriptions[key] != nil
                else { return nil }
                state.subscriptions[key]?.serverID = nil
                return state.resubscribe(key, on: eventLoop)
            }
            if let bytes { channel.writeAndFlush(bytes, promise: nil) }
        default:
            return
        }
    }

    // MARK: Calls

    /// `events.subscribe`: the change feed after `selection.after`, backlog first, then live.
    ///
    /// The stream lasts until the client shuts down (or, without ``Configuration/reconnects``, until
    /// the connection ends) or the consumer stops iterating. When scimd drops the subscription (too
    /// far behind) or restarts, the client subscribes again after the last sequence number it
    /// delivered: every event of the selection is delivered once, in sequence order.
    /// Throws the first `events.subscribe`'s `RPCError` (`not_found` connection, `invalid_params`);
    /// if a later re-subscription is refused that way, the stream ends with that error.
    public func subscribeEvents(_ selection: EventSelection, timeout: Duration? = nil) async throws -> AsyncThrowingStream<EventInfo, any Error> {
        let (stream, continuation) = AsyncThrowingStream<EventInfo, any Error>.makeStream(bufferingPolicy: .unbounded)
        let key = state.withLockedValue { state -> Int in
            let key = state.nextID
            state.nextID += 1
            state.subscriptions[key] = ClientState.Subscription(
                selection: selection, lastDelivered: selection.after ?? 0, continuation: continuation, subscribing: true)
            return key
        }
        continuation.onTermination = { [self] _ in
            state.withLockedValue { state in
                if let server = state.subscriptions.removeValue(forKey: key)?.serverID { state.serverSubscriptions[server] = nil }
            }
        }
        do {
            let params = try JSONParser().parse(bytes: try RPCCodec.encode(selection))
            _ = try await send([(EventsSubscribe.name, params)], subscription: key, timeout: timeout)[0].get()
        } catch {
            continuation.finish(throwing: error)
            throw error
        }
        return stream
    }

    /// Calls `method` with typed params and returns its typed result, within `timeout` (default:
    /// the client's). Throws `RPCError` from the daemon, ``SCIMDClientError``, or `CancellationError`.
    public func call<M: RPCMethod>(_ method: M.Type, _ params: M.Params, timeout: Duration? = nil) async throws -> M.Result {
        let raw = try await callRaw(M.name, params: JSONParser().parse(bytes: try RPCCodec.encode(params)), timeout: timeout)
        return try RPCCodec.decode(M.Result.self, from: raw)
    }

    /// Calls any method by name with JSON params; returns the JSON result.
    public func callRaw(_ method: String, params: JSONValue, timeout: Duration? = nil) async throws -> JSONValue {
        let result = try await send([(method, params)], subscription: nil, timeout: timeout)[0]
        return try result.get()
    }

    /// Calls `method` once per element of `params` in one JSON-RPC batch (one line). The daemon runs
    /// a batch's elements concurrently, in any order, and commits their writes together; the
    /// results come back in the order of `params`, each a result or the `RPCError` it failed with.
    /// Throws ``SCIMDClientError`` when the connection fails, `CancellationError` when cancelled.
    public func callBatch<M: RPCMethod>(_ method: M.Type, _ params: [M.Params], timeout: Duration? = nil) async throws -> [Result<M.Result, RPCError>] {
        if params.isEmpty { return [] }
        let encoded = try params.map { (M.name, try JSONParser().parse(bytes: try RPCCodec.encode($0))) }
        return try await send(encoded, subscription: nil, timeout: timeout).map { result in
            switch result {
            case .success(let raw): return .success(try RPCCodec.decode(M.Result.self, from: raw))
            case .failure(let error as RPCError): return .failure(error)
            case .failure(let error): throw error
            }
        }
    }

    /// Registers, writes (now, or once connected) and awaits one request, or a batch of several in
    /// one line. Each element's result is its answer or the `RPCError` it failed with; a client
    /// error (closed, timed out, cancelled) throws.
    private func send(_ requests: [(method: String, params: JSONValue)], subscription: Int?, timeout: Duration?) async throws -> [Result<JSONValue, any Error>] {
        try Task.checkCancellation()
        let promises = requests.map { _ in eventLoop.makePromise(of: JSONValue.self) }
        let limit = timeout ?? configuration.timeout
        let (ids, action) = state.withLockedValue { state -> ([Int], SendAction) in
            let first = state.nextID
            state.nextID += requests.count
            let ids = Array(first..<(first + requests.count))
            let messages = zip(ids, requests).map { id, request -> JSONValue in
                ["jsonrpc": "2.0", "id": .int(id), "method": .string(request.method), "params": request.params]
            }
            var bytes = JSONSerializer.bytes(messages.count == 1 ? messages[0] : .array(messages))
            bytes.append(UInt8(ascii: "\n"))
            let line = ByteBuffer(bytes: bytes)
            let action: SendAction
            switch state.link {
            case .closed(let error), .waiting(failFast: .some(let error)):
                return (ids, .fail(error))
            case .connected(let channel):
                action = .write(channel, line)
            case .connecting, .waiting(failFast: nil):
                state.outbox.append(.init(ids: ids, bytes: line))
                action = .none
            case .idle:
                state.outbox.append(.init(ids: ids, bytes: line))
                state.link = .connecting
                action = .open
            }
            let sent: Bool
            if case .write = action { sent = true } else { sent = false }
            let timer = limit.map { limit in
                eventLoop.scheduleTask(in: Self.timeAmount(limit)) { [self] in abandon(ids, because: .timeout(limit)) }
            }
            for (index, id) in ids.enumerated() {
                // Registered before the request is written, so its answer can never arrive unclaimed.
                state.pending[id] = ClientState.Pending(
                    method: requests[index].method, promise: promises[index], sent: sent,
                    subscription: index == 0 ? subscription : nil, timeout: timer, batch: ids.count > 1 ? ids : [])
            }
            return (ids, action)
        }
        switch action {
        case .fail(let error):
            for promise in promises { promise.fail(error) }
            throw error
        case .write(let channel, let line):
            channel.writeAndFlush(line, promise: nil)
        case .open:
            open()
        case .none:
            break
        }
        return try await withTaskCancellationHandler {
            var results: [Result<JSONValue, any Error>] = []
            for promise in promises {
                do {
                    results.append(.success(try await promise.futureResult.get()))
                } catch let error as RPCError {
                    results.append(.failure(error))
                }
            }
            return results
        } onCancel: {
            abandon(ids, because: .cancelled)
        }
    }

    private enum SendAction { case write(any Channel, ByteBuffer), open, fail(any Error), none }
    private enum Abandonment { case timeout(Duration), cancelled }

    /// Removes calls that timed out or were cancelled: their entries go, their promises fail; an
    /// answer arriving later is ignored. A call that was never written is taken out of the outbox.
    private func abandon(_ ids: [Int], because why: Abandonment) {
        let (removed, connected, lastFailure) = state.withLockedValue { state -> ([ClientState.Pending], Bool, (any Error)?) in
            let removed = ids.compactMap { state.pending.removeValue(forKey: $0) }
            state.outbox.removeAll { entry in entry.ids.contains { ids.contains($0) } }
            var connected = false
            if case .connected = state.link { connected = true }
            return (removed, connected, state.lastFailure)
        }
        for pending in removed {
            pending.timeout?.cancel()
            let error: any Error
            switch why {
            case .cancelled:
                error = CancellationError()
            case .timeout(let limit):
                if pending.sent {
                    error = SCIMDClientError.timedOut(method: pending.method, after: limit)
                } else if !connected, let lastFailure {
                    error = lastFailure
                } else {
                    error = SCIMDClientError.daemonUnavailable(socket: socketPath, reason: "no connection within \(limit)")
                }
            }
            pending.promise.fail(error)
        }
        // A stream whose first events.subscribe never completed is ended by subscribeEvents.
    }

    /// Calls registered and not yet completed, with those waiting in the outbox (for tests: a
    /// cancelled or timed-out call leaves none behind).
    var pendingCallCount: Int { state.withLockedValue { $0.pending.count } }
    /// Event streams being followed (for tests: one that failed or ended is not kept).
    var subscriptionCount: Int { state.withLockedValue { $0.subscriptions.count } }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Everything a client knows, behind its lock.
struct ClientState {
    enum Link {
        /// No connection and no reason to have one; the next call connects.
        case idle
        case connecting
        case connected(any Channel)
        /// Between attempts (backoff). With `failFast`, calls fail with it instead of waiting.
        case waiting(failFast: (any Error)?)
        /// Shut down, or the connection ended without `reconnects`: calls fail with this.
        case closed(any Error)
    }

    struct Pending {
        var method: String
        var promise: EventLoopPromise<JSONValue>
        /// Written to the current connection (else still in the outbox).
        var sent: Bool
        /// The subscription an `events.subscribe` request is for.
        var subscription: Int?
        /// Shared by every request of a batch; cancelled with the last answer.
        var timeout: Scheduled<Void>?
        /// The ids of the batch this request was sent in (empty for a single request).
        var batch: [Int]
    }

    /// Requests written once a connection is open, in the order they were made.
    struct OutboxEntry {
        var ids: [Int]
        var bytes: ByteBuffer
    }

    struct Subscription {
        var selection: EventSelection
        /// The sequence number of the last event delivered (or the selection's `after`).
        var lastDelivered: Int
        var continuation: AsyncThrowingStream<EventInfo, any Error>.Continuation
        /// An `events.subscribe` for it is on its way (queued or awaiting the answer).
        var subscribing: Bool
        /// scimd's id of the live subscription on the current connection; nil between them.
        var serverID: String?
    }

    /// Completions to run after the lock is released (they resume tasks and run termination handlers).
    struct Completions {
        var promises: [(EventLoopPromise<JSONValue>, any Error)] = []
        var timers: [Scheduled<Void>] = []
        var streams: [(AsyncThrowingStream<EventInfo, any Error>.Continuation, any Error)] = []
        var connectWaiters: [(EventLoopPromise<Void>, any Error)] = []

        mutating func merge(_ other: Completions) {
            promises += other.promises
            timers += other.timers
            streams += other.streams
            connectWaiters += other.connectWaiters
        }

        func run() {
            for timer in timers { timer.cancel() }
            for (promise, error) in promises { promise.fail(error) }
            for (waiter, error) in connectWaiters { waiter.fail(error) }
            for (stream, error) in streams { stream.finish(throwing: error) }
        }
    }

    var link: Link = .idle
    var nextID = 1
    var pending: [Int: Pending] = [:]
    var outbox: [OutboxEntry] = []
    var subscriptions: [Int: Subscription] = [:]
    var serverSubscriptions: [String: Int] = [:]
    var connectWaiters: [EventLoopPromise<Void>] = []
    var retryTimer: Scheduled<Void>?
    /// Failed attempts since the last answer; drives the backoff.
    var failedAttempts = 0
    /// Why the last attempt or connection failed: what a call that timed out waiting gets.
    var lastFailure: (any Error)?
    /// scimd's `id: null` error on the current connection (a refusal), kept for the calls after it.
    var connectionEndedBy: (any Error)?

    mutating func cancelRetryTimer() {
        retryTimer?.cancel()
        retryTimer = nil
    }

    /// Fails the calls written to the current connection.
    mutating func failSent(_ error: any Error) -> Completions {
        var work = Completions()
        for (id, entry) in pending where entry.sent {
            pending[id] = nil
            work.promises.append((entry.promise, error))
            if let timer = entry.timeout { work.timers.append(timer) }
            // Subscribed again on the next connection.
            if let key = entry.subscription { subscriptions[key]?.subscribing = false }
        }
        return work
    }

    /// Fails the calls still waiting for a connection.
    mutating func failUnsent(_ error: any Error) -> Completions {
        var work = Completions()
        for entry in outbox {
            for id in entry.ids {
                guard let pending = pending.removeValue(forKey: id) else { continue }
                work.promises.append((pending.promise, error))
                if let timer = pending.timeout { work.timers.append(timer) }
            }
        }
        outbox = []
        return work
    }

    mutating func failEverything(_ error: any Error, includingSubscriptions: Bool) -> Completions {
        var work = failSent(error)
        work.merge(failUnsent(error))
        for (_, entry) in pending {
            work.promises.append((entry.promise, error))
            if let timer = entry.timeout { work.timers.append(timer) }
        }
        pending = [:]
        work.connectWaiters = connectWaiters.map { ($0, error) }
        connectWaiters = []
        if includingSubscriptions {
            work.streams += subscriptions.values.map { ($0.continuation, error) }
            subscriptions = [:]
            serverSubscriptions = [:]
        }
        return work
    }

    /// Registers an `events.subscribe` for subscription `key` after its last delivered event and
    /// returns the line to write. Its answer routes the stream; a refusal (`RPCError`) ends it.
    mutating func resubscribe(_ key: Int, on eventLoop: any EventLoop) -> ByteBuffer {
        guard var subscription = subscriptions[key] else { preconditionFailure("resubscribe of an unknown subscription") }
        subscription.subscribing = true
        subscriptions[key] = subscription
        var selection = subscription.selection
        selection.after = subscription.lastDelivered
        let id = nextID
        nextID += 1
        let params = (try? JSONParser().parse(bytes: RPCCodec.encode(selection))) ?? [:]
        // Nobody awaits it: its answer routes the stream, a refusal ends it (in `answer`).
        let promise = eventLoop.makePromise(of: JSONValue.self)
        pending[id] = Pending(method: EventsSubscribe.name, promise: promise, sent: true, subscription: key, timeout: nil, batch: [])
        var bytes = JSONSerializer.bytes(["jsonrpc": "2.0", "id": .int(id), "method": .string(EventsSubscribe.name), "params": params])
        bytes.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: bytes)
    }
}

/// Reads scimd's lines on a connection and hands them to the client.
private final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    let client: SCIMDClient

    init(client: SCIMDClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .line(let line): client.received(line, on: context.channel)
        case .tooLong:
            client.responseTooLong(on: context.channel)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.connectionEnded(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
