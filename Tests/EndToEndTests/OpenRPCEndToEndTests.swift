import Foundation
import Testing

/// The RPC contract against the real daemon: `scripts/check-openrpc` validates `rpc.discover`
/// against the OpenRPC meta-schema with Python's jsonschema, calls every method's example and
/// checks params and answers against the method's schemas, and runs the README's Python client.
@Suite(.serialized) struct OpenRPCEndToEndTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs the checker on `socket`; its exit status and everything it printed.
    func runChecker(socket: String, scratch: String) throws -> (status: Int32, output: String) {
        let check = Process()
        check.executableURL = Self.root.appendingPathComponent("scripts/check-openrpc")
        check.arguments = [socket, scratch]
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        return (check.terminationStatus, text)
    }

    @Test func everyExampleAnswersAsItsSchemasSayAndTheDocumentIsValidOpenRPC() throws {
        let daemon = try Daemon()
        defer { daemon.stop() }
        try daemon.start()
        let (status, text) = try runChecker(socket: daemon.socket, scratch: daemon.directory.path)
        #expect(status == 0, "\(text)")
        #expect(text.contains(" 0 failed"), "\(text)")
        // The run reached the examples and the README client (not a setup failure with few checks).
        #expect(text.contains("scim.commit: example called with the run's own commitId"), "\(text)")
    }

    /// The checker is not a test that cannot fail: a daemon whose state differs from what the
    /// examples expect (no connection Acme: setup's first call is refused) makes it fail.
    @Test func theCheckerFailsWhenTheDaemonDoesNotAnswerAsDocumented() throws {
        let daemon = try Daemon()
        defer { daemon.stop() }
        try daemon.start()
        _ = try RawSocket(path: daemon.socket).request(
            #"{"jsonrpc":"2.0","id":1,"method":"connections.create","params":{"name":"Acme"}}"#)
        let (status, text) = try runChecker(socket: daemon.socket, scratch: daemon.directory.path)
        #expect(status != 0, "\(text)")
        #expect(text.contains("conflict"), "\(text)")
    }
}
