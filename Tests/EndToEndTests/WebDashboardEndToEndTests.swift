import Foundation
import HTTPTestClient
import NIOHTTP1
import Testing

/// The dashboard through the real daemon's listener (`--dashboard`): sign-in with an operator made
/// by scimctl, a page, the security headers and Server-Timing; and a graceful shutdown that an
/// open live stream (Server-Sent Events) does not hold up. The pages themselves are tested in
/// SCIMDDashboardTests and, in a real browser, by scripts/browser-test.
@Suite struct WebDashboardEndToEndTests {
    static func cookie(_ name: String, in response: HTTPTestResponse) -> String? {
        response.headers["Set-Cookie"].lazy.compactMap { value -> String? in
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            return pair.count == 2 && pair[0] == name ? String(pair[1]) : nil
        }.first
    }

    @Test func anOperatorSignsInOverHTTPAndALiveStreamDoesNotHoldShutdown() throws {
        let daemon = try Daemon()
        try daemon.start(extra: ["--dashboard", "127.0.0.1:0", "--log-level", "info"])
        let port = try daemon.waitForHTTPPort()
        let env = ["SCIMD_SOCKET": daemon.socket]
        #expect(try runTool("scimctl", ["connections", "create", "--name", "Acme"], environment: env).status == 0)
        let added = try runTool("scimctl", ["operators", "add", "ops", "--role", "admin"], environment: env)
        let password = try #require(OperatorEndToEndTests.password(in: added.stdout))

        let http = try HTTPTestClient(port: port)
        #expect(try http.exchange(HTTPTestRequest(.GET, "/connections")).status == 303, "signed out: to the sign-in page")
        let form = try http.exchange(HTTPTestRequest(.GET, "/signin"))
        #expect(form.status == 200)
        let signinCookie = try #require(Self.cookie("scimd_signin", in: form))
        let start = try #require(form.body.range(of: "name=\"_csrf\" value=\""))
        let token = String(form.body[start.upperBound...].prefix { $0 != "\"" })
        let signedIn = try http.exchange(
            HTTPTestRequest(
                .POST, "/signin", headers: [("Cookie", "scimd_signin=\(signinCookie)"), ("Content-Type", "application/x-www-form-urlencoded")],
                body: "_csrf=\(token)&name=ops&password=\(password)&next=%2Fconnections"))
        #expect(signedIn.status == 303)
        let session = try #require(Self.cookie("scimd_session", in: signedIn))
        let page = try http.exchange(HTTPTestRequest(.GET, "/connections", headers: [("Cookie", "scimd_session=\(session)")]))
        #expect(page.status == 200 && page.body.contains("Acme"))
        #expect(page.headers["Cache-Control"] == ["no-store"] && page.headers["X-Frame-Options"] == ["DENY"])
        #expect(page.headers["Server-Timing"].first?.hasPrefix("app;dur=") == true)

        // A live stream left open: SIGTERM still stops scimd promptly and cleanly.
        let live = try HTTPTestClient(port: port)
        live.send(try live.encode(HTTPTestRequest(.GET, "/live", headers: [("Cookie", "scimd_session=\(session)")])))
        Thread.sleep(forTimeInterval: 0.5)
        let started = Date()
        #expect(daemon.stop() == 0, "\(daemon.log.suffix(2_000))")
        #expect(Date().timeIntervalSince(started) < 4, "the open event stream held shutdown (the grace period is 5 s)")
    }
}
