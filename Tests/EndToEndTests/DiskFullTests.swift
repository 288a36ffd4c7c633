import Foundation
import SCIMJSON
import Testing

/// A small tmpfs the test mounts and unmounts itself (root only).
final class SmallDisk {
    let mountPoint: URL
    private(set) var mounted = false

    /// Whether this process may mount a tmpfs (root, and the sandbox allows it).
    static let canMount: Bool = {
        guard getuid() == 0, let probe = try? SmallDisk(kilobytes: 64) else { return false }
        probe.unmount()
        return true
    }()

    init(kilobytes: Int) throws {
        mountPoint = URL(fileURLWithPath: "/tmp/scimd-disk-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let status = try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k,mode=0700", "tmpfs", mountPoint.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: mountPoint)
            throw HarnessError("mount failed with status \(status)")
        }
        mounted = true
    }

    deinit { unmount() }

    func unmount() {
        if mounted { _ = try? Self.run("/bin/umount", ["-l", mountPoint.path]) }
        mounted = false
        try? FileManager.default.removeItem(at: mountPoint)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// The real daemon with its database on a file system that fills up.
@Suite(.serialized) struct DiskFullTests {
    @Test(.enabled(if: SmallDisk.canMount, "needs root and a tmpfs mount"))
    func aFullDiskIsReportedOnceRefusedClearlyAndRecoveredFrom() async throws {
        let disk = try SmallDisk(kilobytes: 4_096)
        defer { disk.unmount() }
        // Ballast, removed later to give the daemon room again.
        let ballast = disk.mountPoint.appendingPathComponent("ballast")
        try Data(count: 2_560 * 1024).write(to: ballast)
        let daemon = try Daemon(databaseDirectory: disk.mountPoint)
        // The disk check would fail on a 4 MiB file system from the start: this test is about writes.
        try daemon.start(extra: ["--log-level", "notice", "--min-free-disk-mb", "0"])
        let rpc = try RawSocket(path: daemon.socket)
        let created = try rpc.json(#"{"jsonrpc":"2.0","id":1,"method":"connections.create","params":{"name":"Acme"}}"#)
        let token = try #require(created["result"]?["token"]?.stringValue)

        func post(_ n: Int, titleLength: Int = 2_000) throws -> JSONValue {
            let body = JSONSerializer.string([
                "userName": .string("user\(n)@example.com"), "title": .string(String(repeating: "t", count: titleLength)),
            ])
            let params: JSONValue = [
                "method": "POST", "path": "/Users", "headers": ["Authorization": .string("Bearer \(token)")], "body": .string(body),
            ]
            let line = JSONSerializer.string(["jsonrpc": "2.0", "id": .int(n), "method": "scim.handle", "params": params])
            return try #require(try rpc.json(line)["result"])
        }

        // Fill the disk: every acknowledged create is remembered.
        var acknowledged = 0
        var full: JSONValue? = nil
        for n in 0..<5_000 {
            let result = try post(n)
            if result["status"] == 201 { acknowledged += 1; continue }
            full = result
            break
        }
        let refused = try #require(full, "the disk never filled")
        #expect(refused["status"] == 507)
        #expect(refused["headers"]?["Retry-After"] == "60")
        #expect(refused["body"]?.stringValue?.contains("storage is full") == true)
        // More writes are refused the same way; the log says it once.
        for n in 0..<5 { #expect(try post(10_000 + n)["status"] == 507) }
        // A small RPC write can still fit: SQLite reuses the WAL's own pages after a checkpoint, and
        // a refused transaction leaves its free pages behind. Every success adds rows, so a later
        // attempt must find the disk full; that refusal is what the RPC caller sees.
        var rpcRefusal: JSONValue? = nil
        for n in 0..<2_000 where rpcRefusal == nil {
            let answer = try rpc.json(#"{"jsonrpc":"2.0","id":2,"method":"connections.create","params":{"name":"Other \#(n)"}}"#)
            if answer["error"] != nil { rpcRefusal = answer }
        }
        let refusal = try #require(rpcRefusal, "connections.create was never refused on the full disk")
        #expect(refusal["error"]?["data"]?["kind"] == "storage_full", "\(refusal)")
        #expect(refusal["error"]?["code"] == -32010)
        let degraded = try rpc.json(#"{"jsonrpc":"2.0","id":3,"method":"system.health"}"#)
        #expect(degraded["result"]?["status"] == "degraded")
        #expect(daemon.log.components(separatedBy: "database storage is full").count - 1 == 1, "\(daemon.log.suffix(2_000))")
        #expect(!daemon.log.contains("internal error"))

        // Space comes back: writes succeed at once; health recovers (and the log says so) at the
        // first write after 5 s without a refusal.
        try FileManager.default.removeItem(at: ballast)
        #expect(try post(20_000)["status"] == 201)
        acknowledged += 1
        var status: JSONValue? = nil
        for n in 1...40 where status != "ok" {
            try await Task.sleep(for: .milliseconds(250))
            let r = try post(20_000 + n, titleLength: 10)
            #expect(r["status"] == 201, "\(r)")
            if r["status"] == 201 { acknowledged += 1 }
            status = try rpc.json(#"{"jsonrpc":"2.0","id":4,"method":"system.health"}"#)["result"]?["status"]
        }
        #expect(status == "ok")
        #expect(daemon.log.components(separatedBy: "database storage is writable again").count - 1 == 1)
        #expect(daemon.log.components(separatedBy: "database storage is full").count - 1 == 1)

        // Every acknowledged create survived, and nothing refused was stored.
        #expect(daemon.stop() == 0)
        try daemon.start()
        let count = try RawSocket(path: daemon.socket).json(#"{"jsonrpc":"2.0","id":5,"method":"connections.get","params":{"id":"Acme"}}"#)
        #expect(count["result"]?["users"]?.intValue == acknowledged)
        daemon.stop()
    }
}
