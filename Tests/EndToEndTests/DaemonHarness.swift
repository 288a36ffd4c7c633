import Foundation
import SCIMDClient
import SCIMJSON

/// Starts the real `scimd` binary on a temporary socket and database, and stops it.
final class Daemon: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test that owns this harness, sequentially.
    let directory: URL
    let socket: String
    let database: String
    var process: Process?
    /// The daemon's log (stderr goes to a file: an unread pipe would fill and block it).
    var logFile: String { directory.appendingPathComponent("scimd.log").path }

    /// The directory holding the built executables (next to the test bundle).
    static var binaries: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 && !FileManager.default.fileExists(atPath: url.appendingPathComponent("scimd").path) {
            url.deleteLastPathComponent()
        }
        return url
    }

    /// `databaseDirectory`: where the database goes (default: the harness's own directory).
    init(databaseDirectory: URL? = nil) throws {
        // Unix socket paths are limited to ~107 bytes: keep the directory short.
        directory = URL(fileURLWithPath: "/tmp/scimd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("s.sock").path
        database = (databaseDirectory ?? directory).appendingPathComponent("db.sqlite").path
    }

    deinit {
        let diedOnItsOwn = process.map { !$0.isRunning && $0.terminationReason == .uncaughtSignal } ?? false
        stop()
        // The log goes with the directory: show it first when it explains a failure (a crash, a
        // sanitizer report), or the test's "connection closed" would be all anyone sees.
        let log = self.log
        if diedOnItsOwn || log.contains("ThreadSanitizer") || log.contains("Fatal error") {
            FileHandle.standardError.write(Data("--- scimd log (\(directory.path)) ---\n\(log.suffix(20_000))\n--- end of scimd log ---\n".utf8))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Launches scimd with `arguments` after the socket and database options and waits until it answers.
    /// With `descriptorLimit`, scimd runs with that many file descriptors at most (`ulimit -n`; the
    /// shell `exec`s scimd, so the process id is scimd's). `environment` is added to the test's own
    /// (a fake `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `SCIMD_*` options); `logLevel` nil leaves
    /// `--log-level` out (so the environment can set it); `asJournal` sets `JOURNAL_STREAM` to the
    /// log file, as systemd does for a service whose standard error is the journal.
    func start(
        extra: [String] = [], descriptorLimit: Int? = nil, environment: [String: String] = [:], logLevel: String? = "warning",
        asJournal: Bool = false
    ) throws {
        let p = Process()
        let scimd = Self.binaries.appendingPathComponent("scimd")
        // Cheap operator password hashes: scrypt at the default cost takes about a second in a debug build.
        let arguments = ["--socket", socket, "--database", database, "--password-hash-cost", "10"] + (logLevel.map { ["--log-level", $0] } ?? []) + extra
        var environment = environment
        if let descriptorLimit {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", scimd.path] + arguments
        } else {
            p.executableURL = scimd
            p.arguments = arguments
        }
        FileManager.default.createFile(atPath: logFile, contents: nil)
        if asJournal {
            var info = stat()
            if stat(logFile, &info) == 0 { environment["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)" }
        }
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        // Never the test's own stdout: a daemon outliving a crashed test would hold it open.
        let (output, errors) = (FileHandle(forWritingAtPath: logFile), FileHandle(forWritingAtPath: logFile))
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        // The daemon has its own copies; the test process's would stay open as long as the daemon
        // runs (two descriptors per daemon: see scripts/test on why the test process keeps its descriptors few).
        try? output?.close()
        try? errors?.close()
        process = p
        try waitUntilAnswering()
    }

    /// Launches scimd with the SCIM HTTP listener on a free loopback port (`--http 127.0.0.1:0`)
    /// and returns that port, read from the line scimd logs once it listens.
    func startHTTP(extra: [String] = []) throws -> Int {
        try start(extra: ["--http", "127.0.0.1:0", "--log-level", "info"] + extra)
        return try waitForHTTPPort()
    }

    /// The port of `url=http://127.0.0.1:PORT/…` in the daemon's log.
    func waitForHTTPPort(timeout: TimeInterval = 20) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            if let range = log.range(of: "url=http://127.0.0.1:") {
                let digits = log[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return port }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("scimd logged no SCIM HTTP listener within \(timeout)s")
    }

    /// The log so far (for failure messages).
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    func waitUntilAnswering(timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = try? RawSocket(path: socket).request(#"{"jsonrpc":"2.0","id":0,"method":"system.health"}"#),
                line.contains("\"ok\"")
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw HarnessError("scimd did not answer on \(socket) within \(timeout)s")
    }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process, p.isRunning else { return process?.terminationStatus ?? 0 }
        p.terminate()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func client<T: Sendable>(_ body: (SCIMDClient) async throws -> T) async throws -> T {
        try await SCIMDClient.withConnection(socketPath: socket, body)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A blocking Unix-socket client that speaks raw bytes, for tests of the framing itself.
final class RawSocket {
    /// The socket; -1 once closed.
    var fd: Int32
    var buffer: [UInt8] = []

    init(path: String, receiveTimeout: Int = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else {
            // deinit runs for an initializer that throws once every property is set: without
            // the -1 it would close this number again, by then maybe another test's socket.
            close(fd)
            fd = -1
            throw HarnessError("connect failed: \(errno)")
        }
        var tv = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ text: String) {
        send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// The next line, or nil on EOF/timeout.
    func readLine() -> String? {
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeSubrange(...i)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            // With SO_RCVTIMEO set, a signal interrupts recv even under SA_RESTART (signal(7)).
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// True when the peer closed the connection (EOF) within the receive timeout.
    func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return true }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    func request(_ line: String) throws -> String {
        send(line + "\n")
        guard let response = readLine() else { throw HarnessError("no response") }
        return response
    }

    func json(_ line: String) throws -> JSONValue {
        try JSONParser().parse(try request(line))
    }
}

/// Runs an executable from the build directory and captures its output.
func runTool(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = Daemon.binaries.appendingPathComponent(name)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
