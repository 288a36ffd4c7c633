import Logging
import NIOCore
import NIOEmbedded
import SCIMDFraming
import SCIMDProtocol
@testable import SCIMDServer
import SCIMJSON
import Synchronization
import Testing

/// ``SynchronousAnswerer`` answers on the event loop the calls that need no waiting, and only
/// while the request loop has none of the connection's lines, so answers keep the lines' order.
@Suite struct SynchronousAnswererTests {
    struct Now: RPCMethod {
        static let name = "test.now"
        static let summary = "answered synchronously"
        struct Params: Codable, Sendable { var text: String? }
        struct Result: Codable, Sendable { var text: String }
    }

    struct Later: RPCMethod {
        static let name = "test.later"
        static let summary = "answered in a task"
        struct Params: Codable, Sendable {}
        struct Result: Codable, Sendable { var done: Bool }
    }

    struct Maybe: RPCMethod {
        static let name = "test.maybe"
        static let summary = "answered synchronously when it says so"
        struct Params: Codable, Sendable { var now: Bool }
        struct Result: Codable, Sendable { var how: String }
    }

    let counters = TransportCounters()

    func channel(maximumLineLength: Int = 1024) throws -> EmbeddedChannel {
        var d = RPCDispatcher(logger: Logger(label: "test"))
        d.registerSynchronous(Now.self) { .init(text: $0.text ?? "now") }
        d.register(Later.self) { _ in .init(done: true) }
        d.registerTryingSynchronously(Maybe.self, when: { _ in true }, attempt: { $0.now ? .init(how: "immediately") : nil }) { _ in
            .init(how: "in a task")
        }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLineLength)))
        try channel.pipeline.syncOperations.addHandler(ShutdownLineFilter())
        try channel.pipeline.syncOperations.addHandler(LineBatcher())
        try channel.pipeline.syncOperations.addHandler(SynchronousAnswerer(dispatcher: d, counters: counters))
        return channel
    }

    func line(_ id: Int, _ method: String, _ params: String = "{}") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"# + "\n"
    }

    /// The ids of the answers written so far, in order.
    func answered(_ channel: EmbeddedChannel) throws -> [Int] {
        var ids: [Int] = []
        while let buffer: ByteBuffer = try channel.readOutbound() {
            for text in String(buffer: buffer).split(separator: "\n") {
                ids.append(try JSONParser().parse(String(text))["id"]?.intValue ?? -1)
            }
        }
        return ids
    }

    /// What the request loop was handed, one array per batch: a parsed message's id, or a line's text.
    func handedOn(_ channel: EmbeddedChannel) throws -> [[String]] {
        var batches: [[String]] = []
        while let batch: [RPCInbound] = try channel.readInbound() {
            batches.append(batch.map {
                switch $0 {
                case .message(let message): return "parsed \(message["id"]?.intValue ?? -1)"
                case .frame(.line(let line)): return String(buffer: line)
                case .frame(.tooLong): return "<too long>"
                }
            })
        }
        return batches
    }

    @Test func aCallThatNeedsNoWaitingIsAnsweredInPlace() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: line(1, "test.now") + line(2, "test.now")))
        #expect(try answered(channel) == [1, 2])
        #expect(try handedOn(channel).isEmpty)
        #expect(counters.requestsServed == 2)
        _ = try? channel.finish()
    }

    @Test func theFirstLineThatMustWaitTakesTheRestOfTheReadWithIt() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: line(1, "test.now") + line(2, "test.later") + line(3, "test.now")))
        #expect(try answered(channel) == [1])
        #expect(try handedOn(channel) == [["parsed 2", line(3, "test.now").dropLast().description]])
        _ = try? channel.finish()
    }

    @Test func nothingIsAnsweredInPlaceWhileTheLoopHasABatch() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: line(1, "test.later")))
        try channel.writeInbound(ByteBuffer(string: line(2, "test.now")))
        #expect(try answered(channel).isEmpty, "line 2 must not overtake line 1")
        #expect(try handedOn(channel).count == 2)
        // The loop answers its first batch; one is still in it.
        try channel.writeOutbound(RPCOutbound.batchEnd(ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"result":{}}"# + "\n")))
        try channel.writeInbound(ByteBuffer(string: line(3, "test.now")))
        #expect(try answered(channel) == [1])
        #expect(try handedOn(channel).count == 1)
        // Both batches done (the second's answers went out before its end): answered in place again.
        try channel.writeOutbound(RPCOutbound.bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":2,"result":{}}"# + "\n")))
        try channel.writeOutbound(RPCOutbound.batchEnd(ByteBuffer(string: #"{"jsonrpc":"2.0","id":3,"result":{}}"# + "\n")))
        try channel.writeOutbound(RPCOutbound.batchEnd(ByteBuffer()))
        try channel.writeInbound(ByteBuffer(string: line(4, "test.now")))
        #expect(try answered(channel) == [2, 3, 4])
        #expect(try handedOn(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test func aMethodThatDeclinesGoesToTheLoopParsed() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: line(1, "test.maybe", #"{"now":true}"#) + line(2, "test.maybe", #"{"now":false}"#)))
        let answers = try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } ?? ""
        #expect(answers.contains("immediately"))
        #expect(try handedOn(channel) == [["parsed 2"]])
        _ = try? channel.finish()
    }

    @Test func refusalsAreAnsweredInPlaceAndBlankLinesSkipped() throws {
        let channel = try channel()
        try channel.writeInbound(
            ByteBuffer(string: "{not json\n  \n" + line(5, "no.such") + #"{"jsonrpc":"2.0","method":"test.now"}"# + "\n" + line(6, "test.now")))
        let answers = try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } ?? ""
        let lines = answers.split(separator: "\n").map { try? JSONParser().parse(String($0)) }
        #expect(lines.count == 3, "a notification gets no answer, a blank line none either")
        #expect(lines[0]?["error"]?["code"] == -32700)
        #expect(lines[1]?["error"]?["code"] == -32601)
        #expect(lines[2]?["id"] == 6)
        #expect(try handedOn(channel).isEmpty)
        _ = try? channel.finish()
    }

    /// A batch's elements run concurrently, in tasks; an overlong line goes to the loop, which
    /// answers and closes.
    @Test func batchesAndOverlongLinesGoToTheLoop() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "[" + line(1, "test.now").dropLast() + "]\n"))
        #expect(try answered(channel).isEmpty)
        #expect(try handedOn(channel) == [["parsed -1"]])
        try channel.writeOutbound(RPCOutbound.batchEnd(ByteBuffer()))
        try channel.writeInbound(ByteBuffer(string: line(2, "test.now") + String(repeating: "x", count: 2000)))
        #expect(try answered(channel) == [2])
        #expect(try handedOn(channel) == [["<too long>"]])
        _ = try? channel.finish()
    }

    /// A long run of large answers goes out at the loop's threshold, and once the socket takes no
    /// more, the rest of the read goes to the loop (whose writes wait for the socket) instead of
    /// piling up here.
    @Test func aLongRunOfAnswersIsWrittenInPartsAndStopsWhenTheSocketIsFull() throws {
        let channel = try channel(maximumLineLength: 100_000)
        // The first write fills the socket.
        try channel.pipeline.syncOperations.addHandler(FillsOnFirstWrite(), position: .first)
        let big = String(repeating: "x", count: 40_000)
        let lines = (1...5).map { line($0, "test.now", #"{"text":"\#(big)"}"#) }.joined()
        try channel.writeInbound(ByteBuffer(string: lines))
        #expect(try answered(channel) == [1, 2], "written once 64 KiB were gathered")
        #expect(try handedOn(channel).map(\.count) == [3], "the rest of the read waits in the loop")
        _ = try? channel.finish()
    }

    /// Makes the channel unwritable at its first write, as a full socket buffer would.
    final class FillsOnFirstWrite: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            (context.channel as? EmbeddedChannel)?.isWritable = false
            context.write(data, promise: promise)
        }
    }

    /// A client that does not read its answers gets them from the loop, whose writes wait for
    /// the socket: nothing piles up in the channel's outbound buffer.
    @Test func aChannelThatCannotTakeMoreHandsEverythingOn() throws {
        let channel = try channel()
        channel.isWritable = false
        try channel.writeInbound(ByteBuffer(string: line(1, "test.now")))
        #expect(try answered(channel).isEmpty)
        #expect(try handedOn(channel).count == 1)
        _ = try? channel.finish()
    }
}
