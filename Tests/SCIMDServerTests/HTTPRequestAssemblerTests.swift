import NIOCore
import NIOHTTP1
import Testing

import SCIMDFraming

/// The body limit and request assembly, part by part.
@Suite struct HTTPRequestAssemblerTests {
    func head(_ headers: [(String, String)] = [], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .POST, uri: "/scim/v2/Users", headers: HTTPHeaders(headers))
    }

    func body(_ count: Int) -> HTTPServerRequestPart { .body(ByteBuffer(repeating: UInt8(ascii: "x"), count: count)) }

    @Test func aRequestWithoutABodyIsServedAtItsEnd() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        #expect(a.receive(.head(head())) == .none)
        #expect(a.receive(.end(nil)) == .serve(head(), nil))
        // The next request on the same connection starts afresh.
        #expect(a.receive(.head(head())) == .none)
        #expect(a.receive(.end(nil)) == .serve(head(), nil))
    }

    @Test func bodyChunksAreJoinedUpToTheLimitInclusive() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        let h = head([("Content-Length", "100")])
        #expect(a.receive(.head(h)) == .none)
        #expect(a.receive(.body(ByteBuffer(string: String(repeating: "a", count: 60)))) == .none)
        #expect(a.receive(.body(ByteBuffer(string: String(repeating: "b", count: 40)))) == .none)
        #expect(
            a.receive(.end(nil))
                == .serve(h, ByteBuffer(string: String(repeating: "a", count: 60) + String(repeating: "b", count: 40))))
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedAtOnceThenDrainedToItsEnd() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        let h = head([("Content-Length", "150")])
        #expect(a.receive(.head(h)) == .refuseTooLarge(h))
        #expect(a.receive(body(100)) == .none)
        #expect(a.receive(body(50)) == .none)
        #expect(a.receive(.end(nil)) == .close)
    }

    @Test func aChunkedBodyThatGrowsOverTheLimitIsRefusedWhenItDoes() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        let h = head([("Transfer-Encoding", "chunked")])
        #expect(a.receive(.head(h)) == .none)
        #expect(a.receive(body(60)) == .none)
        #expect(a.receive(body(41)) == .refuseTooLarge(h))
        #expect(a.receive(.end(nil)) == .close)
    }

    @Test func drainingStopsAfterTwiceTheLimit() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        let h = head([("Content-Length", "100000")])
        #expect(a.receive(.head(h)) == .refuseTooLarge(h))
        #expect(a.receive(body(150)) == .none)
        #expect(a.receive(body(50)) == .none)
        #expect(a.receive(body(1)) == .close)
    }

    @Test func expect100ContinueIsAnsweredOnlyForAnAcceptableHTTP11Body() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        #expect(a.receive(.head(head([("Expect", "100-Continue"), ("Content-Length", "10")]))) == .sendContinue(.http1_1))
        #expect(a.receive(body(10)) == .none)
        var tooLarge = HTTPRequestAssembler(maxBodyBytes: 100)
        let big = head([("Expect", "100-continue"), ("Content-Length", "101")])
        #expect(tooLarge.receive(.head(big)) == .refuseTooLarge(big))
        var old = HTTPRequestAssembler(maxBodyBytes: 100)
        #expect(old.receive(.head(head([("Expect", "100-continue")], version: .http1_0))) == .none)
    }

    @Test func partsOutOfOrderCloseTheConnection() {
        var a = HTTPRequestAssembler(maxBodyBytes: 100)
        #expect(a.receive(body(1)) == .close)
        var b = HTTPRequestAssembler(maxBodyBytes: 100)
        #expect(b.receive(.end(nil)) == .close)
        var c = HTTPRequestAssembler(maxBodyBytes: 100)
        _ = c.receive(.head(head()))
        #expect(c.receive(.head(head())) == .close)
    }
}
