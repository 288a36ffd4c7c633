import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import SCIMDServer

/// A point in time for the pure deadline machines: `at(5)` is five seconds after the start.
func at(_ seconds: Double) -> NIODeadline {
    NIODeadline.uptimeNanoseconds(1_000_000_000_000) + .nanoseconds(Int64(seconds * 1_000_000_000))
}

/// The HTTP request head and body deadlines, as a state machine with the clock passed in.
@Suite struct HTTPRequestDeadlinesTests {
    var machine = HTTPRequestDeadlines(limits: .init(header: .seconds(20), body: .seconds(20), minBodyRate: 1024))

    @Test mutating func anIdleConnectionHasNoDeadline() {
        #expect(machine.event(.readRequested, now: at(0)) == .none)
        #expect(machine.event(.timer, now: at(3600)) == .none)
        // A complete exchange, then idle again: still none (the idle timeout governs).
        #expect(machine.event(.received(bytes: 40), now: at(3600)) == .wakeUp(at: at(3620)))
        #expect(machine.event(.requestHead, now: at(3600)) == .wakeUp(at: at(3620)))
        #expect(machine.event(.requestEnd, now: at(3600)) == .none)
        #expect(machine.event(.responseEnd, now: at(3601)) == .none)
        #expect(machine.event(.timer, now: at(9000)) == .none)
    }

    @Test mutating func theHeadMustBeCompleteWithinTheHeaderTimeoutOfItsFirstByte() {
        _ = machine.event(.readRequested, now: at(0))
        // The deadline starts at the first byte, not when the connection opened.
        #expect(machine.event(.received(bytes: 1), now: at(5)) == .wakeUp(at: at(25)))
        // More bytes do not extend it: trickling a head is exactly what it stops.
        #expect(machine.event(.received(bytes: 1), now: at(15)) == .wakeUp(at: at(25)))
        #expect(machine.event(.timer, now: at(24.9)) == .wakeUp(at: at(25)))
        #expect(machine.event(.timer, now: at(25)) == .reject(.head))
        // Once rejected, nothing more.
        #expect(machine.event(.received(bytes: 1), now: at(26)) == .none)
        #expect(machine.event(.timer, now: at(60)) == .none)
    }

    @Test mutating func aCompleteRequestIsNeverTimedOutWhileTheServerWorksOnIt() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 100), now: at(0))
        #expect(machine.event(.requestHead, now: at(1)) == .wakeUp(at: at(21)))
        #expect(machine.event(.requestEnd, now: at(1)) == .none)
        #expect(machine.event(.timer, now: at(21)) == .none)
        #expect(machine.event(.timer, now: at(500)) == .none)
        #expect(machine.event(.responseEnd, now: at(500)) == .none)
    }

    @Test mutating func theBodyDeadlineGrowsOneSecondPerMinimumRateOfBytes() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 100), now: at(0))
        #expect(machine.event(.requestHead, now: at(0)) == .wakeUp(at: at(20)))
        #expect(machine.event(.received(bytes: 2048), now: at(10)) == .wakeUp(at: at(22)))
        #expect(machine.event(.received(bytes: 512), now: at(12)) == .wakeUp(at: at(22.5)))
        #expect(machine.event(.timer, now: at(22.5)) == .reject(.body))
    }

    @Test mutating func aSteadyBodyAboveTheMinimumRateIsNeverCut() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 100), now: at(0))
        _ = machine.event(.requestHead, now: at(0))
        // 1,100 bytes a second for five minutes: always ahead of its deadline.
        for second in 1...300 {
            let action = machine.event(.received(bytes: 1100), now: at(Double(second)))
            guard case .wakeUp(let deadline) = action else {
                Issue.record("second \(second): \(action)")
                return
            }
            #expect(deadline > at(Double(second)))
            #expect(machine.event(.timer, now: at(Double(second) + 0.5)) != .reject(.body))
        }
        #expect(machine.event(.requestEnd, now: at(300)) == .none)
    }

    @Test mutating func timeTheServerIsNotReadingIsNotTheClients() {
        _ = machine.event(.readRequested, now: at(0))
        #expect(machine.event(.received(bytes: 10), now: at(0)) == .wakeUp(at: at(20)))
        // The server stops reading (backpressure) after 1 s: no deadline runs.
        #expect(machine.event(.readCompleted, now: at(1)) == .none)
        #expect(machine.event(.timer, now: at(20)) == .none)
        // It reads again 100 s later: the client has the 19 s it had left.
        #expect(machine.event(.readRequested, now: at(101)) == .wakeUp(at: at(120)))
        #expect(machine.event(.timer, now: at(120)) == .reject(.head))
    }

    @Test mutating func aPipelinedRequestsHeadCountsFromTheEndOfTheResponseBeforeIt() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 100), now: at(0))
        _ = machine.event(.requestHead, now: at(0))
        _ = machine.event(.requestEnd, now: at(0))
        // Bytes of the next request arrive while the server works on this one.
        #expect(machine.event(.received(bytes: 10), now: at(5)) == .none)
        #expect(machine.event(.responseEnd, now: at(30)) == .wakeUp(at: at(50)))
        #expect(machine.event(.timer, now: at(50)) == .reject(.head))
    }

    @Test mutating func aBodyStillComingAfterAnEarlyAnswerIsClosedWithoutAnother() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 100), now: at(0))
        _ = machine.event(.requestHead, now: at(0))
        // 413 before the body ended: the client may finish sending it, at the same rate.
        #expect(machine.event(.responseEnd, now: at(0)) == .wakeUp(at: at(20)))
        #expect(machine.event(.timer, now: at(20)) == .close)
    }

    @Test mutating func theInputClosingEndsEveryDeadline() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(bytes: 10), now: at(0))
        #expect(machine.event(.inputClosed, now: at(1)) == .none)
        #expect(machine.event(.timer, now: at(100)) == .none)
    }
}

/// The JSON-RPC partial-line deadline, as a state machine with the clock passed in.
@Suite struct RPCLineDeadlineTests {
    var machine = RPCLineDeadline(limits: .init(line: .seconds(30), bytesPerExtraSecond: 65_536))

    /// What `bytes` of a line add to its deadline.
    func extra(_ bytes: Int) -> TimeAmount { .earned(by: bytes, atRate: 65_536) }

    @Test func theExtensionIsExactForWholeSecondsAndNeverOverflows() {
        #expect(extra(65_536 * 3) == .seconds(3))
        #expect(extra(32_768) == .milliseconds(500))
        #expect(extra(0) == .zero)
        #expect(TimeAmount.earned(by: Int.max, atRate: 1) == .seconds(Int64(Int32.max)))
        #expect(TimeAmount.earned(by: 5, atRate: Int.max) >= .zero)
    }

    @Test mutating func aConnectionWithNoPartialLineHasNoDeadline() {
        #expect(machine.event(.readRequested, now: at(0)) == .none)
        #expect(machine.event(.timer, now: at(3600)) == .none)
        // Complete lines only: still none.
        #expect(machine.event(.received(count: 50, afterLastNewline: 0), now: at(3600)) == .none)
        #expect(machine.event(.timer, now: at(9000)) == .none)
    }

    @Test mutating func aStartedLineMustEndInTime() {
        _ = machine.event(.readRequested, now: at(0))
        #expect(machine.event(.received(count: 1, afterLastNewline: nil), now: at(2)) == .wakeUp(at: at(32) + extra(1)))
        #expect(machine.event(.received(count: 1, afterLastNewline: nil), now: at(20)) == .wakeUp(at: at(32) + extra(2)))
        #expect(machine.event(.timer, now: at(32)) == .wakeUp(at: at(32) + extra(2)))
        #expect(machine.event(.timer, now: at(32) + extra(2)) == .reject)
        #expect(machine.event(.timer, now: at(60)) == .none)
    }

    @Test mutating func theNewlineEndsTheDeadlineAndATailStartsANewOne() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(count: 10, afterLastNewline: nil), now: at(0))
        #expect(machine.event(.received(count: 5, afterLastNewline: 0), now: at(29)) == .none)
        #expect(machine.event(.timer, now: at(30)) == .none)
        // Two complete lines and the start of a third: the third's deadline starts now.
        #expect(machine.event(.received(count: 100, afterLastNewline: 7), now: at(40)) == .wakeUp(at: at(70) + extra(7)))
        #expect(machine.event(.timer, now: at(70) + extra(7)) == .reject)
    }

    @Test mutating func aLongLineEarnsOneSecondPer64KiB() {
        _ = machine.event(.readRequested, now: at(0))
        #expect(machine.event(.received(count: 65_536 * 10, afterLastNewline: nil), now: at(0)) == .wakeUp(at: at(40)))
        #expect(machine.event(.received(count: 32_768, afterLastNewline: nil), now: at(1)) == .wakeUp(at: at(40.5)))
    }

    @Test mutating func timeTheServerIsNotReadingIsNotTheClients() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(count: 10, afterLastNewline: nil), now: at(0))
        #expect(machine.event(.readCompleted, now: at(10)) == .none)
        #expect(machine.event(.timer, now: at(30)) == .none)
        #expect(machine.event(.readRequested, now: at(500)) == .wakeUp(at: at(520) + extra(10)))
    }

    @Test mutating func theInputClosingEndsTheDeadline() {
        _ = machine.event(.readRequested, now: at(0))
        _ = machine.event(.received(count: 10, afterLastNewline: nil), now: at(0))
        #expect(machine.event(.inputClosed, now: at(1)) == .none)
        #expect(machine.event(.timer, now: at(100)) == .none)
    }
}

/// The handlers that drive the machines, on an `EmbeddedChannel` with its virtual clock.
@Suite struct DeadlineHandlerTests {
    /// Bytes in, then a new read, as NIO's auto-read does after each delivery.
    func receive(_ text: String, on channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        channel.read()
    }

    @Test func aTrickledHTTPHeadGets408AndIsClosed() throws {
        let channel = EmbeddedChannel()
        let timer = HTTPRequestTimer(limits: .init(header: .seconds(1), body: .seconds(1), minBodyRate: 100), logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(timer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.read()
        // Idle: nothing happens however long it waits.
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive)
        for byte in "GET /scim/v2/Users HTTP/1.1\r\n" {
            try receive(String(byte), on: channel)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
            if !channel.isActive { break }
        }
        #expect(!channel.isActive)
        // What arrived before the deadline went on to the decoder.
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "G")
        let answer = String(buffer: try #require(try channel.readOutbound(as: ByteBuffer.self)))
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("\r\nConnection: close\r\n"))
        #expect(answer.contains(#""status":"408""#))
        #expect(answer.contains("--http-header-timeout"))
    }

    @Test func theGuardsEventsMoveTheHTTPDeadlines() throws {
        let channel = EmbeddedChannel()
        let timer = HTTPRequestTimer(limits: .init(header: .seconds(1), body: .seconds(1), minBodyRate: 100), logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(timer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.read()
        try receive("GET / HTTP/1.1\r\n\r\n", on: channel)
        timer.observe(.requestHead)
        timer.observe(.requestEnd)
        // The server works on it for a long time: no 408.
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        timer.observe(.responseEnd)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive)
    }

    @Test func aTrickledJSONRPCLineGetsALineTimeoutErrorAndIsClosed() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RPCLineTimer(limits: .init(line: .seconds(1), bytesPerExtraSecond: 65_536), logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.read()
        try receive(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"# + "\n", on: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive)
        for byte in #"{"jsonrpc":"2.0","id":2,"method":"system.health"}"# {
            try receive(String(byte), on: channel)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
            if !channel.isActive { break }
        }
        #expect(!channel.isActive)
        let line = String(buffer: try #require(try channel.readOutbound(as: ByteBuffer.self)))
        #expect(line.hasPrefix(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"line not completed within 1 s"#))
        #expect(line.hasSuffix(#""data":{"kind":"line_timeout"}}}"# + "\n"))
    }
}
