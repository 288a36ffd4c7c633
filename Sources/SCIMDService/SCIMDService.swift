import Foundation
import Logging
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import NIOConcurrencyHelpers
import Synchronization

/// Tunables of the service layer, with the defaults scimd ships.
public struct ServiceConfiguration: Sendable {
    /// Reported by `system.version` and `rpc.discover`.
    public var version: String
    /// Prefix stripped from `scim.handle` paths when present (`/scim/v2`).
    public var scimBasePath: String
    /// Request log retention per connection: newest N entries…
    public var requestLogMaxEntries: Int
    /// …and nothing older than this many seconds.
    public var requestLogMaxAgeSeconds: Int
    /// Largest `count` a SCIM list honours (RFC 7644 §3.4.2.4 lets the server cap it).
    public var maxResults: Int
    /// Page size when the IdP sends no `count`.
    public var defaultPageSize: Int
    /// Operations allowed in one PATCH (more → 400 tooMany).
    public var maxPatchOperations: Int
    /// Largest SCIM request body accepted, in bytes (more → 413).
    public var maxBodyBytes: Int
    /// Longest filter accepted, in characters, and deepest nesting.
    public var maxFilterLength: Int
    public var maxFilterDepth: Int
    /// Change-feed events older than this many seconds are pruned.
    public var eventMaxAgeSeconds: Int
    /// One `info` line per SCIM request (method, path, connection, status, duration, request id).
    public var accessLog: Bool = false
    /// log2 of scrypt's cost N for operators' new passwords (`--password-hash-cost`, 10…20,
    /// default ``PasswordHash/defaultLogRounds`` = 15: about 32 MiB and tens of milliseconds
    /// each). Stored hashes keep the cost they were made with. Test suites lower it: scrypt built
    /// without optimization (debug, thread sanitizer) takes a second or more at 15.
    public var passwordHashLogRounds: Int = PasswordHash.defaultLogRounds
    /// Told about every `scim.handle` (either door) once it is answered, for metrics; nil: nobody listens.
    public var requestObserver: (@Sendable (SCIMRequestObservation) -> Void)? = nil

    public init(
        version: String = "0.1.0", scimBasePath: String = "/scim/v2", requestLogMaxEntries: Int = 10_000,
        requestLogMaxAgeSeconds: Int = 30 * 24 * 3600, maxResults: Int = 1_000, defaultPageSize: Int = 100,
        maxPatchOperations: Int = 1_000, maxBodyBytes: Int = 4 * 1024 * 1024, maxFilterLength: Int = 16_384,
        maxFilterDepth: Int = 64, eventMaxAgeSeconds: Int = 30 * 24 * 3600
    ) {
        self.eventMaxAgeSeconds = eventMaxAgeSeconds
        self.version = version
        self.scimBasePath = scimBasePath
        self.requestLogMaxEntries = requestLogMaxEntries
        self.requestLogMaxAgeSeconds = requestLogMaxAgeSeconds
        self.maxResults = maxResults
        self.defaultPageSize = defaultPageSize
        self.maxPatchOperations = maxPatchOperations
        self.maxBodyBytes = maxBodyBytes
        self.maxFilterLength = maxFilterLength
        self.maxFilterDepth = maxFilterDepth
    }
}

/// One answered `scim.handle`, as ``ServiceConfiguration/requestObserver`` sees it.
public struct SCIMRequestObservation: Sendable, Equatable {
    /// Upper-cased HTTP method.
    public var method: String
    /// The first segment of the path below the base URL as sent (`Users`, `Groups`,
    /// `ServiceProviderConfig`, …; empty for `/`): the client chose it, so bound it before using it as a label.
    public var endpoint: String
    /// HTTP status answered.
    public var status: Int
    /// The connection it was served for; nil when refused before one was known (401, 403, 404).
    public var connection: String?
    /// From receipt to answer, the transaction and its fsync included.
    public var duration: Duration

    public init(method: String, endpoint: String, status: Int, connection: String?, duration: Duration) {
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.connection = connection
        self.duration = duration
    }
}

/// The daemon's state and behaviour, without any transport: the one owner of mutable state.
///
/// Every change is committed to the ``Store`` before memory follows it and before the answer.
/// Configuration changes take turns on the actor. What requests read is held where they read it
/// without the actor: connections and tokens in ``ConnectionDirectory``, mappings in
/// `MappingRegistry`, operators in `OperatorRegistry`, resources in the store's replica. So
/// `scim.handle` runs on its caller's thread, and one connection's requests never wait for
/// another's CPU work.
public actor SCIMDService {
    let store: Store
    let clock: Clock
    let logger: Logger
    public nonisolated let configuration: ServiceConfiguration
    nonisolated let startedAt: Milliseconds

    /// The connections, their token indexes and settings, as committed (see ``ConnectionDirectory``).
    nonisolated let directory = ConnectionDirectory()
    /// Connections by id (mirror of the `connection` table).
    nonisolated var connections: [String: ConnectionRecord] { directory.connections }
    /// `scim.handle` calls since start.
    nonisolated let scimRequestCount = Atomic<Int>(0)
    /// Connections whose request log grew since the last ``runMaintenance(everyConnection:)``.
    nonisolated let connectionsLoggedSinceMaintenance = NIOLockedValueBox<Set<String>>([])
    /// Turns for read-modify-write changes of configuration (see ``SerialGates``).
    var gates = SerialGates()
    /// Each connection's current mapping, compiled.
    nonisolated let mappingRegistry = MappingRegistry()
    /// Wakes change-feed subscribers after events commit.
    nonisolated let eventNotifier = EventNotifier()
    /// Dashboard operators by id (mirror of the `operators` table; see SCIMDService+Operators.swift).
    nonisolated let operatorRegistry = OperatorRegistry()

    /// Loads the connections from `store`. Throws the store's error if it cannot be read.
    public init(store: Store, configuration: ServiceConfiguration = .init(), clock: Clock = .system, logger: Logger) throws {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.startedAt = clock.now()
        let records = try store.readNow { db in try db.allConnections() }
        for record in records { directory.adopt(record, replacing: nil) }
        // Every connection has a mapping version; one created before mappings existed gets the default.
        let now = clock.now()
        let versions = try store.writeNow { db -> [MappingVersionRecord] in
            var latest = Dictionary(uniqueKeysWithValues: try db.latestMappingVersions().map { ($0.connectionId, $0) })
            for record in records where latest[record.id] == nil {
                let initial = try Self.initialMappingVersion(connectionId: record.id, now: now)
                try db.insert(initial)
                latest[record.id] = initial
            }
            return Array(latest.values)
        }
        for version in versions { mappingRegistry.setStored(version, logger: logger) }
        try loadOperators()
        logger.info("loaded connections", metadata: ["count": "\(records.count)"])
    }

    // MARK: system

    /// Seconds since the service started.
    public nonisolated func uptimeSeconds() -> Double {
        Double(clock.now() - startedAt) / 1000
    }

    /// What of the database is in memory, and `--memory-limit` (`system.stats`).
    public nonisolated func memoryResidency() -> ReplicaResidency { store.residency() }

    /// The store's own check behind `system.health` (``HealthMonitor`` adds the others): `storage`
    /// fails from a write refused for a full disk until a write commits 5 s after the last refusal
    /// (the log says when each episode begins and ends).
    public nonisolated func healthChecks() -> [HealthCheck] {
        let storage = store.storageStatus
        guard let since = storage.fullSince else { return [HealthCheck(name: "storage", status: "ok")] }
        return [
            HealthCheck(
                name: "storage", status: "failing",
                detail: "the database's disk is full since \(Timestamp.string(since)): \(storage.refusedWrites) write(s) refused; free space")
        ]
    }

    /// `system.backup`: see ``Store/backup(to:)``. Throws `invalid_params` (relative path, no such
    /// directory, cannot write), `conflict` (the file exists), `storage_full`.
    public nonisolated func backup(_ params: SystemBackup.Params) async throws -> SystemBackup.Result {
        let path = params.path
        guard path.hasPrefix("/") else {
            throw RPCError.invalidParams("path must be absolute (scimd resolves it, not the caller)", field: "path")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw RPCError.conflict("\(path) already exists; a backup never overwrites a file")
        }
        var isDirectory: ObjCBool = false
        let directory = (path as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RPCError.invalidParams("the directory \(directory) does not exist", field: "path")
        }
        let started = ContinuousClock.now
        let bytes: Int64
        do {
            bytes = try await store.backup(to: path)
        } catch StoreError.cannotOpen(_, let reason) where reason.contains("exists") {
            throw RPCError.conflict("\(path) already exists; a backup never overwrites a file")
        } catch StoreError.cannotOpen(_, let reason) {
            throw RPCError.invalidParams("cannot write the backup to \(path): \(reason)", field: "path")
        } catch where StoreFailure(error) == .storageFull {
            try? FileManager.default.removeItem(atPath: path)
            throw StorageFullError(reason: StoreFailure.message(of: error)).rpcError
        } catch where StoreFailure(error) != nil {
            try? FileManager.default.removeItem(atPath: path)
            throw RPCError.invalidParams("cannot write the backup to \(path): \(StoreFailure.message(of: error))", field: "path")
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("backup written", metadata: ["path": "\(path)", "bytes": "\(bytes)", "ms": "\(Int(milliseconds))"])
        return .init(path: path, bytes: bytes, milliseconds: milliseconds)
    }

    /// `system.version`.
    public nonisolated func version() throws -> SystemVersion.Result {
        SystemVersion.Result(
            version: configuration.version, protocolVersion: 1, sqliteVersion: store.sqliteVersion)
    }

    /// Counters owned by the service (the transport adds its own).
    public func counters() -> (scimConnections: Int, scimRequests: Int) {
        (connections.count, scimRequestCount.load(ordering: .relaxed))
    }

    /// Makes the database durable in its main file (clean shutdown).
    public nonisolated func checkpoint() {
        do { try store.checkpoint() } catch { logger.warning("checkpoint failed", metadata: ["error": "\(error)"]) }
    }

    /// Commits what is queued without a waiter (the last reads' log entries, which wait up to
    /// 20 ms for company): a stopping daemon calls it before ``checkpoint()``.
    public nonisolated func finishQueuedWrites() async {
        do { try await store.waitForQueuedWrites() } catch { logger.warning("queued writes did not finish", metadata: ["error": "\(error)"]) }
    }

    // MARK: connections

    /// Finds a connection by id, else by exact name, else by a name that differs only in case
    /// when exactly one does. Throws `not_found`.
    nonisolated func connection(named reference: String) throws(RPCError) -> ConnectionRecord {
        if let record = directory.connection(id: reference) { return record }
        let connections = self.connections
        if let record = connections.values.first(where: { $0.name == reference }) { return record }
        let folded = connections.values.filter { $0.name.caseInsensitiveCompare(reference) == .orderedSame }
        if folded.count == 1, let record = folded.first { return record }
        if folded.count > 1 {
            // Names are unique as written, so `Acme` and `acme` can both exist: say why neither was picked.
            let names = folded.map { "'\($0.name)'" }.sorted().joined(separator: ", ")
            throw RPCError.notFound(
                "no connection named exactly '\(reference)', and \(folded.count) differ from it only in case (\(names)): use the exact name or the id")
        }
        throw RPCError.notFound("no connection with id or name '\(reference)' (see them all with `scimctl dashboard`)")
    }

    /// `connections.create`. Throws `invalid_params` (empty name), `conflict` (name taken).
    public func createConnection(_ params: ConnectionsCreate.Params) async throws -> ConnectionWithToken {
        let name = params.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw RPCError.invalidParams("name must not be empty", field: "name") }
        return try await serialized(Self.connectionRecordsGate) {
            guard !connections.values.contains(where: { $0.name == name }) else {
                throw RPCError.conflict("a connection named '\(name)' already exists")
            }
            let (token, hash) = BearerToken.generate()
            let now = clock.now()
            let record = ConnectionRecord(
                id: UUID().uuidString.lowercased(), name: name, customerId: params.customerId.nonEmpty, idp: params.idp.nonEmpty,
                disabled: false, createdAt: now, updatedAt: now, tokenHash: hash)
            let initial = try Self.initialMappingVersion(connectionId: record.id, now: now)
            try await conflictOnConstraint("a connection named '\(name)' already exists") {
                try await store.write { db in
                    try db.insert(record)
                    try db.insert(initial)
                    // A new connection has no resource, and each is mapped with version 1 as it is
                    // written: the version reaches every resource from the start, so the start-up
                    // check for unfinished re-maps (`finishInterruptedRemaps`) never reads its rows.
                    try db.markRemapped(connectionId: record.id, version: initial.version, at: now)
                    try EventLog.append(
                        db, at: now, connectionId: record.id, type: .connectionCreated, resourceType: nil, resourceId: nil,
                        data: Self.eventData(record))
                }
            }
            eventNotifier.notify()
            mappingRegistry.set(try ActiveMapping(version: initial.version, configuration: .default), saved: initial, for: record.id)
            adopt(record, replacing: nil)
            logger.info("connection created", metadata: ["connection": "\(record.id)", "name": "\(name)"])
            return ConnectionWithToken(connection: try await info(record), token: token)
        }
    }

    /// `connections.list`, ordered by name.
    public func listConnections() async throws -> [ConnectionInfo] {
        var result: [ConnectionInfo] = []
        // Natural order, as people read names: "F2" before "F10".
        let ordered = connections.values.sorted {
            let order = $0.name.localizedStandardCompare($1.name)
            return order == .orderedSame ? $0.id < $1.id : order == .orderedAscending
        }
        for record in ordered {
            result.append(try await info(record))
        }
        return result
    }

    /// `connections.get`. Throws `not_found`.
    public func getConnection(_ reference: String) async throws -> ConnectionInfo {
        try await info(try connection(named: reference))
    }

    /// `connections.update`: changes only the fields given, atomically (see ``commitConnectionChange``).
    /// Throws `not_found`, `invalid_params`, `conflict` (the new name is taken).
    public func updateConnection(_ params: ConnectionsUpdate.Params) async throws -> ConnectionInfo {
        try await serialized(Self.connectionRecordsGate) {
            let current = try connection(named: params.connection)
            let name = params.name?.trimmingCharacters(in: .whitespacesAndNewlines)
            if name?.isEmpty == true { throw RPCError.invalidParams("name must not be empty", field: "name") }
            if let sso = params.sso {
                guard SSOStrategy.kinds.contains(sso.kind) else {
                    throw RPCError.invalidParams("sso.kind must be one of \(SSOStrategy.kinds.joined(separator: ", "))", field: "sso.kind")
                }
                if sso.kind == "claim_property" {
                    guard let claim = sso.claim, !claim.isEmpty else {
                        throw RPCError.invalidParams("claim_property needs sso.claim", field: "sso.claim")
                    }
                    guard let property = sso.property, !property.isEmpty else {
                        throw RPCError.invalidParams("claim_property needs sso.property (a mapped property)", field: "sso.property")
                    }
                    guard activeMapping(current.id).configuration.users.property(named: property) != nil || property == "roles" else {
                        throw RPCError.invalidParams("the user mapping has no property '\(property)'", field: "sso.property")
                    }
                } else if sso.claim != nil || sso.property != nil {
                    // The other strategies read a fixed claim: a claim given with them would be
                    // stored and silently ignored at every login.
                    throw RPCError.invalidParams(
                        "sso.claim and sso.property belong to claim_property; \(sso.kind) reads its own claim",
                        field: sso.claim != nil ? "sso.claim" : "sso.property")
                }
            }
            if let timeout = params.commitTimeoutSeconds {
                guard (10...86_400).contains(timeout) else {
                    throw RPCError.invalidParams("commitTimeoutSeconds must be 10…86400", field: "commitTimeoutSeconds")
                }
            }
            let domains = try params.domains.map(EmailDomains.normalized)
            // Matching on an email's local part alone lets anyone with the same local part at any
            // domain in: that strategy needs the customer's domains.
            let settings = ConnectionSettings(current)
            let strategyAfter = params.sso ?? settings.ssoStrategy
            let domainsAfter = domains ?? settings.domains ?? []
            if strategyAfter.kind == "email_localpart_userName" && domainsAfter.isEmpty {
                throw RPCError.invalidParams(
                    "email_localpart_userName matches only the part before '@', so it needs the customer's email domains "
                        + "(domains: [\"example.com\"]); without them anyone with that name at any domain would match",
                    field: params.sso != nil ? "sso.kind" : "domains")
            }
            let committed = try await commitConnectionChange(current.id, eventType: .connectionUpdated, eventData: Self.eventData) { record in
                if let name { record.name = name }
                if let customerId = params.customerId { record.customerId = Optional(customerId).nonEmpty }
                if let idp = params.idp { record.idp = Optional(idp).nonEmpty }
                if let disabled = params.disabled { record.disabled = disabled }
                if params.sso != nil || params.confirmMode != nil || params.commitTimeoutSeconds != nil || domains != nil {
                    var settings = ConnectionSettings(record)
                    if let sso = params.sso { settings.sso = sso }
                    if let confirmMode = params.confirmMode { settings.confirmMode = confirmMode }
                    if let timeout = params.commitTimeoutSeconds { settings.commitTimeoutSeconds = timeout }
                    if let domains { settings.domains = domains.isEmpty ? nil : domains }
                    record.settings = settings.json
                }
            }
            return try await info(committed)
        }
    }

    /// `connections.delete`: the connection and, by cascade, everything it holds. Throws `not_found`.
    public func deleteConnection(_ reference: String) async throws -> ConnectionsDelete.Result {
        try await serialized(Self.connectionRecordsGate) {
            let record = try connection(named: reference)
            // Drop it from memory first so no request authenticates against it while it goes.
            directory.remove(record)
            let (mapping, saved) = (mappingRegistry.current(record.id), mappingRegistry.saved(record.id))
            mappingRegistry.set(nil, saved: nil, for: record.id)
            do {
                let now = clock.now()
                let counts = try await store.write { db in
                    let counts = try db.resourceCounts(connectionId: record.id)
                    try db.deleteConnection(record)
                    try EventLog.append(
                        db, at: now, connectionId: record.id, type: .connectionDeleted, resourceType: nil, resourceId: nil,
                        data: Self.eventData(record))
                    return counts
                }
                eventNotifier.notify()
                logger.info("connection deleted", metadata: ["connection": "\(record.id)"])
                return .init(deleted: true, users: counts.users, groups: counts.groups)
            } catch {
                // Nothing was deleted: put it back.
                mappingRegistry.set(mapping, saved: saved, for: record.id)
                adopt(record, replacing: nil)
                throw error
            }
        }
    }

    /// `connections.rotateToken`. Throws `not_found`, `invalid_params` (overlap out of range).
    public func rotateToken(_ params: ConnectionsRotateToken.Params) async throws -> ConnectionWithToken {
        let overlap = params.overlapSeconds ?? 0
        guard (0...2_592_000).contains(overlap) else {
            throw RPCError.invalidParams("overlapSeconds must be between 0 and 2592000", field: "overlapSeconds")
        }
        return try await serialized(Self.connectionRecordsGate) {
            let current = try connection(named: params.connection)
            let (token, hash) = BearerToken.generate()
            let committed = try await commitConnectionChange(
                current.id, eventType: .connectionTokenRotated, eventData: { _ in ["overlapSeconds": .int(overlap)] }
            ) { record in
                let now = record.updatedAt
                if overlap > 0 {
                    record.previousTokenHash = record.tokenHash
                    record.previousTokenExpiresAt = now + Milliseconds(overlap) * 1000
                } else {
                    record.previousTokenHash = nil
                    record.previousTokenExpiresAt = nil
                }
                record.tokenHash = hash
            }
            logger.info("token rotated", metadata: ["connection": "\(committed.id)", "overlapSeconds": "\(overlap)"])
            return ConnectionWithToken(connection: try await info(committed), token: token)
        }
    }

    /// Changes one connection record atomically and returns it as committed.
    ///
    /// In one transaction: reads the row as stored, applies `change` (only the fields it sets),
    /// checks that the name is still unique, writes the row and its change-feed event. Memory is
    /// then set from that committed row. Callers hold ``connectionRecordsGate``, so no other change
    /// of a connection record runs between the read and the memory update; the transaction reads
    /// the row itself anyway, so memory can never hand a stale copy to the database. `change` sees
    /// `updatedAt` already set to now. Throws `not_found` (deleted meanwhile), `conflict` (name
    /// taken), and the store's errors (nothing is changed then, in SQLite or in memory).
    func commitConnectionChange(
        _ id: String, eventType: EventType, eventData: @escaping @Sendable (ConnectionRecord) -> JSONObject,
        _ change: @escaping @Sendable (inout ConnectionRecord) throws -> Void
    ) async throws -> ConnectionRecord {
        let now = clock.now()
        let previous = connections[id]
        let committed = try await conflictOnConstraint("a connection with that name already exists") {
            try await store.write { db -> ConnectionRecord in
                guard var record = try db.connection(id: id) else {
                    throw RPCError.notFound("connection \(id) no longer exists")
                }
                record.updatedAt = now
                try change(&record)
                if try db.connectionName(record.name, isUsedByAnotherThan: id) {
                    throw RPCError.conflict("a connection named '\(record.name)' already exists")
                }
                try db.update(record)
                try EventLog.append(
                    db, at: now, connectionId: id, type: eventType, resourceType: nil, resourceId: nil, data: eventData(record))
                return record
            }
        }
        eventNotifier.notify()
        adopt(committed, replacing: previous)
        return committed
    }

    /// Makes memory hold `record` as committed: the connection and both token indexes (the old
    /// record's hashes are dropped first, so a rotated-out token stops working here and now).
    func adopt(_ record: ConnectionRecord, replacing old: ConnectionRecord?) {
        directory.adopt(record, replacing: old)
    }

    /// Runs `body`, answering a uniqueness constraint SQLite enforced with `conflict` (the
    /// in-transaction checks come first; the index is the backstop) instead of an internal error.
    func conflictOnConstraint<T>(_ message: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch where StoreFailure(error) == .constraintViolation {
            throw RPCError.conflict(message)
        }
    }

    /// What connection events carry (never the token or its hash).
    static func eventData(_ record: ConnectionRecord) -> JSONObject {
        var data: JSONObject = ["name": .string(record.name), "disabled": .bool(record.disabled)]
        if let customerId = record.customerId { data["customerId"] = .string(customerId) }
        if let idp = record.idp { data["idp"] = .string(idp) }
        return data
    }

    /// Version 1 of a new connection's mapping: the default configuration.
    static func initialMappingVersion(connectionId: String, now: Milliseconds) throws -> MappingVersionRecord {
        MappingVersionRecord(
            connectionId: connectionId, version: 1, configuration: try MappingCodec.encode(.default), createdAt: now,
            comment: "default mapping")
    }

    /// The current mapping of a connection.
    func activeMapping(_ connectionId: String) -> ActiveMapping {
        mappingRegistry.current(connectionId)
    }

    /// The dashboard view of one connection, counters read from the store.
    func info(_ record: ConnectionRecord) async throws -> ConnectionInfo {
        let since = clock.now() - 24 * 3600 * 1000
        let id = record.id
        try await store.waitForQueuedWrites()  // the request counters include reads' log entries
        // Counts from memory when resident (a COUNT over every warning row of a large connection
        // took ~100 ms, and every dashboard page shows them), else from SQLite's indexes: listing
        // connections must not reload every connection `--memory-limit` evicted.
        let counts = try await store.resourceCounts(id)
        let logged = try await store.requestCounts(id, now: clock.now())
        let requests = logged.since(since)
        let previousExpiry = record.previousTokenExpiresAt.flatMap { $0 > clock.now() ? Timestamp.string($0) : nil }
        let settings = ConnectionSettings(record)
        return ConnectionInfo(
            id: record.id, name: record.name, customerId: record.customerId, idp: record.idp, disabled: record.disabled,
            createdAt: Timestamp.string(record.createdAt), updatedAt: Timestamp.string(record.updatedAt),
            users: counts.users, activeUsers: counts.activeUsers, groups: counts.groups,
            openWarnings: counts.openWarnings, resourcesWithWarnings: counts.resourcesWithWarnings,
            requests24h: requests.requests, errors24h: requests.errors,
            lastRequestAt: logged.lastAt.map(Timestamp.string), lastRequestStatus: logged.lastStatus,
            previousTokenExpiresAt: previousExpiry, sso: settings.ssoStrategy, confirmMode: settings.confirmMode ?? false,
            commitTimeoutSeconds: settings.commitTimeout, domains: settings.domains ?? [])
    }

    // MARK: authentication

    /// Why a bearer token was refused.
    enum AuthenticationFailure: Error {
        case missing, unknown
        /// The token (or `connection`) names this connection, which is disabled.
        case disabled(connectionId: String)
        /// `scim.handle` named a connection and sent a valid token of another one.
        case otherConnection

        /// For the refusal's log line.
        var reason: String {
            switch self {
            case .missing: return "missing_token"
            case .unknown: return "unknown_token"
            case .disabled: return "connection_disabled"
            case .otherConnection: return "token_of_another_connection"
            }
        }
    }

    /// The connection a bearer token belongs to. Lookup is by SHA-256 of the token, then the
    /// stored digest is compared in constant time; an expired previous token is refused.
    /// The connection's settings, decoded once per change of its JSON.
    nonisolated func settings(of record: ConnectionRecord) -> ConnectionSettings {
        directory.settings(of: record)
    }

    nonisolated func authenticate(token: String?) -> Result<ConnectionRecord, AuthenticationFailure> {
        guard let token, !token.isEmpty else { return .failure(.missing) }
        guard let record = directory.connection(tokenHash: BearerToken.hash(token), now: clock.now()) else { return .failure(.unknown) }
        return record.disabled ? .failure(.disabled(connectionId: record.id)) : .success(record)
    }
}

extension Optional where Wrapped == String {
    /// nil for nil or blank strings.
    var nonEmpty: String? {
        guard let s = self?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else { return nil }
        return s
    }
}

/// A connection's settings, stored as JSON in `connection.settings` (absent members: defaults).
struct ConnectionSettings: Codable, Sendable {
    var sso: SSOStrategy?
    var confirmMode: Bool?
    var commitTimeoutSeconds: Int?
    /// The customer's email domains, lowercased (see ``EmailDomains``).
    var domains: [String]?

    init(_ record: ConnectionRecord) {
        self = (try? JSONDecoder().decode(ConnectionSettings.self, from: Data(record.settings.utf8)))
            ?? ConnectionSettings(sso: nil, confirmMode: nil, commitTimeoutSeconds: nil)
    }

    init(sso: SSOStrategy?, confirmMode: Bool?, commitTimeoutSeconds: Int?, domains: [String]? = nil) {
        self.sso = sso
        self.confirmMode = confirmMode
        self.commitTimeoutSeconds = commitTimeoutSeconds
        self.domains = domains
    }

    var ssoStrategy: SSOStrategy { sso ?? .default }
    var commitTimeout: Int { commitTimeoutSeconds ?? 300 }

    var json: String {
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "{}"
    }
}

/// A connection's email domains: the customer's own, from which `sso.resolve` accepts email claims.
enum EmailDomains {
    /// Lowercased, trimmed, a leading `@` dropped, duplicates removed (order kept). Throws
    /// `invalid_params` naming the entry (`domains.1`) for one that is not a domain name.
    static func normalized(_ domains: [String]) throws(RPCError) -> [String] {
        var out: [String] = []
        for (index, raw) in domains.enumerated() {
            var domain = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if domain.hasPrefix("@") { domain.removeFirst() }
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            let valid =
                !domain.isEmpty && domain.count <= 253 && labels.count >= 2
                && labels.allSatisfy { label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.unicodeScalars.allSatisfy { $0 == "-" || CharacterSet.alphanumerics.contains($0) }
                }
            guard valid else {
                throw RPCError.invalidParams("'\(raw)' is not a domain name (like example.com)", field: "domains.\(index)")
            }
            if !out.contains(domain) { out.append(domain) }
        }
        return out
    }

    /// The domain of an email address (after its last `@`), lowercased; nil when it has no local
    /// part or no domain.
    static func domain(ofEmail email: String) -> String? {
        guard let at = email.lastIndex(of: "@"), at != email.startIndex else { return nil }
        let domain = email[email.index(after: at)...].trimmingCharacters(in: .whitespaces).lowercased()
        return domain.isEmpty ? nil : domain
    }
}
