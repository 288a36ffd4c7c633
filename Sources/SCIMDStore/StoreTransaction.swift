import GRDB

// The storage seam. The service reads and writes durable state only through these two types and
// the records of `Records.swift`: every SQL statement scimd runs is a method of one of them (in
// `Queries.swift`, `ServiceQueries.swift`, `RowWrites.swift`, `Operators.swift`,
// `Webhooks.swift`), and no GRDB type appears in their public signatures. So the service module
// does not import GRDB, and a second backend (PostgreSQL, see docs/SCALE-OUT.md) is a second
// implementation of these methods, not a change to the engine.

/// A consistent read of the database: one SQLite snapshot (a WAL read transaction) for as long
/// as the closure given to ``Store/read(_:)``, ``Store/indexedRead(_:)`` or ``Store/readNow(_:)``
/// runs. Valid only inside that closure, on its thread; it cannot write.
///
/// A class so that ``StoreTransaction`` inherits every read: one is made per closure call.
public class StoreReader {
    /// The GRDB connection of the snapshot: for this module's queries only.
    let db: Database

    init(_ db: Database) { self.db = db }
}

/// One write transaction (a savepoint inside a group commit, see ``Store/write(_:)``): every
/// read of ``StoreReader`` sees the transaction's own earlier writes, and all of its writes
/// commit together or not at all. Valid only inside the closure it was given to.
public final class StoreTransaction: StoreReader {}

/// How a write failed, for callers that answer differently by cause without knowing the backend.
public enum StoreFailure: Sendable, Equatable {
    /// A uniqueness or foreign-key constraint refused the write (SQLite's `SQLITE_CONSTRAINT`).
    case constraintViolation
    /// The file system or the database's page limit is full (`SQLITE_FULL`).
    case storageFull
    /// Another cause (I/O error, corruption, a busy database).
    case other

    /// The cause of `error` when it came from the database; nil for any other error (one a
    /// closure threw itself).
    public init?(_ error: any Error) {
        guard let error = error as? DatabaseError else { return nil }
        switch error.resultCode {
        case .SQLITE_CONSTRAINT: self = .constraintViolation
        case .SQLITE_FULL: self = .storageFull
        default: self = .other
        }
    }

    /// The database's own message for `error` (SQLite's), or its description.
    public static func message(of error: any Error) -> String {
        (error as? DatabaseError)?.message ?? "\(error)"
    }
}
