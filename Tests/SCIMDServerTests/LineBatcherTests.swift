import NIOCore
import NIOEmbedded
import SCIMDFraming
@testable import SCIMDServer
import Testing

/// ``LineBatcher`` hands on the lines of one read together, and never holds a line past the read
/// that completed it, an event, or the end of the connection.
@Suite struct LineBatcherTests {
    func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: 64)))
        try channel.pipeline.syncOperations.addHandler(ShutdownLineFilter())
        try channel.pipeline.syncOperations.addHandler(LineBatcher())
        return channel
    }

    func batches(_ channel: EmbeddedChannel) throws -> [[String]] {
        var out: [[String]] = []
        while let batch: [InboundFrame] = try channel.readInbound() {
            out.append(batch.map {
                switch $0 {
                case .line(let b): return String(buffer: b)
                case .tooLong: return "<too long>"
                }
            })
        }
        return out
    }

    @Test func theLinesOfOneReadComeAsOneBatch() throws {
        let channel = try channel()
        // `writeInbound` is one read: channelRead, then channelReadComplete.
        try channel.writeInbound(ByteBuffer(string: "{\"a\":1}\n{\"b\":2}\n{\"c\""))
        #expect(try batches(channel) == [["{\"a\":1}", "{\"b\":2}"]], "the unfinished line waits for its newline")
        try channel.writeInbound(ByteBuffer(string: ":3}\n"))
        #expect(try batches(channel) == [["{\"c\":3}"]])
        try channel.writeInbound(ByteBuffer(string: "no newline yet"))
        #expect(try batches(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test func anOverlongLineEndsItsBatch() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "{}\n" + String(repeating: "x", count: 80)))
        #expect(try batches(channel) == [["{}", "<too long>"]])
        _ = try? channel.finish()
    }

    /// `printf '{…}' | nc -U`: the last line, without a newline, handed on when the client closes
    /// its side, is still answered.
    @Test func aLastLineWithoutNewlineIsHandedOnWhenTheInputCloses() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "{\"a\":1}\n{\"b\":2}"))
        #expect(try batches(channel) == [["{\"a\":1}"]])
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try batches(channel) == [["{\"b\":2}"]])
        _ = try? channel.finish()
    }

    @Test func aLastLineWithoutNewlineIsHandedOnWhenTheConnectionEnds() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "{\"b\":2}"))
        channel.pipeline.fireChannelInactive()
        #expect(try batches(channel) == [["{\"b\":2}"]])
        _ = try? channel.finish()
    }

    /// At shutdown the unfinished line is dropped (``ShutdownLineFilter``), batching or not.
    @Test func theShutdownStillDropsTheUnfinishedLine() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "{\"a\":1}\n{\"half\":"))
        #expect(try batches(channel) == [["{\"a\":1}"]])
        channel.pipeline.fireUserInboundEventTriggered(ShutdownLineFilter.ClosingInput())
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try batches(channel).isEmpty)
        _ = try? channel.finish()
    }
}
