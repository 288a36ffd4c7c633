import NIOCore
import NIOEmbedded
import SCIMDFraming
import Testing

@Suite struct LineFramingTests {
    func frames(_ chunks: [String], limit: Int = 16) throws -> [String] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: limit)))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(string: chunk)) }
        var out: [String] = []
        while let frame: InboundFrame = try channel.readInbound() {
            switch frame {
            case .line(let b): out.append(String(buffer: b))
            case .tooLong: out.append("<too long>")
            }
        }
        _ = try? channel.finish()
        return out
    }

    @Test func splitsAtNewlinesAcrossChunks() throws {
        #expect(try frames(["{\"a\":", "1}\n{\"b\"", ":2}\r\n"]) == ["{\"a\":1}", "{\"b\":2}"])
    }

    @Test func reportsAnOverlongLineOnceAndDropsTheRest() throws {
        #expect(try frames([String(repeating: "x", count: 40), "more\n{}\n"]) == ["<too long>"])
        #expect(try frames([String(repeating: "y", count: 17) + "\n"]) == ["<too long>"])
        #expect(try frames([String(repeating: "z", count: 16) + "\n"]) == [String(repeating: "z", count: 16)])
    }

    /// Found by the LineFraming fuzz target's contract check (Fuzz/corpus/LineFraming/crash-*): a last line without
    /// a newline, handed on when the peer closes, kept its trailing `\r`, unlike every other line.
    @Test func aFinalLineWithoutNewlineLosesItsCarriageReturnLikeAnyOther() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFrameDecoder(maximumLength: 16)))
        try channel.writeInbound(ByteBuffer(string: "{\"a\":1}\r\n{\"b\":2}\r"))
        channel.pipeline.fireChannelInactive()
        var lines: [String] = []
        while let frame: InboundFrame = try channel.readInbound() {
            guard case .line(let b) = frame else { Issue.record("unexpected \(frame)"); continue }
            lines.append(String(buffer: b))
        }
        _ = try? channel.finish()
        #expect(lines == ["{\"a\":1}", "{\"b\":2}"])
    }
}
