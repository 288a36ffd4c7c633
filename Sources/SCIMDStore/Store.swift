import Foundation
import GRDB
import Logging

/// scimd's SQLite database: WAL mode, foreign keys on, `synchronous=FULL` so that a committed
/// transaction survives power loss, versioned migrations. One per daemon.
///
/// Writes are serialized by GRDB's single writer; reads run concurrently on WAL snapshots.
/// Every method that changes data runs inside one transaction, so a failure leaves nothing
/// half-applied.
public final class Store: Sendable {
    private let pool: DatabasePool
    let writer: GroupCommitWriter
    /// Every connection's committed resources and memberships, in memory (loaded in the
    /// background after open, then changed only by committed writes): what reads are answered
    /// from, through ``withResources(_:_:)`` and ``resources(_:)``.
    let replica: ResourceReplica
    /// The request log's counters, kept in step with commits (``requestCounts(_:now:)``).
    let requestCounters = RequestCounters()
    /// The file the store lives in.
    public let path: String
    /// Episodes of refused writes (a full disk), for the log and `system.health`.
    let health: StorageHealth

    /// Holds an exclusive `flock(2)` on the database file while the store is open (released by the
    /// kernel when the process exits, even on SIGKILL).
    private let lockDescriptor: Int32

    /// Opens (creating if needed) and migrates the database at `path`.
    /// Throws ``StoreError/inUse(_:)`` when another process has it open as a store (two daemons on
    /// one database would each keep a different picture of it in memory), and GRDB's
    /// `DatabaseError` when the file cannot be opened or is not a database.
    ///
    /// `logger` gets the store's own events: a full disk (once per episode) and its end. An
    /// episode of refused writes ends at the first write that commits after
    /// `storageRecoveryQuietPeriod` without a refusal (see ``storageStatus``).
    ///
    /// `commitObserver`, when given, is called on the writer's queue after every group commit
    /// (committed or failed) with its size and duration: it must return quickly (metrics).
    ///
    /// `relaxedLinger` is how long records queued by ``enqueueRelaxed(_:onFailure:)`` wait for
    /// company before their group commits (see ``waitForQueuedWrites()``).
    ///
    /// `memoryLimit` (`--memory-limit`, bytes of the estimate ``ConnectionResources/residentBytes``):
    /// past it, connections read least recently are evicted from memory and loaded again when next
    /// read (see ``ResourceReplica``); nil keeps every connection resident.
    public init(
        path: String, logger: Logger = Logger(label: "scimd.store", factory: { _ in SwiftLogNoOpLogHandler() }),
        storageRecoveryQuietPeriod: Duration = .seconds(5), relaxedLinger: Duration = .milliseconds(20),
        memoryLimit: Int? = nil, commitObserver: (@Sendable (GroupCommitObservation) -> Void)? = nil
    ) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.cannotOpen(path, String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw StoreError.inUse(path)
        }
        lockDescriptor = descriptor
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(5)
        self.path = path
        self.health = StorageHealth(logger: logger, recoveryQuietPeriod: storageRecoveryQuietPeriod)
        do {
            self.pool = try DatabasePool(path: path, configuration: config)
            // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power
            // loss. Set on the writer connection after opening, because GRDB's pool sets NORMAL
            // when it turns WAL on, after `prepareDatabase` has run (a FULL set there is lost).
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            // Sub-journals in memory. Each write of a group commit runs in its own savepoint, and
            // SQLite copies every page a savepoint changes that an earlier write of the group had
            // already changed (the last leaf of `resource`, `requestLog`, `event` and their indexes)
            // to a sub-journal, to be able to roll that savepoint back alone. Past 64 KiB a
            // sub-journal spills to a temporary file: batched creates wrote about 55 KB per create
            // to such files (`strace`: 13 page-sized `pwrite`s each), more than to the WAL itself.
            // In memory it is a copy, freed at commit; the WAL and its fsync are unchanged.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA temp_store = MEMORY") }
            try Self.migrator.migrate(pool)
            sqliteVersion = try pool.read { db in try String.fetchOne(db, sql: "SELECT sqlite_version()") } ?? "unknown"
            let replica = ResourceReplica(residentLimit: memoryLimit, logger: logger)
            replica.expect(try pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM connection") })
            self.replica = replica
            self.writer = GroupCommitWriter(
                pool: pool, replica: replica, requestCounters: requestCounters, relaxedLinger: relaxedLinger, observer: commitObserver)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(lockDescriptor)
    }

    /// Starts loading every stored connection's resources into memory in the background (up to
    /// the memory limit); logs when all are in, then calls `finished`. Reads of a connection not
    /// loaded yet wait for it (see ``ResourceReplica``).
    public func startLoadingResources(logger: Logger, finished: (@Sendable () -> Void)? = nil) {
        if let limit = replica.residentLimit {
            logger.info("loading resources into memory up to --memory-limit", metadata: ["limitBytes": "\(limit)"])
        }
        replica.startLoading(pool) { [replica] connections, resources, seconds in
            defer { finished?() }
            var metadata: Logger.Metadata = [
                "connections": "\(connections)", "resources": "\(resources)", "seconds": "\((seconds * 100).rounded() / 100)",
            ]
            if let limit = replica.residentLimit {
                // What stays: the last loads may have passed the limit and been trimmed.
                let residency = replica.residency()
                metadata["residentConnections"] = "\(residency.residentConnections)"
                metadata["storedConnections"] = "\(residency.connections)"
                metadata["residentBytes"] = "\(residency.residentBytes)"
                metadata["limitBytes"] = "\(limit)"
            }
            logger.info("resources loaded into memory", metadata: metadata)
        }
    }

    /// Runs `body` with the connection's committed resources, under its lock, once they are in
    /// memory: for reads that take microseconds (one resource, an index lookup, a page). Throws
    /// the database's error if they had to be loaded and could not be.
    public func withResources<T>(_ connectionId: String, _ body: (ConnectionResources) throws -> T) async throws -> T {
        // Loops only when the connection was evicted between its load and the read (a memory limit).
        while true {
            try await replica.ensureLoaded(connectionId, pool: pool)
            if let value = try replica.readIfLoaded(connectionId, body) { return value }
        }
    }

    /// The connection's committed resources as a value later commits leave alone, once they are
    /// in memory: for scans. Throws like ``withResources(_:_:)``.
    public func resources(_ connectionId: String) async throws -> ConnectionResources {
        while true {
            try await replica.ensureLoaded(connectionId, pool: pool)
            if let resources = replica.snapshotIfLoaded(connectionId) { return resources }
        }
    }

    /// ``withResources(_:_:)`` without waiting: nil, without calling `body`, when the connection
    /// is not in memory (not loaded yet, or evicted under `--memory-limit`). For a caller that must
    /// not wait (the event loop): it then falls back to the waiting form.
    public func withResourcesIfResident<T>(_ connectionId: String, _ body: (ConnectionResources) throws -> T) rethrows -> T? {
        try replica.readIfLoaded(connectionId, body)
    }

    /// ``resources(_:)`` without waiting: nil when the connection is not in memory.
    public func resourcesIfResident(_ connectionId: String) -> ConnectionResources? {
        replica.snapshotIfLoaded(connectionId)
    }

    /// Returns once the connection is in memory (loads it now when it is not: a request that comes
    /// before the start-up load reaches it, or after `--memory-limit` evicted it). Throws the
    /// database's error.
    public func waitUntilResident(_ connectionId: String) async throws {
        try await replica.ensureLoaded(connectionId, pool: pool)
    }

    /// The counts `connections.get` and `connections.list` show: from memory when the connection
    /// is resident, else from SQLite's indexes (``StoreReader/resourceCounts(connectionId:)``), so
    /// that listing connections, a metrics scrape or the dashboard never loads a connection
    /// `--memory-limit` evicted (nor waits for one the start-up load has not reached). Counting
    /// does not make a connection "recently read". Throws the database's error.
    public func resourceCounts(_ connectionId: String) async throws -> ResourceCounts {
        if let counts = replica.peek(connectionId, { $0.counts }) { return counts }
        return try await read { reader in try reader.resourceCounts(connectionId: connectionId) }
    }

    /// How much of the database is in memory, and the limit (`system.health`).
    public func residency() -> ReplicaResidency { replica.residency() }

    /// Evicts connections read least recently while the estimate is over `--memory-limit`, as
    /// loads and commits do by themselves (tests). Returns how many connections and estimated
    /// bytes went.
    @discardableResult
    func enforceMemoryLimit() -> (connections: Int, bytes: Int) { replica.enforceLimit() }

    /// Returns once the eviction passes commits have queued are done (tests).
    func settleEvictions() { replica.settleEvictions() }

    /// The SQLite library version the daemon runs on (e.g. "3.40.1"), read once when the store
    /// opens: `system.version` read it from a reader connection on every call, blocking a thread
    /// of the event loops (108 µs per sequential call, 47 µs without it).
    public let sqliteVersion: String

    /// Runs `body` in a read transaction (a consistent snapshot).
    public func read<T: Sendable>(_ body: @escaping @Sendable (StoreReader) throws -> T) async throws -> T {
        try await pool.read { db in try body(StoreReader(db)) }
    }

    /// ``read(_:)`` with GRDB's connection itself, for tests that check rows with their own SQL.
    func readDatabase<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    /// Runs `body` in a write transaction; all of it commits or none of it does, and it is on disk
    /// (fsynced) before this returns.
    ///
    /// Group commit: writes that arrive while one is being committed are queued and then committed
    /// together, each inside its own savepoint, with one fsync for all of them. A body that throws
    /// rolls back only its own savepoint and gets its own error; the others commit. If the commit
    /// itself fails, every write in it gets that error and none of them is applied. Bodies run one
    /// at a time, in the order they were queued, so each sees the writes queued before it.
    ///
    /// Throws what `body` throws, ``StorageFullError`` when the disk is full (nothing was written;
    /// see ``storageStatus``), or the database's error.
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        try await observed { try await writer.submit(durable: true) { db in try body(StoreTransaction(db)) } }
    }

    /// ``write(_:)`` with GRDB's connection itself, for tests that change rows with their own SQL.
    /// Rows written with SQL text here bypass the in-memory replica; the record methods
    /// (`insertRow`, GRDB's `insert` on a `ResourceRecord`…) still record theirs.
    func writeDatabase<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await observed { try await writer.submit(durable: true, body) }
    }

    /// Whether writes currently succeed: a full disk is reported from the first refused write until
    /// a write commits after a quiet period without refusals (5 s by default).
    public var storageStatus: StorageStatus { health.status }

    /// Runs a write, turning a full disk into ``StorageFullError`` and keeping ``storageStatus``.
    private func observed<T>(_ write: () async throws -> T) async throws -> T {
        do {
            let value = try await write()
            health.succeeded(path: path)
            return value
        } catch {
            throw health.failed(error, path: path)
        }
    }

    /// Runs `body` in a write transaction that may be committed without waiting for the disk: it
    /// survives a crash of scimd but may be lost on power failure. For records whose loss costs
    /// nothing but history — the log entry of a request that changed nothing — so that reads do not
    /// pay an fsync each. It joins a group commit like ``write(_:)``; a group with any durable write
    /// in it is fsynced.
    public func writeRelaxed<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        try await observed { try await writer.submit(durable: false) { db in try body(StoreTransaction(db)) } }
    }

    /// Queues `body` to be written in the next group commit, relaxed like ``writeRelaxed(_:)``,
    /// and returns at once: for records a caller must not wait for (the log entry of a read).
    /// A group of only such records commits `relaxedLinger` (20 ms) after the first, so a crash
    /// may lose that much of them. `onFailure` gets the error if `body` throws or its commit
    /// fails. Reads that must see such records call ``waitForQueuedWrites()`` first, and a
    /// stopping daemon calls it before it exits.
    public func enqueueRelaxed(_ body: @escaping @Sendable (StoreTransaction) throws -> Void, onFailure: @escaping @Sendable (any Error) -> Void) {
        let (health, path) = (self.health, self.path)
        writer.enqueue(durable: false, { db in try body(StoreTransaction(db)) }, onSuccess: { health.succeeded(path: path) }, onFailure: { error in
            onFailure(health.failed(error, path: path))
        })
    }

    /// Queues a request-log entry (``StoreTransaction/logRequest(_:)``) like
    /// ``enqueueRelaxed(_:onFailure:)``: one `INSERT`, which needs no savepoint of its own
    /// (``GroupCommitWriter/enqueue(durable:singleStatement:_:onSuccess:onFailure:)``).
    public func enqueueRequestLog(_ record: RequestLogRecord, onFailure: @escaping @Sendable (any Error) -> Void) {
        let (health, path) = (self.health, self.path)
        writer.enqueue(
            durable: false, singleStatement: true, { db in _ = try StoreTransaction(db).logRequest(record) },
            onSuccess: { health.succeeded(path: path) }, onFailure: { error in onFailure(health.failed(error, path: path)) })
    }

    /// What the request log of `connectionId` holds, counted (``RequestCounts``): from memory,
    /// loaded from the log the first time a connection is asked about (its entries of the week
    /// before `now`, in ms) and kept in step with commits after that. Entries still queued are not
    /// counted: callers that need them wait for queued writes first. Throws the database's error.
    public func requestCounts(_ connectionId: String, now: Milliseconds) async throws -> RequestCounts {
        if let counts = requestCounters.loaded(connectionId) { return counts }
        let installs = requestCounters.beginLoad(connectionId)
        let since = now - RequestCounts.hoursKept * RequestCounts.hour
        let read: RequestCounts
        do {
            read = try await pool.read { db in try StoreReader(db).requestCounts(connectionId: connectionId, since: since) }
        } catch {
            if installs { requestCounters.abandonLoad(connectionId) }
            throw error
        }
        return installs ? requestCounters.finishLoad(connectionId, read) : read
    }

    /// Returns once every write queued before this call has been committed (or has failed),
    /// without waiting out the relaxed records' linger.
    /// Their failures are theirs to report (a full disk among them): waiting does not throw them.
    public func waitForQueuedWrites() async throws {
        do {
            try await writer.submit(durable: false) { _ in }
        } catch {
            // The group this empty write joined failed: the writes queued before it have finished.
        }
    }

    /// What a fresh start would load into memory: a new replica read from the database now (for
    /// tests that compare it with ``replica``).
    func loadReplicaFromDisk() throws -> ResourceReplica {
        let fresh = ResourceReplica()
        fresh.expect(try pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM connection") })
        try fresh.loadAll(pool)
        return fresh
    }

    /// Synchronous write, for startup.
    public func writeNow<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        var changes: [ReplicaChange] = []
        let value = try pool.write { db in
            ReplicaRecording.begin(db)
            do {
                let value = try body(StoreTransaction(db))
                changes = ReplicaRecording.end(db)
                return value
            } catch {
                _ = ReplicaRecording.end(db)
                throw error
            }
        }
        replica.apply(changes)
        return value
    }

    /// Runs `body` in a read transaction on the calling thread. For small reads that an index
    /// answers (one resource by id, an `eq` lookup): they take tens of microseconds, less than the
    /// hand-off to a reader thread and back that ``read(_:)`` costs. Never for scans: the caller's
    /// thread (an event loop) is blocked while it runs.
    public func indexedRead<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try pool.read { db in try body(StoreReader(db)) }
    }

    /// Synchronous read, for startup.
    public func readNow<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try pool.read { db in try body(StoreReader(db)) }
    }

    /// Writes a consistent copy of the whole database to `path` while the daemon keeps serving:
    /// SQLite's `VACUUM INTO` on a reader connection, which reads one snapshot (every transaction
    /// committed before it began, none after) and never blocks writers in WAL mode. The copy is a
    /// plain, compacted SQLite file (no WAL), readable by `scimd --restore`. Returns its size in
    /// bytes. Throws the database's error (an existing file at `path`, a directory it cannot write).
    ///
    /// The file is created first, exclusively and with mode 0600 like the database itself (it holds
    /// the same data: token hashes, SCIM data, request bodies), then filled; it never replaces a file.
    public func backup(to path: String) async throws -> Int64 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.cannotOpen(path, String(cString: strerror(errno))) }
        close(descriptor)
        do {
            // Outside a transaction: SQLite refuses VACUUM inside one. An empty file is allowed.
            try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        } catch {
            unlink(path)
            throw error
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Replaces the database file at `databasePath` with the backup at `backupPath`, for
    /// `scimd --restore`. Checks first that the backup is an intact scimd database (SQLite's
    /// `integrity_check`, and migrations this version knows), and that no scimd has
    /// `databasePath` open (its lock). The copy is written beside the target and renamed into
    /// place, so an interrupted restore leaves the old database as it was. The old database (with
    /// its `-wal`, so nothing it held is lost) is kept as `<database>.before-restore`, replacing an
    /// earlier one; returns that path, or nil when there was none. The restored file gets the old
    /// one's owner and mode (a restore run as root must leave a file the service user can open);
    /// a new one gets mode 0600 and the owner of its directory. Throws ``StoreError``.
    @discardableResult
    public static func restore(backup backupPath: String, to databasePath: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: backupPath) else {
            throw StoreError.cannotOpen(backupPath, "no such file")
        }
        // Check the backup by opening it read-only: no WAL, no journal, nothing written to it.
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: backupPath, configuration: configuration)
            try queue.read { db in
                let check = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard check == ["ok"] else { throw StoreError.notABackup(backupPath, check.prefix(3).joined(separator: "; ")) }
                guard try db.tableExists("connection"), try db.tableExists("grdb_migrations") else {
                    throw StoreError.notABackup(backupPath, "it is not a scimd database")
                }
                let applied = Set(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
                let known = Set(Self.migrator.migrations)
                guard applied.isSubset(of: known) else {
                    throw StoreError.notABackup(backupPath, "it was written by a newer scimd (migrations \(applied.subtracting(known).sorted()))")
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.notABackup(backupPath, "\(error)")
        }
        // No daemon may have the target open: take its lock as a store would.
        let descriptor = open(databasePath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.cannotOpen(databasePath, String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { throw StoreError.inUse(databasePath) }
        // Whose the restored file must be: the old database's owner and mode, else its directory's.
        var old = stat()
        let hadDatabase = fstat(descriptor, &old) == 0 && old.st_size > 0
        var owner = (uid: old.st_uid, gid: old.st_gid, mode: old.st_mode & 0o777)
        if !hadDatabase {
            var directory = stat()
            let parent = (databasePath as NSString).deletingLastPathComponent
            if stat(parent.isEmpty ? "." : parent, &directory) == 0 { owner = (directory.st_uid, directory.st_gid, 0o600) }
        }
        // The change feed's sequences never go back (see `carryEventSequence`).
        let highestEvent = hadDatabase ? Self.highestEventSequence(inDatabaseAt: databasePath) : nil
        let staging = databasePath + ".restoring"
        try? FileManager.default.removeItem(atPath: staging)
        var kept: String? = nil
        do {
            try FileManager.default.copyItem(atPath: backupPath, toPath: staging)
            if let highestEvent { try Self.carryEventSequence(highestEvent, intoDatabaseAt: staging) }
            let staged = open(staging, O_RDONLY | O_CLOEXEC)
            if staged >= 0 {
                fchmod(staged, owner.mode)
                if getuid() == 0 { fchown(staged, owner.uid, owner.gid) }
                fsync(staged)
                close(staged)
            }
            if hadDatabase {
                // Keep the old database whole: its WAL may hold commits not yet in the main file.
                let previous = databasePath + ".before-restore"
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: previous + suffix) }
                guard link(databasePath, previous) == 0 else { throw StoreError.cannotOpen(previous, String(cString: strerror(errno))) }
                if FileManager.default.fileExists(atPath: databasePath + "-wal") {
                    guard rename(databasePath + "-wal", previous + "-wal") == 0 else {
                        throw StoreError.cannotOpen(previous + "-wal", String(cString: strerror(errno)))
                    }
                }
                kept = previous
            }
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
            guard rename(staging, databasePath) == 0 else { throw StoreError.cannotOpen(databasePath, String(cString: strerror(errno))) }
            return kept
        } catch let error as StoreError {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw StoreError.cannotOpen(databasePath, "\(error)")
        }
    }

    /// The highest change-feed sequence ever assigned in the database at `path` (SQLite's
    /// `sqlite_sequence`, which outlives pruned events), WAL included; nil when it has none or
    /// cannot be read as a scimd database.
    static func highestEventSequence(inDatabaseAt path: String) -> Int64? {
        guard let queue = try? DatabaseQueue(path: path) else { return nil }
        defer { try? queue.close() }
        return try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'event'") }
    }

    /// Makes the next change-feed event of the database at `path` (a restore's staged copy) come
    /// after `sequence`. A restored backup would otherwise number its next events from where the
    /// backup ended, handing out again sequences (the `scimd-Event-Id` webhook receivers
    /// deduplicate on, the cursor `events.subscribe` resumes from) that the replaced database had
    /// already given to other events: receivers would drop them as duplicates or skip them.
    /// Throws the database's error.
    static func carryEventSequence(_ sequence: Int64, intoDatabaseAt path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = 'event' AND seq < ?", arguments: [sequence, sequence])
            if try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'event'") == nil {
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('event', ?)", arguments: [sequence])
            }
        }
        // Closing the last connection checkpoints the write into the file and removes its WAL.
        try queue.close()
    }

    /// Reads one page of the database on a reader connection: proof for `system.health` that the
    /// database answers. Throws the database's error.
    public func probeRead() async throws {
        try await pool.read { db in _ = try Row.fetchOne(db, sql: "SELECT id FROM connection LIMIT 1") }
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, on the writer; a cap below
    /// the current size is raised to it). Past it, writes fail as they do on a full disk: tests use
    /// it to fill the "disk" deterministically.
    func limitPageCount(_ pages: Int) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(max(1, pages))") }
    }

    /// The database's size in pages.
    func pageCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }

    /// Copies the WAL into the main database file (on clean shutdown), so the next start
    /// does not replay it.
    public func checkpoint() throws {
        try pool.writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
    }

    /// Schema history. Migrations are append-only: never edit one that has shipped.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: connections, resources, members, request log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE connection (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        customerId TEXT,
                        idp TEXT,
                        disabled INTEGER NOT NULL DEFAULT 0,
                        createdAt INTEGER NOT NULL,
                        updatedAt INTEGER NOT NULL,
                        tokenHash BLOB NOT NULL UNIQUE,
                        previousTokenHash BLOB,
                        previousTokenExpiresAt INTEGER
                    );
                    CREATE TABLE resource (
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        resourceType TEXT NOT NULL,
                        id TEXT NOT NULL,
                        nameKey TEXT NOT NULL,
                        externalId TEXT,
                        displayName TEXT,
                        active INTEGER,
                        createdAt INTEGER NOT NULL,
                        updatedAt INTEGER NOT NULL,
                        version INTEGER NOT NULL,
                        raw TEXT NOT NULL,
                        PRIMARY KEY (connectionId, resourceType, id)
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX resource_nameKey ON resource(connectionId, resourceType, nameKey);
                    CREATE INDEX resource_externalId ON resource(connectionId, resourceType, externalId);
                    CREATE INDEX resource_order ON resource(connectionId, resourceType, createdAt, id);
                    CREATE TABLE groupMember (
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        groupId TEXT NOT NULL,
                        memberId TEXT NOT NULL,
                        PRIMARY KEY (connectionId, groupId, memberId)
                    ) WITHOUT ROWID;
                    CREATE INDEX groupMember_member ON groupMember(connectionId, memberId);
                    CREATE TABLE requestLog (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        at INTEGER NOT NULL,
                        method TEXT NOT NULL,
                        path TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        durationMicroseconds INTEGER NOT NULL,
                        resourceType TEXT,
                        resourceId TEXT,
                        error TEXT,
                        requestHeaders TEXT NOT NULL,
                        requestBody TEXT,
                        responseBody TEXT
                    );
                    CREATE INDEX requestLog_connection ON requestLog(connectionId, id);
                    CREATE INDEX requestLog_resource ON requestLog(connectionId, resourceId, id);
                    """)
        }
        migrator.registerMigration("v2: mapping versions, mapped properties, warnings") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mappingVersion (
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        version INTEGER NOT NULL,
                        configuration TEXT NOT NULL,
                        createdAt INTEGER NOT NULL,
                        comment TEXT,
                        PRIMARY KEY (connectionId, version)
                    ) WITHOUT ROWID;
                    ALTER TABLE resource ADD COLUMN mapped TEXT;
                    ALTER TABLE resource ADD COLUMN mappingVersion INTEGER;
                    ALTER TABLE resource ADD COLUMN warningCount INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX resource_warnings ON resource(connectionId, resourceType, warningCount) WHERE warningCount > 0;
                    CREATE TABLE warning (
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        resourceType TEXT NOT NULL,
                        resourceId TEXT NOT NULL,
                        property TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        detail TEXT,
                        firstSeenAt INTEGER NOT NULL,
                        lastSeenAt INTEGER NOT NULL,
                        requestId INTEGER,
                        PRIMARY KEY (connectionId, resourceType, resourceId, property)
                    ) WITHOUT ROWID;
                    CREATE INDEX warning_property ON warning(connectionId, property);
                    CREATE INDEX warning_request ON warning(requestId) WHERE requestId IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v3: change feed, SSO links, tombstones, connection settings, pending commits") { db in
            try db.execute(
                sql: """
                    CREATE TABLE event (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        connectionId TEXT NOT NULL,
                        type TEXT NOT NULL,
                        resourceType TEXT,
                        resourceId TEXT,
                        data TEXT NOT NULL
                    );
                    CREATE INDEX event_connection ON event(connectionId, sequence);
                    ALTER TABLE resource ADD COLUMN appUserId TEXT;
                    CREATE INDEX resource_appUserId ON resource(connectionId, appUserId) WHERE appUserId IS NOT NULL;
                    ALTER TABLE connection ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
                    CREATE TABLE tombstone (
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        resourceType TEXT NOT NULL,
                        id TEXT NOT NULL,
                        nameKey TEXT NOT NULL,
                        externalId TEXT,
                        appUserId TEXT,
                        deletedAt INTEGER NOT NULL,
                        PRIMARY KEY (connectionId, resourceType, id)
                    ) WITHOUT ROWID;
                    CREATE INDEX tombstone_nameKey ON tombstone(connectionId, resourceType, nameKey);
                    CREATE INDEX tombstone_externalId ON tombstone(connectionId, resourceType, externalId);
                    CREATE TABLE pendingCommit (
                        id TEXT PRIMARY KEY NOT NULL,
                        connectionId TEXT NOT NULL REFERENCES connection(id) ON DELETE CASCADE,
                        action TEXT NOT NULL,
                        request TEXT NOT NULL,
                        userPreview TEXT NOT NULL,
                        createdAt INTEGER NOT NULL,
                        expiresAt INTEGER NOT NULL
                    );
                    """)
        }
        // A Group's `members` move out of its stored JSON into its membership rows, each with the
        // member as the IdP sent it and its position in the list: adding or removing one member
        // then writes one row, not the whole list (see docs/DESIGN-NOTES.md, "Group members").
        migrator.registerMigration("v4: group members as rows") { db in
            try db.execute(
                sql: """
                    ALTER TABLE groupMember ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE groupMember ADD COLUMN member TEXT;
                    CREATE INDEX groupMember_position ON groupMember(connectionId, groupId, position);
                    CREATE INDEX groupMember_nocase ON groupMember(connectionId, groupId, memberId COLLATE NOCASE);
                    CREATE TEMP TABLE listedMember AS
                      SELECT r.connectionId, r.id AS groupId, json_extract(j.value, '$.value') AS memberId,
                             MIN(j.key) + 1 AS position, j.value AS member
                      FROM resource r, json_each(r.raw, '$.members') j
                      WHERE r.resourceType = 'Group' AND json_type(j.value, '$.value') = 'text'
                      GROUP BY r.connectionId, r.id, json_extract(j.value, '$.value');
                    INSERT INTO groupMember (connectionId, groupId, memberId, position, member)
                      SELECT connectionId, groupId, memberId, position, member FROM temp.listedMember WHERE true
                      ON CONFLICT (connectionId, groupId, memberId) DO UPDATE SET position = excluded.position, member = excluded.member;
                    DROP TABLE temp.listedMember;
                    UPDATE resource SET raw = json_remove(raw, '$.members')
                      WHERE resourceType = 'Group' AND json_type(raw, '$.members') IS NOT NULL;
                    """)
        }
        // Webhook endpoints, their delivery log and queued manual redeliveries (see
        // docs/DESIGN-NOTES.md, "Webhooks"). An endpoint of a deleted connection goes with it.
        migrator.registerMigration("v5: webhooks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook (
                        id TEXT PRIMARY KEY NOT NULL,
                        connectionId TEXT REFERENCES connection(id) ON DELETE CASCADE,
                        url TEXT NOT NULL,
                        types TEXT,
                        secret TEXT NOT NULL,
                        previousSecret TEXT,
                        previousSecretExpiresAt INTEGER,
                        paused INTEGER NOT NULL DEFAULT 0,
                        cursor INTEGER NOT NULL,
                        createdAt INTEGER NOT NULL,
                        updatedAt INTEGER NOT NULL,
                        retrySequence INTEGER,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        firstAttemptAt INTEGER,
                        nextAttemptAt INTEGER,
                        lastError TEXT,
                        lastStatus INTEGER,
                        missedEvents INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX webhook_connection ON webhook(connectionId);
                    CREATE TABLE webhookDelivery (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        webhookId TEXT NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
                        sequence INTEGER NOT NULL,
                        eventType TEXT,
                        outcome TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        status INTEGER,
                        error TEXT,
                        firstAttemptAt INTEGER NOT NULL,
                        finishedAt INTEGER NOT NULL,
                        redelivery INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX webhookDelivery_webhook ON webhookDelivery(webhookId, id);
                    CREATE TABLE webhookRedelivery (
                        webhookId TEXT NOT NULL REFERENCES webhook(id) ON DELETE CASCADE,
                        sequence INTEGER NOT NULL,
                        requestedAt INTEGER NOT NULL,
                        PRIMARY KEY (webhookId, sequence)
                    ) WITHOUT ROWID;
                    """)
        }
        // People who sign in to the web dashboard, and who made each mapping change (see
        // docs/DESIGN-NOTES.md, "Dashboard operators"). Only a password's scrypt hash is kept.
        migrator.registerMigration("v6: dashboard operators") { db in
            try db.execute(
                sql: """
                    CREATE TABLE operators (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        role TEXT NOT NULL CHECK (role IN ('viewer', 'admin')),
                        password_hash TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        password_changed_at INTEGER NOT NULL
                    );
                    ALTER TABLE mappingVersion ADD COLUMN changed_by TEXT;
                    """)
        }
        // Counting a connection's inactive users without loading it (``StoreReader/resourceCounts(connectionId:)``):
        // a connection evicted by `--memory-limit` is counted from SQLite, not reloaded.
        migrator.registerMigration("v7: inactive users index") { db in
            try db.execute(sql: "CREATE INDEX resource_inactive ON resource(connectionId, resourceType) WHERE active = 0")
        }
        // A re-map writes only the resources it changes; the version whose re-map looked at
        // every resource is recorded instead (``MappingVersionRecord/remappedAt``). Versions
        // saved before stay nil: their re-maps wrote every row, so each row's own version holds.
        migrator.registerMigration("v8: re-map completion") { db in
            try db.execute(sql: "ALTER TABLE mappingVersion ADD COLUMN remappedAt INTEGER")
        }
        // Reads are answered from memory, and a connection loads by primary key and sorts its rows
        // itself: these two indexes served only queries nothing ran any more, yet every create
        // updated both (the externalId one at a random page), two of the pages its commit wrote
        // to the WAL and fsynced.
        migrator.registerMigration("v9: drop the externalId and creation-order indexes") { db in
            try db.execute(sql: "DROP INDEX IF EXISTS resource_externalId")
            try db.execute(sql: "DROP INDEX IF EXISTS resource_order")
        }
        return migrator
    }
}

/// Why the store cannot be opened.
public enum StoreError: Error, CustomStringConvertible {
    /// Another scimd (or another open `Store`) uses this database.
    case inUse(String)
    case cannotOpen(String, String)
    /// A file given to restore is not an intact scimd database: (path, why).
    case notABackup(String, String)
    /// A `resource` or `groupMember` row was written outside a recorded write (``Store/write(_:)``,
    /// ``Store/writeNow(_:)``): the in-memory replica would not see it, so the write is refused.
    case unrecordedWrite

    public var description: String {
        switch self {
        case .inUse(let path): return "the database \(path) is in use by another scimd; stop it first or choose another --database"
        case .cannotOpen(let path, let reason): return "cannot open the database \(path): \(reason)"
        case .notABackup(let path, let reason): return "\(path) is not a scimd backup that can be restored: \(reason)"
        case .unrecordedWrite: return "a resource row was written outside a recorded write transaction (a bug in scimd)"
        }
    }
}
