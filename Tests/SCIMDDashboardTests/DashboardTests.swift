import Foundation
import Logging
import SCIMDDashboard
import SCIMDProtocol
import SCIMDService
import SCIMDStore
import SCIMJSON
import Synchronization
import Testing

/// Operators for tests: fixed names and passwords; removable.
final class TestOperators: OperatorDirectory {
    private let operators = Mutex<[String: (DashboardOperator, String)]>([:])

    func add(_ name: String, role: DashboardOperator.Role, password: String) -> DashboardOperator {
        let op = DashboardOperator(id: UUID().uuidString.lowercased(), name: name, role: role)
        operators.withLock { $0[op.id] = (op, password) }
        return op
    }

    func remove(_ id: String) { operators.withLock { _ = $0.removeValue(forKey: id) } }

    func authenticate(name: String, password: String) async -> DashboardOperator? {
        operators.withLock { all in all.values.first { $0.0.name == name && $0.1 == password }?.0 }
    }

    func currentOperator(id: String) -> DashboardOperator? { operators.withLock { $0[id]?.0 } }
}

/// A dashboard over a fresh service and database, and a browser-like cookie jar.
final class DashboardFixture: Sendable {
    let directory: URL
    let service: SCIMDService
    let operators = TestOperators()
    let dashboard: Dashboard

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-dashboard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path)
        var configuration = ServiceConfiguration()
        configuration.passwordHashLogRounds = 10  // scrypt unoptimized (debug, sanitizer) is slow at the default
        service = try SCIMDService(store: store, configuration: configuration, logger: Logger(label: "test"))
        dashboard = try Dashboard(service: service, operators: operators, logger: Logger(label: "test"))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The seed's story: a connection whose mapping looks for `group` at the enterprise path,
    /// and a user whose IdP sent it at the top level.
    func seed() async throws -> (connection: ConnectionWithToken, userId: String) {
        let connection = try await service.createConnection(.init(name: "Acme"))
        let info = try await service.getMapping(connection.connection.id)
        var users = try info.usersDefinition()
        users.properties.append(
            MappingPropertyDefinition(
                name: "group", type: .named("string"), path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group",
                warnIfMissing: true))
        _ = try await service.setMapping(try MappingChange.typed(connection: connection.connection.id, users: users))
        let body: JSONValue = [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com", "externalId": "00u1",
            "name": ["givenName": "Ann", "familyName": "Lee"], "emails": [["value": "ann@example.com", "primary": true]],
            "active": true, "group": "Managers",
        ]
        let result = await service.handleSCIM(
            .init(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(connection.token)", "Content-Type": "application/scim+json"],
                body: JSONSerializer.string(body)))
        #expect(result.status == 201, "\(result.body ?? "")")
        let id = (try JSONParser().parse(result.body ?? "{}"))["id"]?.stringValue ?? ""
        return (connection, id)
    }
}

/// A browser: keeps cookies, reads the CSRF token off the last page.
struct Browser {
    let dashboard: Dashboard
    var cookies: [String: String] = [:]
    var lastPage = ""

    init(_ dashboard: Dashboard) { self.dashboard = dashboard }

    mutating func send(_ method: String, _ target: String, form: [(String, String)] = []) async -> DashboardResponse {
        let body = form.map { "\($0.0.urlEncoded)=\($0.1.urlEncoded)" }.joined(separator: "&")
        var headers: [(name: String, value: String)] = []
        if !cookies.isEmpty { headers.append(("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))) }
        if method == "POST" { headers.append(("Content-Type", "application/x-www-form-urlencoded")) }
        let response = await dashboard.respond(to: DashboardRequest(method: method, target: target, headers: headers, body: Array(body.utf8)))
        for (name, value) in response.headers where name == "Set-Cookie" {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let cookieName = String(pair[0]), cookieValue = pair.count > 1 ? String(pair[1]) : ""
            if cookieValue.isEmpty { cookies[cookieName] = nil } else { cookies[cookieName] = cookieValue }
        }
        lastPage = String(decoding: response.body, as: UTF8.self)
        return response
    }

    mutating func get(_ target: String) async -> DashboardResponse { await send("GET", target) }

    /// Posts a form as the page would: with the CSRF token from the last page.
    mutating func post(_ target: String, _ form: [(String, String)], csrf: String? = nil) async -> DashboardResponse {
        await send("POST", target, form: [("_csrf", csrf ?? csrfToken)] + form)
    }

    var csrfToken: String { Self.hiddenValue("_csrf", in: lastPage) ?? "" }

    /// The value of the first hidden input named `name` on the page (HTML-unescaped).
    static func hiddenValue(_ name: String, in page: String) -> String? {
        guard let range = page.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = page[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end]).htmlUnescaped
    }

    mutating func signIn(_ name: String, _ password: String) async -> DashboardResponse {
        _ = await get("/signin")
        return await post("/signin", [("name", name), ("password", password), ("next", "/connections")])
    }
}

extension String {
    var urlEncoded: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }

    var htmlUnescaped: String {
        replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

extension DashboardResponse {
    func header(_ name: String) -> String? { headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
    var text: String { String(decoding: body, as: UTF8.self) }
}

@Suite struct DashboardTests {
    @Test func pagesNeedASignInAndComeBackToWhereTheOperatorWasGoing() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "correct horse")
        var browser = Browser(f.dashboard)
        let page = await browser.get("/connections/Acme/users?q=ann")
        #expect(page.status == 303)
        #expect(page.header("Location") == "/signin?next=%2Fconnections%2FAcme%2Fusers%3Fq%3Dann")
        _ = await browser.get(page.header("Location")!)
        #expect(browser.lastPage.contains("name=\"next\" value=\"/connections/Acme/users?q=ann\""))
        let token = browser.csrfToken
        let signedIn = await browser.post("/signin", [("name", "ops"), ("password", "correct horse"), ("next", "/connections/Acme/users?q=ann")], csrf: token)
        #expect(signedIn.status == 303)
        #expect(signedIn.header("Location") == "/connections/Acme/users?q=ann")
        let cookie = signedIn.headers.first { $0.value.hasPrefix("scimd_session=") }?.value ?? ""
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
        #expect(!cookie.contains("Secure"), "plain HTTP on loopback: a Secure cookie would never come back")
        #expect(await browser.get("/connections").status == 200)
    }

    @Test func wrongPasswordsUnknownNamesAndForeignSignInFormsAreRefused() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "correct horse")
        var browser = Browser(f.dashboard)
        #expect(await browser.signIn("ops", "wrong").status == 401)
        #expect(browser.lastPage.contains("Wrong name or password."))
        #expect(await browser.signIn("nobody", "correct horse").status == 401)
        #expect(browser.cookies["scimd_session"] == nil)
        // Login CSRF: a form posted from elsewhere has no matching sign-in cookie.
        var stranger = Browser(f.dashboard)
        let forged = await stranger.send("POST", "/signin", form: [("_csrf", "forged"), ("name", "ops"), ("password", "correct horse")])
        #expect(forged.status == 403)
        #expect(stranger.cookies["scimd_session"] == nil)
    }

    @Test func afterSignInTheDashboardNeverRedirectsToAnotherSite() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        for next in ["//evil.example/x", "https://evil.example/", "/signin", "/\\evil.example", "/\tevil"] {
            var browser = Browser(f.dashboard)
            _ = await browser.get("/signin")
            let response = await browser.post("/signin", [("name", "ops"), ("password", "pw"), ("next", next)])
            #expect(response.header("Location") == "/connections", "next=\(next)")
        }
    }

    /// The seed's story, form by form: the warning shows, the trace shows where `group` was
    /// looked for and the raw data where it is, the operator adds the fallback path, previews, saves.
    @Test func anOperatorFindsTheMissingGroupAndFixesTheMappingWithAFallbackPath() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, userId) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        #expect(await browser.signIn("ops", "pw").status == 303)

        _ = await browser.get("/connections")
        #expect(browser.lastPage.contains("href=\"\(base)/warnings\">1</a>"))
        #expect(browser.lastPage.contains("over the last 7 days: 1 in all, 0 with errors"), "the POST /Users in the chart")

        #expect(await browser.get("\(base)/warnings").status == 200)
        #expect(browser.lastPage.contains("ann@example.com"))
        #expect(browser.lastPage.contains("no value at urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group"))

        #expect(await browser.get("\(base)/users/\(userId)").status == 200)
        let userPage = browser.lastPage
        #expect(userPage.contains("<code>urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:group</code> — nothing there"))
        #expect(userPage.contains("&quot;group&quot;: &quot;Managers&quot;"), "the raw data as stored")

        _ = await browser.get("\(base)/mapping")
        #expect(browser.lastPage.contains("<strong>group</strong>: 1 open"))
        #expect(!browser.lastPage.contains("Add group as a fallback path of group"), "suggestions only on request")
        _ = await browser.get("\(base)/mapping?kind=users&suggest=group")
        #expect(browser.lastPage.contains("Add group as a fallback path of group"), "mapping.suggest found the top-level group")
        let edit = await browser.post(
            "\(base)/mapping/edit",
            [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: browser.lastPage)!),
             ("draft", Browser.hiddenValue("draft", in: browser.lastPage)!), ("action", "addFallbackPath"), ("property", "group"), ("path", "group")])
        #expect(edit.status == 200)
        #expect(browser.lastPage.contains("group: 1 resource would have their warning resolved"))
        #expect(browser.lastPage.contains("group: fallback path group added"))
        // Nothing is saved by a preview.
        #expect(try await f.service.getMapping(connection.connection.id).version == 2)

        let saved = await browser.post(
            "\(base)/mapping/save",
            [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: browser.lastPage)!),
             ("draft", Browser.hiddenValue("draft", in: browser.lastPage)!), ("comment", "group at the top level")])
        #expect(saved.status == 303)
        #expect(saved.header("Location") == "\(base)/mapping?kind=users", "the message travels in the session, not the URL")
        _ = await browser.get(saved.header("Location")!)
        #expect(browser.lastPage.contains("Saved version 3: 1 of"))
        _ = await browser.get(saved.header("Location")!)
        #expect(!browser.lastPage.contains("Saved version 3"), "shown once")
        _ = await browser.get("\(base)/mapping?notice=Sign%20in%20at%20evil.example")
        #expect(!browser.lastPage.contains("evil.example"), "a crafted link cannot show a message")
        _ = await browser.get("\(base)/users/\(userId)")
        #expect(browser.lastPage.contains("<code class=\"value\">&quot;Managers&quot;</code>"))
        #expect(browser.lastPage.contains("<code>group</code> — matched"))
        #expect(!browser.lastPage.contains("Open warnings"))
        _ = await browser.get("\(base)/warnings")
        #expect(browser.lastPage.contains("No open warnings"))
        let user = try await f.service.getUser(.init(connection: connection.connection.id, id: userId))
        #expect(user.warnings.isEmpty)
    }

    @Test func aFormWithoutTheSessionsCSRFTokenChangesNothing() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, _) = try await f.seed()
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        let base = "/connections/\(connection.connection.id)"
        for token in ["", "not-the-token"] {
            let response = await browser.post("\(base)/settings", [("disabled", "true")], csrf: token)
            #expect(response.status == 403)
            #expect(browser.lastPage.contains("security token"))
        }
        #expect(try await f.service.getConnection(connection.connection.id).disabled == false)
        _ = await browser.get("\(base)/settings")
        #expect(await browser.post("\(base)/settings", [("disabled", "true")]).status == 303)
        #expect(try await f.service.getConnection(connection.connection.id).disabled == true)
    }

    @Test func viewersSeeEverythingAndChangeNothing() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("viewer", role: .viewer, password: "pw")
        let (connection, userId) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("viewer", "pw")
        for page in ["/connections", "\(base)/users", "\(base)/users/\(userId)", "\(base)/groups", "\(base)/warnings", "\(base)/mapping",
                     "\(base)/mapping/history", "\(base)/requests", "\(base)/events", "\(base)/settings"] {
            #expect(await browser.get(page).status == 200, "\(page)")
        }
        _ = await browser.get("\(base)/mapping")
        #expect(!browser.lastPage.contains("Add fallback path"), "no edit forms for a viewer")
        let info = try await f.service.getMapping(connection.connection.id)
        let response = await browser.post(
            "\(base)/mapping/save", [("kind", "users"), ("baseVersion", "\(info.version)"), ("draft", #"{"properties":[]}"#)])
        #expect(response.status == 403)
        #expect(browser.lastPage.contains("Viewers cannot change anything"))
        #expect(try await f.service.getMapping(connection.connection.id).version == info.version)
        #expect(await browser.post("\(base)/settings", [("disabled", "true")]).status == 403)
        #expect(try await f.service.getConnection(connection.connection.id).disabled == false)
    }

    @Test func twoOperatorsSavingFromTheSameVersionGetAConflictNotALostEdit() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("a", role: .admin, password: "pw")
        _ = f.operators.add("b", role: .admin, password: "pw")
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var first = Browser(f.dashboard), second = Browser(f.dashboard)
        _ = await first.signIn("a", "pw")
        _ = await second.signIn("b", "pw")
        _ = await first.get("\(base)/mapping")
        _ = await second.get("\(base)/mapping")
        func save(_ browser: inout Browser, path: String) async -> DashboardResponse {
            let page = browser.lastPage
            _ = await browser.post(
                "\(base)/mapping/edit",
                [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: page)!), ("draft", Browser.hiddenValue("draft", in: page)!),
                 ("action", "addFallbackPath"), ("property", "group"), ("path", path)])
            let draft = browser.lastPage
            return await browser.post(
                "\(base)/mapping/save",
                [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: draft)!), ("draft", Browser.hiddenValue("draft", in: draft)!)])
        }
        #expect(await save(&first, path: "group").status == 303)
        let conflict = await save(&second, path: "department")
        #expect(conflict.status == 409)
        #expect(second.lastPage.contains("Not saved: another change was saved"))
        let users = try await f.service.getMapping(connection.connection.id).usersDefinition()
        #expect(users.properties.first { $0.name == "group" }?.fallbackPaths == ["group"])
    }

    @Test func aBadPathInAnEditIsExplainedAndTheDraftKeptAsItWas() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("\(base)/mapping")
        let draft = Browser.hiddenValue("draft", in: browser.lastPage)!
        let response = await browser.post(
            "\(base)/mapping/edit",
            [("kind", "users"), ("baseVersion", "2"), ("draft", draft), ("action", "addFallbackPath"), ("property", "group"), ("path", "emails[type eq")])
        #expect(response.status == 400)
        #expect(browser.lastPage.contains("That change was not applied"))
        #expect(Browser.hiddenValue("draft", in: browser.lastPage) == draft)
        let garbage = await browser.post(
            "\(base)/mapping/edit", [("kind", "users"), ("baseVersion", "2"), ("draft", "{not json"), ("action", "removeProperty"), ("property", "group")])
        #expect(garbage.status == 400)
        #expect(browser.lastPage.contains("is not a mapping"))
    }

    @Test func whatTheIdPSentIsShownAsTextNeverAsMarkup() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .viewer, password: "pw")
        let connection = try await f.service.createConnection(.init(name: "Acme"))
        let body: JSONValue = ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "<script>alert(1)</script>"]
        let created = await f.service.handleSCIM(
            .init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(connection.token)"], body: JSONSerializer.string(body)))
        #expect(created.status == 201)
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("/connections/\(connection.connection.id)/users")
        #expect(!browser.lastPage.contains("<script>"))
        #expect(browser.lastPage.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func theRequestPageNeverShowsTheBearerToken() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .viewer, password: "pw")
        let (connection, _) = try await f.seed()
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        let requests = try await f.service.listRequests(.init(connection: connection.connection.id))
        _ = await browser.get("/connections/\(connection.connection.id)/requests?method=POST&resourceType=User&from=2000-01-01T00%3A00")
        #expect(browser.lastPage.contains("POST /Users") && !browser.lastPage.contains("No requests match"))
        #expect(browser.lastPage.contains("<option value=\"POST\" selected>POST</option>"))
        _ = await browser.get("/connections/\(connection.connection.id)/requests?method=DELETE")
        #expect(browser.lastPage.contains("No requests match"))
        #expect(await browser.get("/connections/\(connection.connection.id)/requests?until=soon").status == 400)
        for request in requests.requests {
            #expect(await browser.get("/connections/\(connection.connection.id)/requests/\(request.id)").status == 200)
            #expect(!browser.lastPage.contains(connection.token))
        }
        #expect(!requests.requests.isEmpty)
    }

    @Test func removingAnOperatorEndsTheirSessionsAtOnce() async throws {
        let f = try DashboardFixture()
        let op = f.operators.add("ops", role: .admin, password: "pw")
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        #expect(await browser.get("/connections").status == 200)
        f.operators.remove(op.id)
        #expect(await browser.get("/connections").status == 303)
        #expect(await browser.post("/signout", []).status == 403)
    }

    @Test func resettingAnOperatorsPasswordSignsOutTheirSessions() async throws {
        let f = try DashboardFixture()
        let dashboard = try Dashboard(service: f.service, operators: f.service, logger: Logger(label: "test"))
        let added = try await f.service.addOperator(.init(name: "olivia", role: .admin))
        var browser = Browser(dashboard)
        #expect(await browser.signIn("olivia", added.password).status == 303)
        #expect(await browser.get("/connections").status == 200)
        try await Task.sleep(for: .milliseconds(5))  // a new passwordChangedAt (milliseconds)
        let reset = try await f.service.resetOperatorPassword("olivia")
        #expect(await browser.get("/connections").status == 303, "the session of the old password ended")
        #expect(await browser.signIn("olivia", reset.password).status == 303)
        #expect(await browser.get("/connections").status == 200)
    }

    @Test func signingOutEndsTheSession() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("/connections")
        let session = browser.cookies["scimd_session"]
        #expect(await browser.post("/signout", []).status == 303)
        #expect(browser.cookies["scimd_session"] == nil)
        // The old cookie, replayed, no longer works.
        browser.cookies["scimd_session"] = session
        #expect(await browser.get("/connections").status == 303)
    }

    @Test func rotatingTheTokenShowsTheNewOneOnceAndKeepsTheOldOneForTheOverlap() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("\(base)/settings")
        #expect(await browser.post("\(base)/settings/rotate-token", [("overlapSeconds", "12345")]).status == 400, "only the offered overlaps")
        _ = await browser.get("\(base)/settings")
        let rotated = await browser.post("\(base)/settings/rotate-token", [("overlapSeconds", "3600")])
        #expect(rotated.status == 200 && rotated.header("Cache-Control") == "no-store")
        let page = browser.lastPage
        guard let start = page.range(of: "<code id=\"new-token\">"), let end = page[start.upperBound...].range(of: "</code>") else {
            Issue.record("no new token on the page")
            return
        }
        let token = String(page[start.upperBound..<end.lowerBound])
        #expect(token != connection.token && token.count >= 32)
        for bearer in [token, connection.token] {
            let answer = await f.service.handleSCIM(.init(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(bearer)"]))
            #expect(answer.status == 200, "the new token, and the old one during the overlap")
        }
        _ = await browser.get("\(base)/settings")
        #expect(!browser.lastPage.contains(token), "shown once")
    }

    @Test func ssoMatchingAndConfirmModeChangeFromSettingsAndBadValuesAreRefused() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("\(base)/settings")
        let saved = await browser.post("\(base)/settings", [("sso", "claim_property"), ("claim", "employee_id"), ("property", "externalId"), ("confirmMode", "true")])
        #expect(saved.status == 303)
        let info = try await f.service.getConnection(connection.connection.id)
        #expect(info.sso == SSOStrategy(kind: "claim_property", claim: "employee_id", property: "externalId") && info.confirmMode)
        _ = await browser.get("\(base)/settings")
        #expect(browser.lastPage.contains("<option selected>claim_property</option>"))
        let refused = await browser.post("\(base)/settings", [("sso", "telepathy")])
        #expect(refused.status == 400)
        #expect(try await f.service.getConnection(connection.connection.id).sso.kind == "claim_property", "nothing half-applied")
        _ = await browser.get("\(base)/settings")
        #expect(await browser.post("\(base)/settings", [("disabled", "maybe")]).status == 400)
    }

    @Test func anAdminReplaysALoggedRequestThroughTheEngine() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        let (connection, userId) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        let deactivate: JSONValue = [
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "active", "value": false]],
        ]
        _ = await f.service.handleSCIM(
            .init(method: "PATCH", path: "/Users/\(userId)", headers: ["Authorization": "Bearer \(connection.token)"], body: JSONSerializer.string(deactivate)))
        let reactivate: JSONValue = [
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "active", "value": true]],
        ]
        _ = await f.service.handleSCIM(
            .init(method: "PATCH", path: "/Users/\(userId)", headers: ["Authorization": "Bearer \(connection.token)"], body: JSONSerializer.string(reactivate)))
        let logged = try await f.service.listRequests(.init(connection: connection.connection.id)).requests
        guard let deactivation = logged.first(where: { $0.method == "PATCH" && $0.id == logged.filter { $0.method == "PATCH" }.map(\.id).min() }) else {
            Issue.record("the PATCH was not logged")
            return
        }
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("\(base)/requests/\(deactivation.id)")
        #expect(browser.lastPage.contains("Replay this request"))
        let replayed = await browser.post("\(base)/requests/\(deactivation.id)/replay", [])
        #expect(replayed.status == 303)
        let user = try await f.service.getUser(.init(connection: connection.connection.id, id: userId))
        #expect(user.scim["active"] == .bool(false), "the replayed PATCH deactivated the user again")
        _ = await browser.get(replayed.header("Location") ?? "")
        #expect(browser.lastPage.contains("Replayed PATCH"))
        #expect(await browser.post("\(base)/requests/999999/replay", []).status == 404)
    }

    /// The daemon's own operators (scrypt hashes in SQLite): sign-in, the role, and the history
    /// saying who saved; a role change applies to the live session at once.
    @Test func theServicesOperatorsSignInAndTheirChangesAreAttributed() async throws {
        let f = try DashboardFixture()
        let dashboard = try Dashboard(service: f.service, operators: f.service, logger: Logger(label: "test"))
        let added = try await f.service.addOperator(.init(name: "olivia", role: .admin))
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(dashboard)
        #expect(await browser.signIn("olivia", added.password + "x").status == 401)
        #expect(await browser.signIn("OLIVIA", added.password).status == 303, "names match ignoring case")
        _ = await browser.get("\(base)/settings")
        #expect(await browser.post("\(base)/settings", [("disabled", "true")]).status == 303)
        _ = await browser.get("\(base)/mapping")
        let page = browser.lastPage
        _ = await browser.post(
            "\(base)/mapping/edit",
            [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: page)!), ("draft", Browser.hiddenValue("draft", in: page)!),
             ("action", "setWarnIfMissing"), ("property", "group"), ("value", "false")])
        let draft = browser.lastPage
        #expect(await browser.post(
            "\(base)/mapping/save",
            [("kind", "users"), ("baseVersion", Browser.hiddenValue("baseVersion", in: draft)!), ("draft", Browser.hiddenValue("draft", in: draft)!)]
        ).status == 303)
        let history = try await f.service.mappingHistory(connection.connection.id)
        #expect(history.first { $0.version == 3 }?.changedBy == "operator:olivia")
        _ = await browser.get("\(base)/mapping/history")
        #expect(browser.lastPage.contains("by operator:olivia"))
        _ = try await f.service.setOperatorRole("olivia", role: .viewer)
        #expect(await browser.post("\(base)/settings", [("disabled", "false")]).status == 403, "a viewer now")
        try await f.service.removeOperator("olivia")
        #expect(await browser.get("\(base)/settings").status == 303, "signed out once removed")
    }

    @Test func livePagesFollowTheChangeFeedAsServerSentEvents() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .viewer, password: "pw")
        let (connection, _) = try await f.seed()
        let base = "/connections/\(connection.connection.id)"
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        _ = await browser.get("\(base)/users")
        let latest = try await f.service.latestEventSequence()
        #expect(browser.lastPage.contains("data-live=\"\(base)/live?after=\(latest)\""))
        _ = await browser.get("\(base)/mapping")
        #expect(!browser.lastPage.contains("data-live"), "no live refresh under a form being edited")
        let live = await browser.get("\(base)/live?after=\(latest)")
        #expect(live.status == 200 && live.header("Content-Type") == "text/event-stream")
        let stream = try #require(live.stream)
        let received = Mutex<String>("")
        let reader = Task {
            try await stream { chunk in received.withLock { $0 += chunk } }
        }
        let body: JSONValue = ["schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new.hire@example.com"]
        let created = await f.service.handleSCIM(
            .init(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(connection.token)"], body: JSONSerializer.string(body)))
        #expect(created.status == 201)
        // 60 s, as in EventFeedTests: with the whole suite in parallel on 2 cores the stream's task
        // can wait its turn for many seconds (a CI run missed a 10 s deadline); it ends as soon as the event arrives.
        let deadline = ContinuousClock.now + .seconds(60)
        while !received.withLock({ $0.contains("event: change") }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        reader.cancel()
        _ = await reader.result
        let text = received.withLock { $0 }
        #expect(text.hasPrefix("retry: 3000\n\n"))
        #expect(text.contains("event: change\nid: \(latest + 1)\ndata: {\"sequence\":\(latest + 1),\"type\":\"user.created\"}\n\n"))
        // Not signed in: no stream.
        var stranger = Browser(f.dashboard)
        #expect(await stranger.get("\(base)/live").status == 303)
    }

    @Test func unknownPagesAndMethodsGetClearAnswers() async throws {
        let f = try DashboardFixture()
        _ = f.operators.add("ops", role: .admin, password: "pw")
        var browser = Browser(f.dashboard)
        _ = await browser.signIn("ops", "pw")
        #expect(await browser.get("/connections/nope/users").status == 404)
        #expect(browser.lastPage.contains("no connection with id or name"))
        #expect(await browser.get("/nowhere").status == 404)
        #expect(await browser.send("DELETE", "/connections").status == 405)
        let css = await browser.get("/static/dashboard.css")
        #expect(css.status == 200 && css.header("Content-Type") == "text/css; charset=utf-8")
    }
}
