import NIOCore
import NIOHTTP1
import SCIMDProtocol
import SCIMJSON
import SCIMModel
import Testing

@testable import SCIMDServer

/// HTTP request → `scim.handle` params, and `scim.handle` result → HTTP response.
@Suite struct HTTPTranslationTests {
    let translator = SCIMHTTPTranslator(basePath: "/scim/v2", trustForwarded: false)

    func head(_ method: HTTPMethod = .GET, _ uri: String, _ headers: [(String, String)] = [], version: HTTPVersion = .http1_1)
        -> HTTPRequestHead
    {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    func params(_ head: HTTPRequestHead, body: String? = nil, translator: SCIMHTTPTranslator? = nil) throws -> SCIMHandle.Params {
        try (translator ?? self.translator).params(for: head, body: body.map { ByteBuffer(string: $0) }).get()
    }

    func refusal(_ head: HTTPRequestHead, body: ByteBuffer? = nil, translator: SCIMHTTPTranslator? = nil) -> SCIMError? {
        if case .failure(let error) = (translator ?? self.translator).params(for: head, body: body) { return error }
        return nil
    }

    // MARK: request → params

    @Test func theMethodPathAndPercentEncodedQueryReachTheEngineUnchanged() throws {
        let uri = "/scim/v2/Users?filter=userName%20eq%20%22a%2Bb%40example.com%22&startIndex=1&count=5"
        let p = try params(head(.GET, uri))
        #expect(p.method == "GET")
        #expect(p.path == uri)
        #expect(p.body == nil)
        #expect(p.connection == nil)
        #expect(try params(head(.PATCH, "/scim/v2/Groups/g1")).method == "PATCH")
    }

    @Test func theBodyIsPassedAsItsExactText() throws {
        let body = #"{"userName":"zoë@example.com",  "name":{"givenName":"Zoë"}}"#
        #expect(try params(head(.POST, "/scim/v2/Users"), body: body).body == body)
        // An empty body is no body.
        #expect(try params(head(.POST, "/scim/v2/Users"), body: "").body == nil)
    }

    @Test func aBodyThatIsNotUTF8IsRefusedWith400InvalidSyntax() {
        let error = refusal(head(.POST, "/scim/v2/Users"), body: ByteBuffer(bytes: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]))
        #expect(error?.status == 400)
        #expect(error?.scimType == .invalidSyntax)
    }

    @Test func anAbsoluteFormTargetLosesItsSchemeAndAuthority() throws {
        #expect(try params(head(.GET, "http://scim.example.com/scim/v2/Users?count=1")).path == "/scim/v2/Users?count=1")
        #expect(try params(head(.GET, "HTTPS://scim.example.com:8443/scim/v2/Groups")).path == "/scim/v2/Groups")
        #expect(refusal(head(.GET, "http://scim.example.com"))?.status == 404)
    }

    @Test func pathsOutsideTheBasePathAreA404SCIMErrorWithoutTheEngine() {
        for uri in ["/", "/scim", "/scim/v1/Users", "/scim/v2x/Users", "/Users", "*", "scim/v2/Users", "/api/scim/v2/Users"] {
            let error = refusal(head(.GET, uri))
            #expect(error?.status == 404, "\(uri)")
            #expect(error?.detail.contains("/scim/v2") == true, "\(uri)")
        }
        for uri in ["/scim/v2", "/scim/v2/", "/scim/v2?x=1", "/SCIM/V2/Users", "/scim/v2/ServiceProviderConfig"] {
            #expect(refusal(head(.GET, uri)) == nil, "\(uri)")
        }
    }

    @Test func theBasePathIsConfigurableAndMayBeTheRoot() throws {
        let custom = SCIMHTTPTranslator(basePath: "/provisioning/scim/", trustForwarded: false)
        #expect(refusal(head(.GET, "/provisioning/scim/Users"), translator: custom) == nil)
        #expect(refusal(head(.GET, "/scim/v2/Users"), translator: custom)?.status == 404)
        let root = SCIMHTTPTranslator(basePath: "/", trustForwarded: false)
        #expect(try params(head(.GET, "/Users?count=1"), translator: root).path == "/Users?count=1")
        #expect(refusal(head(.GET, "*"), translator: root)?.status == 404)
    }

    @Test func headersAreLowerCasedRepeatsJoinedAndHopByHopHeadersDropped() throws {
        let p = try params(
            head(
                .POST, "/scim/v2/Users",
                [
                    ("Authorization", "Bearer t0ken"), ("Content-Type", "application/json"), ("If-Match", #"W/"1""#),
                    ("Accept", "application/scim+json"), ("accept", "application/json"), ("Connection", "keep-alive"),
                    ("Keep-Alive", "timeout=5"), ("Content-Length", "2"), ("Transfer-Encoding", "chunked"), ("TE", "trailers"),
                    ("Expect", "100-continue"), ("Upgrade", "h2c"), ("Host", "scim.example.com"),
                ]), body: "{}")
        let headers = p.headers ?? [:]
        #expect(headers["authorization"] == "Bearer t0ken")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["if-match"] == #"W/"1""#)
        #expect(headers["accept"] == "application/scim+json, application/json")
        #expect(headers["host"] == "scim.example.com")
        for dropped in ["connection", "keep-alive", "content-length", "transfer-encoding", "te", "expect", "upgrade"] {
            #expect(headers[dropped] == nil, "\(dropped)")
        }
    }

    @Test func forwardingHeadersAreStrippedUnlessTrustedAndTheSchemeIsPlainHTTP() throws {
        let sent: [(String, String)] = [
            ("Host", "127.0.0.1:8080"), ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Port", "443"), ("Forwarded", "for=203.0.113.9;proto=https"),
            ("X-Real-IP", "203.0.113.9"),
        ]
        let untrusted = try params(head(.GET, "/scim/v2/Users", sent)).headers ?? [:]
        #expect(untrusted["x-forwarded-host"] == nil)
        #expect(untrusted["x-forwarded-for"] == nil)
        #expect(untrusted["x-forwarded-port"] == nil)
        #expect(untrusted["forwarded"] == nil)
        // Else a client could name any address as itself in the refusal log.
        #expect(untrusted["x-real-ip"] == nil)
        // Stripped, and none added: the engine learns the listener's scheme (http) apart from
        // the headers, so the request log shows only what the client sent.
        #expect(untrusted["x-forwarded-proto"] == nil)
        #expect(untrusted["host"] == "127.0.0.1:8080")
    }

    @Test func trustedForwardingHeadersPassWithTheClientFacingEntryFirst() throws {
        let trusting = SCIMHTTPTranslator(basePath: "/scim/v2", trustForwarded: true)
        let chained = try params(
            head(
                .GET, "/scim/v2/Users",
                [
                    ("Host", "127.0.0.1:8080"), ("X-Forwarded-Host", "scim.example.com, proxy2.internal"),
                    ("X-Forwarded-Proto", "https, http"), ("X-Forwarded-For", "203.0.113.9, 10.0.0.2"), ("X-Real-IP", "203.0.113.9"),
                ]), translator: trusting
        ).headers ?? [:]
        #expect(chained["x-forwarded-host"] == "scim.example.com")
        #expect(chained["x-forwarded-proto"] == "https")
        #expect(chained["x-forwarded-for"] == "203.0.113.9, 10.0.0.2")
        #expect(chained["x-real-ip"] == "203.0.113.9")
        // A trusted proxy that says nothing of the scheme: no header is made up (the engine
        // then uses the listener's own scheme, http).
        let bare = try params(head(.GET, "/scim/v2/Users", [("X-Forwarded-Host", "scim.example.com")]), translator: trusting)
        #expect(bare.headers?["x-forwarded-proto"] == nil)
    }

    // MARK: result → response

    func result(_ status: Int, _ headers: [String: String] = ["Content-Type": "application/scim+json"], body: String? = "{}")
        -> SCIMHandle.Result
    {
        SCIMHandle.Result(status: status, headers: headers, body: body, changes: [])
    }

    @Test func aBodyGoesOutAsSCIMJSONInUTF8WithItsLength() {
        let body = #"{"userName":"zoë"}"#
        let (head, out) = translator.response(result(201, body: body), version: .http1_1, closing: false)
        #expect(head.status == .created)
        #expect(head.version == .http1_1)
        #expect(head.headers["Content-Type"] == ["application/scim+json; charset=utf-8"])
        #expect(head.headers["Content-Length"] == [String(body.utf8.count)])
        #expect(head.headers["Connection"].isEmpty)
        #expect(out.map { String(buffer: $0) } == body)
    }

    @Test func theEnginesHeadersPassThrough() {
        let engine = [
            "Content-Type": "application/scim+json", "Location": "http://127.0.0.1:8080/scim/v2/Users/u1", "ETag": #"W/"3""#,
            "Allow": "GET, POST", "WWW-Authenticate": #"Bearer realm="scimd""#,
        ]
        let (head, _) = translator.response(result(200, engine), version: .http1_1, closing: false)
        #expect(head.headers["Location"] == ["http://127.0.0.1:8080/scim/v2/Users/u1"])
        #expect(head.headers["ETag"] == [#"W/"3""#])
        #expect(head.headers["Allow"] == ["GET, POST"])
        #expect(head.headers["WWW-Authenticate"] == [#"Bearer realm="scimd""#])
        #expect(head.headers["Content-Type"].count == 1)
    }

    @Test func anExplicitCharsetIsKeptAndFramingHeadersAreThisLayers() {
        let engine = [
            "Content-Type": "application/json; charset=utf-8", "Content-Length": "999", "Transfer-Encoding": "chunked",
            "Connection": "upgrade",
        ]
        let (head, _) = translator.response(result(200, engine, body: "[]"), version: .http1_1, closing: false)
        #expect(head.headers["Content-Type"] == ["application/json; charset=utf-8"])
        #expect(head.headers["Content-Length"] == ["2"])
        #expect(head.headers["Transfer-Encoding"].isEmpty)
        #expect(head.headers["Connection"].isEmpty)
    }

    @Test func noBodyMeansNoContentTypeAndNoLengthWhereTheStatusForbidsOne() {
        let (deleted, none) = translator.response(result(204, [:], body: nil), version: .http1_1, closing: false)
        #expect(none == nil)
        #expect(deleted.headers["Content-Type"].isEmpty)
        #expect(deleted.headers["Content-Length"].isEmpty)
        let (notModified, _) = translator.response(result(304, ["ETag": #"W/"2""#], body: nil), version: .http1_1, closing: false)
        #expect(notModified.headers["Content-Length"].isEmpty)
        #expect(notModified.headers["ETag"] == [#"W/"2""#])
        let (accepted, _) = translator.response(result(202, [:], body: nil), version: .http1_1, closing: false)
        #expect(accepted.headers["Content-Length"] == ["0"])
    }

    @Test func closingSaysSoAndHTTP10KeepAliveIsExplicit() {
        let (closing, _) = translator.response(result(200), version: .http1_1, closing: true)
        #expect(closing.headers["Connection"] == ["close"])
        #expect(!closing.isKeepAlive)
        let (old, _) = translator.response(result(200), version: .http1_0, closing: false)
        #expect(old.version == .http1_0)
        #expect(old.headers["Connection"] == ["keep-alive"])
        #expect(old.isKeepAlive)
        let (oldClosing, _) = translator.response(result(200), version: .http1_0, closing: true)
        #expect(!oldClosing.isKeepAlive)
    }

    @Test func theListenersOwnErrorsAreRFC7644ErrorBodies() throws {
        let error = SCIMHTTPTranslator.errorResult(.payloadTooLarge("the request body exceeds 10 bytes"))
        #expect(error.status == 413)
        #expect(error.headers["Content-Type"] == "application/scim+json")
        let body = try JSONParser().parse(error.body ?? "")
        #expect(body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
        #expect(body["status"] == "413")
        #expect(body["detail"] == "the request body exceeds 10 bytes")
    }
}
