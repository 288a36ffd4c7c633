import Foundation
import NIOCore
import NIOPosix
import SCIMDFraming
import SCIMDProtocol
import SCIMJSON
import NIOConcurrencyHelpers

/// Errors of the client itself (RPC errors from the daemon are thrown as ``RPCError``).
public enum SCIMDClientError: Error, CustomStringConvertible, Sendable {
    /// Nothing answers on the socket: the daemon is not running or the path is wrong.
    case daemonUnavailable(socket: String, reason: String)
    /// The daemon closed the connection before answering.
    case connectionClosed
    /// The daemon sent something that is not a JSON-RPC 2.0 response.
    case invalidResponse(String)
    /// An event subscription fell too far behind and was dropped; resume with `events.list` after this sequence.
    case subscriptionDropped(resumeAfter: Int)

    public var description: String {
        switch self {
        case .daemonUnavailable(let socket, let reason):
            return "cannot reach scimd at \(socket) (\(reason)). Is it running? Start it with `scimd --socket \(socket)`, "
                + "or point --socket / SCIMD_SOCKET at its socket."
        case .connectionClosed: return "scimd closed the connection before answering"
        case .invalidResponse(let detail): return "scimd sent an invalid response: \(detail)"
        case .subscriptionDropped(let after):
            return "scimd dropped the event subscription (too far behind); resume with events.list after \(after)"
        }
    }
}

/// An async/await client for scimd's JSON-RPC socket: one typed call per method.
///
/// Use it within ``withConnection(socketPath:_:)``, which owns the socket connection and its reader
/// for the duration of `body` (structured concurrency: nothing outlives the call). Calls may be
/// issued concurrently from many tasks; they are pipelined on the one connection and matched to
/// their responses by id.
public final class SCIMDClient: Sendable {
    /// The default socket: `$SCIMD_SOCKET`, else `/run/scimd/scimd.sock` when it exists, else `./scimd.sock`.
    public static var defaultSocketPath: String {
        if let env = ProcessInfo.processInfo.environment["SCIMD_SOCKET"], !env.isEmpty { return env }
        if FileManager.default.fileExists(atPath: "/run/scimd/scimd.sock") { return "/run/scimd/scimd.sock" }
        return "scimd.sock"
    }

    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private let state = NIOLockedValueBox(State())

    private struct State {
        var nextID = 1
        var pending: [Int: EventLoopPromise<JSONValue>] = [:]
        /// Event streams waiting for their `events.subscribe` response, by request id.
        var subscribing: [Int: AsyncThrowingStream<EventInfo, any Error>.Continuation] = [:]
        /// Live event streams by subscription id.
        var subscriptions: [String: AsyncThrowingStream<EventInfo, any Error>.Continuation] = [:]
        var closed = false
        /// Why the connection ended, for calls made after it did: the first error that ended it
        /// (scimd's `id: null` error when it refused the connection, else "connection closed").
        var closedBy: (any Error)?
    }

    private init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.outbound = outbound
    }

    /// Connects to the daemon at `socketPath`, runs `body` with a client, then disconnects.
    /// Throws ``SCIMDClientError/daemonUnavailable(socket:reason:)`` when nothing answers there.
    public static func withConnection<T: Sendable>(
        socketPath: String = defaultSocketPath, _ body: (SCIMDClient) async throws -> T
    ) async throws -> T {
        let channel: NIOAsyncChannel<InboundFrame, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineFrameDecoder(maximumLength: 1 << 30)))
                        return try NIOAsyncChannel<InboundFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch let error as IOError {
            let reason: String
            switch error.errnoCode {
            case ENOENT: reason = "no socket at that path"
            case ECONNREFUSED: reason = "nothing is listening there"
            case EACCES: reason = "permission denied: add your user to the socket's group"
            default: reason = String(cString: strerror(error.errnoCode))
            }
            throw SCIMDClientError.daemonUnavailable(socket: socketPath, reason: reason)
        } catch {
            throw SCIMDClientError.daemonUnavailable(socket: socketPath, reason: "\(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            let client = SCIMDClient(outbound: outbound)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.readResponses(inbound) }
                // The body's end ends the connection: the reader is cancelled and awaited.
                defer { group.cancelAll() }
                return try await body(client)
            }
        }
    }

    private func readResponses(_ inbound: NIOAsyncChannelInboundStream<InboundFrame>) async {
        do {
            for try await frame in inbound {
                guard case .line(let line) = frame else { continue }
                guard let message = try? JSONParser(maximumDepth: 1024).parse(bytes: line.readableBytesView) else { continue }
                deliver(message)
            }
        } catch {}
        failAll(SCIMDClientError.connectionClosed)
    }

    private func deliver(_ message: JSONValue) {
        let responses = message.arrayValue ?? [message]
        for response in responses {
            guard let id = response["id"]?.intValue else {
                if response["method"] == nil, let error = response["error"] {
                    // An error with `id: null` answers no request of ours: it is about the
                    // connection (over --max-connections, a line too long or too slow), and scimd
                    // closes it next. Every caller waiting here gets that error, not a bare
                    // "connection closed".
                    failAll(RPCError(json: error) ?? SCIMDClientError.invalidResponse("malformed error object"))
                    continue
                }
                deliverNotification(response)
                continue
            }
            let promise = state.withLockedValue { state -> EventLoopPromise<JSONValue>? in
                // A subscription's stream is routed before its caller resumes, so that the
                // notifications right behind the response are never missed.
                if let stream = state.subscribing.removeValue(forKey: id) {
                    if let subscription = response["result"]?["subscription"]?.stringValue {
                        state.subscriptions[subscription] = stream
                    } else {
                        stream.finish()
                    }
                }
                return state.pending.removeValue(forKey: id)
            }
            guard let promise else { continue }
            if let error = response["error"] {
                promise.fail(RPCError(json: error) ?? SCIMDClientError.invalidResponse("malformed error object"))
            } else if let result = response["result"] {
                promise.succeed(result)
            } else {
                promise.fail(SCIMDClientError.invalidResponse("response has neither result nor error"))
            }
        }
    }

    private func deliverNotification(_ notification: JSONValue) {
        guard let method = notification["method"]?.stringValue, let params = notification["params"],
            let subscription = params["subscription"]?.stringValue
        else { return }
        let stream = state.withLockedValue { state -> AsyncThrowingStream<EventInfo, any Error>.Continuation? in
            method == EventsSubscribe.droppedNotification
                ? state.subscriptions.removeValue(forKey: subscription) : state.subscriptions[subscription]
        }
        guard let stream else { return }
        if method == EventsSubscribe.eventNotification {
            if let event = params["event"], let info = try? RPCCodec.decode(EventInfo.self, from: event) {
                stream.yield(info)
            }
        } else if method == EventsSubscribe.droppedNotification {
            stream.finish(throwing: SCIMDClientError.subscriptionDropped(resumeAfter: params["resumeAfter"]?.intValue ?? 0))
        }
    }

    private func failAll(_ error: any Error) {
        let (pending, streams) = state.withLockedValue { state in
            state.closed = true
            // A refusal can arrive before the first call is made: keep it for that call.
            if state.closedBy == nil { state.closedBy = error }
            defer {
                state.pending.removeAll()
                state.subscriptions.removeAll()
                state.subscribing.removeAll()
            }
            return (Array(state.pending.values), Array(state.subscriptions.values) + Array(state.subscribing.values))
        }
        for promise in pending { promise.fail(error) }
        for stream in streams { stream.finish(throwing: error) }
    }

    /// `events.subscribe`: the change feed after `selection.after`, backlog first, then live, for as
    /// long as the connection lasts. The stream ends with ``SCIMDClientError/subscriptionDropped(resumeAfter:)``
    /// when the daemon drops a subscriber that fell too far behind (resume with `events.list`).
    public func subscribeEvents(_ selection: EventSelection) async throws -> AsyncThrowingStream<EventInfo, any Error> {
        let (stream, continuation) = AsyncThrowingStream<EventInfo, any Error>.makeStream(bufferingPolicy: .unbounded)
        let params = try JSONParser().parse(bytes: try RPCCodec.encode(selection))
        _ = try await callRaw(EventsSubscribe.name, params: params, beforeSending: { id in
            state.withLockedValue { $0.subscribing[id] = continuation }
        })
        return stream
    }

    /// Calls `method` with typed params and returns its typed result.
    /// Throws ``RPCError`` from the daemon, or ``SCIMDClientError``.
    public func call<M: RPCMethod>(_ method: M.Type, _ params: M.Params) async throws -> M.Result {
        let raw = try await callRaw(M.name, params: JSONParser().parse(bytes: try RPCCodec.encode(params)))
        return try RPCCodec.decode(M.Result.self, from: raw)
    }

    /// Calls `method` once per element of `params` in one JSON-RPC batch (one line). The daemon runs
    /// a batch's elements concurrently, in any order, and commits their writes together; the
    /// results come back in the order of `params`, each a result or the ``RPCError`` it failed with.
    /// Throws ``SCIMDClientError`` when the connection fails.
    public func callBatch<M: RPCMethod>(_ method: M.Type, _ params: [M.Params]) async throws -> [Result<M.Result, RPCError>] {
        if params.isEmpty { return [] }
        let encoded = try params.map { try JSONParser().parse(bytes: try RPCCodec.encode($0)) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promises = params.map { _ in loop.makePromise(of: JSONValue.self) }
        let ids: [Int]? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            let first = state.nextID
            state.nextID += promises.count
            for (offset, promise) in promises.enumerated() { state.pending[first + offset] = promise }
            return Array(first..<(first + promises.count))
        }
        guard let ids else {
            for promise in promises { promise.fail(SCIMDClientError.connectionClosed) }
            throw SCIMDClientError.connectionClosed
        }
        let batch = JSONValue.array(zip(ids, encoded).map { id, params in
            ["jsonrpc": "2.0", "id": .int(id), "method": .string(M.name), "params": params]
        })
        var bytes = JSONSerializer.bytes(batch)
        bytes.append(UInt8(ascii: "\n"))
        do {
            try await outbound.write(ByteBuffer(bytes: bytes))
        } catch {
            state.withLockedValue { state in for id in ids { state.pending.removeValue(forKey: id) } }
            for promise in promises { promise.fail(SCIMDClientError.connectionClosed) }
        }
        var results: [Result<M.Result, RPCError>] = []
        results.reserveCapacity(promises.count)
        for promise in promises {
            do {
                let raw = try await promise.futureResult.get()
                results.append(.success(try RPCCodec.decode(M.Result.self, from: raw)))
            } catch let error as RPCError {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Calls any method by name with JSON params; returns the JSON result.
    public func callRaw(_ method: String, params: JSONValue) async throws -> JSONValue {
        try await callRaw(method, params: params, beforeSending: { _ in })
    }

    private func callRaw(_ method: String, params: JSONValue, beforeSending: (Int) -> Void) async throws -> JSONValue {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: JSONValue.self)
        // Registered before the request is written, so the response can never arrive unclaimed.
        let registered: Result<Int, any Error> = state.withLockedValue { state in
            guard !state.closed else { return .failure(state.closedBy ?? SCIMDClientError.connectionClosed) }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = promise
            return .success(id)
        }
        guard case .success(let id) = registered else {
            // Every promise must be completed, even one that never went out.
            if case .failure(let error) = registered {
                promise.fail(error)
                throw error
            }
            return try await promise.futureResult.get()
        }
        beforeSending(id)
        let request: JSONValue = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
        var bytes = JSONSerializer.bytes(request)
        bytes.append(UInt8(ascii: "\n"))
        do {
            try await outbound.write(ByteBuffer(bytes: bytes))
        } catch {
            // The connection is gone. Its reader fails every pending call when it sees the end,
            // with scimd's own reason if one came first (a refusal at --max-connections often
            // arrives just after the request was written): leave this call to it.
        }
        return try await promise.futureResult.get()
    }
}
