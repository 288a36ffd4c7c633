import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix

/// One request for ``HTTPTestClient``.
public struct HTTPTestRequest: Sendable {
    public var method: HTTPMethod
    /// The request target, sent exactly as given (percent-encoding and all).
    public var target: String
    public var headers: [(String, String)]
    public var body: String?
    public var version: HTTPVersion

    public init(
        _ method: HTTPMethod, _ target: String, headers: [(String, String)] = [], body: String? = nil, version: HTTPVersion = .http1_1
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.version = version
    }
}

/// One response as ``HTTPTestClient`` read it.
public struct HTTPTestResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: String
    public var version: HTTPVersion

    /// The first value of a header, case-insensitively.
    public subscript(header name: String) -> String? { headers.first(name: name) }
}

/// Something the test client could not do.
public struct HTTPTestClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One blocking HTTP/1.1 connection: requests written on a plain socket (so a caller can also
/// send raw, partial, pipelined or malformed bytes) and responses parsed with NIO's own
/// `HTTPRequestEncoder` and `HTTPResponseDecoder`, run in an `EmbeddedChannel`. No HTTP is parsed
/// by hand.
///
/// Not `Sendable`: an `EmbeddedChannel` may only be used from one thread, so a connection stays on
/// the thread that made it. The benchmark's lanes (one thread each) use it directly, with no hop
/// per call; tests, which resume on whichever thread they like, use ``HTTPTestClient``, which keeps
/// one on a thread of its own.
public final class HTTPWireConnection {
    /// The socket; -1 after ``reset()``.
    private var fd: Int32
    /// NIO's client codec: requests go out through its encoder, received bytes through its decoder.
    private let codec: EmbeddedChannel
    /// Parts of the response being read.
    private var pending: [HTTPClientResponsePart] = []
    /// What a request's `Host` header says when the caller sets none (`127.0.0.1:8080`).
    public let host: String
    /// Seconds a receive waits before ``readResponse()`` gives up with an error saying so.
    let receiveTimeout: Int

    /// Connects to `host:port` (IPv4 literal); receives time out after `receiveTimeout` seconds.
    public init(host: String = "127.0.0.1", port: Int, receiveTimeout: Int = 60) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else {
            let code = errno
            close(fd)
            throw HTTPTestClientError("connect to \(host):\(port) failed: errno \(code)")
        }
        (self.fd, self.host, self.receiveTimeout) = (fd, "\(host):\(port)", receiveTimeout)
        codec = try Self.makeCodec()
        setReceiveTimeout()
    }

    /// Connects to a Unix stream socket.
    public init(unixSocket path: String, receiveTimeout: Int = 60) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            let code = errno
            close(fd)
            throw HTTPTestClientError("connect to \(path) failed: errno \(code)")
        }
        (self.fd, self.host, self.receiveTimeout) = (fd, "localhost", receiveTimeout)
        codec = try Self.makeCodec()
        setReceiveTimeout()
    }

    private static func makeCodec() throws -> EmbeddedChannel {
        let codec = EmbeddedChannel()
        // NIO's client handlers, with informational responses (100 Continue) passed on, not dropped.
        try codec.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
        try codec.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
        return codec
    }

    private func setReceiveTimeout() {
        var tv = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The bytes NIO's encoder makes of `request` (with `Host` and `Content-Length` added when
    /// missing). The decoder now expects a response to it.
    public func encode(_ request: HTTPTestRequest) throws -> [UInt8] {
        var headers = HTTPHeaders(request.headers)
        if !headers.contains(name: "host") { headers.add(name: "Host", value: host) }
        let body = request.body.map { ByteBuffer(string: $0) }
        if !headers.contains(name: "content-length") && !headers.contains(name: "transfer-encoding") {
            headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        }
        let head = HTTPRequestHead(version: request.version, method: request.method, uri: request.target, headers: headers)
        try codec.writeOutbound(HTTPClientRequestPart.head(head))
        if let body { try codec.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(body))) }
        try codec.writeOutbound(HTTPClientRequestPart.end(nil))
        var bytes: [UInt8] = []
        while let buffer = try codec.readOutbound(as: ByteBuffer.self) {
            bytes += buffer.readableBytesView
        }
        return bytes
    }

    /// Writes all of `bytes`, or as much as the peer takes before closing.
    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Sends `request` and reads its response.
    public func exchange(_ request: HTTPTestRequest) throws -> HTTPTestResponse {
        send(try encode(request))
        guard let response = try readResponse() else { throw HTTPTestClientError("connection closed before a response") }
        return response
    }

    /// The next complete response (an informational 1xx counts as one), or nil when the
    /// connection closed first. Throws when nothing arrived for `receiveTimeout` seconds, so a
    /// slow answer is not mistaken for a closed connection.
    public func readResponse() throws -> HTTPTestResponse? {
        while true {
            while let part = try codec.readInbound(as: HTTPClientResponsePart.self) {
                // NIO's decoder delivers an informational response (100 Continue) as a head alone.
                if case .head(let head) = part, head.status.code >= 100, head.status.code < 200, head.status != .switchingProtocols {
                    return HTTPTestResponse(status: Int(head.status.code), headers: head.headers, body: "", version: head.version)
                }
                pending.append(part)
                if case .end = part {
                    defer { pending.removeAll() }
                    return try assemble(pending)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                // With SO_RCVTIMEO set, a signal interrupts recv even under SA_RESTART (signal(7)).
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw HTTPTestClientError("no response within \(receiveTimeout) s")
                }
                return nil
            }
            if n == 0 { return nil }
            try codec.writeInbound(ByteBuffer(bytes: chunk[..<n]))
        }
    }

    private func assemble(_ parts: [HTTPClientResponsePart]) throws -> HTTPTestResponse {
        guard case .head(let head) = parts.first else { throw HTTPTestClientError("a response without a head") }
        var body = ByteBuffer()
        for case .body(var chunk) in parts { body.writeBuffer(&chunk) }
        return HTTPTestResponse(
            status: Int(head.status.code), headers: head.headers, body: String(decoding: body.readableBytesView, as: UTF8.self),
            version: head.version)
    }

    /// True when the peer closed the connection (EOF or reset) within the receive timeout; any
    /// bytes that arrive first are dropped.
    public func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return true }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// Aborts the connection: the server sees a reset (RST), not an orderly close. Nothing may be
    /// sent after it.
    public func reset() {
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        // Closing with a zero linger time sends RST.
        close(fd)
        fd = -1
    }

    /// Closes our sending side (the server sees end of input), keeping the receiving side open.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
}

/// A small blocking HTTP/1.1 client for tests: an ``HTTPWireConnection`` kept on a single
/// event-loop thread of its own, so that any thread (an async test resumes on whichever it likes)
/// may call it. Each call hops to that thread and waits.
///
/// `@unchecked Sendable`: its one mutable reference, `wire`, is set once on the loop thread
/// before `init` returns and is only ever used inside ``onLoop(_:)``, i.e. on that one thread, one
/// call at a time.
public final class HTTPTestClient: @unchecked Sendable {
    /// The thread every call runs on; blocking there blocks nobody else.
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    /// The connection, made and used on the loop thread only.
    private var wire: HTTPWireConnection!
    public let host: String

    /// Connects to `host:port` (IPv4 literal); receives time out after `receiveTimeout` seconds.
    /// The default is generous: under the thread sanitizer with the whole suite running on two
    /// cores, an in-process listener once took longer than 20 s to answer.
    public init(host: String = "127.0.0.1", port: Int, receiveTimeout: Int = 60) throws {
        self.host = "\(host):\(port)"
        try onLoop { self.wire = try HTTPWireConnection(host: host, port: port, receiveTimeout: receiveTimeout) }
    }

    /// Connects to a Unix stream socket.
    public init(unixSocket path: String, receiveTimeout: Int = 60) throws {
        host = "localhost"
        try onLoop { self.wire = try HTTPWireConnection(unixSocket: path, receiveTimeout: receiveTimeout) }
    }

    deinit {
        // Not syncShutdownGracefully: the last reference may be dropped on the loop's own thread.
        group.shutdownGracefully { _ in }
    }

    /// Runs `body` on the client's thread and waits for it.
    func onLoop<T>(_ body: @escaping () throws -> T) throws -> T {
        let loop = group.next()
        let box = UncheckedBox(body)
        return try loop.submit { UncheckedBox(try box.value()) }.wait().value
    }

    /// The bytes NIO's encoder makes of `request` (with `Host` and `Content-Length` added when
    /// missing). The decoder now expects a response to it.
    public func encode(_ request: HTTPTestRequest) throws -> [UInt8] {
        try onLoop { try self.wire.encode(request) }
    }

    /// Tells the decoder a request went out that was sent as raw bytes (so it pairs the response).
    public func expectResponse(to method: HTTPMethod = .GET) throws {
        _ = try encode(HTTPTestRequest(method, "/"))
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Writes all of `bytes`, or as much as the peer takes before closing.
    public func send(_ bytes: [UInt8]) {
        try? onLoop { self.wire.send(bytes) }
    }

    /// Encodes and sends one request.
    public func send(_ request: HTTPTestRequest) throws { send(try encode(request)) }

    /// Sends `request` and reads its response.
    public func exchange(_ request: HTTPTestRequest) throws -> HTTPTestResponse {
        try onLoop { try self.wire.exchange(request) }
    }

    /// The next complete response (an informational 1xx counts as one), or nil when the
    /// connection closed first. Throws when nothing arrived for the receive timeout.
    public func readResponse() throws -> HTTPTestResponse? {
        try onLoop { try self.wire.readResponse() }
    }

    /// True when the peer closed the connection (EOF or reset) within the receive timeout; any
    /// bytes that arrive first are dropped.
    public func isClosedByPeer() -> Bool {
        (try? onLoop { self.wire.isClosedByPeer() }) ?? false
    }

    /// Aborts the connection: the server sees a reset (RST), not an orderly close. Nothing may be
    /// sent after it.
    public func reset() {
        try? onLoop { self.wire.reset() }
    }

    /// Closes our sending side (the server sees end of input), keeping the receiving side open.
    public func shutdownWrite() {
        try? onLoop { self.wire.shutdownWrite() }
    }
}

/// Carries a value across the hop to the client's thread and back; ``HTTPTestClient/onLoop(_:)``
/// waits for the hop to finish, so the value is never used from two threads at once.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for listeners a test cannot ask for port 0,
/// such as `systemd-socket-activate`'s).
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HTTPTestClientError("bind failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs blocking socket work on a thread of its own, so a test that waits for a server running in
/// the same process never holds a Swift concurrency thread that server needs.
public func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
