import Foundation
import GRDB

// Dashboard operators: the people who sign in to the web dashboard (`scimctl operators`). A row
// holds the operator's name, role and the scrypt hash of their password (never the password).
// Names are unique ignoring ASCII case (the column's NOCASE collation), so `Ada` and `ada` are
// one operator; the service only accepts ASCII names, for which NOCASE and Swift's lowercasing agree.

/// One dashboard operator (table `operators`, migration v6).
public struct OperatorRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "operators"
    /// Lowercase UUID.
    public var id: String
    /// The sign-in name as given (unique ignoring case).
    public var name: String
    /// `viewer` or `admin` (the table's CHECK refuses anything else).
    public var role: String
    /// The password's self-describing scrypt hash (`$scrypt$ln=…,r=…,p=…$salt$hash`).
    public var passwordHash: String
    public var createdAt: Milliseconds
    /// When the password was set: at creation, then at each reset.
    public var passwordChangedAt: Milliseconds

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case passwordHash = "password_hash"
        case createdAt = "created_at"
        case passwordChangedAt = "password_changed_at"
    }

    public init(id: String, name: String, role: String, passwordHash: String, createdAt: Milliseconds, passwordChangedAt: Milliseconds) {
        self.id = id
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.passwordChangedAt = passwordChangedAt
    }
}

extension StoreReader {
    /// Every operator, by name (ignoring case).
    public func allOperators() throws -> [OperatorRecord] {
        try OperatorRecord.fetchAll(db, sql: "SELECT * FROM operators ORDER BY name COLLATE NOCASE, id")
    }

    /// The operator called `name`, ignoring ASCII case; nil when there is none.
    public func operatorRecord(named name: String) throws -> OperatorRecord? {
        try OperatorRecord.fetchOne(db, sql: "SELECT * FROM operators WHERE name = ?", arguments: [name])
    }
}

extension StoreTransaction {
    /// Inserts a new operator. A name already taken (ignoring case) fails with SQLite's
    /// `SQLITE_CONSTRAINT` (the service checks first and answers `conflict`; this is the backstop).
    public func insertOperator(_ record: OperatorRecord) throws {
        try record.insert(db)
    }

    /// Deletes the operator called `name` (ignoring case). Returns the deleted row; nil when there was none.
    public func deleteOperator(named name: String) throws -> OperatorRecord? {
        guard let record = try operatorRecord(named: name) else { return nil }
        try db.execute(sql: "DELETE FROM operators WHERE id = ?", arguments: [record.id])
        return record
    }

    /// Replaces the password hash of the operator called `name` and sets `password_changed_at`.
    /// Returns the row as written; nil when there is no such operator.
    public func setOperatorPasswordHash(named name: String, to hash: String, at now: Milliseconds) throws -> OperatorRecord? {
        guard var record = try operatorRecord(named: name) else { return nil }
        try db.execute(
            sql: "UPDATE operators SET password_hash = ?, password_changed_at = ? WHERE id = ?", arguments: [hash, now, record.id])
        record.passwordHash = hash
        record.passwordChangedAt = now
        return record
    }

    /// Sets the role of the operator called `name`. Returns the row as written; nil when there is
    /// no such operator.
    public func setOperatorRole(named name: String, to role: String) throws -> OperatorRecord? {
        guard var record = try operatorRecord(named: name) else { return nil }
        try db.execute(sql: "UPDATE operators SET role = ? WHERE id = ?", arguments: [role, record.id])
        record.role = role
        return record
    }
}
