import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import SCIMDServer

/// Collects what a `Logger` logs, for tests that check what is logged and how often.
struct RecordingLogHandler: LogHandler {
    /// Shared by every copy of the handler (a `Logger` copies it).
    final class Records: Sendable {
        let entries = NIOLockedValueBox<[(level: Logger.Level, message: String)]>([])
        var all: [(level: Logger.Level, message: String)] { entries.withLockedValue { $0 } }
        func messages(at level: Logger.Level) -> [String] { all.filter { $0.level == level }.map(\.message) }
    }

    let records: Records
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.entries.withLockedValue { $0.append((event.level, event.message.description)) }
    }

    /// A logger that records into `records`.
    static func logger(_ records: Records) -> Logger {
        Logger(label: "test") { _ in RecordingLogHandler(records: records) }
    }
}

/// The handling of failed accepts on a listening channel: pause, one log line per episode.
@Suite struct AcceptErrorHandlingTests {
    let channel = EmbeddedChannel()
    let records = RecordingLogHandler.Records()
    let handler: AcceptErrorHandler

    init() throws {
        handler = AcceptErrorHandler(logger: RecordingLogHandler.logger(records), listener: "JSON-RPC", retryInterval: .seconds(1))
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

    @Test func outOfDescriptorsPausesAcceptingForTheRetryInterval() throws {
        channel.pipeline.fireErrorCaught(IOError(errnoCode: EMFILE, reason: "accept"))
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(handler.isPaused)
        loop.advanceTime(by: .milliseconds(999))
        #expect(handler.isPaused)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!handler.isPaused)
        // Still out of descriptors on the retry: another pause.
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ENFILE, reason: "accept"))
        #expect(handler.isPaused)
        #expect(handler.failedAccepts == 2)
        // Closing the listener ends the pause.
        try channel.close().wait()
        #expect(!handler.isPaused)
    }

    @Test func anAbortedConnectionDoesNotPauseAccepting() throws {
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ECONNABORTED, reason: "accept"))
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(!handler.isPaused)
        #expect(records.messages(at: .warning) == ["JSON-RPC listener could not accept a connection"])
    }

    @Test func aNonIOErrorIsLoggedAndStopsThere() throws {
        struct Odd: Error {}
        channel.pipeline.fireErrorCaught(Odd())
        #expect(throws: Never.self) { try channel.throwIfErrorCaught() }
        #expect(records.messages(at: .warning).count == 1)
        #expect(!handler.isPaused)
    }

    @Test func anEpisodeIsLoggedOnceAtItsStartAndOnceAtItsEnd() throws {
        for _ in 0..<5 {
            channel.pipeline.fireErrorCaught(IOError(errnoCode: EMFILE, reason: "accept"))
            loop.advanceTime(by: .seconds(1))
        }
        let warnings = records.messages(at: .warning)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("JSON-RPC listener could not accept a connection; retrying every 1 s") == true)

        // The next accepted connection ends the episode, with the count.
        let accepted = EmbeddedChannel()
        channel.pipeline.fireChannelRead(NIOAny(accepted as any Channel))
        #expect(records.messages(at: .warning).count == 2)
        #expect(records.messages(at: .warning).last == "JSON-RPC listener accepts connections again after 5 failed accepts")
        // It is passed on to be served.
        let passed = try channel.readInbound(as: (any Channel).self)
        #expect(passed === accepted)

        // Later accepts log nothing; a new episode logs again.
        channel.pipeline.fireChannelRead(NIOAny(EmbeddedChannel() as any Channel))
        channel.pipeline.fireErrorCaught(IOError(errnoCode: ENFILE, reason: "accept"))
        #expect(records.messages(at: .warning).count == 3)
    }
}

/// `--max-connections` and `--http-max-connections`: admission, refusal, and the counter.
@Suite struct ConnectionLimiterTests {
    @Test func admitsUpToTheLimitAndAgainAfterARelease() {
        let limiter = ConnectionLimiter(limit: 2, listener: "JSON-RPC", option: "--max-connections", logger: Logger(label: "test"))
        #expect(limiter.tryAdmit())
        #expect(limiter.tryAdmit())
        #expect(!limiter.tryAdmit())
        #expect(limiter.current == 2)
        limiter.release()
        #expect(limiter.tryAdmit())
        #expect(!limiter.tryAdmit())
    }

    @Test func aRefusedConnectionGetsItsAnswerIsClosedAndCounted() throws {
        let records = RecordingLogHandler.Records()
        let limiter = ConnectionLimiter(
            limit: 1, listener: "JSON-RPC", option: "--max-connections", logger: RecordingLogHandler.logger(records))
        let counters = TransportCounters()
        let refusal = RPCServer.refusalLine(limit: 1)

        let admitted = EmbeddedChannel()
        #expect(try limiter.admit(admitted, refusal: refusal, counters: counters))
        let refused = EmbeddedChannel()
        #expect(try !limiter.admit(refused, refusal: refusal, counters: counters))
        #expect(counters.refusedConnections == 1)
        #expect(records.messages(at: .warning) == ["JSON-RPC listener is at --max-connections 1: refusing new connections until some close"])

        // Once active it writes the refusal and closes (EmbeddedChannel cannot half-close: it closes outright).
        try refused.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let written = try #require(try refused.readOutbound(as: ByteBuffer.self))
        #expect(
            String(buffer: written)
                == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32003,"message":"scimd is serving its maximum of 1 JSON-RPC connections (--max-connections); try again later","data":{"kind":"unavailable"}}}"#
                + "\n")
        #expect(!refused.isActive)
        // Anything the client sent is dropped, not served.
        #expect(try refused.readInbound(as: ByteBuffer.self) == nil)

        // The admitted connection's slot comes back when it closes; the next admission ends the episode.
        try admitted.close().wait()
        admitted.embeddedEventLoop.run()
        #expect(limiter.current == 0)
        #expect(try limiter.admit(EmbeddedChannel(), refusal: refusal, counters: counters))
        #expect(records.messages(at: .warning).last == "JSON-RPC listener admits connections again after refusing 1 at --max-connections 1")
    }

    @Test func theHTTPRefusalIsACompleteSCIM503() {
        let text = String(buffer: SCIMHTTPServer.refusal(limit: 7))
        let (head, body) = (text.components(separatedBy: "\r\n\r\n")[0], text.components(separatedBy: "\r\n\r\n")[1])
        let lines = head.components(separatedBy: "\r\n")
        #expect(lines.first == "HTTP/1.1 503 Service Unavailable")
        #expect(lines.contains("Retry-After: 1"))
        #expect(lines.contains("Connection: close"))
        #expect(lines.contains("Content-Type: application/scim+json; charset=utf-8"))
        #expect(lines.contains("Content-Length: \(body.utf8.count)"))
        #expect(body.contains(#""status":"503""#))
        #expect(body.contains("urn:ietf:params:scim:api:messages:2.0:Error"))
    }
}
