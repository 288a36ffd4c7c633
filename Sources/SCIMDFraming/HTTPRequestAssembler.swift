import NIOCore
import NIOHTTP1

/// Collects the parts of one HTTP request (head, body chunks, end) into a head and a body and
/// enforces the body limit. A pure state machine: the connection loop of the SCIM HTTP listener
/// feeds it each part NIO decoded and does what the returned ``Action`` says, so every path is
/// tested without a socket (and fuzzed behind NIO's real decoder: `Fuzz/Targets`).
public struct HTTPRequestAssembler: Sendable {
    /// What the connection must do after a part.
    public enum Action: Equatable, Sendable {
        /// Nothing yet: keep reading.
        case none
        /// The client sent `Expect: 100-continue` for an acceptable body: send `100 Continue`.
        case sendContinue(HTTPVersion)
        /// The request is complete: serve it.
        case serve(HTTPRequestHead, ByteBuffer?)
        /// The body is (or is declared) over the limit: answer 413 and close our side. The rest of
        /// the body is read and dropped (up to a limit) so the client is not reset before it reads the answer.
        case refuseTooLarge(HTTPRequestHead)
        /// Stop reading and close the connection: the refused request's body ended, or there was
        /// more of it than we are willing to drop.
        case close
    }

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer?)
        /// After a 413: drop what is left of the body, at most `budget` more bytes.
        case discarding(budget: Int)
    }

    /// Largest body accepted, in bytes.
    public let maxBodyBytes: Int
    /// How much of a refused body is read and dropped before giving up on the client reading the
    /// 413 cleanly: a body up to twice the limit drains to its end.
    public var discardBudget: Int { 2 * maxBodyBytes }
    private var state = State.idle

    /// An assembler for one connection, refusing bodies over `maxBodyBytes`.
    public init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// Takes the next part NIO decoded on the connection and says what to do.
    public mutating func receive(_ part: HTTPServerRequestPart) -> Action {
        switch (part, state) {
        case (.head(let head), .idle):
            if let declared = head.headers.first(name: "content-length").flatMap({ Int($0) }), declared > maxBodyBytes {
                state = .discarding(budget: discardBudget)
                return .refuseTooLarge(head)
            }
            state = .receiving(head, nil)
            let expects = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
            return expects && head.version.major == 1 && head.version.minor >= 1 ? .sendContinue(head.version) : .none
        case (.body(var chunk), .receiving(let head, var body)):
            let size = (body?.readableBytes ?? 0) + chunk.readableBytes
            guard size <= maxBodyBytes else {
                state = .discarding(budget: discardBudget)
                return .refuseTooLarge(head)
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            state = .receiving(head, body)
            return .none
        case (.end, .receiving(let head, let body)):
            state = .idle
            return .serve(head, body)
        case (.body(let chunk), .discarding(let budget)):
            let left = budget - chunk.readableBytes
            if left < 0 { return .close }
            state = .discarding(budget: left)
            return .none
        case (.end, .discarding):
            return .close
        case (.head, .receiving), (.head, .discarding), (.body, .idle), (.end, .idle):
            // NIO's decoder and pipeline handler never deliver these; if they did, the stream is unusable.
            return .close
        }
    }
}
