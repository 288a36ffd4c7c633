import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers

/// A write was refused because the database's file system is full (SQLite's `SQLITE_FULL`, which
/// is also what it reports for `ENOSPC`), or the database reached its page limit. Nothing of the
/// write was applied. It is worth retrying once space is freed: the daemon keeps running and
/// recovers by itself.
public struct StorageFullError: Error, CustomStringConvertible, Sendable {
    /// SQLite's own message.
    public var reason: String
    public var description: String { "the database storage is full: \(reason)" }
    public init(reason: String) { self.reason = reason }
}

/// Whether the store can currently write, as its last writes found it.
public struct StorageStatus: Sendable, Equatable {
    /// Since when (milliseconds since the Unix epoch) writes have been refused for a full disk;
    /// nil while writes succeed.
    public var fullSince: Int64?
    /// Writes refused in the current episode.
    public var refusedWrites: Int
    /// Whether the most recent commit attempt failed for another reason than a full disk.
    public var lastCommitFailed: Bool
}

/// Tracks episodes of refused writes, so the log says once that the disk is full and once that
/// it is writable again (with how many writes were refused in between), instead of a line per
/// request; and so `system.health` can report it while it lasts.
///
/// A nearly full disk flaps: a small write fits where a large one does not. So an episode ends
/// only at a write that commits when no write has been refused for `recoveryQuietPeriod`; until
/// then it is one incident, logged once.
final class StorageHealth: Sendable {
    private struct State {
        var status = StorageStatus(fullSince: nil, refusedWrites: 0, lastCommitFailed: false)
        var lastRefusal: ContinuousClock.Instant? = nil
    }
    private let state = NIOLockedValueBox(State())
    private let logger: Logger
    let recoveryQuietPeriod: Duration

    init(logger: Logger, recoveryQuietPeriod: Duration) {
        self.logger = logger
        self.recoveryQuietPeriod = recoveryQuietPeriod
    }

    var status: StorageStatus { state.withLockedValue { $0.status } }

    /// Classifies a failed write: a full disk becomes ``StorageFullError`` (logged once per
    /// episode at error); anything else is returned as it was.
    func failed(_ error: any Error, path: String) -> any Error {
        guard let full = Self.storageFull(error) else {
            state.withLockedValue { $0.status.lastCommitFailed = true }
            return error
        }
        let first = state.withLockedValue { state -> Bool in
            state.status.refusedWrites += 1
            state.lastRefusal = .now
            guard state.status.fullSince == nil else { return false }
            state.status.fullSince = Int64((Date().timeIntervalSince1970 * 1000).rounded())
            return true
        }
        if first {
            logger.error(
                "database storage is full: writes are refused until space is freed",
                metadata: ["database": "\(path)", "reason": "\(full.reason)"])
        }
        return full
    }

    /// A write committed: ends an episode of refused writes (logged once, with its count).
    func succeeded(path: String) {
        let quiet = recoveryQuietPeriod
        let ended = state.withLockedValue { state -> Int? in
            state.status.lastCommitFailed = false
            guard state.status.fullSince != nil else { return nil }
            if let last = state.lastRefusal, ContinuousClock.now - last < quiet { return nil }
            let refused = state.status.refusedWrites
            state.status.fullSince = nil
            state.status.refusedWrites = 0
            return refused
        }
        if let ended {
            logger.notice("database storage is writable again", metadata: ["database": "\(path)", "refusedWrites": "\(ended)"])
        }
    }

    /// The storage-full error inside `error`, if that is what it is.
    static func storageFull(_ error: any Error) -> StorageFullError? {
        if let full = error as? StorageFullError { return full }
        if let database = error as? DatabaseError, database.resultCode == .SQLITE_FULL {
            return StorageFullError(reason: database.message ?? "database or disk is full")
        }
        return nil
    }
}
