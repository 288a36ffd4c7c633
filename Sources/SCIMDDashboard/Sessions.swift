import Foundation
import NIOConcurrencyHelpers

/// Someone who signs in to the dashboard (`scimctl operators add`).
public struct DashboardOperator: Sendable, Equatable {
    /// What an operator may do.
    public enum Role: String, Sendable {
        /// Reads every page; changes nothing.
        case viewer
        /// Reads and changes: mappings, connection settings.
        case admin
    }

    /// Stable id (the operator's row in SQLite).
    public var id: String
    /// Sign-in name.
    public var name: String
    public var role: Role
    /// Changes whenever the operator's password does (its time): a session started before a
    /// password reset ends with it.
    public var credentialStamp: String

    public init(id: String, name: String, role: Role, credentialStamp: String = "") {
        self.id = id
        self.name = name
        self.role = role
        self.credentialStamp = credentialStamp
    }
}

/// Where operators and their passwords live: the service in the daemon, a fixed list in tests.
public protocol OperatorDirectory: Sendable {
    /// The operator named `name` when `password` is theirs; nil otherwise (unknown name or wrong
    /// password alike, so the answer does not tell which names exist).
    func authenticate(name: String, password: String) async -> DashboardOperator?
    /// The operator with `id` as it is now (its current role), nil once removed: checked on every
    /// request, so removing an operator or changing their role takes effect at once.
    func currentOperator(id: String) -> DashboardOperator?
}

/// Signed-in browsers, in memory: a session is a 256-bit random id in an `HttpOnly`,
/// `SameSite=Strict` cookie, tied to one operator and its own CSRF token.
///
/// Sessions are not written to SQLite: a restart signs everyone out, which costs a sign-in and
/// means a stolen cookie dies with the process. Each session ends after ``idleLifetime`` without
/// a request, or ``absoluteLifetime`` after sign-in, whichever comes first.
final class SessionStore: Sendable {
    struct Session: Sendable {
        var operatorId: String
        /// The operator's ``DashboardOperator/credentialStamp`` at sign-in.
        var credentialStamp: String
        /// A message for the next page (after a form's redirect), shown once: kept here rather
        /// than in the URL, so nobody can craft a link that shows a message of their own.
        var flash: String?
        /// Synchronizer token every form posts back (`_csrf`).
        var csrfToken: String
        var createdAt: ContinuousClock.Instant
        var lastSeenAt: ContinuousClock.Instant
    }

    let idleLifetime: Duration
    let absoluteLifetime: Duration
    private let sessions = NIOLockedValueBox<[String: Session]>([:])

    init(idleLifetime: Duration, absoluteLifetime: Duration) {
        self.idleLifetime = idleLifetime
        self.absoluteLifetime = absoluteLifetime
    }

    /// Starts a session for `operatorId`; returns its id (the cookie value).
    func start(operatorId: String, credentialStamp: String = "", now: ContinuousClock.Instant = .now) -> (id: String, session: Session) {
        let id = Self.randomToken()
        let session = Session(
            operatorId: operatorId, credentialStamp: credentialStamp, csrfToken: Self.randomToken(), createdAt: now, lastSeenAt: now)
        sessions.withLockedValue { sessions in
            // Expired sessions are dropped as new ones start, so the map stays bounded by the
            // sessions alive within one lifetime.
            sessions = sessions.filter { !isExpired($0.value, now: now) }
            sessions[id] = session
        }
        return (id, session)
    }

    /// The live session with `id` (and marks it used), nil when unknown or expired.
    func session(_ id: String, now: ContinuousClock.Instant = .now) -> Session? {
        sessions.withLockedValue { sessions in
            guard var session = sessions[id] else { return nil }
            if isExpired(session, now: now) {
                sessions[id] = nil
                return nil
            }
            session.lastSeenAt = now
            sessions[id] = session
            return session
        }
    }

    /// Leaves `message` for the session's next page.
    func flash(_ id: String, _ message: String) {
        sessions.withLockedValue { $0[id]?.flash = message }
    }

    /// The message left for this page, removed as it is read.
    func takeFlash(_ id: String) -> String? {
        sessions.withLockedValue { sessions in
            defer { sessions[id]?.flash = nil }
            return sessions[id]?.flash
        }
    }

    /// Ends session `id` (sign-out).
    func end(_ id: String) {
        sessions.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    private func isExpired(_ session: Session, now: ContinuousClock.Instant) -> Bool {
        now - session.lastSeenAt > idleLifetime || now - session.createdAt > absoluteLifetime
    }

    /// 32 random bytes from the system's CSPRNG, base64url without padding (43 characters).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Compares two tokens in time that depends on their length only, not on where they differ.
    static func tokensEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
