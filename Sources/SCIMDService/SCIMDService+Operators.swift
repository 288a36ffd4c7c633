import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore

/// The dashboard operators in memory: a mirror of the `operators` table, changed only with rows a
/// committed transaction wrote (like the connections). A lock rather than actor state, so the
/// dashboard can ask ``SCIMDService/operatorInfo(id:)`` synchronously on every request, and
/// ``SCIMDService/authenticateOperator(name:password:)`` never waits for the actor.
final class OperatorRegistry: Sendable {
    private let records = NIOLockedValueBox<[String: OperatorRecord]>([:])

    /// The operator with this id.
    func record(id: String) -> OperatorRecord? {
        records.withLockedValue { $0[id] }
    }

    /// The operator called `name`, ignoring ASCII case only, as SQLite's NOCASE does (so memory
    /// and the table agree on every name; Unicode folding would let the Kelvin sign match `k`).
    func record(named name: String) -> OperatorRecord? {
        let folded = name.lowercasedASCII
        return records.withLockedValue { all in all.values.first { $0.name.lowercasedASCII == folded } }
    }

    /// Every operator, by name ignoring case.
    func all() -> [OperatorRecord] {
        records.withLockedValue { Array($0.values) }.sorted {
            let (a, b) = ($0.name.lowercasedASCII, $1.name.lowercasedASCII)
            return a == b ? $0.id < $1.id : a < b
        }
    }

    /// Sets memory to a committed row.
    func set(_ record: OperatorRecord) {
        records.withLockedValue { $0[record.id] = record }
    }

    /// Drops a deleted operator.
    func remove(id: String) {
        records.withLockedValue { $0[id] = nil }
    }
}

/// Where scrypt runs: one serial queue of its own, off SwiftNIO's event loops (which also run
/// scimd's Swift concurrency) and off the service actor. One hash at a time bounds what sign-in
/// attempts can take: one core and scrypt's 32 MiB, however many arrive at once.
enum PasswordHashing {
    static let queue = DispatchQueue(label: "scimd.password-hashing", qos: .userInitiated)

    /// Runs `work` on ``queue`` and waits for it without blocking the caller's thread.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }

    /// A new password and its hash, made on ``queue``. Throws ``PasswordHash/Failure``.
    static func newPassword(logRounds: Int) async throws -> (password: String, hash: String) {
        let password = PasswordHash.generatePassword()
        let made: Result<PasswordHash, any Error> = await run { Result { try PasswordHash.make(password: password, logRounds: logRounds) } }
        return (password, try made.get().encoded)
    }

    /// What an unknown name's sign-in is checked against, so it costs one scrypt like a known
    /// name's (the time taken does not tell which names exist). A real hash with the default
    /// parameters, of a password nobody knows.
    static let dummyHash = "$scrypt$ln=15,r=8,p=1$zVY0CEznJlh1ZJr74fDkYg==$HRTwN7Tx4OTUP94yzqrVYgxdSJEeJFtrx/YuKBqXvDs="

    /// The dummy hash at cost `logRounds` (``dummyHash`` for the default; another cost's is made
    /// once, on first use, and kept), so an unknown name costs what a known name's check costs.
    static func dummyHash(logRounds: Int) -> String {
        if logRounds == PasswordHash.defaultLogRounds { return dummyHash }
        return dummies.withLockedValue { dummies in
            if let made = dummies[logRounds] { return made }
            let made = (try? PasswordHash.make(password: PasswordHash.generatePassword(), logRounds: logRounds).encoded) ?? dummyHash
            dummies[logRounds] = made
            return made
        }
    }

    private static let dummies = NIOLockedValueBox<[Int: String]>([:])
}

extension SCIMDService {
    /// The gate every change of an operator takes (add, remove, reset, role): names are unique
    /// across operators, and memory must follow the commits in their order.
    static let operatorsGate = "operators"

    /// Fills memory from the `operators` table (at start).
    nonisolated func loadOperators() throws {
        for record in try store.readNow({ db in try db.allOperators() }) { operatorRegistry.set(record) }
    }

    /// An operator name: 1–64 characters, each an ASCII letter or digit, `.`, `_`, `-` or `@`.
    /// Throws `invalid_params` (field `name`) saying what is wrong.
    static func validatedOperatorName(_ name: String) throws(RPCError) -> String {
        guard !name.isEmpty else { throw RPCError.invalidParams("name must not be empty", field: "name") }
        guard name.count <= 64 else { throw RPCError.invalidParams("name must be at most 64 characters", field: "name") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@".unicodeScalars)
        if let bad = name.unicodeScalars.first(where: { !allowed.contains($0) }) {
            let shown = bad.properties.isWhitespace || bad.value < 0x20 ? "U+\(String(bad.value, radix: 16, uppercase: true))" : "'\(bad)'"
            throw RPCError.invalidParams(
                "name may hold only ASCII letters, digits, '.', '_', '-' and '@' (found \(shown))", field: "name")
        }
        return name
    }

    /// The wire form of an operator (never its hash).
    static func operatorInfo(_ record: OperatorRecord) -> OperatorInfo {
        OperatorInfo(
            id: record.id, name: record.name, role: OperatorRole(rawValue: record.role) ?? .viewer,
            createdAt: Timestamp.string(record.createdAt), passwordChangedAt: Timestamp.string(record.passwordChangedAt))
    }

    // MARK: operators.* RPCs

    /// `operators.add`: a new operator with a generated password, returned this once (only its
    /// scrypt hash is stored). `params.role` defaults to `viewer`.
    /// Throws `invalid_params` (field `name`: empty, longer than 64 characters, or a character
    /// other than ASCII letters, digits, `.`, `_`, `-`, `@`; a bad `role` never decodes),
    /// `conflict` (the name is taken, ignoring case), `storage_full`.
    public func addOperator(_ params: OperatorsAdd.Params) async throws -> OperatorsAdd.Result {
        let name = try Self.validatedOperatorName(params.name)
        let role = params.role ?? .viewer
        if let existing = operatorRegistry.record(named: name) {
            throw RPCError.conflict("an operator named '\(existing.name)' already exists (names ignore case)")
        }
        // Hashed before taking the gate: other operator changes need not wait for scrypt.
        let (password, hash) = try await PasswordHashing.newPassword(logRounds: configuration.passwordHashLogRounds)
        return try await serialized(Self.operatorsGate) {
            let now = clock.now()
            let record = OperatorRecord(
                id: UUID().uuidString.lowercased(), name: name, role: role.rawValue, passwordHash: hash, createdAt: now,
                passwordChangedAt: now)
            let message = "an operator named '\(name)' already exists (names ignore case)"
            try await conflictOnConstraint(message) {
                try await store.write { db in
                    if try db.operatorRecord(named: name) != nil { throw RPCError.conflict(message) }
                    try db.insertOperator(record)
                }
            }
            operatorRegistry.set(record)
            logger.info("operator added", metadata: ["operator": "\(record.id)", "name": "\(name)", "role": "\(role.rawValue)"])
            return OperatorWithPassword(operator: Self.operatorInfo(record), password: password)
        }
    }

    /// `operators.list`: every operator, by name ignoring case (from memory; never hashes).
    public nonisolated func listOperators() async throws -> [OperatorInfo] {
        operatorRegistry.all().map(Self.operatorInfo)
    }

    /// `operators.remove`: deletes the operator called `name` (ignoring case); ``operatorInfo(id:)``
    /// answers nil for it from then on, so its dashboard sessions end. Throws `not_found`, `storage_full`.
    public func removeOperator(_ name: String) async throws {
        try await serialized(Self.operatorsGate) {
            guard let removed = try await store.write({ db in try db.deleteOperator(named: name) }) else {
                throw RPCError.notFound("no operator named '\(name)' (see them with `scimctl operators list`)")
            }
            operatorRegistry.remove(id: removed.id)
            logger.info("operator removed", metadata: ["operator": "\(removed.id)", "name": "\(removed.name)"])
        }
    }

    /// `operators.resetPassword`: a new generated password for the operator called `name`
    /// (ignoring case), returned this once; the old one stops working when this returns.
    /// Throws `not_found`, `storage_full`.
    public func resetOperatorPassword(_ name: String) async throws -> OperatorsResetPassword.Result {
        guard operatorRegistry.record(named: name) != nil else {
            throw RPCError.notFound("no operator named '\(name)' (see them with `scimctl operators list`)")
        }
        let (password, hash) = try await PasswordHashing.newPassword(logRounds: configuration.passwordHashLogRounds)
        return try await serialized(Self.operatorsGate) {
            let now = clock.now()
            guard let record = try await store.write({ db in try db.setOperatorPasswordHash(named: name, to: hash, at: now) }) else {
                throw RPCError.notFound("no operator named '\(name)' (see them with `scimctl operators list`)")
            }
            operatorRegistry.set(record)
            logger.info("operator password reset", metadata: ["operator": "\(record.id)", "name": "\(record.name)"])
            return OperatorWithPassword(operator: Self.operatorInfo(record), password: password)
        }
    }

    /// `operators.setRole`: the operator called `name` (ignoring case) gets `role`, effective at
    /// once for ``operatorInfo(id:)``. Throws `not_found`, `storage_full`.
    public func setOperatorRole(_ name: String, role: OperatorRole) async throws -> OperatorInfo {
        try await serialized(Self.operatorsGate) {
            guard let record = try await store.write({ db in try db.setOperatorRole(named: name, to: role.rawValue) }) else {
                throw RPCError.notFound("no operator named '\(name)' (see them with `scimctl operators list`)")
            }
            operatorRegistry.set(record)
            logger.info("operator role changed", metadata: ["operator": "\(record.id)", "name": "\(record.name)", "role": "\(role.rawValue)"])
            return Self.operatorInfo(record)
        }
    }

    // MARK: for the dashboard

    /// The operator called `name` (ignoring case) when `password` is theirs; nil for an unknown
    /// name or a wrong password, without saying which. An unknown name still costs one scrypt
    /// (against a fixed dummy hash), so the time taken does not reveal which names exist.
    ///
    /// scrypt runs on a queue of its own (see `PasswordHashing`), never on the caller's thread (a
    /// SwiftNIO event loop) and without the service actor, which stays free meanwhile. A password
    /// reset or removal that lands while the password is being checked wins: the answer is nil.
    public nonisolated func authenticateOperator(name: String, password: String) async -> OperatorInfo? {
        let candidate = operatorRegistry.record(named: name)
        let logRounds = configuration.passwordHashLogRounds
        let matches = await PasswordHashing.run {
            PasswordHash.verify(password, against: candidate?.passwordHash ?? PasswordHashing.dummyHash(logRounds: logRounds))
        }
        let storedHash = candidate?.passwordHash
        guard matches, let candidate, let current = operatorRegistry.record(id: candidate.id), current.passwordHash == storedHash else {
            return nil
        }
        return Self.operatorInfo(current)
    }

    /// The operator with this id as it is now (its current role), or nil once removed: what the
    /// dashboard checks on every request of a session. From memory, without waiting.
    public nonisolated func operatorInfo(id: String) -> OperatorInfo? {
        operatorRegistry.record(id: id).map(Self.operatorInfo)
    }
}
