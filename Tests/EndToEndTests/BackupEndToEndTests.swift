import Foundation
import SCIMJSON
import Testing

/// `scimctl backup` against the running daemon, then `scimd --restore` into a new database that a
/// new daemon serves.
@Suite struct BackupEndToEndTests {
    @Test func backupWhileServingThenRestoreIntoANewDaemon() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        let created = try await daemon.client { try await $0.createConnection(name: "Acme") }
        for n in 0..<5 {
            let r = try await daemon.client {
                try await $0.handleSCIM(
                    method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(created.token)"], body: #"{"userName":"u\#(n)@example.com"}"#)
            }
            #expect(r.status == 201)
        }
        let file = daemon.directory.appendingPathComponent("backup.sqlite").path
        let backup = try runTool("scimctl", ["backup", file], environment: env)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("Backup written to \(file)"))
        let again = try runTool("scimctl", ["backup", file], environment: env)
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"), "\(again.stderr)")
        #expect(daemon.stop() == 0)

        // Restoring over the database of a running daemon is refused; into a new path it works.
        let other = try Daemon()
        try other.start()
        let busy = try runTool("scimd", ["--restore", file, "--database", other.database])
        #expect(busy.status == 2)
        #expect(busy.stderr.contains("in use"), "\(busy.stderr)")
        #expect(other.stop() == 0)
        let restore = try runTool("scimd", ["--restore", file, "--database", other.database])
        #expect(restore.status == 0, "\(restore.stderr)")
        try other.start()
        let info = try RawSocket(path: other.socket).json(#"{"jsonrpc":"2.0","id":1,"method":"connections.get","params":{"id":"Acme"}}"#)
        #expect(info["result"]?["users"] == 5)
        // The connection's token came along: the IdP needs no new one.
        let r = try await other.client {
            try await $0.handleSCIM(method: "GET", path: "/Users?count=10", headers: ["Authorization": "Bearer \(created.token)"], body: nil)
        }
        #expect(r.status == 200)
    }
}
