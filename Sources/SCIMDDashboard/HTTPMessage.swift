import Foundation

/// One HTTP request as the dashboard sees it, already read whole by the listener
/// (`SCIMDServer.DashboardServer`), which owns sockets, limits and deadlines.
public struct DashboardRequest: Sendable {
    /// `GET`, `HEAD` or `POST` (others get 405).
    public var method: String
    /// The request target: path and query (`/connections/acme/users?q=ann`).
    public var target: String
    /// Header fields as received; names compare ignoring case.
    public var headers: [(name: String, value: String)]
    /// The body (a form post: `application/x-www-form-urlencoded`).
    public var body: [UInt8]
    /// True when the browser reached scimd over HTTPS (through a proxy the listener trusts,
    /// `--dashboard-trust-forwarded` with `X-Forwarded-Proto: https`): cookies get `Secure`.
    public var isSecure: Bool

    public init(method: String, target: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [], isSecure: Bool = false) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.isSecure = isSecure
    }

    /// The first value of header `name` (ignoring case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The path without the query, percent-decoded per segment by ``pathSegments``.
    var path: String { String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }

    /// Path segments, percent-decoded (`/connections/Acme%20Inc/users` → `["connections", "Acme Inc", "users"]`).
    var pathSegments: [String] {
        path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// The query's fields (`?q=ann&active=true`).
    var query: FormFields {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return FormFields(encoded: parts.count > 1 ? String(parts[1]) : "")
    }

    /// The body's form fields.
    var form: FormFields { FormFields(encoded: String(decoding: body, as: UTF8.self)) }

    /// Cookies sent (`Cookie: a=1; b=2`).
    var cookies: [String: String] {
        var result: [String: String] = [:]
        for header in headers where header.name.caseInsensitiveCompare("Cookie") == .orderedSame {
            for pair in header.value.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                result[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return result
    }
}

/// Fields of an `application/x-www-form-urlencoded` text (a query or a form body), in order;
/// a name may repeat.
struct FormFields: Sendable {
    var fields: [(name: String, value: String)]

    init(encoded: String) {
        fields = encoded.split(separator: "&").compactMap { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = FormFields.decode(kv[0]), !name.isEmpty else { return nil }
            return (name, kv.count > 1 ? FormFields.decode(kv[1]) ?? "" : "")
        }
    }

    /// `+` is a space in forms (HTML's urlencoded serializer), then percent-decoding.
    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The first value of `name`.
    subscript(_ name: String) -> String? { fields.first { $0.name == name }?.value }

    /// The first value of `name`, trimmed; nil when absent or blank.
    func nonBlank(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// Every value of `name`.
    func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }
}

/// The dashboard's answer: status, headers and an HTML (or CSS) body.
public struct DashboardResponse: Sendable {
    /// HTTP status code.
    public var status: Int
    /// Header fields; `Content-Type`, `Cache-Control` and the security headers are set by the dashboard.
    public var headers: [(name: String, value: String)]
    /// The body bytes (UTF-8 HTML for pages).
    public var body: [UInt8]
    /// For a stream (Server-Sent Events): called once the head is sent, with a function that
    /// writes one chunk; returns when the stream ends. The listener cancels it when the browser
    /// goes away or scimd shuts down. nil for an ordinary response (``body``).
    public var stream: EventStream?

    /// Writes chunks until done; throws when a write fails (the browser left).
    public typealias EventStream = @Sendable (_ write: @escaping @Sendable (String) async throws -> Void) async throws -> Void

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], stream: EventStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    /// A page. Pages are never cached (they show live state and carry CSRF tokens), may not be
    /// framed (clickjacking), and run only the dashboard's own scripts and styles.
    static func html(_ html: String, status: Int = 200) -> DashboardResponse {
        DashboardResponse(
            status: status,
            headers: [("Content-Type", "text/html; charset=utf-8")] + securityHeaders,
            body: Array(html.utf8))
    }

    /// `303 See Other` to `location` (after a form post, so reloading does not post again).
    static func redirect(_ location: String, cookies: [String] = []) -> DashboardResponse {
        DashboardResponse(
            status: 303, headers: [("Location", location)] + cookies.map { ("Set-Cookie", $0) } + securityHeaders, body: [])
    }

    static let securityHeaders: [(name: String, value: String)] = [
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    ]
}

extension String {
    /// Percent-encoded for one path segment or query value of a dashboard URL.
    var urlComponent: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }
}
