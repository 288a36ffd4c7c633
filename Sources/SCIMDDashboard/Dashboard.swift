import Foundation
import Logging
import Mustache
import SCIMDProtocol
import SCIMDService
import SCIMJSON

/// The operators' web dashboard: every page and form, behind sign-in.
///
/// It reads and writes only through ``SCIMDService``'s public methods (the ones the JSON-RPC
/// methods call), never through SQL, so it keeps working while the engine underneath changes.
/// It owns no socket: `SCIMDServer.DashboardServer` reads each HTTP request whole and calls
/// ``respond(to:)``.
///
/// Pages, each at a stable URL an operator can paste:
/// - `/connections`: every SCIM connection with its counts and open warnings.
/// - `/connections/{id}/users|groups|warnings|mapping|requests|events|settings`: the tabs.
/// - `/connections/{id}/users/{userId}`, `/connections/{id}/groups/{groupId}`: one resource, with
///   the trace of how each mapped property was found.
/// - `/connections/{id}/mapping/history`, `/connections/{id}/requests/{n}`.
///
/// Security: pages need a session (``SessionStore``); every `POST` must carry the session's CSRF
/// token; changes need the `admin` role; responses forbid caching and framing.
public final class Dashboard: Sendable {
    /// Session lifetimes and cookie flags.
    public struct Configuration: Sendable {
        /// A session unused this long ends (default 8 hours).
        public var idleLifetime: Duration
        /// A session ends this long after sign-in whatever happens (default 24 hours).
        public var absoluteLifetime: Duration
        /// Always mark cookies `Secure` (the dashboard is reached over HTTPS through a proxy the
        /// listener does not trust for `X-Forwarded-Proto`); otherwise only requests seen as HTTPS get it.
        public var secureCookies: Bool
        /// Rows per page in lists.
        public var pageSize: Int

        public init(
            idleLifetime: Duration = .seconds(8 * 3600), absoluteLifetime: Duration = .seconds(24 * 3600), secureCookies: Bool = false,
            pageSize: Int = 50
        ) {
            self.idleLifetime = idleLifetime
            self.absoluteLifetime = absoluteLifetime
            self.secureCookies = secureCookies
            self.pageSize = pageSize
        }
    }

    static let sessionCookie = "scimd_session"
    /// Login CSRF: the sign-in form's token, also in this cookie, so a foreign page cannot sign a
    /// browser in as someone else.
    static let signinCookie = "scimd_signin"

    let service: SCIMDService
    let operators: any OperatorDirectory
    let sessions: SessionStore
    let library: MustacheLibrary
    let configuration: Configuration
    let logger: Logger

    /// A dashboard over `service`, signing operators in against `operators`. Throws only when a
    /// compiled-in template does not parse (a defect the test suite catches).
    public init(service: SCIMDService, operators: any OperatorDirectory, configuration: Configuration = .init(), logger: Logger) throws {
        self.service = service
        self.operators = operators
        self.configuration = configuration
        self.logger = logger
        self.sessions = SessionStore(idleLifetime: configuration.idleLifetime, absoluteLifetime: configuration.absoluteLifetime)
        self.library = try Templates.library()
    }

    /// What the browser asked for, answered. Never throws: a failure is an error page.
    public func respond(to request: DashboardRequest) async -> DashboardResponse {
        let segments = request.pathSegments
        let method = request.method == "HEAD" ? "GET" : request.method
        guard method == "GET" || method == "POST" else {
            var response = errorPage(status: 405, heading: "Method not allowed", message: "The dashboard answers GET and POST only.", visit: nil)
            response.headers.append(("Allow", "GET, HEAD, POST"))
            return response
        }
        if segments == ["static", "dashboard.css"] {
            return DashboardResponse(
                status: 200, headers: [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "max-age=3600")],
                body: Array(Stylesheet.css.utf8))
        }
        if segments == ["static", "live.js"] {
            return DashboardResponse(
                status: 200, headers: [("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "max-age=3600")],
                body: Array(LiveScript.js.utf8))
        }
        if segments == ["favicon.ico"] {
            // Browsers ask for it on their own; sending them to sign in would replace the sign-in
            // form's cookie under the form being filled in.
            return DashboardResponse(status: 204, headers: [("Cache-Control", "max-age=86400")], body: [])
        }
        if segments == ["signin"] { return method == "GET" ? signInPage(request, problem: nil) : await signIn(request) }

        guard let visit = visit(for: request) else {
            if method == "POST" {
                return errorPage(status: 403, heading: "Signed out", message: "Your session ended. Sign in again and repeat the change.", visit: nil)
            }
            return .redirect("/signin?next=" + request.target.urlComponent)
        }
        if method == "POST" {
            guard let token = request.form["_csrf"], SessionStore.tokensEqual(token, visit.session.csrfToken) else {
                logger.notice("dashboard form refused: CSRF token missing or wrong", metadata: ["operator": "\(visit.operator.name)", "path": "\(request.path)"])
                return errorPage(
                    status: 403, heading: "Form refused",
                    message: "The form's security token is missing or out of date. Reload the page and try again.", visit: visit)
            }
            if segments == ["signout"] {
                sessions.end(visit.sessionId)
                return .redirect("/signin", cookies: [cookie(Self.sessionCookie, "", request: request, maxAge: 0)])
            }
            guard visit.operator.role == .admin else {
                return errorPage(
                    status: 403, heading: "Viewers cannot change anything",
                    message: "You are signed in as \(visit.operator.name), a viewer. Ask an admin to make this change.", visit: visit)
            }
        }
        do {
            return try await route(segments, method: method, visit: visit)
        } catch let error as RPCError {
            let status: Int
            switch error.kind {
            case "not_found": status = 404
            case "conflict": status = 409
            case "invalid_params", "invalid_mapping", "invalid_filter": status = 400
            default: status = 500
            }
            if status == 500 { logger.error("dashboard page failed", metadata: ["path": "\(request.path)", "error": "\(error)"]) }
            return errorPage(status: status, heading: status == 404 ? "Not found" : "Could not do that", message: error.message, visit: visit)
        } catch let error as MappingEdit.EditError {
            return errorPage(status: 400, heading: "Could not edit the mapping", message: error.message, visit: visit)
        } catch {
            logger.error("dashboard page failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return errorPage(status: 500, heading: "Something failed", message: "scimd could not build this page; its log has the details.", visit: visit)
        }
    }

    /// Who is asking: a live session whose operator still exists (with their current role).
    struct Visit {
        var request: DashboardRequest
        var sessionId: String
        var session: SessionStore.Session
        var `operator`: DashboardOperator
        /// The message the last form left for this page (``SessionStore/flash(_:_:)``).
        var flash: String?

        var chrome: [String: Any] { ["operatorName": self.operator.name, "operatorRole": self.operator.role.rawValue, "csrf": session.csrfToken] }
        var canEdit: Bool { self.operator.role == .admin }
    }

    func visit(for request: DashboardRequest) -> Visit? {
        guard let id = request.cookies[Self.sessionCookie], let session = sessions.session(id) else { return nil }
        // Removed, or the password was reset since this session began: signed out.
        guard let current = operators.currentOperator(id: session.operatorId), current.credentialStamp == session.credentialStamp else {
            sessions.end(id)
            return nil
        }
        // A page (not a live stream or a background refresh) shows the message a form left.
        let flash = request.pathSegments.last == "live" ? nil : sessions.takeFlash(id)
        return Visit(request: request, sessionId: id, session: session, operator: current, flash: flash)
    }

    private func route(_ segments: [String], method: String, visit: Visit) async throws -> DashboardResponse {
        if method == "GET" && (segments.isEmpty || segments == ["connections"]) { return try await connectionsPage(visit) }
        if method == "GET" && segments == ["live"] { return try await liveStream(connection: nil, visit) }
        guard segments.count >= 2, segments[0] == "connections" else { return notFound(visit) }
        let c = segments[1]
        let rest = Array(segments.dropFirst(2))
        switch (method, rest.count) {
        case ("GET", 0):
            return .redirect("/connections/\(c.urlComponent)/users")
        case ("GET", 1):
            switch rest[0] {
            case "users": return try await usersPage(c, visit)
            case "groups": return try await groupsPage(c, visit)
            case "warnings": return try await warningsPage(c, visit)
            case "mapping": return try await mappingPage(c, visit)
            case "requests": return try await requestsPage(c, visit)
            case "events": return try await eventsPage(c, visit)
            case "settings": return try await settingsPage(c, visit)
            case "live": return try await liveStream(connection: c, visit)
            default: return notFound(visit)
            }
        case ("GET", 2):
            switch rest[0] {
            case "users": return try await resourcePage(c, type: "User", id: rest[1], visit)
            case "groups": return try await resourcePage(c, type: "Group", id: rest[1], visit)
            case "requests": return try await requestPage(c, rest[1], visit)
            case "mapping" where rest[1] == "history": return try await historyPage(c, visit)
            default: return notFound(visit)
            }
        case ("POST", 1) where rest[0] == "settings":
            return try await changeSettings(c, visit)
        case ("POST", 2) where rest[0] == "settings" && rest[1] == "rotate-token":
            return try await rotateToken(c, visit)
        case ("POST", 3) where rest[0] == "requests" && rest[2] == "replay":
            return try await replayRequest(c, rest[1], visit)
        case ("POST", 2) where rest[0] == "mapping":
            switch rest[1] {
            case "edit": return try await editMapping(c, visit)
            case "save": return try await saveMapping(c, visit)
            case "rollback": return try await rollback(c, visit)
            default: return notFound(visit)
            }
        default:
            return notFound(visit)
        }
    }

    func notFound(_ visit: Visit) -> DashboardResponse {
        errorPage(status: 404, heading: "Not found", message: "There is no dashboard page at \(visit.request.path).", visit: visit)
    }

    // MARK: - Sign-in

    private func signInPage(_ request: DashboardRequest, problem: String?, name: String = "", status: Int = 200) -> DashboardResponse {
        // The same token for every sign-in page a browser opens (tabs, reloads): a new one would
        // invalidate a form already on screen.
        let token = request.cookies[Self.signinCookie].flatMap { $0.count == 43 ? $0 : nil } ?? SessionStore.randomToken()
        let next = request.query["next"] ?? request.form["next"] ?? "/connections"
        var model: [String: Any] = ["csrf": token, "next": next, "name": name]
        if let problem { model["problem"] = problem }
        var response = render("signin", model, status: status)
        response.headers.append(("Set-Cookie", cookie(Self.signinCookie, token, request: request, maxAge: 3600)))
        return response
    }

    private func signIn(_ request: DashboardRequest) async -> DashboardResponse {
        let form = request.form
        guard let posted = form["_csrf"], let expected = request.cookies[Self.signinCookie], SessionStore.tokensEqual(posted, expected) else {
            return signInPage(request, problem: "The sign-in form expired. Try again.", status: 403)
        }
        let name = form.nonBlank("name") ?? ""
        guard let signedIn = await operators.authenticate(name: name, password: form["password"] ?? "") else {
            logger.notice("dashboard sign-in refused", metadata: ["name": "\(name)"])
            return signInPage(request, problem: "Wrong name or password.", name: name, status: 401)
        }
        let (id, _) = sessions.start(operatorId: signedIn.id, credentialStamp: signedIn.credentialStamp)
        logger.info("dashboard sign-in", metadata: ["operator": "\(signedIn.name)", "role": "\(signedIn.role.rawValue)"])
        // Only a local path: never redirect to another site after sign-in.
        var next = form["next"] ?? "/connections"
        // A path of this site only: browsers read `/\host` as `//host`, another site.
        if !next.hasPrefix("/") || next.hasPrefix("//") || next.contains("\\") || next.hasPrefix("/signin")
            || next.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            next = "/connections"
        }
        return .redirect(
            next,
            cookies: [cookie(Self.sessionCookie, id, request: request, maxAge: nil), cookie(Self.signinCookie, "", request: request, maxAge: 0)])
    }

    /// `303` to `location`, leaving `message` for the page it shows.
    func redirect(_ location: String, flash message: String, visit: Visit) -> DashboardResponse {
        sessions.flash(visit.sessionId, message)
        return .redirect(location)
    }

    /// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, whole site, `Secure` over HTTPS.
    func cookie(_ name: String, _ value: String, request: DashboardRequest, maxAge: Int?) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Strict"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if configuration.secureCookies || request.isSecure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    // MARK: - Rendering

    func render(_ template: String, _ model: [String: Any], status: Int = 200) -> DashboardResponse {
        guard let html = library.render(model, withTemplate: template) else {
            logger.error("dashboard template missing", metadata: ["template": "\(template)"])
            return DashboardResponse(status: 500, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array("template \(template) missing".utf8))
        }
        return .html(html, status: status)
    }

    func errorPage(status: Int, heading: String, message: String, visit: Visit?) -> DashboardResponse {
        var model: [String: Any] = ["heading": heading, "message": message, "back": visit == nil ? "/signin" : "/connections"]
        if let visit { model["chrome"] = visit.chrome }
        return render("error", model, status: status)
    }
}
