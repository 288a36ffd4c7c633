import NIOCore

// Shared by the daemon and the client: both ends frame JSON-RPC as one message per line.

/// One inbound unit of newline-delimited JSON-RPC.
public enum InboundFrame: Sendable {
    /// A complete line, without its terminating `\n` (and without a trailing `\r`).
    case line(ByteBuffer)
    /// The peer sent more than the maximum without a newline; the connection must be closed.
    case tooLong
}

/// Splits a byte stream at `\n` into lines of at most `maximumLength` bytes.
///
/// A line that grows past the limit is reported once as ``InboundFrame/tooLong`` and everything
/// after it is discarded: the connection is then answered and closed, and no more memory than
/// the limit is ever buffered for one peer.
public struct LineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = InboundFrame

    public let maximumLength: Int
    private var overflowed = false
    /// Bytes of the current partial line already scanned, so a slow sender costs O(n), not O(n²).
    private var scanned = 0

    public init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if overflowed {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .needMoreData
        }
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: min(scanned, view.count))
        if let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - view.startIndex
            scanned = 0
            if length > maximumLength {
                return overflow(context: context, buffer: &buffer)
            }
            let line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            context.fireChannelRead(Self.wrapInboundOut(.line(Self.droppingCarriageReturn(line))))
            return .continue
        }
        scanned = view.count
        if view.count > maximumLength {
            return overflow(context: context, buffer: &buffer)
        }
        return .needMoreData
    }

    /// `line` without one trailing `\r` (a `\r\n` line ending, or a final `…\r` at end of input).
    private static func droppingCarriageReturn(_ line: ByteBuffer) -> ByteBuffer {
        guard line.readableBytesView.last == UInt8(ascii: "\r") else { return line }
        return line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
    }

    private mutating func overflow(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        overflowed = true
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        context.fireChannelRead(Self.wrapInboundOut(.tooLong))
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A final line without a newline is still a message (e.g. `printf '{…}' | nc -U`).
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !overflowed, buffer.readableBytes > 0 {
            let line = buffer.readSlice(length: buffer.readableBytes)!
            context.fireChannelRead(Self.wrapInboundOut(.line(Self.droppingCarriageReturn(line))))
        }
        return .needMoreData
    }
}
