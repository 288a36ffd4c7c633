import GRDB
import NIOConcurrencyHelpers
import SCIMJSON

/// One committed resource as held in memory: its row (as in the `resource` table) and its JSON,
/// parsed once when the row was committed or loaded.
public struct ReplicaResource: Sendable {
    public var record: ResourceRecord
    /// `record.raw`, parsed. An unparsable row (never written by scimd) holds an empty object.
    public var object: JSONObject

    init(_ record: ResourceRecord) {
        self.record = record
        if case .object(let object)? = try? JSONParser().parse(record.raw) { self.object = object } else { self.object = [:] }
    }
}

/// Where a resource sits in list order: creation time, then id, as SQLite orders
/// `ORDER BY createdAt, id` (ids compared bytewise, like SQLite's BINARY collation).
struct CreationOrderKey: Comparable, Sendable {
    var createdAt: Milliseconds
    var id: String

    static func < (a: Self, b: Self) -> Bool {
        if a.createdAt != b.createdAt { return a.createdAt < b.createdAt }
        return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
    }
}

/// A connection's resources of one type (Users or Groups) with the indexes SCIM reads need.
public struct ResourceTable: Sendable {
    private(set) var byId: [String: ReplicaResource] = [:]
    /// Folded `userName` (Users) or `displayName` (Groups) → id: unique, like the SQL index.
    private var byNameKey: [String: String] = [:]
    /// `externalId` → ids (caseExact, RFC 7643 §3.1; not unique).
    private var byExternalId: [String: Set<String>] = [:]
    /// Every resource in list order.
    private var order: [CreationOrderKey] = []

    /// Number of resources.
    public var count: Int { byId.count }

    /// Every id in the table.
    var allIds: Set<String> { Set(byId.keys) }

    /// The resource with this id.
    public func resource(id: String) -> ReplicaResource? { byId[id] }

    /// The resource holding this folded uniqueness key.
    public func resource(nameKey: String) -> ReplicaResource? { byNameKey[nameKey].flatMap { byId[$0] } }

    /// Resources with exactly this `externalId`, in list order.
    public func resources(externalId: String) -> [ReplicaResource] {
        inListOrder((byExternalId[externalId] ?? []).compactMap { byId[$0] })
    }

    /// `count` resources from position `offset` (0-based) in list order.
    public func page(offset: Int, count: Int) -> [ReplicaResource] {
        guard offset < order.count, count > 0 else { return [] }
        return order[max(0, offset)..<min(order.count, max(0, offset) + count)].compactMap { byId[$0.id] }
    }

    /// Calls `body` with every resource in list order; stops early when `body` returns false.
    public func forEach(_ body: (ReplicaResource) throws -> Bool) rethrows {
        for key in order {
            guard let resource = byId[key.id] else { continue }
            if try !body(resource) { return }
        }
    }

    /// Calls `body` with every resource after the position (`createdAt`, `id`) in list order (all of
    /// them when `after` is nil); stops early when `body` returns false.
    public func forEach(after: (createdAt: Milliseconds, id: String)?, _ body: (ReplicaResource) throws -> Bool) rethrows {
        var index = 0
        if let after {
            let key = CreationOrderKey(createdAt: after.createdAt, id: after.id)
            index = insertionIndex(of: key)
            if index < order.count, order[index] == key { index += 1 }
        }
        while index < order.count {
            if let resource = byId[order[index].id], try !body(resource) { return }
            index += 1
        }
    }

    /// Sorts resources into list order.
    public func inListOrder(_ resources: [ReplicaResource]) -> [ReplicaResource] {
        resources.sorted {
            CreationOrderKey(createdAt: $0.record.createdAt, id: $0.record.id)
                < CreationOrderKey(createdAt: $1.record.createdAt, id: $1.record.id)
        }
    }

    mutating func put(_ record: ResourceRecord) {
        remove(id: record.id)
        byId[record.id] = ReplicaResource(record)
        byNameKey[record.nameKey] = record.id
        if let externalId = record.externalId { byExternalId[externalId, default: []].insert(record.id) }
        let key = CreationOrderKey(createdAt: record.createdAt, id: record.id)
        // Almost always the newest: appending is the common case of the binary search.
        if let last = order.last, !(key < last) {
            order.append(key)
        } else {
            order.insert(key, at: insertionIndex(of: key))
        }
    }

    mutating func remove(id: String) {
        guard let old = byId.removeValue(forKey: id) else { return }
        if byNameKey[old.record.nameKey] == id { byNameKey[old.record.nameKey] = nil }
        if let externalId = old.record.externalId {
            byExternalId[externalId]?.remove(id)
            if byExternalId[externalId]?.isEmpty == true { byExternalId[externalId] = nil }
        }
        let key = CreationOrderKey(createdAt: old.record.createdAt, id: id)
        let index = insertionIndex(of: key)
        if index < order.count, order[index] == key { order.remove(at: index) }
    }

    /// The first position whose key is not less than `key`.
    private func insertionIndex(of key: CreationOrderKey) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// Group membership edges of one connection, both directions (the `groupMember` table).
public struct MembershipTable: Sendable {
    /// groupId → its member rows, in list order (position, then member id).
    private var membersByGroup: [String: [GroupMemberRecord]] = [:]
    /// memberId → the groups it is directly in.
    private var groupsByMember: [String: Set<String>] = [:]

    /// The groups that have member rows.
    var groupIds: Set<String> { Set(membersByGroup.keys) }

    /// A group's member rows in list order.
    public func members(ofGroup groupId: String) -> [GroupMemberRecord] { membersByGroup[groupId] ?? [] }

    /// The ids of the groups `memberId` directly belongs to (unordered).
    public func groupIds(ofMember memberId: String) -> Set<String> { groupsByMember[memberId] ?? [] }

    mutating func put(_ row: GroupMemberRecord) {
        remove(groupId: row.groupId, memberId: row.memberId)
        var rows = membersByGroup[row.groupId] ?? []
        let precedes: (GroupMemberRecord) -> Bool = { other in
            other.position < row.position
                || (other.position == row.position && other.memberId.utf8.lexicographicallyPrecedes(row.memberId.utf8))
        }
        if let last = rows.last, precedes(last) {
            rows.append(row)
        } else {
            rows.insert(row, at: rows.firstIndex { !precedes($0) } ?? rows.count)
        }
        membersByGroup[row.groupId] = rows
        groupsByMember[row.memberId, default: []].insert(row.groupId)
    }

    mutating func remove(groupId: String, memberId: String) {
        guard var rows = membersByGroup[groupId], let index = rows.firstIndex(where: { $0.memberId == memberId }) else { return }
        rows.remove(at: index)
        membersByGroup[groupId] = rows.isEmpty ? nil : rows
        groupsByMember[memberId]?.remove(groupId)
        if groupsByMember[memberId]?.isEmpty == true { groupsByMember[memberId] = nil }
    }

    mutating func removeAll(groupId: String) {
        for row in membersByGroup[groupId] ?? [] { remove(groupId: groupId, memberId: row.memberId) }
    }
}

/// Everything in memory about one connection's SCIM data.
public struct ConnectionResources: Sendable {
    public internal(set) var users = ResourceTable()
    public internal(set) var groups = ResourceTable()
    public internal(set) var memberships = MembershipTable()

    /// Every row held, in a canonical order (resources by type and id, members by group, position
    /// and member id): to compare the replica with a fresh load of the database.
    public func allRows() -> (resources: [ResourceRecord], members: [GroupMemberRecord]) {
        var resources: [ResourceRecord] = []
        users.forEach { resources.append($0.record); return true }
        groups.forEach { resources.append($0.record); return true }
        resources.sort { ($0.resourceType, $0.id) < ($1.resourceType, $1.id) }
        var members: [GroupMemberRecord] = []
        for groupId in groups.allIds.union(memberships.groupIds).sorted() { members += memberships.members(ofGroup: groupId) }
        return (resources, members)
    }

    /// The table of `resourceType` ("User" or "Group").
    public func table(_ resourceType: String) -> ResourceTable { resourceType == "Group" ? groups : users }

    mutating func apply(_ change: ReplicaChange) {
        switch change {
        case .putResource(let record):
            if record.resourceType == "Group" { groups.put(record) } else { users.put(record) }
        case .deleteResource(_, let type, let id):
            if type == "Group" { groups.remove(id: id) } else { users.remove(id: id) }
        case .putMember(let row):
            memberships.put(row)
        case .deleteMember(_, let groupId, let memberId):
            memberships.remove(groupId: groupId, memberId: memberId)
        case .deleteMembers(_, let groupId):
            memberships.removeAll(groupId: groupId)
        case .deleteConnection:
            self = ConnectionResources()
        }
    }
}

/// One committed change to the rows the replica mirrors.
enum ReplicaChange: Sendable {
    case putResource(ResourceRecord)
    case deleteResource(connectionId: String, type: String, id: String)
    case putMember(GroupMemberRecord)
    case deleteMember(connectionId: String, groupId: String, memberId: String)
    case deleteMembers(connectionId: String, groupId: String)
    case deleteConnection(String)

    var connectionId: String {
        switch self {
        case .putResource(let record): record.connectionId
        case .putMember(let row): row.connectionId
        case .deleteResource(let id, _, _), .deleteMember(let id, _, _), .deleteMembers(let id, _), .deleteConnection(let id): id
        }
    }
}

/// The committed SCIM data of every connection, in memory: the `resource` and `groupMember`
/// tables with their indexes, so that reads never go to SQLite.
///
/// It changes only from committed transactions: each write body's row changes are recorded as it
/// makes them (``ReplicaRecording``), dropped if its savepoint or its group's transaction rolls
/// back, and applied here, in commit order, after the commit and before the writer's callers
/// resume (so a caller reads its own write). Each connection has its own lock: a long scan of one
/// connection never holds up reads or commits of another.
public final class ResourceReplica: Sendable {
    /// One connection's data behind its own lock.
    final class Slot: Sendable {
        let resources: NIOLockedValueBox<ConnectionResources>
        init(_ resources: ConnectionResources = .init()) { self.resources = NIOLockedValueBox(resources) }
    }

    private let slots = NIOLockedValueBox<[String: Slot]>([:])

    init() {}

    /// Loads every resource and member row from `db` (startup).
    func load(_ db: Database) throws {
        var all: [String: ConnectionResources] = [:]
        let resources = try ResourceRecord.fetchCursor(db, sql: "SELECT * FROM resource")
        while let record = try resources.next() { all[record.connectionId, default: .init()].apply(.putResource(record)) }
        let members = try GroupMemberRecord.fetchCursor(db, sql: "SELECT * FROM groupMember")
        while let row = try members.next() { all[row.connectionId, default: .init()].apply(.putMember(row)) }
        slots.withLockedValue { $0 = all.mapValues { Slot($0) } }
    }

    /// Runs `body` with the connection's committed data, holding its lock: for reads that take
    /// microseconds (a resource by id, an index lookup, a page). Commits to this connection wait.
    public func read<T>(_ connectionId: String, _ body: (ConnectionResources) throws -> T) rethrows -> T {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return try body(ConnectionResources()) }
        return try slot.resources.withLockedValue { try body($0) }
    }

    /// The connection's committed data as a value that later commits do not change: for scans,
    /// which then run without holding any lock. (A commit to the connection while the snapshot is
    /// alive copies the tables it changes.)
    public func snapshot(_ connectionId: String) -> ConnectionResources {
        slots.withLockedValue { $0[connectionId] }?.resources.withLockedValue { $0 } ?? ConnectionResources()
    }

    /// The connections that have resources or members in memory.
    public var connectionIds: Set<String> { Set(slots.withLockedValue { $0.keys }) }

    /// Applies committed changes in order.
    func apply(_ changes: [ReplicaChange]) {
        guard !changes.isEmpty else { return }
        var start = changes.startIndex
        while start < changes.endIndex {
            // Runs of changes to one connection take its lock once.
            let connectionId = changes[start].connectionId
            var end = start
            while end < changes.endIndex, changes[end].connectionId == connectionId { end += 1 }
            let slot = slots.withLockedValue { slots -> Slot in
                if let slot = slots[connectionId] { return slot }
                let slot = Slot()
                slots[connectionId] = slot
                return slot
            }
            slot.resources.withLockedValue { resources in
                for change in changes[start..<end] { resources.apply(change) }
            }
            if case .deleteConnection = changes[end - 1] {
                slots.withLockedValue { _ = $0.removeValue(forKey: connectionId) }
            }
            start = end
        }
    }
}

/// Collects the row changes each write body makes, for ``ResourceReplica``.
///
/// The writer (``GroupCommitWriter``, or ``Store/writeNow(_:)`` at startup) opens a log for its
/// connection before a body runs and closes it after; the row writes of `SCIMDStore`
/// (``ResourceRecord/insertRow(_:)``, ``ResourceRecord/updateRow(_:)``,
/// ``ResourceRecord/deleteRow(_:)``, the `groupMember` writes) add to it. A row write with no
/// log open throws ``StoreError/unrecordedWrite``: a write the replica would miss must fail
/// loudly, not leave memory and SQLite apart.
enum ReplicaRecording {
    /// Open logs by writer connection. Only the writer thread that opened a log touches it while
    /// it is open (one body runs at a time on a writer connection), so the lock only guards the
    /// dictionary itself.
    private static let logs = NIOLockedValueBox<[ObjectIdentifier: Log]>([:])

    final class Log: @unchecked Sendable {
        // Safe: created, appended to and closed by the single thread running the body (GRDB's
        // writer connection runs one body at a time); read after that thread closes it.
        var changes: [ReplicaChange] = []
    }

    static func begin(_ db: Database) {
        logs.withLockedValue { $0[ObjectIdentifier(db)] = Log() }
    }

    static func end(_ db: Database) -> [ReplicaChange] {
        logs.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(db)) }?.changes ?? []
    }

    static func record(_ db: Database, _ change: ReplicaChange) throws {
        guard let log = logs.withLockedValue({ $0[ObjectIdentifier(db)] }) else { throw StoreError.unrecordedWrite }
        log.changes.append(change)
    }
}
