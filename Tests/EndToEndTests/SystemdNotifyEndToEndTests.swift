import Foundation
import Testing

/// A fake systemd notification socket: a Unix datagram socket the test binds and hands to scimd
/// as `NOTIFY_SOCKET`, collecting every `sd_notify(3)` message it sends.
final class NotifySocket {
    let path: String
    private var fd: Int32
    /// Every message received so far, in order (one datagram each, e.g. "READY=1\nSTATUS=…").
    private(set) var messages: [String] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            fd = -1
            throw HarnessError("bind \(path) failed: \(errno)")
        }
        // Short receive timeouts, so waiting loops can check their deadline.
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        if fd >= 0 { close(fd) }
        unlink(path)
    }

    /// Receives until some message satisfies `condition` or `timeout` passes; true when one did.
    /// Every message received meanwhile is kept in ``messages``.
    func wait(timeout: TimeInterval, until condition: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !condition(messages) {
            guard Date() < deadline else { return false }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { messages.append(String(decoding: buffer[..<n], as: UTF8.self)) }
        }
        return true
    }

    /// The messages holding `assignment` (such as "READY=1") as one of their lines.
    func count(_ assignment: String) -> Int {
        messages.filter { $0.split(separator: "\n").contains(Substring(assignment)) }.count
    }
}

/// scimd's systemd integration (`Type=notify`, `WatchdogSec=`), checked against the real binary
/// with a fake `NOTIFY_SOCKET`: READY=1 once it serves, WATCHDOG=1 pings while `WATCHDOG_USEC` is
/// set, STOPPING=1 after SIGTERM.
@Suite(.serialized) struct SystemdNotifyEndToEndTests {
    @Test func readyWatchdogAndStoppingAreNotified() throws {
        let daemon = try Daemon()
        let notify = try NotifySocket(path: daemon.directory.appendingPathComponent("notify.sock").path)
        // 400 ms: scimd pings at half of it. WATCHDOG_PID is left unset: sd_watchdog_enabled(3)
        // then accepts the variables for any process (set, it must be scimd's own pid, which is
        // only known after the launch).
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        // start() returned once scimd answered, so READY=1 was sent before; it arrives in order.
        #expect(notify.wait(timeout: 10) { $0.contains { $0.hasPrefix("READY=1") } }, "\(notify.messages)")
        let ready = try #require(notify.messages.first { $0.hasPrefix("READY=1") })
        #expect(ready.contains("STATUS=serving JSON-RPC"), "\(ready)")
        #expect(notify.count("READY=1") == 1)
        // Several pings: the watchdog runs on, not just once at start.
        #expect(notify.wait(timeout: 10) { $0.filter { $0 == "WATCHDOG=1" }.count >= 3 }, "\(notify.messages)")
        #expect(notify.count("STOPPING=1") == 0, "nothing says stopping before SIGTERM")
        #expect(daemon.stop() == 0)
        #expect(notify.wait(timeout: 5) { $0.contains { $0.hasPrefix("STOPPING=1") } }, "\(notify.messages)")
        // STOPPING comes last, after every READY and WATCHDOG.
        #expect(notify.messages.last?.hasPrefix("STOPPING=1") == true, "\(notify.messages)")
        #expect(notify.count("STOPPING=1") == 1)
    }

    @Test func noWatchdogPingsWithoutWatchdogUsec() throws {
        let daemon = try Daemon()
        let notify = try NotifySocket(path: daemon.directory.appendingPathComponent("notify.sock").path)
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notify.wait(timeout: 10) { $0.contains { $0.hasPrefix("READY=1") } }, "\(notify.messages)")
        #expect(daemon.stop() == 0)
        // Everything scimd sent has arrived once STOPPING=1 (its last message) has.
        #expect(notify.wait(timeout: 5) { $0.contains { $0.hasPrefix("STOPPING=1") } }, "\(notify.messages)")
        #expect(notify.count("WATCHDOG=1") == 0, "\(notify.messages)")
        #expect(notify.messages.count == 2, "READY and STOPPING only: \(notify.messages)")
    }
}
