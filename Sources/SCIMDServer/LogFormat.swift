import Foundation
import Logging
import Synchronization

/// scimd's log lines on standard error, in one of two forms.
///
/// - **journald** (standard error is the journal: `JOURNAL_STREAM` names its device and inode):
///   `<3>database storage is full database=/var/lib/scimd/scimd.sqlite reason="disk full"`. The
///   `<N>` prefix is sd-daemon(3)'s syslog priority, so `journalctl -p err` finds errors; no
///   timestamp, because journald adds its own.
/// - **terminal or file**: `2026-11-30T05:11:20.123Z error database storage is full database=…`.
///
/// Metadata follows the message as `key=value`, sorted by key; a value with spaces, quotes, `=`,
/// control characters or nothing at all is quoted, with `"`, `\` and newlines escaped, so a line
/// always parses back into the same fields.
public struct SCIMDLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let journal: Bool
    let sink: LineSink

    /// `journal`: write sd-daemon priorities and no timestamps (see ``standardErrorIsJournal()``).
    /// `write` receives each whole line, newline included (default: one `write(2)` to standard error).
    public init(level: Logger.Level, journal: Bool, write: @escaping @Sendable (String) -> Void = SCIMDLogHandler.writeToStandardError) {
        self.logLevel = level
        self.journal = journal
        self.sink = LineSink(write)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // The access log's lines come with their own metadata and none of the handler's: no merge.
        var merged = event.metadata ?? [:]
        if !metadata.isEmpty { merged.merge(metadata) { own, _ in own } }
        let line = Self.line(level: event.level, message: "\(event.message)", metadata: merged, journal: journal, now: Date()) + "\n"
        if let batch = LogLineBatch.current {
            // Access-log lines of a pipelined batch go out together; anything louder goes out at
            // once, after what the batch holds, so the order of lines is kept.
            if event.level <= .info, batch.hold(line, sink: sink) { return }
            batch.flush()
        }
        sink.write(line)
    }

    /// One line, without its newline. Pure (the time is passed in), for tests.
    public static func line(level: Logger.Level, message: String, metadata: Logger.Metadata, journal: Bool, now: Date) -> String {
        var line = journal ? "<\(priority(level))>" : timestamp(now) + " " + level.rawValue + " "
        line += escapeNewlines(message)
        for key in metadata.keys.sorted() {
            line += " " + key + "=" + quoted("\(metadata[key]!)")
        }
        return line
    }

    /// sd-daemon(3) / syslog priority of a level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// Whether standard error is connected to the journal: `JOURNAL_STREAM` (set by systemd as
    /// `DEVICE:INODE`) matches file descriptor 2 (systemd.exec(5), "$JOURNAL_STREAM").
    public static func standardErrorIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Writes a line to file descriptor 2, in one `write(2)` when it fits (so lines from several
    /// threads do not interleave), retrying the rest of a short write.
    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(2, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// `2026-11-30T05:11:20.123Z`: UTC, to the nearest millisecond. Formatted by hand from
    /// `gmtime_r`: Foundation's `ISO8601FormatStyle` cost a tenth of a `system.health` call, once
    /// per access-log line.
    public static func timestamp(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var wholeSeconds = totalMilliseconds / 1000
        if totalMilliseconds % 1000 < 0 { wholeSeconds -= 1 }
        var seconds = time_t(wholeSeconds)
        let milliseconds = Int(totalMilliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8((rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2)
        bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2)
        bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2)
        bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2)
        bytes.append(UInt8(ascii: "."))
        digits(milliseconds, 3)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func escapeNewlines(_ text: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" }) else { return text }
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// The value as is when it is a plain token, else in double quotes with escapes.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar != "\"" && scalar != "\\" && scalar != "=" && scalar.value != 0x7F
        }
        if plain { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Log lines held while the JSON-RPC server answers the lines of one read (a pipelining client's
/// batch), then written together, at most ``maximumWriteBytes`` per `write(2)`.
///
/// One `write(2)` per access-log line was 8% of a pipelined `system.health` call's CPU. The
/// server binds a batch to ``current`` (a task local, so the calls of a JSON-RPC batch array,
/// which run in child tasks, share it) while it handles the lines of one read, and flushes it when
/// it has written their answers. Only lines at `info` and below are held: a notice, warning or
/// error flushes what is held and is written at once. Lines stay whole, and in order.
public final class LogLineBatch: Sendable {
    /// The batch log lines of the current task are held in; nil: written at once.
    @TaskLocal public static var current: LogLineBatch?

    /// Largest write of held lines: `PIPE_BUF`, what a pipe (and, in practice, journald's stream
    /// socket) writes without interleaving another thread's line into it.
    public static let maximumWriteBytes = 4096

    /// Lines held per destination (a handler's ``LineSink``), each written only to its own.
    private let held = Mutex<[(sink: LineSink, text: String)]>([])

    public init() {}

    /// Holds `line` (newline included) for `sink`. False when it must be written at once
    /// instead, being longer than one write may be.
    func hold(_ line: String, sink: LineSink) -> Bool {
        let size = line.utf8.count
        guard size <= Self.maximumWriteBytes else { return false }
        let full: String? = held.withLock { held in
            guard let index = held.firstIndex(where: { $0.sink === sink }) else {
                held.append((sink, line))
                return nil
            }
            var out: String? = nil
            if held[index].text.utf8.count + size > Self.maximumWriteBytes {
                out = held[index].text
                held[index].text = ""
            }
            held[index].text += line
            return out
        }
        if let full { sink.write(full) }
        return true
    }

    /// Writes what is held, one write per destination.
    public func flush() {
        let pending = held.withLock { held in
            defer { held = [] }
            return held
        }
        for (sink, text) in pending where !text.isEmpty { sink.write(text) }
    }
}

/// Where a log handler's lines go: a class, so a ``LogLineBatch`` can tell destinations apart.
final class LineSink: Sendable {
    let write: @Sendable (String) -> Void
    init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }
}
