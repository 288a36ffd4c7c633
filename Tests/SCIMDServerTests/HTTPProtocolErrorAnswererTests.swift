import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SCIMDServer

/// ``HTTPProtocolErrorAnswerer``: a request the decoder cannot parse gets a status and a body that
/// say why, unless a response is already under way.
@Suite struct HTTPProtocolErrorAnswererTests {
    func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPProtocolErrorAnswerer(listener: "test", logger: Logger(label: "test"), refusal: HTTPProtocolErrorAnswerer.plainText))
        return channel
    }

    func written(_ channel: EmbeddedChannel) throws -> [HTTPServerResponsePart] {
        var parts: [HTTPServerResponsePart] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) { parts.append(part) }
        return parts
    }

    @Test func aHeadOverTheLimitGets431AndAnythingElse400() throws {
        for (error, status) in [(HTTPParserError.headerOverflow, HTTPResponseStatus.requestHeaderFieldsTooLarge), (.invalidVersion, .badRequest)] {
            let channel = try channel()
            channel.pipeline.fireErrorCaught(error)
            let parts = try written(channel)
            guard parts.count == 3, case .head(let head) = parts[0], case .body(.byteBuffer(let body)) = parts[1], case .end = parts[2] else {
                Issue.record("expected head, body, end: \(parts)")
                continue
            }
            #expect(head.status == status)
            #expect(head.headers["Connection"] == ["close"])
            #expect(head.headers["Content-Length"] == [String(body.readableBytes)])
            #expect(String(buffer: body) == HTTPProtocolErrorAnswerer.reason(for: error) + "\n")
            // The error goes on (the decoder closes the channel after it).
            #expect(throws: HTTPParserError.self) { try channel.throwIfErrorCaught() }
        }
    }

    @Test func aResponseAlreadyUnderWayIsNotInterrupted() throws {
        let channel = try channel()
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        _ = try written(channel)
        channel.pipeline.fireErrorCaught(HTTPParserError.headerOverflow)
        #expect(try written(channel).isEmpty)
        // Once that response ended, the next error is answered again.
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        _ = try written(channel)
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidMethod)
        #expect(try written(channel).count == 3)
    }

    @Test func otherErrorsPassUnanswered() throws {
        let channel = try channel()
        struct Other: Error {}
        channel.pipeline.fireErrorCaught(Other())
        #expect(try written(channel).isEmpty)
        #expect(throws: Other.self) { try channel.throwIfErrorCaught() }
    }
}
