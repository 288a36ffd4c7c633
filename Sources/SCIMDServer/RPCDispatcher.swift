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

    /// Answers a call at once, on the thread that read it: nil when it must wait after all.
    typealias SynchronousHandler = @Sendable (JSONValue?) -> Result<[UInt8], RPCError>?

    private var handlers: [String: Handler] = [:]
    /// The methods that may be answered without a task (``registerSynchronous(_:_:)``).
    private var synchronousHandlers: [String: SynchronousHandler] = [:]
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
        // Walked once, at the method's first call rather than here: the names `M.Params` decodes,
        // plus its deprecated ones. Walking all of them at registration was half of a cold start.
        register(method, accepted: ComputedOnce { M.acceptedParamNames }, body)
    }

    /// ``register(_:_:)`` with the method's accepted param names, shared with its synchronous handler.
    private mutating func register<M: RPCMethod>(
        _ method: M.Type, accepted: ComputedOnce<Set<String>>, _ body: @escaping @Sendable (M.Params) async throws -> M.Result
    ) {
        precondition(handlers[M.name] == nil, "\(M.name) registered twice")
        methods.append(method)
        let logger = self.logger
        handlers[M.name] = { params in
            do {
                let decoded = try Self.decode(M.self, params, accepted: accepted)
                let result = try await body(decoded)
                return .success((try RPCCodec.encode(result), nil))
            } catch {
                return .failure(Self.rpcError(error, method: M.self, logger: logger))
            }
        }
    }

    /// Registers a method whose answer never waits: `body` runs on the event loop that read the
    /// line, in the channel handler (``SynchronousAnswerer``), without a task, whenever nothing
    /// read before it on that socket connection is still being answered. `body` must not block
    /// (no SQLite, no lock held for long). Called from a batch or a task it runs as any handler.
    ///
    /// A name of its own, not an overload of ``register(_:_:)``: a trailing closure that happens
    /// not to `await` must not make a method synchronous by accident.
    public mutating func registerSynchronous<M: RPCMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M.Params) throws -> M.Result
    ) {
        registerTryingSynchronously(method, when: { _ in true }, attempt: body, otherwise: { try body($0) })
    }

    /// Registers a method that can often be answered without waiting: when `mayAnswer(params)`
    /// (a cheap look at the raw params, before they are decoded) is true, `attempt` runs on the
    /// event loop (see ``registerSynchronous(_:_:)``; it must not block); it returns nil when the
    /// call needs to wait after all (a connection still loading, a scan), and `body` then answers
    /// it in a task, as for any method, decoding the params again.
    public mutating func registerTryingSynchronously<M: RPCMethod>(
        _ method: M.Type, when mayAnswer: @escaping @Sendable (JSONValue?) -> Bool,
        attempt: @escaping @Sendable (M.Params) throws -> M.Result?, otherwise body: @escaping @Sendable (M.Params) async throws -> M.Result
    ) {
        let accepted = ComputedOnce { M.acceptedParamNames }
        register(method, accepted: accepted, body)
        let logger = self.logger
        synchronousHandlers[M.name] = { params in
            guard mayAnswer(params) else { return nil }
            do {
                let decoded = try Self.decode(M.self, params, accepted: accepted)
                guard let result = try attempt(decoded) else { return nil }
                return .success(try RPCCodec.encode(result))
            } catch {
                return .failure(Self.rpcError(error, method: M.self, logger: logger))
            }
        }
    }

    /// `params` checked for NUL, its member names checked, and decoded as `M.Params`.
    private static func decode<M: RPCMethod>(_ method: M.Type, _ params: JSONValue?, accepted: ComputedOnce<Set<String>>) throws -> M.Params {
        try refuseNUL(in: params, for: M.self)
        return try RPCCodec.decode(M.Params.self, from: try M.normalizedParams(params, accepted: accepted.value))
    }

    /// What a handler's error becomes on the wire: an ``RPCError`` as it is, an
    /// ``RPCErrorConvertible`` as it converts, anything else `-32603` (its text only in the log).
    private static func rpcError(_ error: any Error, method: any RPCMethod.Type, logger: Logger) -> RPCError {
        switch error {
        case let error as RPCError: return error
        case let error as any RPCErrorConvertible: return error.rpcError
        default:
            logger.error("internal error", metadata: ["method": "\(method.name)", "error": "\(error)"])
            return .internalError("internal error while handling \(method.name); see the daemon's log")
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
                let decoded = try Self.decode(M.self, params, accepted: accepted)
                let (result, stream) = try await body(decoded)
                return .success((try RPCCodec.encode(result), stream))
            } catch {
                return .failure(Self.rpcError(error, method: M.self, logger: logger))
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
        switch parse(line: line) {
        case .message(let message): return await dispatch(message: message)
        case .refused(let answer): return Outcome(response: answer, streams: [])
        }
    }

    /// A line parsed, or the `-32700` answer when it is no JSON.
    private enum ParsedLine {
        case message(JSONValue)
        case refused([UInt8])
    }

    /// Parses one line; a line that is no JSON is counted and logged as refused.
    private func parse(line: some Collection<UInt8>) -> ParsedLine {
        do {
            return .message(try JSONParser(maximumDepth: maximumDepth).parse(bytes: line))
        } catch {
            let error = RPCError.parseError("parse error: \(error)")
            record(method: "invalid", outcome: error.kind, duration: .zero, id: .null)
            return .refused(Self.response(id: nil, error: error))
        }
    }

    /// What ``answerSynchronously(line:)`` did with a line.
    public enum SynchronousAttempt: Sendable {
        /// Answered (or refused) on the spot; `response` is nil for a notification.
        case answered(response: [UInt8]?)
        /// It must be answered in a task: ``dispatch(message:)`` with the message already parsed.
        case deferred(JSONValue)
    }

    /// Answers one framed line at once when it can be: a line that is no JSON or no valid request,
    /// an unknown method, and a call to a method registered to answer synchronously (see
    /// ``registerSynchronous(_:_:)``) that did. A batch, and any other call, is deferred.
    public func answerSynchronously(line: some Collection<UInt8>) -> SynchronousAttempt {
        let message: JSONValue
        switch parse(line: line) {
        case .message(let parsed): message = parsed
        case .refused(let answer): return .answered(response: answer)
        }
        // A batch runs its elements concurrently, in tasks.
        if case .array = message { return .deferred(message) }
        let request: Request
        switch validate(message) {
        case .failure(let refusal):
            record(method: refusal.method, outcome: refusal.error.kind, duration: .zero, id: refusal.loggedId)
            return .answered(response: refusal.response)
        case .success(let valid): request = valid
        }
        guard let synchronous = synchronousHandlers[request.method] else { return .deferred(message) }
        let started = ContinuousClock.now
        guard let result = synchronous(request.params) else { return .deferred(message) }
        let elapsed = ContinuousClock.now - started
        let response: [UInt8]
        switch result {
        case .success(let bytes):
            record(method: request.method, outcome: "ok", duration: elapsed, id: request.loggedId)
            response = Self.response(id: request.id, result: bytes)
        case .failure(let error):
            record(method: request.method, outcome: error.kind, duration: elapsed, id: request.loggedId)
            response = Self.response(id: request.id, error: error)
        }
        return .answered(response: request.isNotification ? nil : response)
    }

    /// Handles one parsed message: a request, a notification or a batch.
    public func dispatch(message: JSONValue) async -> Outcome {
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
        let request: Request
        switch validate(message) {
        case .failure(let refusal):
            record(method: refusal.method, outcome: refusal.error.kind, duration: .zero, id: refusal.loggedId)
            return (refusal.response, nil)
        case .success(let valid): request = valid
        }
        // `validate` only passes methods that have a handler.
        let handler = handlers[request.method]!
        let started = ContinuousClock.now
        let result = await handler(request.params)
        let elapsed = ContinuousClock.now - started
        switch result {
        case .success(let (bytes, stream)):
            record(method: request.method, outcome: "ok", duration: elapsed, id: request.loggedId)
            return (request.isNotification ? nil : Self.response(id: request.id, result: bytes), stream)
        case .failure(let error):
            record(method: request.method, outcome: error.kind, duration: elapsed, id: request.loggedId)
            return (request.isNotification ? nil : Self.response(id: request.id, error: error), nil)
        }
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

    /// A request object that names a served method, with params that are an object (or absent).
    struct Request {
        var id: JSONValue?
        var isNotification: Bool
        var method: String
        var params: JSONValue?
        /// The id as the access log shows it: the raw member, whatever its type.
        var loggedId: JSONValue?
    }

    /// A message refused before any method ran: its answer (nil for a notification of an unknown
    /// method), the error, and the `method` label (`invalid` for a message that is no request,
    /// `unknown` for a method not served).
    struct Refusal: Error {
        var response: [UInt8]?
        var error: RPCError
        var method: String
        var loggedId: JSONValue?
    }

    /// Checks one message as a JSON-RPC 2.0 request (§4) for a method this dispatcher serves.
    private func validate(_ message: JSONValue) -> Result<Request, Refusal> {
        guard case .object(let object) = message else {
            // A message that is no object has no id to echo: its answer's id is null, and so is the log's.
            let error = RPCError.invalidRequest("a request must be a JSON object")
            return .failure(Refusal(response: Self.response(id: nil, error: error), error: error, method: "invalid", loggedId: .null))
        }
        let loggedId = object["id"]
        func invalid(_ id: JSONValue?, _ error: RPCError) -> Result<Request, Refusal> {
            .failure(Refusal(response: Self.response(id: id, error: error), error: error, method: "invalid", loggedId: loggedId))
        }
        // The id, when it is usable, is echoed even on invalid requests (JSON-RPC 2.0 §5).
        var id: JSONValue? = nil
        var isNotification = true
        if let rawID = loggedId {
            switch rawID {
            case .string, .int, .null:
                id = rawID
                isNotification = false
            default:
                return invalid(nil, RPCError.invalidRequest("id must be a string, an integer or null"))
            }
        }
        guard object["jsonrpc"] == .string("2.0") else {
            return invalid(id, RPCError.invalidRequest("\"jsonrpc\" must be \"2.0\""))
        }
        guard let method = object["method"]?.stringValue else {
            return invalid(id, RPCError.invalidRequest("\"method\" must be a string"))
        }
        let params = object["params"]
        if let params, params.objectValue == nil, params.arrayValue == nil {
            let error = RPCError.invalidParams("params must be an object")
            return .failure(
                Refusal(response: Self.response(id: id, error: error), error: error, method: handlers[method] == nil ? "unknown" : method, loggedId: loggedId))
        }
        guard handlers[method] != nil else {
            // The client's name never becomes a label value: it is unbounded.
            let error = RPCError.methodNotFound(method)
            return .failure(Refusal(response: isNotification ? nil : Self.response(id: id, error: error), error: error, method: "unknown", loggedId: loggedId))
        }
        return .success(Request(id: id, isNotification: isNotification, method: method, params: params, loggedId: loggedId))
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
