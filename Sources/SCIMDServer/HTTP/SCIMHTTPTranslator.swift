import Foundation
import NIOCore
import NIOHTTP1
import SCIMDProtocol
import SCIMJSON
import SCIMModel

/// Turns an HTTP request into the `scim.handle` params the engine takes, and the engine's result
/// into an HTTP response. Pure: no I/O, so both directions are tested without a socket.
///
/// The listener is a second door to the same engine: everything SCIM (authentication, routing,
/// errors, `meta.location`) is decided by `SCIMDService.handleSCIM`. What this type decides is only
/// what HTTP itself needs: the base path, the body's encoding, which headers the engine may
/// believe, and the response's framing headers.
public struct SCIMHTTPTranslator: Sendable {
    /// The SCIM base path (`/scim/v2`); requests outside it get a SCIM 404 without reaching the engine.
    public var basePath: String
    /// Believe `X-Forwarded-For/-Proto/-Host` (and `Forwarded`, `X-Real-IP`) from the client: only
    /// behind a reverse proxy that sets them. Otherwise they are removed before the engine sees them.
    public var trustForwarded: Bool

    /// A translator for the base path and forwarding-header policy of one listener.
    public init(basePath: String, trustForwarded: Bool) {
        self.basePath = basePath
        self.trustForwarded = trustForwarded
    }

    /// Headers that describe this hop's transport, not the SCIM request; the engine never sees them.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect",
        "content-length",
    ]

    /// The `scim.handle` params for `head` and its body, or the SCIM error to answer without the engine.
    public func params(for head: HTTPRequestHead, body: ByteBuffer?) -> Result<SCIMHandle.Params, SCIMError> {
        let target = Self.originForm(head.uri)
        guard isInsideBasePath(target) else {
            return .failure(.notFound("no SCIM endpoint at \(Self.pathPart(target)); the SCIM base URL is \(displayBasePath)"))
        }
        var text: String? = nil
        if let body, body.readableBytes > 0 {
            // JSON is UTF-8 (RFC 8259 §8.1); the engine takes text.
            guard let decoded = String(validating: body.readableBytesView, as: UTF8.self) else {
                return .failure(.invalidSyntax("the request body is not UTF-8"))
            }
            text = decoded
        }
        return .success(SCIMHandle.Params(method: head.method.rawValue, path: target, headers: engineHeaders(head.headers), body: text))
    }

    /// The request headers the engine gets: lower-cased names, repeated headers joined with ", "
    /// (RFC 9110 §5.3), no hop-by-hop headers, and forwarding headers only when trusted.
    ///
    /// The engine builds `meta.location` and `Location` from `x-forwarded-proto` and
    /// `x-forwarded-host`/`host`. Without a trusted proxy's `x-forwarded-proto`, the scheme is the
    /// one this listener speaks, plain http: the engine is told so apart from the headers
    /// (``SCIMHTTPServer/engine(_:)``), so the request log shows only headers the client sent.
    public func engineHeaders(_ headers: HTTPHeaders) -> [String: String] {
        var out: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if Self.hopByHop.contains(key) { continue }
            if !trustForwarded && Self.isForwarding(key) { continue }
            out[key] = out[key].map { "\($0), \(value)" } ?? value
        }
        if trustForwarded {
            // Each proxy appends; the first entry is what the client used.
            for key in ["x-forwarded-proto", "x-forwarded-host"] {
                if let value = out[key] {
                    out[key] = value.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? value
                }
            }
        }
        return out
    }

    /// Whether a (lower-cased) header name is one a proxy sets to say who the client is or how it
    /// connected: `X-Forwarded-*`, `Forwarded` (RFC 7239) and `X-Real-IP`. From a client that is
    /// not a trusted proxy they are whatever it chose to write, so the engine never sees them.
    static func isForwarding(_ name: String) -> Bool {
        name.hasPrefix("x-forwarded-") || name == "forwarded" || name == "x-real-ip"
    }

    /// The HTTP response for the engine's `result`. `closing` adds `Connection: close`.
    public func response(
        _ result: SCIMHandle.Result, version: HTTPVersion, closing: Bool
    ) -> (head: HTTPResponseHead, body: ByteBuffer?) {
        var headers = HTTPHeaders()
        var contentType: String? = nil
        for (name, value) in result.headers.sorted(by: { $0.key < $1.key }) {
            switch name.lowercased() {
            case "content-type": contentType = value
            // Framing is this layer's job.
            case "content-length", "transfer-encoding", "connection", "keep-alive": continue
            default: headers.add(name: name, value: value)
            }
        }
        var body: ByteBuffer? = nil
        if let text = result.body {
            var type = contentType ?? "application/scim+json"
            if !type.lowercased().contains("charset=") { type += "; charset=utf-8" }
            headers.add(name: "Content-Type", value: type)
            let buffer = ByteBuffer(string: text)
            headers.add(name: "Content-Length", value: String(buffer.readableBytes))
            body = buffer
        } else if Self.mayHaveBody(status: result.status) {
            headers.add(name: "Content-Length", value: "0")
        }
        if closing {
            headers.add(name: "Connection", value: "close")
        } else if version.major == 1 && version.minor == 0 {
            // HTTP/1.0 closes by default; say that this connection stays open.
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: result.status), headers: headers)
        return (head, body)
    }

    /// A SCIM error as the engine would return it (RFC 7644 §3.12 body).
    public static func errorResult(_ error: SCIMError) -> SCIMHandle.Result {
        .init(status: error.status, headers: ["Content-Type": "application/scim+json"], body: JSONSerializer.string(error.body), changes: [])
    }

    /// A complete HTTP/1.1 response with a SCIM error body and `Connection: close`, as raw bytes,
    /// for the places where NIO's HTTP encoder cannot be used: a connection refused before its
    /// pipeline was built (503), or one whose request head never completed (408), where the
    /// pipeline has no request to answer. Built with the same framing as ``response(_:version:closing:)``.
    static func rawErrorResponse(_ error: SCIMError, extraHeaders: [(String, String)] = []) -> ByteBuffer {
        let body = JSONSerializer.string(error.body)
        let status = HTTPResponseStatus(statusCode: error.status)
        var text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
        text += "Content-Type: application/scim+json; charset=utf-8\r\n"
        text += "Content-Length: \(body.utf8.count)\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\n\r\n"
        text += body
        return ByteBuffer(string: text)
    }

    /// 1xx, 204 and 304 responses carry no body and no Content-Length (RFC 9110 §8.6).
    static func mayHaveBody(status: Int) -> Bool {
        !(100..<200).contains(status) && status != 204 && status != 304
    }

    /// True when the request target's path is the base path or below it. Case-insensitive, as the
    /// engine strips the base (so `/SCIM/v2/Users` reaches the engine by either door).
    func isInsideBasePath(_ target: String) -> Bool {
        let base = normalizedBasePath
        if base.isEmpty { return target.hasPrefix("/") }
        let path = Self.pathPart(target).lowercased()
        let lowered = base.lowercased()
        return path == lowered || path.hasPrefix(lowered + "/")
    }

    /// The base path with a leading and no trailing slash; empty when it is the root.
    var normalizedBasePath: String {
        var base = basePath
        while base.hasSuffix("/") { base.removeLast() }
        if !base.isEmpty && !base.hasPrefix("/") { base = "/" + base }
        return base
    }

    var displayBasePath: String { normalizedBasePath.isEmpty ? "/" : normalizedBasePath }

    /// The path of a request target, without the query.
    static func pathPart(_ target: String) -> Substring {
        target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
    }

    /// The origin form (`/path?query`) of a request target; an absolute-form target
    /// (`http://host/path?query`, RFC 9112 §3.2.2) loses its scheme and authority. The query stays
    /// percent-encoded exactly as sent: the engine decodes it.
    static func originForm(_ uri: String) -> String {
        for scheme in ["http://", "https://"] where uri.count > scheme.count && uri.prefix(scheme.count).lowercased() == scheme {
            let rest = uri.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let target = String(rest[slash...])
            return target.hasPrefix("/") ? target : "/" + target
        }
        return uri
    }
}
