import Foundation
import SCIMDStore
import NIOConcurrencyHelpers

/// The connections as committed, with their token indexes and decoded settings: what every SCIM
/// request authenticates against. Behind a lock rather than inside the ``SCIMDService`` actor, so
/// that `scim.handle` runs on the caller's thread without queueing on the actor: with the
/// connections inside it, every SCIM request of every connection took turns on the actor to
/// parse, authenticate and log, and hopped onto it and off again.
///
/// Only the actor changes it (``SCIMDService/adopt(_:replacing:)`` and a connection's removal),
/// after the change committed; readers take a consistent copy under the lock.
final class ConnectionDirectory: Sendable {
    private struct State {
        /// Connections by id (mirror of the `connection` table).
        var connections: [String: ConnectionRecord] = [:]
        /// SHA-256 of each current token → connection id.
        var tokenIndex: [Data: String] = [:]
        /// SHA-256 of each previous token still inside its rotation overlap → connection id.
        var previousTokenIndex: [Data: String] = [:]
        /// Each connection's decoded settings, with the JSON text they were decoded from (a
        /// changed text is decoded again): `scim.handle` reads them on every request.
        var decodedSettings: [String: (text: String, settings: ConnectionSettings)] = [:]
    }

    // NIO's lock (a pthread mutex), not `Synchronization.Mutex`: the thread sanitizer does not
    // see the latter's futex as synchronization and reported its guarded accesses as races.
    private let state = NIOLockedValueBox(State())

    /// Every connection by id.
    var connections: [String: ConnectionRecord] { state.withLockedValue { $0.connections } }

    /// The connection with this id.
    func connection(id: String) -> ConnectionRecord? { state.withLockedValue { $0.connections[id] } }

    /// Holds `record` as committed; the old record's token hashes are dropped first, so a
    /// rotated-out token stops working here and now.
    func adopt(_ record: ConnectionRecord, replacing old: ConnectionRecord?) {
        state.withLockedValue { state in
            if let old {
                if state.tokenIndex[old.tokenHash] == old.id { state.tokenIndex[old.tokenHash] = nil }
                if let previous = old.previousTokenHash, state.previousTokenIndex[previous] == old.id {
                    state.previousTokenIndex[previous] = nil
                }
            }
            state.connections[record.id] = record
            state.tokenIndex[record.tokenHash] = record.id
            if let previous = record.previousTokenHash { state.previousTokenIndex[previous] = record.id }
        }
    }

    /// Forgets `record`: no request authenticates against it from here on.
    func remove(_ record: ConnectionRecord) {
        state.withLockedValue { state in
            state.connections[record.id] = nil
            state.decodedSettings[record.id] = nil
            if state.tokenIndex[record.tokenHash] == record.id { state.tokenIndex[record.tokenHash] = nil }
            if let previous = record.previousTokenHash, state.previousTokenIndex[previous] == record.id {
                state.previousTokenIndex[previous] = nil
            }
        }
    }

    /// The connection whose current token hashes to `hash`, or whose previous one does while
    /// `now` is before its overlap ends (compared in constant time); nil for neither.
    func connection(tokenHash hash: Data, now: Milliseconds) -> ConnectionRecord? {
        state.withLockedValue { state in
            if let id = state.tokenIndex[hash], let record = state.connections[id], BearerToken.constantTimeEquals(record.tokenHash, hash) {
                return record
            }
            if let id = state.previousTokenIndex[hash], let record = state.connections[id], let previous = record.previousTokenHash,
                BearerToken.constantTimeEquals(previous, hash), let expiry = record.previousTokenExpiresAt, now < expiry
            {
                return record
            }
            return nil
        }
    }

    /// `record`'s settings, decoded once per settings text.
    func settings(of record: ConnectionRecord) -> ConnectionSettings {
        if let cached = state.withLockedValue({ $0.decodedSettings[record.id] }), cached.text == record.settings { return cached.settings }
        let settings = ConnectionSettings(record)
        state.withLockedValue { $0.decodedSettings[record.id] = (record.settings, settings) }
        return settings
    }
}
