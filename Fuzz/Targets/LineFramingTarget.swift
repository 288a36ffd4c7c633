import NIOCore
import NIOEmbedded
import SCIMDFraming

/// Newline framing: the payload is written to a channel running ``LineFrameDecoder`` (as the
/// daemon and the client run it) in the chunks the input's header describes (see
/// ``ChunkedInput``), then the peer closes. The frames must be the same whatever the split, and
/// equal to what the framing's contract gives for the whole byte string: every `\n`-terminated
/// line without its `\n` and one trailing `\r`; a final unterminated line at the close; and at
/// the first line longer than the limit, one `tooLong` and nothing after it.
enum LineFramingTarget {
    static let limits = [0, 1, 2, 3, 8, 64, 1 << 20]

    /// One frame, comparable.
    enum Frame: Equatable, CustomStringConvertible {
        case line([UInt8])
        case tooLong

        var description: String {
            switch self {
            case .line(let bytes): return "line(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
            case .tooLong: return "tooLong"
            }
        }
    }

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let chunked = ChunkedInput(input)
        let limit = limits[chunked.limitSelector % limits.count]
        let split = try frames(of: chunked.chunks, limit: limit)
        let whole = try frames(of: [chunked.payload[...]], limit: limit)
        if split != whole {
            throw FuzzFailure("framing depends on the split \(chunked.chunks.map(\.count)): \(split) vs \(whole) in one write")
        }
        let expected = contract(chunked.payload, limit: limit)
        if whole != expected {
            throw FuzzFailure("limit \(limit): framed \(whole), the contract says \(expected)")
        }
    }

    /// The frames a channel running the decoder produces for `chunks`, then end of input.
    static func frames(of chunks: [ArraySlice<UInt8>], limit: Int) throws(FuzzFailure) -> [Frame] {
        let channel = EmbeddedChannel()
        var frames: [Frame] = []
        func drain() throws {
            while let frame = try channel.readInbound(as: InboundFrame.self) {
                switch frame {
                case .line(let buffer): frames.append(.line(Array(buffer.readableBytesView)))
                case .tooLong: frames.append(.tooLong)
                }
            }
        }
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFrameDecoder(maximumLength: limit)))
            for chunk in chunks {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
                try drain()
            }
            // The peer closes: the decoder's `decodeLast` hands on a final unterminated line.
            channel.pipeline.fireChannelInactive()
            try drain()
            _ = try channel.finish()
        } catch {
            throw FuzzFailure("the framing channel failed: \(error)")
        }
        return frames
    }

    /// The frames the framing promises for `bytes`, computed from the whole byte string.
    static func contract(_ bytes: [UInt8], limit: Int) -> [Frame] {
        var frames: [Frame] = []
        var rest = bytes[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            var line = rest[..<newline]
            if line.count > limit { return frames + [.tooLong] }
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            frames.append(.line(Array(line)))
            rest = rest[(newline + 1)...]
        }
        if rest.count > limit { return frames + [.tooLong] }
        if !rest.isEmpty {
            var line = rest
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            frames.append(.line(Array(line)))
        }
        return frames
    }
}
