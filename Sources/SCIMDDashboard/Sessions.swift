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

    public init(id: String, name: String, role: Role) {
        self.id = id
        self.name = name
        self.role = role
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
    func start(operatorId: String, now: ContinuousClock.Instant = .now) -> (id: String, session: Session) {
        let id = Self.randomToken()
        let session = Session(operatorId: operatorId, csrfToken: Self.randomToken(), createdAt: now, lastSeenAt: now)
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
