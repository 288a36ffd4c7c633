import Foundation
import NIOCore
import NIOPosix
import SCIMJSON

/// A blocking Unix-socket client that sends JSON-RPC lines as bytes and counts answers by their
/// newlines: what costs the daemon CPU, with as little client work as possible on the same two
/// cores (SCIMDClient parses every answer and runs a task per call, which on this machine made
/// the client, not scimd, the bound of the pipelined `system.health` row).
struct RawLineClient {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Connects to the socket at `path`. Throws ``BenchError`` when it cannot.
    init(path: String) throws {
        fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            _ = Foundation.close(fd)
            throw BenchError("connect(\(path)): errno \(errno)")
        }
    }

    func close() { _ = Foundation.close(fd) }

    /// Writes all of `bytes`.
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress! + sent, bytes.count - sent, 0) }
            guard n > 0 else { throw BenchError("send: errno \(errno)") }
            sent += n
        }
    }

    /// Reads once (blocking) and returns how many newlines, that is whole answers, it held.
    mutating func receiveLines() throws -> Int {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw BenchError("the server closed the connection") }
        var lines = 0
        for i in 0..<n where buffer[i] == 0x0A { lines += 1 }
        return lines
    }

    /// One round trip: sends `line` (newline included) and waits for one whole answer.
    mutating func roundTrip(_ line: [UInt8]) throws {
        try send(line)
        var lines = 0
        while lines == 0 { lines += try receiveLines() }
    }

    /// One call: sends `line` (newline included) and returns the answer line, without its
    /// newline. For a client with one call at a time, so a read never holds two answers.
    mutating func call(_ line: [UInt8]) throws -> [UInt8] {
        try send(line)
        var answer: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw BenchError("the server closed the connection") }
            answer.append(contentsOf: buffer[0..<n])
            if answer.last == 0x0A { return answer.dropLast() }
        }
    }

    /// `count` sequential `scim.handle` calls on one connection, each made by `request(i)` (method,
    /// path, headers, body) and timed from its write to its answer, in µs. Throws ``BenchError``
    /// when an answer's status is not `status`.
    static func sequentialSCIM(
        path: String, count: Int, status: Int, _ request: (Int) -> (String, String, [String: String], String?)
    ) throws -> Measure.Latencies {
        var client = try RawLineClient(path: path)
        defer { client.close() }
        var samples: [Int] = []
        samples.reserveCapacity(count)
        for i in 0..<count {
            let (method, target, headers, body) = request(i)
            var params: JSONObject = [
                "method": .string(method), "path": .string(target),
                "headers": .object(JSONObject(headers.map { ($0.key, JSONValue.string($0.value)) })),
            ]
            if let body { params["body"] = .string(body) }
            let line = JSONSerializer.bytes(["jsonrpc": "2.0", "id": .int(i), "method": "scim.handle", "params": .object(params)]) + [0x0A]
            let start = DispatchTime.now().uptimeNanoseconds
            let answer = try client.call(line)
            samples.append(Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000))
            guard (try? JSONParser().parse(bytes: answer))?["result"]?["status"]?.intValue == status else {
                throw BenchError("\(method) \(target) failed: \(String(decoding: answer.prefix(300), as: UTF8.self))")
            }
        }
        return Measure.Latencies(samples: samples)
    }

    /// Sequential round trips of `line` to each server of `paths`, `count` each, in µs, one
    /// latency summary per path. The servers take turns in blocks, each warmed up first: whichever
    /// went first used to be measured cold (a bare echo server came out at 53 µs, then 14 µs once
    /// warm, so scimd looked faster than it).
    static func alternating(paths: [String], line: [UInt8], count: Int, rounds: Int = 5) throws -> [Measure.Latencies] {
        var clients = try paths.map { try RawLineClient(path: $0) }
        defer { for client in clients { client.close() } }
        var samples = [[Int]](repeating: [], count: paths.count)
        for round in 0..<rounds {
            for index in clients.indices {
                for _ in 0..<(round == 0 ? 500 : 100) { try clients[index].roundTrip(line) }  // warm-up
                for _ in 0..<max(1, count / rounds) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try clients[index].roundTrip(line)
                    samples[index].append(Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000))
                }
            }
        }
        return samples.map(Measure.Latencies.init(samples:))
    }

    /// Requests per second for `total` copies of `line` over `connections` sockets, each on its
    /// own thread, sent in bursts of 256 lines with at most 1,024 unanswered at a time (their
    /// answers fit in the socket's buffer, so neither side can block the other's writes).
    static func pipelined(path: String, line: [UInt8], total: Int, connections: Int) throws -> Double {
        let burst = 256
        let window = 1_024
        let chunk = Array([[UInt8]](repeating: line, count: burst).joined())
        let failures = HTTPWorkload.Failures()
        let start = DispatchTime.now().uptimeNanoseconds
        Lanes.run(connections) { lane in
            do {
                var client = try RawLineClient(path: path)
                defer { client.close() }
                let share = total / connections + (lane < total % connections ? 1 : 0)
                var sent = 0
                var answered = 0
                while answered < share {
                    while sent < share, sent - answered < window {
                        let k = min(burst, share - sent)
                        try client.send(k == burst ? chunk : Array(chunk[0..<(k * line.count)]))
                        sent += k
                    }
                    answered += try client.receiveLines()
                }
            } catch {
                failures.record(error)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try failures.check()
        return Double(total) / seconds
    }
}

/// ``LineEchoServer`` in a process of its own (this executable with `--echo-server PATH`), started
/// and stopped by the bench.
struct EchoProcess {
    let path: String
    private let process: Process

    /// Starts it and waits until its socket accepts connections. Throws ``BenchError`` when it
    /// does not within 10 s.
    init(path: String) throws {
        self.path = path
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--echo-server", path]
        try process.run()
        let started = Date()
        while Date().timeIntervalSince(started) < 10 {
            if let client = try? RawLineClient(path: path) {
                client.close()
                return
            }
            usleep(5_000)
        }
        process.terminate()
        throw BenchError("the echo server did not start")
    }

    /// The echo server's process id.
    var pid: Int32 { process.processIdentifier }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        unlink(path)
    }
}

/// A bare SwiftNIO newline echo server on a Unix socket: each complete line read is written back
/// as it is. The baseline of the sequential `system.health` row (issue #14 judges the daemon's
/// round trip against it, measured by the same client in the same run, because on this virtual
/// machine a round trip's time is mostly the wake-ups of both ends, not either end's work).
final class LineEchoServer {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    let path: String

    /// Binds `path` (removed first when it exists). Throws what NIO's bind throws.
    init(path: String) throws {
        self.path = path
        unlink(path)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LineEcho()) }
            }
            .bind(unixDomainSocketPath: path).wait()
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        unlink(path)
    }

    /// Echoes every complete line; keeps the unfinished rest for the next read.
    private final class LineEcho: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var pending = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            pending.writeBuffer(&bytes)
            guard let last = pending.readableBytesView.lastIndex(of: 0x0A) else { return }
            let length = last - pending.readerIndex + 1
            if let lines = pending.readSlice(length: length) {
                context.writeAndFlush(wrapOutboundOut(lines), promise: nil)
            }
            pending.discardReadBytes()
        }
    }
}

/// Runs `body(lane)` for lanes `0..<count`, each on a thread of its own, all at once, and returns
/// when every one has finished: "8 connections" are 8 clients in flight together.
/// (`DispatchQueue.concurrentPerform` runs no more iterations at a time than there are cores, so
/// on this two-core machine its "8 connections" were two at a time.)
enum Lanes {
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let finished = DispatchGroup()
        for lane in 0..<count {
            finished.enter()
            let thread = Thread {
                body(lane)
                finished.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        finished.wait()
    }
}

/// Puts processes (every thread they have) and the calling thread on one CPU for a measurement,
/// and puts them back where they were after it.
///
/// On this virtual machine a sequential round trip between two processes costs 15 µs or 60 µs
/// depending on where the scheduler put their threads: a wake-up on a halted virtual CPU goes
/// through the hypervisor. The same bare echo server measured 58–68 µs alone and 15 µs when it
/// took turns with scimd (a C client, 2026-12-02), so the ratio of the unpinned row said more
/// about placement than about either server. On one CPU every wake-up is the same cheap one, and
/// what differs between two servers is the work each does per call.
enum CPUPinning {
    /// Runs `body` with the threads of `pids` and the calling thread allowed only on `cpu`
    /// (`taskset`, util-linux: Swift does not import glibc's `sched_setaffinity`), then allows
    /// them every online CPU again, even when `body` throws. When `taskset` fails the measurement
    /// runs unpinned, and the bench says so.
    static func onOneCPU<T>(_ cpu: Int, pids: [Int32], _ body: () throws -> T) rethrows -> (T, pinned: Bool) {
        let thread = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")).flatMap { $0.split(separator: "/").last }.map(String.init)
        let targets = pids.map { ["-a", "-p", "-c", "\(cpu)", "\($0)"] } + (thread.map { [["-p", "-c", "\(cpu)", $0]] } ?? [])
        let pinned = targets.allSatisfy(taskset)
        defer {
            let all = "0-\(max(0, ProcessInfo.processInfo.activeProcessorCount - 1))"
            for target in targets {
                var restore = target
                restore[restore.count - 2] = all
                _ = taskset(restore)
            }
        }
        return (try body(), pinned && thread != nil)
    }

    private static func taskset(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
