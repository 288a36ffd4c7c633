import Logging
import NIOCore
import SCIMDProtocol
import SCIMJSON
import NIOConcurrencyHelpers

/// Notifications a method asks the transport to push on the caller's socket connection after its
/// response: `run` sends each through `send(method, params)` until it ends or is cancelled (when
/// the client disconnects).
public struct NotificationStream: Sendable {
    public let run: @Sendable (_ send: @escaping @Sendable (String, JSONValue) async throws -> Void) async throws -> Void
    public init(run: @escaping @Sendable (_ send: @escaping @Sendable (String, JSONValue) async throws -> Void) async throws -> Void) {
        self.run = run
    }
}

/// Routes JSON-RPC 2.0 messages to typed handlers, one per ``RPCMethod``.
///
/// It turns every failure into a JSON-RPC error object in one place: parse errors (-32700),
/// invalid requests (-32600), unknown methods (-32601), params that do not decode or that the
/// method does not know (-32602, naming the field; see ``RPCMethod/normalizedParams(_:accepted:)``), ``RPCError``s thrown by handlers as they are, and any other error as
/// -32603 without leaking its text to the client (it is logged instead).
public struct RPCDispatcher: Sendable {
    typealias Handler = @Sendable (JSONValue?) async -> Result<([UInt8], NotificationStream?), RPCError>

    private var handlers: [String: Handler] = [:]
    /// The registered methods in registration order (what `rpc.discover` lists).
    public private(set) var methods: [any RPCMethod.Type] = []
    let logger: Logger
    /// Deepest JSON nesting accepted in a message.
    let maximumDepth: Int

    /// One `info` line per call: method, outcome (`ok` or the error kind), duration, request id.
    let accessLog: Bool
    /// Counts and times every call (``SCIMDMetrics/rpcCall(method:outcome:duration:)``); nil: metrics are off.
    let metrics: SCIMDMetrics?

    public init(logger: Logger, maximumDepth: Int = 256, accessLog: Bool = false, metrics: SCIMDMetrics? = nil) {
        self.logger = logger
        self.maximumDepth = maximumDepth
        self.accessLog = accessLog
        self.metrics = metrics
    }

    /// Registers the handler of `method`. Registering a name twice is a programming error.
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Params) async throws -> M.Result
    ) {
        precondition(handlers[M.name] == nil, "\(M.name) registered twice")
        methods.append(method)
        let logger = self.logger
        // Walked once, at the method's first call rather than here: the names `M.Params` decodes,
        // plus its deprecated ones. Walking all of them at registration was half of a cold start.
        let accepted = ComputedOnce { M.acceptedParamNames }
        handlers[M.name] = { params in
            do {
                try Self.refuseNUL(in: params, for: M.self)
                let decoded = try RPCCodec.decode(M.Params.self, from: try M.normalizedParams(params, accepted: accepted.value))
                let result = try await body(decoded)
                return .success((try RPCCodec.encode(result), nil))
            } catch let error as RPCError {
                return .failure(error)
            } catch let error as any RPCErrorConvertible {
                return .failure(error.rpcError)
            } catch {
                logger.error("internal error", metadata: ["method": "\(M.name)", "error": "\(error)"])
                return .failure(.internalError("internal error while handling \(M.name); see the daemon's log"))
            }
        }
    }

    /// Registers a method whose successful result also starts a stream of notifications on the
    /// caller's socket connection (`events.subscribe`).
    public mutating func registerStreaming<M: RPCMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Params) async throws -> (M.Result, NotificationStream)
    ) {
        precondition(handlers[M.name] == nil, "\(M.name) registered twice")
        methods.append(method)
        let logger = self.logger
        // Walked once, at the method's first call rather than here: the names `M.Params` decodes,
        // plus its deprecated ones. Walking all of them at registration was half of a cold start.
        let accepted = ComputedOnce { M.acceptedParamNames }
        handlers[M.name] = { params in
            do {
                try Self.refuseNUL(in: params, for: M.self)
                let decoded = try RPCCodec.decode(M.Params.self, from: try M.normalizedParams(params, accepted: accepted.value))
                let (result, stream) = try await body(decoded)
                return .success((try RPCCodec.encode(result), stream))
            } catch let error as RPCError {
                return .failure(error)
            } catch let error as any RPCErrorConvertible {
                return .failure(error.rpcError)
            } catch {
                logger.error("internal error", metadata: ["method": "\(M.name)", "error": "\(error)"])
                return .failure(.internalError("internal error while handling \(M.name); see the daemon's log"))
            }
        }
    }

    /// Throws `invalid_params` naming the field when `params` holds U+0000 in any string and the
    /// method refuses it (every method but `scim.handle`; see ``RPCMethod/refusesNUL``).
    static func refuseNUL(in params: JSONValue?, for method: any RPCMethod.Type) throws(RPCError) {
        guard method.refusesNUL, let params, let field = params.pathOfFirstNUL() else { return }
        throw RPCError.invalidParams(
            "'\(field)' contains U+0000 (NUL), which scimd refuses in every string", field: field)
    }

    /// Handles one framed line: a request, a notification or a batch. Returns the response line
    /// (without the newline), or nil when nothing is to be sent (notifications only).
    public func handle(line: some Collection<UInt8>) async -> [UInt8]? {
        await dispatch(line: line).response
    }

    /// What answering a line produced: the response line, and any notification streams the
    /// transport must now run on that socket connection.
    public struct Outcome: Sendable {
        public var response: [UInt8]?
        public var streams: [NotificationStream]
    }

    /// Handles one framed line (see ``handle(line:)``), returning streams to start as well.
    public func dispatch(line: some Collection<UInt8>) async -> Outcome {
        let message: JSONValue
        do {
            message = try JSONParser(maximumDepth: maximumDepth).parse(bytes: line)
        } catch {
            let error = RPCError.parseError("parse error: \(error)")
            record(method: "invalid", outcome: error.kind, duration: .zero, id: .null)
            return Outcome(response: Self.response(id: nil, error: error), streams: [])
        }
        switch message {
        case .array(let elements):
            if elements.isEmpty {
                let error = RPCError.invalidRequest("empty batch")
                record(method: "invalid", outcome: error.kind, duration: .zero, id: .null)
                return Outcome(response: Self.response(id: nil, error: error), streams: [])
            }
            // The elements of a batch run concurrently (JSON-RPC 2.0 §6 lets a server process them
            // in any order): their writes then share group commits. Responses keep the batch's order.
            var outcomes = [([UInt8]?, NotificationStream?)](repeating: (nil, nil), count: elements.count)
            await withTaskGroup(of: (Int, [UInt8]?, NotificationStream?).self) { group in
                for (index, element) in elements.enumerated() {
                    group.addTask {
                        let (part, stream) = await handle(message: element)
                        return (index, part, stream)
                    }
                }
                for await (index, part, stream) in group { outcomes[index] = (part, stream) }
            }
            let parts = outcomes.compactMap(\.0)
            let streams = outcomes.compactMap(\.1)
            if parts.isEmpty { return Outcome(response: nil, streams: streams) }
            var out: [UInt8] = [UInt8(ascii: "[")]
            for (i, part) in parts.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: part)
            }
            out.append(UInt8(ascii: "]"))
            return Outcome(response: out, streams: streams)
        default:
            let (response, stream) = await handle(message: message)
            return Outcome(response: response, streams: stream.map { [$0] } ?? [])
        }
    }

    /// Handles one request object: the response (nil for a notification) and any stream it starts.
    func handle(message: JSONValue) async -> ([UInt8]?, NotificationStream?) {
        let (response, stream, method, outcome, duration) = await answer(message)
        // A message that is no object has no id to echo: its answer's id is null, and so is the log's.
        let id: JSONValue? = message.objectValue.map { $0["id"] } ?? .some(.null)
        record(method: method, outcome: outcome, duration: duration, id: id)
        return (response, stream)
    }

    /// Counts the call and writes its access-log line: every message gets one, including those
    /// refused before any method ran (`method=invalid`, `method=unknown`, as the metrics label them).
    private func record(method: String, outcome: String, duration: Duration, id: JSONValue?) {
        metrics?.rpcCall(method: method, outcome: outcome, duration: duration)
        guard accessLog else { return }
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        logger.info(
            "RPC call",
            metadata: ["method": "\(method)", "outcome": "\(outcome)", "ms": "\((milliseconds * 100).rounded() / 100)", "id": "\(Self.logged(id))"])
    }

    /// An id as the access log shows it: a string as itself (quoted by the log only when it must
    /// be), a number as written, `null`, or `notification` when there is none.
    static func logged(_ id: JSONValue?) -> String {
        switch id {
        case .none: "notification"
        case .string(let text): text
        case .some(let other): JSONSerializer.string(other)
        }
    }

    /// One request object's response and stream, with the `method` label (`invalid` for a message
    /// that is no request, `unknown` for a method not served), its outcome and its handler's time.
    private func answer(_ message: JSONValue) async -> ([UInt8]?, NotificationStream?, String, String, Duration) {
        func invalid(_ response: [UInt8], _ error: RPCError) -> ([UInt8]?, NotificationStream?, String, String, Duration) {
            (response, nil, "invalid", error.kind, .zero)
        }
        guard case .object(let object) = message else {
            let error = RPCError.invalidRequest("a request must be a JSON object")
            return invalid(Self.response(id: nil, error: error), error)
        }
        // The id, when it is usable, is echoed even on invalid requests (JSON-RPC 2.0 §5).
        var id: JSONValue? = nil
        var isNotification = true
        if let rawID = object["id"] {
            switch rawID {
            case .string, .int, .null:
                id = rawID
                isNotification = false
            default:
                let error = RPCError.invalidRequest("id must be a string, an integer or null")
                return invalid(Self.response(id: nil, error: error), error)
            }
        }
        guard object["jsonrpc"] == .string("2.0") else {
            let error = RPCError.invalidRequest("\"jsonrpc\" must be \"2.0\"")
            return invalid(Self.response(id: id, error: error), error)
        }
        guard let method = object["method"]?.stringValue else {
            let error = RPCError.invalidRequest("\"method\" must be a string")
            return invalid(Self.response(id: id, error: error), error)
        }
        let params = object["params"]
        if let params, params.objectValue == nil, params.arrayValue == nil {
            let error = RPCError.invalidParams("params must be an object")
            return (Self.response(id: id, error: error), nil, handlers[method] == nil ? "unknown" : method, error.kind, .zero)
        }
        guard let handler = handlers[method] else {
            // The client's name never becomes a label value: it is unbounded.
            let error = RPCError.methodNotFound(method)
            return (isNotification ? nil : Self.response(id: id, error: error), nil, "unknown", error.kind, .zero)
        }
        let started = ContinuousClock.now
        let result = await handler(params)
        let elapsed = ContinuousClock.now - started
        var outcome = "ok"
        if case .failure(let error) = result { outcome = error.kind }
        switch result {
        case .success(let (bytes, stream)): return (isNotification ? nil : Self.response(id: id, result: bytes), stream, method, outcome, elapsed)
        case .failure(let error): return (isNotification ? nil : Self.response(id: id, error: error), nil, method, outcome, elapsed)
        }
    }

    /// `{"jsonrpc":"2.0","method":…,"params":…}`: a notification the daemon pushes.
    public static func notification(method: String, params: JSONValue) -> [UInt8] {
        JSONSerializer.bytes(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    /// `{"jsonrpc":"2.0","id":…,"result":…}` from already-encoded result bytes.
    static func response(id: JSONValue?, result: [UInt8]) -> [UInt8] {
        var out = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        JSONSerializer.append(id ?? .null, to: &out)
        out.append(contentsOf: #","result":"#.utf8)
        out.append(contentsOf: result)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"jsonrpc":"2.0","id":…,"error":{…}}`.
    static func response(id: JSONValue?, error: RPCError) -> [UInt8] {
        var out = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        JSONSerializer.append(id ?? .null, to: &out)
        out.append(contentsOf: #","error":"#.utf8)
        JSONSerializer.append(error.json, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// A value computed by the first read that needs it, then shared: work a daemon would otherwise
/// do before its first answer (the schema walks behind unknown-param checks and `rpc.discover`,
/// about 60 ms of a 110 ms cold start) for methods that may never be called.
final class ComputedOnce<Value: Sendable>: Sendable {
    // NIO's lock, not `Synchronization.Mutex`, which the thread sanitizer cannot see.
    private let state = NIOLockedValueBox<Value?>(nil)
    private let compute: @Sendable () -> Value

    init(_ compute: @escaping @Sendable () -> Value) { self.compute = compute }

    /// The value; the first read computes it (concurrent first reads wait for that one).
    var value: Value {
        state.withLockedValue { stored in
            if let stored { return stored }
            let value = compute()
            stored = value
            return value
        }
    }
}
