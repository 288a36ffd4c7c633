import Foundation
import Synchronization
import SCIMDStore
import SCIMDProtocol
import SCIMJSON
import SCIMModel

/// One SCIM HTTP request as `scim.handle` received it, with the path split and the query decoded.
struct SCIMRequest: Sendable {
    /// Upper-cased HTTP method.
    var method: String
    /// Path below the SCIM base URL, without query, e.g. `/Users/abc`.
    var path: String
    /// Path segments of `path` (percent-decoded).
    var segments: [String]
    /// Query parameters, percent-decoded (`+` read as a space, as in HTML form encoding);
    /// names kept as sent, looked up case-insensitively.
    var query: [(name: String, value: String)]
    /// Headers with lower-cased names (`x-request-id` always set: see ``requestId``).
    var headers: [String: String]
    var body: String?
    /// Names this request in the access log, the request log and the `X-Request-Id` response header:
    /// the caller's `X-Request-Id` when it is a plausible id (1–128 of `A-Z a-z 0-9 . _ : -`, so a
    /// proxy's id follows the request through), else 16 random hex digits.
    var requestId: String
    /// The scheme `meta.location` and `Location` use when no `x-forwarded-proto` header names one:
    /// `https` for `scim.handle` (a web tier in front of scimd), `http` on scimd's own HTTP
    /// listener. A parameter of the door, not a header: the request log shows the headers the
    /// client sent, and the listener adding one confused readers of the log.
    var scheme: String
    /// The IP address of the TCP client, when scimd's own HTTP listener received the request;
    /// nil through `scim.handle` (whose peer is the application, not the IdP). What the refusal
    /// log names as `remote` when no forwarding header says more.
    var peer: String?

    init(_ params: SCIMHandle.Params, basePath: String, scheme: String = "https", peer: String? = nil) {
        self.scheme = scheme
        self.peer = peer
        method = params.method.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") || $0 >= 0x80 })
            ? params.method.uppercased() : params.method
        var full = params.path
        if !full.hasPrefix("/") { full = "/" + full }
        var rawPath = full
        var rawQuery = ""
        // Splitting works on UTF-8 bytes, not Characters: `/`, `?`, `&` and `=` are ASCII, and the
        // grapheme-breaking of String.split was 4% of a lookup's CPU (perf).
        if let q = full.utf8.firstIndex(of: UInt8(ascii: "?")) {
            rawPath = String(Substring(full.utf8[..<q]))
            rawQuery = String(Substring(full.utf8[full.utf8.index(after: q)...]))
        }
        let base = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        // Byte comparison, ASCII letters folded: the base path is configuration (ASCII in practice),
        // and Unicode lowercasing of both on every request showed in perf.
        if !base.isEmpty, rawPath.utf8.count >= base.utf8.count,
            rawPath.utf8.prefix(base.utf8.count).elementsEqual(base.utf8, by: { Self.foldedASCII($0) == Self.foldedASCII($1) })
        {
            let rest = Substring(rawPath.utf8.dropFirst(base.utf8.count))
            if rest.isEmpty || rest.hasPrefix("/") { rawPath = rest.isEmpty ? "/" : String(rest) }
        }
        path = rawPath
        segments = rawPath.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map {
            Self.percentDecoded(Substring($0), plusIsSpace: false)
        }
        query = rawQuery.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return (
                Self.percentDecoded(Substring(parts[0]), plusIsSpace: true),
                parts.count > 1 ? Self.percentDecoded(Substring(parts[1]), plusIsSpace: true) : ""
            )
        }
        var lowered: [String: String] = [:]
        for (k, v) in params.headers ?? [:] { lowered[k.lowercased()] = v }
        if let given = lowered["x-request-id"], Self.isPlausibleRequestId(given) {
            requestId = given
        } else {
            requestId = Self.newRequestId()
        }
        lowered["x-request-id"] = requestId
        headers = lowered
        body = params.body
    }

    /// `text` with `%XX` escapes decoded (RFC 3986 §2.1) and, in a query, `+` read as a space.
    /// When an escape is malformed or the bytes are not UTF-8, the text is kept as sent (only `+`
    /// replaced), as Foundation's `removingPercentEncoding` fallback did: the filter parser then
    /// reports what it cannot read. Why not Foundation: it was 4.7% of a lookup's CPU (perf).
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var spacedOnly: [UInt8] = []
        spacedOnly.reserveCapacity(utf8.count)
        var malformed = false
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            let plain = plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte
            spacedOnly.append(plain)
            if byte == UInt8(ascii: "%"), !malformed {
                let first = utf8.index(after: index)
                if first != utf8.endIndex, utf8.index(after: first) != utf8.endIndex,
                    let high = hexValue(utf8[first]), let low = hexValue(utf8[utf8.index(after: first)])
                {
                    bytes.append(high << 4 | low)
                    spacedOnly.append(utf8[first])
                    spacedOnly.append(utf8[utf8.index(after: first)])
                    index = utf8.index(after: utf8.index(after: first))
                    continue
                }
                malformed = true
            }
            bytes.append(plain)
            index = utf8.index(after: index)
        }
        if !malformed, let decoded = String(validating: bytes, as: UTF8.self) { return decoded }
        return String(decoding: spacedOnly, as: UTF8.self)
    }

    static func isPlausibleRequestId(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x3A
                    || b == 0x2D
            }
    }

    /// 16 hex digits: a counter from a random start, scrambled by SplitMix64's finalizer (a
    /// bijection, so no id repeats within a run; a new random start each run). Not a secret, so
    /// not read from the kernel per request: `getrandom` was a syscall on every request.
    static func newRequestId() -> String {
        var value = requestIdCounter.wrappingAdd(1, ordering: .relaxed).newValue
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for position in 0..<16 {
                let digit = UInt8((value >> UInt64(60 - 4 * position)) & 0xF)
                buffer[position] = digit < 10 ? 0x30 + digit : 0x61 + digit - 10
            }
            return 16
        }
    }

    private static let requestIdCounter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    /// `byte` with ASCII upper-case letters lowered.
    static func foldedASCII(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// A query parameter by name, case-insensitively.
    func queryValue(_ name: String) -> String? {
        query.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// The bearer token from `Authorization`, or nil.
    var bearerToken: String? {
        guard let value = headers["authorization"]?.trimmingWhitespace() else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].caseInsensitiveEquals("Bearer") else { return nil }
        return parts[1].trimmingWhitespace()
    }
}

extension Substring {
    func caseInsensitiveEquals(_ other: String) -> Bool { String(self).caseInsensitiveEquals(other) }
}

/// The response being built for a SCIM request.
struct SCIMResponse: Sendable {
    var status: Int
    var headers: [String: String] = ["Content-Type": "application/scim+json"]
    let body: JSONValue?
    /// `body` serialized, once: the answer and the request log's copy of it share this text
    /// (serializing it for each was a tenth of a lookup's CPU in perf).
    let bodyText: String?
    var changes: [ResourceChange] = []
    /// For the request log.
    var resourceType: String?
    var resourceId: String?
    var error: String?
    /// True once the request log entry was written with the change it made.
    var logged = false
    /// Set when the change was worked out but held for the application's confirmation.
    var held: SCIMEndpoint.Held?

    init(status: Int, body: JSONValue?) {
        self.status = status
        self.body = body
        self.bodyText = body.map(JSONSerializer.string)
    }

    init(error: SCIMError) {
        self.status = error.status
        self.body = error.body
        self.bodyText = JSONSerializer.string(error.body)
        self.error = [error.scimType?.rawValue, error.detail].compactMap { $0 }.joined(separator: ": ")
    }
}

/// A request log entry begun when the request arrived; the response completes it.
struct RequestLogDraft: Sendable {
    var connectionId: String
    var at: Milliseconds
    var started: ContinuousClock.Instant
    var method: String
    var path: String
    var headers: String
    var requestBody: String?

    init(request: SCIMRequest, connectionId: String, at: Milliseconds) {
        self.connectionId = connectionId
        self.at = at
        self.started = .now
        self.method = request.method
        var path = request.path
        if !request.query.isEmpty {
            path += "?" + request.query.map { $0.value.isEmpty ? $0.name : "\($0.name)=\($0.value)" }.joined(separator: "&")
        }
        self.path = path
        var headers = JSONObject()
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            headers[name] = .string(name == "authorization" ? "[redacted]" : value)
        }
        self.headers = JSONSerializer.string(.object(headers))
        self.requestBody = request.body.map(Redaction.redact)
    }

    /// Microseconds since the request arrived.
    var elapsedMicroseconds: Int {
        let elapsed = ContinuousClock.now - started
        return Int(elapsed.components.seconds) * 1_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000_000)
    }

    func record(for response: SCIMResponse) -> RequestLogRecord {
        RequestLogRecord(
            connectionId: connectionId, at: at, method: method, path: path, status: response.status,
            durationMicroseconds: elapsedMicroseconds, resourceType: response.resourceType, resourceId: response.resourceId,
            error: response.error, requestHeaders: headers, requestBody: requestBody,
            responseBody: response.bodyText.map(Self.capped))
    }

    /// Most bytes of a response body the log keeps. A list page or a large group's PATCH answer
    /// can be megabytes, and logging it whole would cost more than serving it; the status, the
    /// request body and the first 64 KiB are what an operator reads.
    static let maximumLoggedResponseBytes = 64 * 1024

    /// `body` itself, or its first ``maximumLoggedResponseBytes`` (cut at a character boundary)
    /// followed by a line saying how long it was.
    static func capped(_ body: String) -> String {
        let utf8 = body.utf8
        guard utf8.count > maximumLoggedResponseBytes else { return body }
        var end = utf8.index(utf8.startIndex, offsetBy: maximumLoggedResponseBytes)
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) { end = utf8.index(before: end) }
        return String(body[..<end]) + "\n… [response body truncated in the log: \(utf8.count) bytes in all]"
    }
}

/// The id a SCIM request is served and logged under (`X-Request-Id`).
public enum SCIMRequestId {
    /// `given` (the client's `X-Request-Id`) when it is 1–128 characters of letters, digits and
    /// `.`, `_`, `:`, `-`; otherwise 16 new random hex digits. Answers the listener gives without
    /// the engine (a path outside the base URL) carry one too, so every answer can be quoted.
    public static func resolve(given: String?) -> String {
        if let given, SCIMRequest.isPlausibleRequestId(given) { return given }
        return SCIMRequest.newRequestId()
    }
}

