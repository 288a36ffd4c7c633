import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import SCIMDServer
import Testing

/// ``HTTPImmediateAnswerer`` answers a bodiless GET in place when the task has no request, and
/// hands everything else to the task whole.
@Suite struct HTTPImmediateAnswererTests {
    /// Answers GETs whose path starts with `/now`; anything else is left to the task.
    func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPImmediateAnswerer { head, _ in
                guard head.uri.hasPrefix("/now") else { return nil }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "\(head.uri.utf8.count)")
                return (HTTPResponseHead(version: head.version, status: .ok, headers: headers), ByteBuffer(string: head.uri))
            })
        return channel
    }

    func request(_ channel: EmbeddedChannel, _ method: HTTPMethod, _ uri: String, headers: HTTPHeaders = [:], body: String? = nil) throws {
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)))
        if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    /// The bodies of the responses written so far.
    func answered(_ channel: EmbeddedChannel) throws -> [String] {
        var bodies: [String] = []
        while let part: HTTPServerResponsePart = try channel.readOutbound() {
            if case .body(.byteBuffer(let buffer)) = part { bodies.append(String(buffer: buffer)) }
        }
        return bodies
    }

    /// What the task received: `METHOD uri` per head, `body` and `end` for the other parts.
    func handedOn(_ channel: EmbeddedChannel) throws -> [String] {
        var parts: [String] = []
        while let part: HTTPServerRequestPart = try channel.readInbound() {
            switch part {
            case .head(let head): parts.append("\(head.method.rawValue) \(head.uri)")
            case .body: parts.append("body")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    @Test func aBodilessGetIsAnsweredInPlace() throws {
        let channel = try channel()
        try request(channel, .GET, "/now/1")
        #expect(try answered(channel) == ["/now/1"])
        #expect(try handedOn(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test func whatCannotBeAnsweredInPlaceGoesToTheTaskWhole() throws {
        let channel = try channel()
        try request(channel, .GET, "/later")
        #expect(try handedOn(channel) == ["GET /later", "end"], "declined: the held head goes on with its end")
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        try request(channel, .POST, "/now/post", headers: ["Content-Length": "2"], body: "{}")
        #expect(try handedOn(channel) == ["POST /now/post", "body", "end"])
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        try request(channel, .GET, "/now/with-body", headers: ["Content-Length": "2"], body: "{}")
        #expect(try handedOn(channel) == ["GET /now/with-body", "body", "end"], "a GET that declares a body")
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        // A GET whose body comes without a declared length (chunked) is caught at its first chunk.
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/now/chunked")))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try handedOn(channel) == ["GET /now/chunked", "body", "end"])
        #expect(try answered(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test func whileTheTaskAnswersEverythingGoesToIt() throws {
        let channel = try channel()
        try request(channel, .DELETE, "/later")
        try request(channel, .GET, "/now/2")
        #expect(try handedOn(channel) == ["DELETE /later", "end", "GET /now/2", "end"])
        #expect(try answered(channel).isEmpty)
        // The task's response ends: requests are answered in place again.
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        try request(channel, .GET, "/now/3")
        #expect(try answered(channel) == ["/now/3"])
        _ = try? channel.finish()
    }

    @Test func aChannelThatCannotTakeMoreHandsEverythingOn() throws {
        let channel = try channel()
        channel.isWritable = false
        try request(channel, .GET, "/now/4")
        #expect(try handedOn(channel) == ["GET /now/4", "end"])
        _ = try? channel.finish()
    }
}
