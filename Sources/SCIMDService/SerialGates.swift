/// First-come, first-served gates, one per key, for the service actor's read-modify-write steps.
///
/// An actor runs one call at a time only between suspension points: a configuration change that
/// reads memory, awaits its transaction and then writes memory can interleave with another change
/// of the same thing, and the later memory write then replaces the earlier one with a stale copy
/// (a rotated token or a disable lost; two `mapping.set`s both passing the version check). A change
/// holds its key's gate from its first read until memory reflects what it committed, so changes of
/// one thing take turns; changes of different keys still run side by side.
///
/// Pure bookkeeping, no I/O: the actor suspends on the continuation this hands back.
struct SerialGates {
    private var held: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Takes `key` if it is free. False: the caller must ``wait(_:for:)`` its turn.
    mutating func tryAcquire(_ key: String) -> Bool {
        held.insert(key).inserted
    }

    /// Queues a caller for `key`; it is resumed, already holding the gate, by a later ``release(_:)``.
    mutating func wait(_ continuation: CheckedContinuation<Void, Never>, for key: String) {
        waiting[key, default: []].append(continuation)
    }

    /// Gives `key` to the next waiter (returned, for the caller to resume) or frees it.
    mutating func release(_ key: String) -> CheckedContinuation<Void, Never>? {
        if var queue = waiting[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[key] = queue.isEmpty ? nil : queue
            return next  // the gate passes to `next` and stays held
        }
        held.remove(key)
        return nil
    }

    /// Whether anyone holds `key` (for tests).
    func isHeld(_ key: String) -> Bool { held.contains(key) }
}

extension SCIMDService {
    /// The gate every change of a connection record takes (create, update, rotate, delete): names
    /// are unique across connections, so these changes take turns across all connections. Each is
    /// one short transaction.
    static let connectionRecordsGate = "connections"

    /// The gate of one connection's mapping (`mapping.set`, `mapping.rollback`): held through the
    /// re-map, so a second change waits and then meets the version the first one installed.
    static func mappingGate(_ connectionId: String) -> String { "mapping:\(connectionId)" }

    /// Runs `body` holding the gate `key` (see ``SerialGates``): every other caller of the same key
    /// waits until `body` has returned or thrown. Waiting is not cancellable: a caller that gave up
    /// would otherwise leave a change half-decided.
    func serialized<T>(_ key: String, _ body: () async throws -> T) async throws -> T {
        if !gates.tryAcquire(key) {
            await withCheckedContinuation { continuation in gates.wait(continuation, for: key) }
        }
        defer { gates.release(key)?.resume() }
        return try await body()
    }
}
