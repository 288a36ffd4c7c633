import Dispatch
import GRDB
import NIOConcurrencyHelpers

/// Commits queued writes in groups: one SQLite transaction and one fsync for every write that
/// arrived while the previous group was committing.
///
/// With `synchronous = FULL` the fsync at each commit is most of what a write costs, so a daemon
/// committing one request at a time is bound by the disk's flush latency however many clients it
/// has. Here the first write starts a group at once (no waiting for company, so a lone write is as
/// fast as before); writes that arrive meanwhile form the next group. Throughput grows with the
/// number of concurrent writers, latency does not.
///
/// Queued records nobody waits for (``enqueue(durable:_:onSuccess:onFailure:)``, the log entries
/// of reads) are the exception: a group of only those starts `relaxedLinger` late, so that a
/// client reading sequentially pays one small transaction per 20 ms instead of one per read
/// (each costs a transaction, its WAL frames and a third of a lookup's CPU, measured with perf).
/// Any other write, or ``Store/waitForQueuedWrites()``, starts the waiting group at once.
final class GroupCommitWriter: Sendable {
    /// Most writes in one transaction: bounds how long the first one waits for the last.
    static let maximumGroupSize = 512
    /// How long a group of only enqueued relaxed records waits for company before it commits.
    let relaxedLinger: Duration

    private let pool: DatabasePool
    /// Receives each committed group's row changes before its callers resume.
    private let replica: ResourceReplica
    /// Receives each committed group's request-log entries and prunes, likewise.
    private let requestCounters: RequestCounters
    /// Where groups are committed: a serial queue, so one group runs at a time and in order.
    /// GRDB's own writer is serial too; this queue only keeps the blocking commit off Swift's
    /// cooperative threads.
    private let queue = DispatchQueue(label: "scimd.store.group-commit")
    private let state = NIOLockedValueBox(State())

    private struct State {
        var queued: [Job] = []
        /// Groups committed or failed so far (for tests and diagnostics).
        var groups = 0
        /// True while a drain is scheduled or running on `queue`: new jobs join it.
        var draining = false
        /// True while the scheduled drain is a delayed one (only lingering jobs are queued): a job
        /// that must not wait schedules an immediate drain.
        var lingering = false
    }

    /// How `append` starts the queue's drain.
    private enum DrainStart { case none, now, afterLinger }

    /// One queued write, type-erased: `run` executes the body inside the group's transaction and
    /// returns how to resume its caller once the group's fate is known.
    private struct Job: Sendable {
        var durable: Bool
        /// Nobody waits for it: it may wait `relaxedLinger` for company.
        var lingers: Bool
        var run: @Sendable (Database) -> Completion
        /// Resumes the caller with `error` when the body never got to run.
        var abandon: @Sendable (any Error) -> Void
    }

    /// Resumes a caller: with its own result or error if the group committed, or with the commit's
    /// error if it did not.
    private struct Completion {
        /// The body's own error, if it threw.
        var error: (any Error)?
        var resume: (_ commitError: (any Error)?) -> Void
    }

    /// Told about every group after it committed or failed (metrics); nil: nobody listens.
    private let observer: (@Sendable (GroupCommitObservation) -> Void)?

    init(
        pool: DatabasePool, replica: ResourceReplica, requestCounters: RequestCounters = RequestCounters(),
        relaxedLinger: Duration = .milliseconds(20), observer: (@Sendable (GroupCommitObservation) -> Void)? = nil
    ) {
        self.pool = pool
        self.replica = replica
        self.requestCounters = requestCounters
        self.relaxedLinger = relaxedLinger
        self.observer = observer
    }

    /// Writes waiting for the next group.
    var queuedCount: Int { state.withLockedValue { $0.queued.count } }

    /// Groups (transactions) started so far.
    var groupCount: Int { state.withLockedValue { $0.groups } }

    func submit<T: Sendable>(durable: Bool, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(durable: durable, lingers: false, run: { db in
                let outcome: Result<T, any Error>
                do {
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db)
                        return .commit
                    }
                    outcome = .success(value!)
                } catch {
                    outcome = .failure(error)
                }
                var bodyError: (any Error)? = nil
                if case .failure(let error) = outcome { bodyError = error }
                return Completion(error: bodyError) { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: outcome)
                    }
                }
            }, abandon: { error in continuation.resume(throwing: error) })
            append(job)
        }
    }

    /// Queues `body` for the next group without waiting for it; `onFailure` is called (on the
    /// writer's queue) if it throws or its group fails to commit.
    ///
    /// `singleStatement`: the body runs one SQL statement and throws only that statement's error,
    /// so it needs no savepoint of its own. SQLite undoes a failed statement by itself (its
    /// statement journal), and an error that rolls back more ends the group as for any body. A
    /// savepoint costs two statements GRDB prepares anew each time (`SAVEPOINT`, `RELEASE`): for
    /// the log row of a read, the writer spent about as long on them as on the row (perf).
    func enqueue(
        durable: Bool, singleStatement: Bool = false, _ body: @escaping @Sendable (Database) throws -> Void,
        onSuccess: @escaping @Sendable () -> Void = {}, onFailure: @escaping @Sendable (any Error) -> Void
    ) {
        let job = Job(durable: durable, lingers: !durable, run: { db in
            var bodyError: (any Error)?
            do {
                if singleStatement {
                    try body(db)
                } else {
                    try db.inSavepoint {
                        try body(db)
                        return .commit
                    }
                }
            } catch {
                bodyError = error
            }
            return Completion(error: bodyError) { commitError in
                if let error = commitError ?? bodyError { onFailure(error) } else { onSuccess() }
            }
        }, abandon: onFailure)
        append(job)
    }

    private func append(_ job: Job) {
        let linger = relaxedLinger
        let start = state.withLockedValue { state -> DrainStart in
            state.queued.append(job)
            if state.draining {
                // A delayed drain is scheduled: a job that must not wait (or a full group) brings
                // it forward. The delayed one still runs later and finds little or nothing to do.
                guard state.lingering, !job.lingers || state.queued.count >= Self.maximumGroupSize else { return .none }
                state.lingering = false
                return .now
            }
            state.draining = true
            guard job.lingers, linger > .zero else { return .now }
            state.lingering = true
            return .afterLinger
        }
        switch start {
        case .none: break
        case .now: queue.async { self.drain() }
        case .afterLinger:
            let (seconds, attoseconds) = linger.components
            let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
            queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { self.drain() }
        }
    }

    /// Commits groups until the queue is empty. Runs on `queue` only.
    private func drain() {
        while true {
            let group = state.withLockedValue { state -> [Job] in
                let count = min(state.queued.count, Self.maximumGroupSize)
                if count == 0 {
                    state.draining = false
                    state.lingering = false
                    return []
                }
                let group = Array(state.queued.prefix(count))
                state.queued.removeFirst(count)
                state.lingering = false
                state.groups += 1
                return group
            }
            if group.isEmpty { return }
            commit(group)
        }
    }

    private func commit(_ group: [Job]) {
        let durable = group.contains(where: \.durable)
        var completions: [Completion] = []
        completions.reserveCapacity(group.count)
        let started = ContinuousClock.now
        // Row changes of the bodies that succeeded, in order: applied to memory only once the
        // transaction has committed.
        var changes: [ReplicaChange] = []
        do {
            try pool.writeWithoutTransaction { db in
                // Set for every group, so no group inherits the previous one's setting.
                try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                defer { if !durable { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
                try db.inTransaction(.immediate) {
                    for job in group {
                        ReplicaRecording.begin(db)
                        let completion = job.run(db)
                        let recorded = ReplicaRecording.end(db)
                        if completion.error == nil { changes += recorded }
                        completions.append(completion)
                        // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM…) make SQLite roll the
                        // whole transaction back, not only the failed statement. The rest of the group
                        // must not run then: outside a transaction each of their statements would
                        // commit on its own, and their callers would be told the commit failed. The
                        // group fails with that error; nothing of it was applied.
                        if !db.isInsideTransaction { throw completion.error ?? GroupAborted() }
                    }
                    return .commit
                }
            }
        } catch {
            // Nothing in the group was applied: those that ran learn the commit failed, those that
            // never ran (the transaction could not begin, or stopped part-way) get the same error.
            observer?(GroupCommitObservation(writes: group.count, duration: ContinuousClock.now - started, committed: false))
            for completion in completions { completion.resume(error) }
            for job in group.dropFirst(completions.count) { job.abandon(error) }
            return
        }
        observer?(GroupCommitObservation(writes: group.count, duration: ContinuousClock.now - started, committed: true))
        // Request-log entries are a row per request: most groups are nothing but.
        if changes.contains(where: \.isRequestLog) {
            requestCounters.apply(changes)
            replica.apply(changes.filter { !$0.isRequestLog })
        } else {
            replica.apply(changes)
        }
        for completion in completions { completion.resume(nil) }
    }
}

/// One group commit, as ``Store``'s commit observer sees it.
public struct GroupCommitObservation: Sendable, Equatable {
    /// Writes (request transactions) in the group: each ran in its own savepoint.
    public var writes: Int
    /// From `BEGIN IMMEDIATE` to the end of `COMMIT` (its fsync included), every write's body included.
    public var duration: Duration
    /// False when the group failed and nothing of it was applied (a full disk, an I/O error).
    public var committed: Bool

    public init(writes: Int, duration: Duration, committed: Bool) {
        self.writes = writes
        self.duration = duration
        self.committed = committed
    }
}

/// A group stopped because SQLite rolled its transaction back on its own.
struct GroupAborted: Error, CustomStringConvertible {
    var description: String { "SQLite rolled the transaction back" }
}
