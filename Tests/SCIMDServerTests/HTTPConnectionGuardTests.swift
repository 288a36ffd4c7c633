import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SCIMDServer

/// When an HTTP connection closes, driven by request and response parts and idle events.
@Suite struct HTTPConnectionGuardTests {
    /// Records how the guard closes (EmbeddedChannel only supports closing everything).
    final class CloseRecorder: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var modes: [CloseMode] = []
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            modes.append(mode)
            if mode == .all {
                context.close(mode: mode, promise: promise)
            } else {
                promise?.succeed(())
            }
        }
    }

    /// Passes user events the guard does not consume on to a list.
    final class EventRecorder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var events: [String] = []
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append("\(event)") }
    }

    let channel = EmbeddedChannel()
    let recorder = CloseRecorder()
    let events = EventRecorder()

    init() throws {
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.pipeline.syncOperations.addHandler(HTTPConnectionGuard(logger: Logger(label: "test")))
        try channel.pipeline.syncOperations.addHandler(events)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/scim/v2/Users")

    func idle(_ event: IdleStateHandler.IdleStateEvent) { channel.pipeline.fireUserInboundEventTriggered(event) }

    func respond(closing: Bool = false, end: Bool = true) throws {
        let headers: HTTPHeaders = closing ? ["Connection": "close"] : [:]
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
        if end { try channel.writeOutbound(HTTPServerResponsePart.end(nil)) }
    }

    @Test func anIdleKeepAliveConnectionIsClosedOnReadTimeout() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try respond()
        #expect(recorder.modes.isEmpty)
        idle(.read)
        #expect(recorder.modes == [.all])
    }

    @Test func aClientThatConnectsAndSendsNothingIsClosed() {
        idle(.read)
        #expect(recorder.modes == [.all])
    }

    @Test func aRequestWhoseHeadOrBodyStallsIsClosed() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{\"userN")))
        idle(.read)
        #expect(recorder.modes == [.all])
    }

    @Test func aReadTimeoutWhileTheServerWorksOnARequestIsIgnored() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        idle(.read)
        idle(.write)
        idle(.all)
        #expect(recorder.modes.isEmpty)
        #expect(channel.isActive)
    }

    @Test func aClientThatStopsReadingItsResponseIsClosedOnWriteTimeout() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try respond(end: false)
        idle(.read)
        #expect(recorder.modes.isEmpty)
        idle(.write)
        #expect(recorder.modes == [.all])
    }

    @Test func aWriteTimeoutWithNoResponseUnderwayIsIgnored() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try respond()
        idle(.write)
        #expect(recorder.modes.isEmpty)
    }

    @Test func aConnectionCloseResponseClosesOnceWritten() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try respond(closing: true)
        #expect(recorder.modes == [.all])
    }

    @Test func aConnectionCloseAnswerBeforeTheBodyEndedClosesOnlyOurSide() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "xxxx")))
        try respond(closing: true)
        #expect(recorder.modes == [.output])
        // The rest of the body keeps coming; a client that stops sending it is then closed.
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "yyyy")))
        idle(.read)
        #expect(recorder.modes == [.output, .all])
    }

    @Test func a100ContinueIsNotTheResponse() throws {
        try channel.writeInbound(HTTPServerRequestPart.head(request))
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .continue)))
        idle(.write)
        #expect(recorder.modes.isEmpty)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try respond(closing: true)
        #expect(recorder.modes == [.all])
    }

    @Test func otherEventsPassThrough() {
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(events.events == ["inputClosed"])
        #expect(recorder.modes.isEmpty)
    }
}

/// A failed accept is logged, not passed on to end the listener's stream of connections.
@Suite struct AcceptErrorHandlerTests {
    @Test func anAcceptErrorStopsHere() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: Logger(label: "test")))
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNABORTED, reason: "accept"))
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
    }
}
