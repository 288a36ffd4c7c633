import Foundation
import Testing

/// The shipped units must pass `systemd-analyze verify` (with ExecStart pointed at the built binary,
/// since /usr/local/bin/scimd does not exist on a build machine).
@Suite struct SystemdUnitTests {
    static var unitDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("systemd")
    }

    @Test func unitsPassSystemdAnalyzeVerify() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            Issue.record("systemd-analyze is not installed (Debian package systemd)")
            return
        }
        let work = URL(fileURLWithPath: "/tmp/scimd-units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let service = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd.service"), encoding: .utf8)
        #expect(service.contains("Type=notify"))
        #expect(service.contains("StateDirectory=scimd"))
        #expect(service.contains("WatchdogSec="))
        #expect(service.contains("NoNewPrivileges=yes"))
        #expect(service.contains("EnvironmentFile=-/etc/default/scimd"))
        #expect(service.contains("Also=scimd.socket"))
        let socket = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd.socket"), encoding: .utf8)
        #expect(socket.contains("ListenStream=/run/scimd/"))
        #expect(socket.contains("SocketMode=0660"))
        let http = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd-http.socket"), encoding: .utf8)
        #expect(http.contains("FileDescriptorName=http"))
        #expect(http.contains("Service=scimd.service"))
        #expect(http.contains("ListenStream=127.0.0.1:"))
        let metrics = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd-metrics.socket"), encoding: .utf8)
        #expect(metrics.contains("FileDescriptorName=metrics"))
        #expect(metrics.contains("Service=scimd.service"))
        #expect(metrics.contains("ListenStream=127.0.0.1:9464"))
        let dashboard = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd-dashboard.socket"), encoding: .utf8)
        #expect(dashboard.contains("FileDescriptorName=dashboard"))
        #expect(dashboard.contains("Service=scimd.service"))
        #expect(dashboard.contains("ListenStream=127.0.0.1:8081"))
        try service.replacingOccurrences(of: "/usr/local/bin/scimd", with: Daemon.binaries.appendingPathComponent("scimd").path)
            .write(to: work.appendingPathComponent("scimd.service"), atomically: true, encoding: .utf8)
        try socket.write(to: work.appendingPathComponent("scimd.socket"), atomically: true, encoding: .utf8)
        try http.write(to: work.appendingPathComponent("scimd-http.socket"), atomically: true, encoding: .utf8)
        try metrics.write(to: work.appendingPathComponent("scimd-metrics.socket"), atomically: true, encoding: .utf8)
        try dashboard.write(to: work.appendingPathComponent("scimd-dashboard.socket"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        p.arguments = ["verify"] + ["scimd.socket", "scimd-http.socket", "scimd-metrics.socket", "scimd-dashboard.socket", "scimd.service"].map { work.appendingPathComponent($0).path }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        try p.run()
        let output = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(output)")
        #expect(output.isEmpty, "\(output)")
    }

    @Test func hardeningScoreStaysLow() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else {
            Issue.record("systemd-analyze is not installed (Debian package systemd)")
            return
        }
        let work = URL(fileURLWithPath: "/tmp/scimd-sec-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let service = try String(contentsOf: Self.unitDirectory.appendingPathComponent("scimd.service"), encoding: .utf8)
        try service.write(to: work.appendingPathComponent("scimd.service"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-analyze")
        p.arguments = ["security", "--offline=yes", work.appendingPathComponent("scimd.service").path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // "→ Overall exposure level for scimd.service: 1.1 OK"
        let line = try #require(text.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 2.0, "\(line)")
    }

    /// The sysusers.d file creates the `scimd` user and group the units run as.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-sysusers"), "needs systemd-sysusers"))
    func sysusersCreatesTheServiceUser() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-sysusers")
        p.arguments = ["--dry-run", Self.unitDirectory.appendingPathComponent("scimd.sysusers").path]
        let out = Pipe()
        p.standardError = out
        p.standardOutput = out
        try p.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(output)")
        // Dry run on a machine that has the user already creates nothing, and says nothing of it.
        #expect(!output.contains("Failed") && !output.contains("ignoring"), "\(output)")
    }
}
