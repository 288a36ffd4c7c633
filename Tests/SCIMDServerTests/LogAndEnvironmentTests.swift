import Foundation
import Logging
import SCIMDServer
import Synchronization
import Testing

@Suite struct LogFormatTests {
    static let now = Date(timeIntervalSince1970: 1_764_480_000.5)

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func journalLinesCarryThePriorityAndNoTimestamp(_ level: Logger.Level, _ priority: Int) {
        let line = SCIMDLogHandler.line(level: level, message: "disk full", metadata: [:], journal: true, now: Self.now)
        #expect(line == "<\(priority)>disk full")
    }

    @Test func plainLinesHaveATimestampAndLevel() {
        let line = SCIMDLogHandler.line(level: .warning, message: "m", metadata: ["b": "2", "a": "1"], journal: false, now: Self.now)
        #expect(line == "2025-11-30T05:20:00.500Z warning m a=1 b=2")
    }

    /// The hand-made timestamp says what Foundation's ISO 8601 formatter says, for times a
    /// `Double` holds exactly (Foundation truncates, so `…59.123` can come out `.122` there).
    @Test(arguments: [0, 951_782_400.25, 1_764_480_000.5, 1_767_225_599.875, 4_102_444_800.125])
    func timestampsAgreeWithFoundation(_ seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let foundation = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
        #expect(SCIMDLogHandler.timestamp(date) == foundation)
    }

    @Test func timestampsAreRoundedToTheNearestMillisecond() {
        #expect(SCIMDLogHandler.timestamp(Date(timeIntervalSince1970: 1_764_480_059.123)) == "2025-11-30T05:20:59.123Z")
        #expect(SCIMDLogHandler.timestamp(Date(timeIntervalSince1970: 1_767_225_599.9996)) == "2026-01-01T00:00:00.000Z")
    }

    @Test func valuesThatNeedItAreQuotedAndEscaped() {
        let metadata: Logger.Metadata = [
            "plain": "abc", "space": "a b", "quote": "say \"hi\"", "empty": "", "equals": "k=v", "newline": "x\ny", "slash": "a\\b",
        ]
        let line = SCIMDLogHandler.line(level: .info, message: "two\nlines", metadata: metadata, journal: true, now: Self.now)
        #expect(line == #"<6>two\nlines empty="" equals="k=v" newline="x\ny" plain=abc quote="say \"hi\"" slash="a\\b" space="a b""#)
    }

    @Test func theJournalIsRecognizedOnlyWhenJOURNAL_STREAMNamesStandardError() {
        var info = stat()
        #expect(fstat(2, &info) == 0)
        #expect(SCIMDLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"]))
        #expect(!SCIMDLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino &+ 1)"]))
        #expect(!SCIMDLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "garbage"]))
        #expect(!SCIMDLogHandler.standardErrorIsJournal(environment: [:]))
    }
}

/// Lines held for a pipelined batch (`LogLineBatch`): written together, whole, in order, and
/// never held past a louder line.
@Suite struct LogLineBatchTests {
    final class Writes: Sendable {
        let list = Mutex<[String]>([])
        var all: [String] { list.withLock { $0 } }
        func handler() -> SCIMDLogHandler {
            SCIMDLogHandler(level: .trace, journal: true) { text in self.list.withLock { $0.append(text) } }
        }
    }

    func log(_ handler: SCIMDLogHandler, _ level: Logger.Level, _ message: String) {
        handler.log(event: LogEvent(level: level, message: "\(message)", metadata: nil, source: "t", file: "f", function: "g", line: 1))
    }

    @Test func heldLinesGoOutTogetherAndALouderLineFlushesThemFirst() {
        let writes = Writes()
        let handler = writes.handler()
        let batch = LogLineBatch()
        LogLineBatch.$current.withValue(batch) {
            log(handler, .info, "a")
            log(handler, .debug, "b")
            #expect(writes.all.isEmpty)
            log(handler, .warning, "c")
            log(handler, .info, "d")
        }
        #expect(writes.all == ["<6>a\n<7>b\n", "<4>c\n"])
        batch.flush()
        #expect(writes.all == ["<6>a\n<7>b\n", "<4>c\n", "<6>d\n"])
        batch.flush()
        #expect(writes.all.count == 3, "nothing is written twice")
        // Outside a batch every line is written at once.
        log(handler, .info, "e")
        #expect(writes.all.last == "<6>e\n")
    }

    @Test func noWriteOfHeldLinesExceedsOnePipeBuffer() {
        let writes = Writes()
        let handler = writes.handler()
        let batch = LogLineBatch()
        let long = String(repeating: "x", count: 1000)
        let huge = String(repeating: "y", count: LogLineBatch.maximumWriteBytes + 10)
        LogLineBatch.$current.withValue(batch) {
            for _ in 0..<10 { log(handler, .info, long) }
            log(handler, .info, huge)
        }
        batch.flush()
        let all = writes.all
        // A line too long for one pipe buffer is written alone, at once; the rest in whole lines.
        #expect(all.contains("<6>\(huge)\n"))
        #expect(all.filter { $0 != "<6>\(huge)\n" }.allSatisfy { $0.utf8.count <= LogLineBatch.maximumWriteBytes && $0.hasSuffix("\n") })
        #expect(all.joined().components(separatedBy: "\n").filter { $0 == "<6>\(long)" }.count == 10)
    }

    @Test func eachHandlerKeepsItsOwnDestination() {
        let first = Writes(), second = Writes()
        let batch = LogLineBatch()
        LogLineBatch.$current.withValue(batch) {
            log(first.handler(), .info, "one")
            log(second.handler(), .info, "two")
        }
        batch.flush()
        #expect(first.all == ["<6>one\n"])
        #expect(second.all == ["<6>two\n"])
    }
}

@Suite struct EnvironmentOptionsTests {
    static let dump = #"""
        {"serializationVersion":0,"command":{"commandName":"scimd","arguments":[
          {"kind":"option","shouldDisplay":true,"names":[{"kind":"long","name":"log-level"}],"valueName":"log-level"},
          {"kind":"option","shouldDisplay":true,"names":[{"kind":"long","name":"max-connections"}]},
          {"kind":"flag","shouldDisplay":true,"names":[{"kind":"long","name":"http-trust-forwarded"}]},
          {"kind":"positional","shouldDisplay":true,"valueName":"file"},
          {"kind":"flag","shouldDisplay":true,"names":[{"kind":"short","name":"h"},{"kind":"long","name":"help"}]},
          {"kind":"flag","shouldDisplay":true,"names":[{"kind":"long","name":"version"}]}
        ]}}
        """#

    @Test func optionsComeFromTheHelpDump() {
        #expect(EnvironmentOptions.options(fromHelpDump: Self.dump) == [
            .init(name: "log-level", isFlag: false), .init(name: "max-connections", isFlag: false),
            .init(name: "http-trust-forwarded", isFlag: true),
        ])
        #expect(EnvironmentOptions.options(fromHelpDump: "not json").isEmpty)
    }

    @Test func environmentVariablesBecomeArguments() {
        let options = EnvironmentOptions.options(fromHelpDump: Self.dump)
        #expect(options.map { $0.variable(prefix: "SCIMD_") } == ["SCIMD_LOG_LEVEL", "SCIMD_MAX_CONNECTIONS", "SCIMD_HTTP_TRUST_FORWARDED"])
        let arguments = EnvironmentOptions.arguments(
            for: options, environment: ["SCIMD_LOG_LEVEL": "debug", "SCIMD_HTTP_TRUST_FORWARDED": "Yes", "SCIMD_HELP": "1", "OTHER": "x"])
        #expect(arguments == ["--log-level", "debug", "--http-trust-forwarded"])
        #expect(EnvironmentOptions.arguments(for: options, environment: ["SCIMD_HTTP_TRUST_FORWARDED": "0"]).isEmpty)
        // An option the command line gives itself is not taken from the environment (nor reported so).
        let environment = ["SCIMD_LOG_LEVEL": "debug", "SCIMD_MAX_CONNECTIONS": "5", "SCIMD_HTTP_TRUST_FORWARDED": "1"]
        #expect(
            EnvironmentOptions.arguments(for: options, environment: environment, commandLine: ["--log-level", "info", "--max-connections=9"])
                == ["--http-trust-forwarded"])
        #expect(
            EnvironmentOptions.arguments(for: options, environment: environment, commandLine: ["--http-trust-forwarded", "--log-levelx"])
                == ["--log-level", "debug", "--max-connections", "5"])
        #expect(
            EnvironmentOptions.unknownVariables(
                for: options, environment: ["SCIMD_LOGLEVEL": "debug", "SCIMD_LOG_LEVEL": "info", "OTHER": "1", "SCIMD_MAX_CONNECTION": "2"])
                == ["SCIMD_LOGLEVEL", "SCIMD_MAX_CONNECTION"])
    }
}
