import Dispatch
import GRDB
import Logging
import NIOConcurrencyHelpers
import SCIMJSON
import Synchronization

#if canImport(CMalloc)
import CMalloc
#endif
#if canImport(CPrefetch)
import CPrefetch
#endif

/// One committed resource as held in memory: its row, as in the `resource` table.
///
/// The JSON is kept as the stored text and parsed when read: a parsed Okta/Entra user costs about
/// 5 KB in memory against about 1 KB for its row (measured with 50,000 users), which would put a
/// million users far past the memory budget.
///
/// A class, so that the indexes hold an 8-byte reference: as a struct the row (about 200 bytes)
/// sat inline in every bucket of the id index, and a dictionary sized for 100k entries has 262,144
/// buckets (a power of two at most 3/4 full), which cost about 560 bytes per user (measured with
/// `malloc_stats`). Immutable: a write puts a new one.
public final class ReplicaResource: Sendable {
    /// The row as committed.
    public let record: ResourceRecord

    /// `record.raw`, parsed. An unparsable row (never written by scimd) reads as an empty object.
    public var object: JSONObject {
        if case .object(let object)? = try? JSONParser().parse(record.raw) { return object }
        return [:]
    }

    /// `record.raw` with only the top-level members in `names` (ignoring case), parsed; the rest
    /// is skipped unbuilt (see `JSONParser.parseObject(_:keepingMembersIn:)`). An unparsable row
    /// reads as an empty object, as ``object`` does.
    public func object(keepingMembersIn names: JSONMemberNames) -> JSONObject {
        (try? JSONParser().parseObject(record.raw, keepingMembersIn: names)) ?? [:]
    }

    init(_ record: ResourceRecord) {
        self.record = record
    }
}

/// Prefetch hints for ``ResourceTable/scan(_:_:)``: the CPU is asked for a resource's object,
/// and later for the start of its stored text, before the scan reaches it.
///
/// Both read raw bits, not references, so that asking costs no reference count (whose atomic
/// increment would wait for the very memory being asked for). The text's address comes from the
/// `String`'s second word, which holds the native storage's address under its flag bits, with the
/// bytes 32 bytes in (the standard library's 64-bit layout). Only a hint depends on that layout:
/// a prefetch never faults, so a string laid out otherwise (inline, or a later layout) costs one
/// wasted hint and changes no result.
enum ScanPrefetch {
    static let objectDistance = 16
    static let textDistance = 8

    /// Where `record.raw` lies in a ``ReplicaResource`` object: after the object header (the
    /// metadata pointer and the reference count), at its offset in ``ResourceRecord``.
    static let rawOffset = 16 + (MemoryLayout<ResourceRecord>.offset(of: \.raw) ?? 0)

    static func object(_ buffer: UnsafeBufferPointer<ReplicaResource>, _ position: Int) {
        #if canImport(CPrefetch)
        let object = UnsafeRawPointer(buffer.baseAddress! + position).load(as: UnsafeRawPointer.self)
        scimd_prefetch(object)
        scimd_prefetch(object + 64)
        scimd_prefetch(object + 128)
        #endif
    }

    static func text(_ buffer: UnsafeBufferPointer<ReplicaResource>, _ position: Int) {
        #if canImport(CPrefetch)
        let object = UnsafeRawPointer(buffer.baseAddress! + position).load(as: UnsafeRawPointer.self)
        let bits = (object + rawOffset + 8).load(as: UInt.self) & 0x0FFF_FFFF_FFFF_FFFF
        guard let storage = UnsafeRawPointer(bitPattern: bits) else { return }
        scimd_prefetch(storage + 32)
        scimd_prefetch(storage + 96)
        #endif
    }
}

/// What rows cost in memory, estimated from their text: the basis of `--memory-limit`
/// (``ResourceReplica``). Calibrated against glibc's `malloc_stats` with 100k Okta-shaped users
/// (about 1.3 KB each in use, of which 0.6 KB is their text), so the estimate tracks the heap to
/// within about 10% for such users; it is not an allocator count.
enum ResidentCost {
    /// A string's heap bytes: nothing up to 15 UTF-8 bytes (held inline), else its bytes plus the
    /// storage header and the allocator's overhead.
    static func of(_ text: String?) -> Int {
        guard let count = text?.utf8.count, count > 15 else { return 0 }
        return count + 48
    }

    /// A resource: its object and its entries in the id, name, externalId and order indexes,
    /// plus its strings (the connection id is shared by the connection's rows).
    static func of(_ record: ResourceRecord) -> Int {
        450 + of(record.raw) + of(record.mapped) + of(record.id) + of(record.nameKey) + of(record.externalId)
            + of(record.displayName) + of(record.appUserId)
    }

    /// A member edge in both directions; its ids are the resources' own.
    static func of(_ row: GroupMemberRecord) -> Int { 160 + of(row.member) }

    /// A warning row in its resource's list; property and detail are mostly shared.
    static let warning = 200

    /// One key in a set of ``UserTombstones``: its hash-table slot and its string.
    static func tombstoneKey(_ key: String) -> Int { 50 + of(key) }
}

/// The key a user's tombstone is looked up by (`sso.resolve` telling a deleted user from an unknown one).
public enum TombstoneKey: Sendable {
    case externalId
    /// The case-folded `userName`.
    case nameKey
}

/// The keys of a connection's deleted users (the `tombstone` rows of type User): what
/// `sso.resolve` needs to answer `deny_deprovisioned` rather than `deny_not_provisioned` for a
/// login that finds no live user. Tombstones are never deleted but with their connection, so
/// this only grows; a user deleted twice under one key is one entry.
public struct UserTombstones: Sendable, Equatable {
    /// Case-folded `userName`s of deleted users.
    public private(set) var nameKeys: Set<String> = []
    /// `externalId`s of deleted users (exact: RFC 7643 makes it case-exact).
    public private(set) var externalIds: Set<String> = []
    /// Estimated bytes held (``ResidentCost``).
    public private(set) var residentBytes = 0

    /// Whether a deleted user of this connection had `value` as its `key`.
    public func contains(_ key: TombstoneKey, _ value: String) -> Bool {
        switch key {
        case .nameKey: nameKeys.contains(value)
        case .externalId: externalIds.contains(value)
        }
    }

    /// Adds a tombstone's keys. The estimate counts each key once, whatever order the rows come
    /// in, so that a fresh load and a replica kept in step by commits agree.
    mutating func insert(_ tombstone: TombstoneRecord) {
        guard tombstone.resourceType == "User" else { return }
        if nameKeys.insert(tombstone.nameKey).inserted { residentBytes += ResidentCost.tombstoneKey(tombstone.nameKey) }
        if let externalId = tombstone.externalId, externalIds.insert(externalId).inserted {
            residentBytes += ResidentCost.tombstoneKey(externalId)
        }
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

    /// Whether `resource` comes before this position.
    func follows(_ resource: ReplicaResource) -> Bool {
        if resource.record.createdAt != createdAt { return resource.record.createdAt < createdAt }
        return resource.record.id.utf8.lexicographicallyPrecedes(id.utf8)
    }

    /// Whether this position comes before `resource`.
    func precedes(_ resource: ReplicaResource) -> Bool {
        if resource.record.createdAt != createdAt { return createdAt < resource.record.createdAt }
        return id.utf8.lexicographicallyPrecedes(resource.record.id.utf8)
    }

    /// Whether `resource` sits at this position.
    func holds(_ resource: ReplicaResource) -> Bool {
        resource.record.createdAt == createdAt && resource.record.id == id
    }
}

/// A connection's resources of one type (Users or Groups) with the indexes SCIM reads need.
public struct ResourceTable: Sendable {
    private(set) var byId: [String: ReplicaResource] = [:]
    /// Folded `userName` (Users) or `displayName` (Groups) → the resource: unique, like the SQL index.
    private var byNameKey: [String: ReplicaResource] = [:]
    /// `externalId` → ids (caseExact, RFC 7643 §3.1; not unique, though almost always one id).
    private var byExternalId: [String: IdSet] = [:]
    /// Every resource in list order. The resources themselves rather than their keys: a page or
    /// a scan is a slice of this array, with no lookup in `byId` per resource (a tenth of a
    /// filter scan's time when it held keys), and a reference is 8 bytes where a key was 24.
    private var order: [ReplicaResource] = []
    /// The resources with open warnings (`warningCount > 0`), in list order: the dashboard's
    /// "with warnings" lists walk this, not the whole table.
    private var warnedOrder: [ReplicaResource] = []

    /// Resources with at least one open warning.
    public var warnedCount: Int { warnedOrder.count }

    /// The open warnings of the table's resources: the `warning` rows of this resource type.
    public internal(set) var warnings = WarningTable()

    /// Open warnings of all the table's resources (the sum of their `warningCount`, which the
    /// write that maps a resource keeps equal to its warning rows).
    public private(set) var openWarnings = 0

    /// Number of resources.
    public var count: Int { byId.count }

    /// Estimated bytes the table's resources hold in memory (``ResidentCost``), warnings apart.
    public private(set) var residentBytes = 0

    /// Resources whose `active` is not false (every Group: groups have no `active`).
    public private(set) var activeCount = 0

    /// Every id in the table.
    var allIds: Set<String> { Set(byId.keys) }

    /// The resource with this id.
    public func resource(id: String) -> ReplicaResource? { byId[id] }

    /// The table's own copy of `id` when it holds that resource, else `id`: rows that refer to a
    /// resource (warnings, member edges) keep this one, so a million of them do not each hold a
    /// separate 36-byte id string (about 80 bytes with its allocation).
    func sharedId(_ id: String) -> String { byId.index(forKey: id).map { byId.keys[$0] } ?? id }

    /// The resource holding this folded uniqueness key.
    public func resource(nameKey: String) -> ReplicaResource? { byNameKey[nameKey] }

    /// Resources with exactly this `externalId`, in list order.
    public func resources(externalId: String) -> [ReplicaResource] {
        inListOrder((byExternalId[externalId]?.ids ?? []).compactMap { byId[$0] })
    }

    /// `count` resources from position `offset` (0-based) in list order.
    public func page(offset: Int, count: Int) -> [ReplicaResource] {
        guard offset < order.count, count > 0 else { return [] }
        return Array(order[max(0, offset)..<min(order.count, max(0, offset) + count)])
    }

    /// Calls `body` with the resources at `positions` of list order (clamped to the table), in
    /// order, without copying them out: for scans that read each resource's JSON (a filter no
    /// index serves).
    ///
    /// Such a scan waits on memory more than it computes: every resource is an object of its own
    /// with its text in another allocation, neither in any cache, and the reference count's
    /// atomic increment on each cold object (``page(offset:count:)`` copies the references out)
    /// and on each text stalled the thread until it arrived (a third of a scan's samples in
    /// `perf`, under `swift_retain`). So the scan borrows the references where they lie and asks
    /// for the objects 16 positions ahead and their texts 8 ahead (``ScanPrefetch``).
    public func scan(_ positions: Range<Int>, _ body: (ReplicaResource) -> Void) {
        order.withUnsafeBufferPointer { buffer in
            let positions = positions.clamped(to: 0..<buffer.count)
            for position in positions {
                if position + ScanPrefetch.objectDistance < positions.upperBound {
                    ScanPrefetch.object(buffer, position + ScanPrefetch.objectDistance)
                }
                if position + ScanPrefetch.textDistance < positions.upperBound {
                    ScanPrefetch.text(buffer, position + ScanPrefetch.textDistance)
                }
                body(buffer[position])
            }
        }
    }

    /// Calls `body` with every resource in list order; stops early when `body` returns false.
    public func forEach(_ body: (ReplicaResource) throws -> Bool) rethrows {
        for resource in order {
            if try !body(resource) { return }
        }
    }

    /// Like ``forEach(after:_:)``, over the resources with open warnings only.
    public func forEachWarned(after: (createdAt: Milliseconds, id: String)?, _ body: (ReplicaResource) throws -> Bool) rethrows {
        var index = 0
        if let after {
            let key = CreationOrderKey(createdAt: after.createdAt, id: after.id)
            index = Self.insertionIndex(of: key, in: warnedOrder)
            if index < warnedOrder.count, key.holds(warnedOrder[index]) { index += 1 }
        }
        while index < warnedOrder.count {
            if try !body(warnedOrder[index]) { return }
            index += 1
        }
    }

    /// Calls `body` with every resource after the position (`createdAt`, `id`) in list order (all of
    /// them when `after` is nil); stops early when `body` returns false.
    public func forEach(after: (createdAt: Milliseconds, id: String)?, _ body: (ReplicaResource) throws -> Bool) rethrows {
        var index = 0
        if let after {
            let key = CreationOrderKey(createdAt: after.createdAt, id: after.id)
            index = Self.insertionIndex(of: key, in: order)
            if index < order.count, key.holds(order[index]) { index += 1 }
        }
        while index < order.count {
            if try !body(order[index]) { return }
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
        if let old = byId[record.id], old.record.createdAt == record.createdAt {
            // An update: same place in list order, so the new resource takes the old one's slot
            // in the order arrays (found by binary search) and nothing moves.
            if old.record.active ?? true { activeCount -= 1 }
            if record.active ?? true { activeCount += 1 }
            let resource = ReplicaResource(record)
            if old.record.nameKey != record.nameKey, byNameKey[old.record.nameKey] === old { byNameKey[old.record.nameKey] = nil }
            byNameKey[record.nameKey] = resource
            if old.record.externalId != record.externalId {
                if let externalId = old.record.externalId { IdSet.remove(record.id, from: &byExternalId, at: externalId) }
                if let externalId = record.externalId { IdSet.insert(record.id, into: &byExternalId, at: externalId) }
            }
            openWarnings += record.warningCount - old.record.warningCount
            Self.replace(resource, in: &order)
            switch (old.record.warningCount > 0, record.warningCount > 0) {
            case (true, true): Self.replace(resource, in: &warnedOrder)
            case (false, true): Self.insert(resource, into: &warnedOrder)
            case (true, false): Self.remove(CreationOrderKey(createdAt: record.createdAt, id: record.id), from: &warnedOrder)
            case (false, false): break
            }
            byId[record.id] = resource
            residentBytes += ResidentCost.of(record) - ResidentCost.of(old.record)
            return
        }
        remove(id: record.id)
        let resource = ReplicaResource(record)
        byId[record.id] = resource
        if record.active ?? true { activeCount += 1 }
        byNameKey[record.nameKey] = resource
        residentBytes += ResidentCost.of(record)
        if let externalId = record.externalId { IdSet.insert(record.id, into: &byExternalId, at: externalId) }
        Self.insert(resource, into: &order)
        if record.warningCount > 0 { Self.insert(resource, into: &warnedOrder) }
        openWarnings += record.warningCount
    }

    /// Makes room for `count` resources at once (a load), instead of growing the indexes step by step.
    mutating func reserveCapacity(_ count: Int) {
        byId.reserveCapacity(count)
        byNameKey.reserveCapacity(count)
        order.reserveCapacity(count)
    }

    /// Inserts `resource` at its place; almost always the newest, so appending is the common case.
    private static func insert(_ resource: ReplicaResource, into resources: inout [ReplicaResource]) {
        let key = CreationOrderKey(createdAt: resource.record.createdAt, id: resource.record.id)
        if let last = resources.last, !key.precedes(last) {
            resources.append(resource)
        } else {
            resources.insert(resource, at: insertionIndex(of: key, in: resources))
        }
    }

    /// Puts `resource` in the slot of the resource at its place (same `createdAt` and `id`).
    private static func replace(_ resource: ReplicaResource, in resources: inout [ReplicaResource]) {
        let key = CreationOrderKey(createdAt: resource.record.createdAt, id: resource.record.id)
        let index = insertionIndex(of: key, in: resources)
        if index < resources.count, key.holds(resources[index]) {
            resources[index] = resource
        } else {
            resources.insert(resource, at: index)
        }
    }

    private static func remove(_ key: CreationOrderKey, from resources: inout [ReplicaResource]) {
        let index = insertionIndex(of: key, in: resources)
        if index < resources.count, key.holds(resources[index]) { resources.remove(at: index) }
    }

    mutating func remove(id: String) {
        guard let old = byId.removeValue(forKey: id) else { return }
        residentBytes -= ResidentCost.of(old.record)
        if old.record.active ?? true { activeCount -= 1 }
        if byNameKey[old.record.nameKey] === old { byNameKey[old.record.nameKey] = nil }
        if let externalId = old.record.externalId { IdSet.remove(id, from: &byExternalId, at: externalId) }
        let key = CreationOrderKey(createdAt: old.record.createdAt, id: id)
        Self.remove(key, from: &order)
        if old.record.warningCount > 0 { Self.remove(key, from: &warnedOrder) }
        openWarnings -= old.record.warningCount
    }

    /// The first position in `resources` (in list order) whose resource does not come before `key`.
    private static func insertionIndex(of key: CreationOrderKey, in resources: [ReplicaResource]) -> Int {
        var low = 0
        var high = resources.count
        while low < high {
            let middle = (low + high) / 2
            if key.follows(resources[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The ids under one key of a non-unique index. Nearly every key has one id, held inline: a
/// `Set` per key cost about 100 bytes per user in the `externalId` index.
enum IdSet: Sendable, Equatable {
    case one(String)
    case many(Set<String>)

    var ids: [String] {
        switch self {
        case .one(let id): [id]
        case .many(let ids): Array(ids)
        }
    }

    static func insert(_ id: String, into index: inout [String: IdSet], at key: String) {
        switch index[key] {
        case nil: index[key] = .one(id)
        case .one(let other) where other == id: break
        case .one(let other): index[key] = .many([other, id])
        case .many(var ids):
            index[key] = nil  // the set is uniquely referenced while it grows
            ids.insert(id)
            index[key] = .many(ids)
        }
    }

    static func remove(_ id: String, from index: inout [String: IdSet], at key: String) {
        switch index[key] {
        case nil: break
        case .one(let other): if other == id { index[key] = nil }
        case .many(var ids):
            index[key] = nil
            ids.remove(id)
            if ids.count == 1, let last = ids.first { index[key] = .one(last) } else if !ids.isEmpty { index[key] = .many(ids) }
        }
    }
}

/// The open warnings of one connection's Users or Groups (the `warning` table's rows), by resource,
/// with a running count per property: `warnings.summary`, `warnings.list`, `mapping.suggest` and
/// the dashboard read these instead of grouping and joining the rows in SQLite (about 140 ms per
/// summary at 100k warned users).
///
/// It is kept apart from the resource rows: a warning row and its resource's `warningCount` are
/// written by the same transaction (``ResourceTable/openWarnings`` sums the latter), and the model
/// test checks that the two agree.
public struct WarningTable: Sendable {
    /// Resource id → its warnings, ordered by property (as `ORDER BY property`).
    private var byResource: [String: [WarningRecord]] = [:]
    /// Property name → how many resources have a warning for it.
    public private(set) var countsByProperty: [String: Int] = [:]
    /// Every open warning of the table.
    public private(set) var count = 0

    /// How many resources have at least one warning.
    public var resourceCount: Int { byResource.count }

    /// The warnings of one resource, ordered by property; empty when it has none.
    public func warnings(of resourceId: String) -> [WarningRecord] { byResource[resourceId] ?? [] }

    /// Every warning, ordered by resource id then property: to compare with a fresh load.
    public func allRows() -> [WarningRecord] { byResource.keys.sorted().flatMap { byResource[$0] ?? [] } }

    /// The last `detail` stored per property: most warnings of a property carry the same detail
    /// (the mapping's prebuilt "missing" text), and rows loaded from SQLite would each hold a copy.
    private var lastDetailByProperty: [String: String] = [:]

    mutating func put(_ warning: WarningRecord) {
        var warning = warning
        // Share the strings many rows repeat (see `lastDetailByProperty`).
        if let index = countsByProperty.index(forKey: warning.property) { warning.property = countsByProperty.keys[index] }
        if let detail = warning.detail {
            if let last = lastDetailByProperty[warning.property], last == detail {
                warning.detail = last
            } else {
                lastDetailByProperty[warning.property] = detail
            }
        }
        var rows = byResource[warning.resourceId] ?? []
        if let index = rows.firstIndex(where: { $0.property == warning.property }) {
            rows[index] = warning
        } else {
            let index = rows.firstIndex { warning.property.utf8.lexicographicallyPrecedes($0.property.utf8) } ?? rows.count
            rows.insert(warning, at: index)
            countsByProperty[warning.property, default: 0] += 1
            count += 1
        }
        byResource[warning.resourceId] = rows
    }

    mutating func remove(resourceId: String, property: String) {
        guard var rows = byResource[resourceId], let index = rows.firstIndex(where: { $0.property == property }) else { return }
        rows.remove(at: index)
        byResource[resourceId] = rows.isEmpty ? nil : rows
        uncount(property)
    }

    mutating func removeAll(resourceId: String) {
        guard let rows = byResource.removeValue(forKey: resourceId) else { return }
        for row in rows { uncount(row.property) }
    }

    private mutating func uncount(_ property: String) {
        count -= 1
        let left = (countsByProperty[property] ?? 1) - 1
        countsByProperty[property] = left > 0 ? left : nil
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

    /// Estimated bytes the edges hold in memory (``ResidentCost``).
    public private(set) var residentBytes = 0

    /// A group's member rows in list order.
    public func members(ofGroup groupId: String) -> [GroupMemberRecord] { membersByGroup[groupId] ?? [] }

    /// The ids of the groups `memberId` directly belongs to (unordered).
    public func groupIds(ofMember memberId: String) -> Set<String> { groupsByMember[memberId] ?? [] }

    /// Where `row` goes in its group's list order (position, then member id, bytewise).
    private static func insertionIndex(of row: GroupMemberRecord, in rows: [GroupMemberRecord]) -> Int {
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            let other = rows[middle]
            let precedes =
                other.position < row.position
                || (other.position == row.position && other.memberId.utf8.lexicographicallyPrecedes(row.memberId.utf8))
            if precedes { low = middle + 1 } else { high = middle }
        }
        return low
    }

    // The arrays are changed in place through the dictionary (`[key, default: []]`): copying a
    // group's array out and back would copy all of a 10,000-member group for each member change.
    mutating func put(_ row: GroupMemberRecord) {
        remove(groupId: row.groupId, memberId: row.memberId)
        let index = Self.insertionIndex(of: row, in: membersByGroup[row.groupId] ?? [])
        membersByGroup[row.groupId, default: []].insert(row, at: index)
        groupsByMember[row.memberId, default: []].insert(row.groupId)
        residentBytes += ResidentCost.of(row)
    }

    mutating func remove(groupId: String, memberId: String) {
        guard groupsByMember[memberId]?.contains(groupId) == true,
            let index = membersByGroup[groupId]?.firstIndex(where: { $0.memberId == memberId })
        else { return }
        if let row = membersByGroup[groupId]?.remove(at: index) { residentBytes -= ResidentCost.of(row) }
        if membersByGroup[groupId]?.isEmpty == true { membersByGroup[groupId] = nil }
        groupsByMember[memberId]?.remove(groupId)
        if groupsByMember[memberId]?.isEmpty == true { groupsByMember[memberId] = nil }
    }

    mutating func removeAll(groupId: String) {
        for row in membersByGroup[groupId] ?? [] { remove(groupId: groupId, memberId: row.memberId) }
    }
}

/// Everything in memory about one connection's SCIM data.
public struct ConnectionResources: Sendable {
    /// The connection's Users.
    public internal(set) var users = ResourceTable()
    /// The connection's Groups.
    public internal(set) var groups = ResourceTable()
    /// Who is in which group, both ways.
    public internal(set) var memberships = MembershipTable()
    /// The newest mapping version whose re-map looked at every resource of the connection
    /// (``StoreReader/remappedVersion(connectionId:)``), or nil: what a resource's
    /// ``ResourceRecord/effectiveMappingVersion(remapped:)`` needs besides its row.
    public internal(set) var remappedVersion: Int?
    /// The keys of the connection's deleted users (``UserTombstones``).
    public internal(set) var deletedUsers = UserTombstones()
    /// The connection id every row holds: the rows keep this one instance rather than a copy each.
    private var connectionId: String?

    /// Estimated bytes all of it holds in memory (``ResidentCost``): what `--memory-limit` counts.
    public var residentBytes: Int {
        users.residentBytes + groups.residentBytes + memberships.residentBytes
            + (users.warnings.count + groups.warnings.count) * ResidentCost.warning + deletedUsers.residentBytes
    }

    /// Every row held, in a canonical order (resources by type and id, members by group, position
    /// and member id, warnings by type, resource id and property): to compare the replica with a
    /// fresh load of the database.
    public func allRows() -> (resources: [ResourceRecord], members: [GroupMemberRecord], warnings: [WarningRecord]) {
        var resources: [ResourceRecord] = []
        users.forEach { resources.append($0.record); return true }
        groups.forEach { resources.append($0.record); return true }
        resources.sort { ($0.resourceType, $0.id) < ($1.resourceType, $1.id) }
        var members: [GroupMemberRecord] = []
        for groupId in groups.allIds.union(memberships.groupIds).sorted() { members += memberships.members(ofGroup: groupId) }
        return (resources, members, groups.warnings.allRows() + users.warnings.allRows())
    }

    /// The counts the dashboard and `connections.get` show.
    public var counts: ResourceCounts {
        ResourceCounts(
            users: users.count, activeUsers: users.activeCount, groups: groups.count,
            openWarnings: users.openWarnings + groups.openWarnings, resourcesWithWarnings: users.warnedCount + groups.warnedCount)
    }

    /// The table of `resourceType` ("User" or "Group").
    public func table(_ resourceType: String) -> ResourceTable { resourceType == "Group" ? groups : users }

    /// `connectionId` as the instance the rows share.
    private mutating func shared(_ connectionId: String) -> String {
        if let shared = self.connectionId, shared == connectionId { return shared }
        self.connectionId = connectionId
        return connectionId
    }

    mutating func apply(_ change: ReplicaChange) {
        switch change {
        case .putResource(var record):
            record.connectionId = shared(record.connectionId)
            if record.resourceType == "Group" { groups.put(record) } else { users.put(record) }
        case .deleteResource(_, let type, let id):
            if type == "Group" { groups.remove(id: id) } else { users.remove(id: id) }
        case .putMember(var row):
            row.connectionId = shared(row.connectionId)
            row.groupId = groups.sharedId(row.groupId)
            row.memberId = users.sharedId(groups.sharedId(row.memberId))
            memberships.put(row)
        case .deleteMember(_, let groupId, let memberId):
            memberships.remove(groupId: groupId, memberId: memberId)
        case .deleteMembers(_, let groupId):
            memberships.removeAll(groupId: groupId)
        case .putWarning(var warning):
            warning.connectionId = shared(warning.connectionId)
            if warning.resourceType == "Group" {
                warning.resourceId = groups.sharedId(warning.resourceId)
                groups.warnings.put(warning)
            } else {
                warning.resourceId = users.sharedId(warning.resourceId)
                users.warnings.put(warning)
            }
        case .deleteWarning(_, let type, let resourceId, let property):
            if type == "Group" {
                groups.warnings.remove(resourceId: resourceId, property: property)
            } else {
                users.warnings.remove(resourceId: resourceId, property: property)
            }
        case .deleteWarnings(_, let type, let resourceId):
            if type == "Group" { groups.warnings.removeAll(resourceId: resourceId) } else { users.warnings.removeAll(resourceId: resourceId) }
        case .markRemapped(_, let version):
            remappedVersion = max(remappedVersion ?? version, version)
        case .putTombstone(let tombstone):
            deletedUsers.insert(tombstone)
        case .deleteConnection:
            self = ConnectionResources()
        case .logRequest, .pruneRequestLog:
            break  // ``RequestCounters``'
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
    case putWarning(WarningRecord)
    case deleteWarning(connectionId: String, type: String, resourceId: String, property: String)
    case deleteWarnings(connectionId: String, type: String, resourceId: String)
    case deleteConnection(String)
    /// The re-map of `version` looked at every resource (``StoreTransaction/markRemapped(connectionId:version:at:)``).
    case markRemapped(connectionId: String, version: Int)
    /// A deleted resource's tombstone (``StoreTransaction/saveTombstone(_:)``).
    case putTombstone(TombstoneRecord)
    /// A request-log entry (for ``RequestCounters``, not the resources).
    case logRequest(connectionId: String, LoggedRequest)
    /// Request-log entries of the connection deleted by retention (for ``RequestCounters``).
    case pruneRequestLog(String)

    /// Whether the change is one of ``RequestCounters``', which ``ResourceReplica`` ignores.
    var isRequestLog: Bool {
        switch self {
        case .logRequest, .pruneRequestLog: true
        default: false
        }
    }

    var connectionId: String {
        switch self {
        case .putResource(let record): record.connectionId
        case .putMember(let row): row.connectionId
        case .putWarning(let row): row.connectionId
        case .putTombstone(let row): row.connectionId
        case .deleteResource(let id, _, _), .deleteMember(let id, _, _), .deleteMembers(let id, _), .deleteConnection(let id),
            .deleteWarning(let id, _, _, _), .deleteWarnings(let id, _, _), .markRemapped(let id, _), .logRequest(let id, _),
            .pruneRequestLog(let id):
            id
        }
    }
}

/// The committed SCIM data of every connection, in memory: the `resource`, `groupMember` and
/// `warning` tables with their indexes, and deleted users' keys (`tombstone`), so that reads never
/// go to SQLite.
///
/// It changes only from committed transactions: each write body's row changes are recorded as it
/// makes them (``ReplicaRecording``), dropped if its savepoint or its group's transaction rolls
/// back, and applied here, in commit order, after the commit and before the writer's callers
/// resume (so a caller reads its own write). Each connection has its own lock: a long scan of one
/// connection never holds up reads or commits of another.
///
/// **Loading.** The store opens with every known connection *unloaded* and loads them in the
/// background (``startLoading(_:)``), so a large database does not delay the first answer. A read
/// of a connection not loaded yet waits for that connection only (loading it at once if its turn
/// has not come). Commits to an unloaded connection are kept in order and replayed onto what its
/// load read: every change sets rows to a committed state (a whole row, or a row's absence), so
/// replaying changes the load's snapshot already holds leaves the same result. Commits to a
/// connection nobody is loading are not kept at all: a load claimed later reads a snapshot that
/// already holds them.
///
/// **A memory limit** (`--memory-limit`, ``residentLimit``). When set, the background load stops
/// once the estimated size of what is resident (``ConnectionResources/residentBytes``) reaches the
/// limit; a connection loaded on demand past it, or commits that grow memory past it, evict the
/// connections read least recently (never the one just loaded, nor the one read last) until the
/// estimate is back under it. An evicted connection is loaded again by its next read, which
/// waits for that load (about 1 s per 100k users). The limit bounds what stays resident, not a
/// single connection: one larger than the limit is loaded anyway.
public final class ResourceReplica: Sendable {
    /// One connection's data behind its own lock.
    final class Slot: Sendable {
        struct State {
            var resources = ConnectionResources()
            var loaded: Bool
            /// Whether a load has been claimed (by the background loader or a waiting read).
            var claimed = false
            /// Commits while not loaded, in commit order.
            var buffered: [ReplicaChange] = []
            var waiters: [CheckedContinuation<Void, Never>] = []
            /// When it was last read (`DispatchTime` uptime nanoseconds): eviction takes the oldest.
            var lastRead: UInt64 = 0
        }

        let state: NIOLockedValueBox<State>
        init(loaded: Bool) { state = NIOLockedValueBox(State(loaded: loaded)) }
    }

    private let slots = NIOLockedValueBox<[String: Slot]>([:])
    /// Loads run here, two at a time at most (a core each on the machines scimd targets).
    private static let loadQueue = DispatchQueue(label: "scimd.replica-load", qos: .userInitiated, attributes: .concurrent)
    private let loadSlots = DispatchSemaphore(value: 2)

    /// Estimated bytes (``ConnectionResources/residentBytes``) past which connections are evicted;
    /// nil: everything stays resident.
    let residentLimit: Int?
    private let logger: Logger
    /// The resident connections' estimates summed, kept as loads, commits and evictions change
    /// them: commits check it against the limit without visiting every connection.
    private let residentTotal = Synchronization.Atomic<Int>(0)
    /// Whether an eviction pass is queued: commits past the limit queue one, not one each.
    private let evictionQueued = Synchronization.Atomic<Bool>(false)

    /// ``residentTotal`` as kept (tests compare it with ``residency()``'s sum).
    var countedResidentBytes: Int { residentTotal.load(ordering: .relaxed) }

    init(residentLimit: Int? = nil, logger: Logger = Logger(label: "scimd.store", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.residentLimit = residentLimit
        self.logger = logger
    }

    /// Marks `connectionIds` as stored and not yet in memory.
    func expect(_ connectionIds: [String]) {
        slots.withLockedValue { slots in
            for id in connectionIds where slots[id] == nil { slots[id] = Slot(loaded: false) }
        }
    }

    /// Loads every connection not loaded yet from `pool`, in the background, two at a time (up to
    /// ``residentLimit``), and calls `finished` with the counts (connections and resources this
    /// pass loaded, seconds) when it is done.
    func startLoading(_ pool: DatabasePool, finished: @escaping @Sendable (Int, Int, Double) -> Void) {
        let pending = slots.withLockedValue { slots in slots.filter { !$0.value.state.withLockedValue(\.loaded) }.map(\.key).sorted() }
        let started = DispatchTime.now().uptimeNanoseconds
        let group = DispatchGroup()
        let loaded = NIOLockedValueBox((connections: 0, resources: 0))
        for id in pending {
            group.enter()
            Self.loadQueue.async {
                self.loadSlots.wait()
                defer { self.loadSlots.signal() }
                // Past the memory limit the rest stay on disk, loaded by the first read of each.
                if let limit = self.residentLimit, self.residentTotal.load(ordering: .relaxed) >= limit {
                    group.leave()
                    return
                }
                // A connection that fails to load here is loaded by the first read that needs it.
                if let count = try? self.load(id, from: pool) {
                    loaded.withLockedValue { $0.connections += 1; $0.resources += count }
                }
                group.leave()
            }
        }
        group.notify(queue: Self.loadQueue) {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let (connections, resources) = loaded.withLockedValue { $0 }
            // Two loads run at once and each checks the limit before it starts, so the last two
            // may both have gone past it.
            self.enforceLimit()
            #if canImport(CMalloc)
            // Decoding the rows allocated and freed far more than stays (statements' rows, the
            // text of each column before it became a resource); glibc keeps the freed pages
            // resident until asked. Measured: 100k users in one connection 206 → 201 MB; 1M in
            // 1,000 connections, no change (each load reuses what the one before it freed).
            if connections > 0 { malloc_trim(0) }
            #endif
            finished(connections, resources, seconds)
        }
    }

    /// Loads one connection unless another load claimed it; returns how many resources it loaded.
    /// Throws the database's error when the rows cannot be read (the connection stays unloaded and
    /// its waiters are woken to try again).
    @discardableResult
    private func load(_ connectionId: String, from pool: DatabasePool) throws -> Int {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return 0 }
        let claimed = slot.state.withLockedValue { state -> Bool in
            if state.claimed || state.loaded { return false }
            state.claimed = true
            return true
        }
        guard claimed else { return 0 }
        var resources = ConnectionResources()
        do {
            try pool.read { db in
                // Rows come in key order and are applied in list order, so each lands at the end of
                // its table's order arrays (an append) instead of being inserted in the middle:
                // inserting in key order was quadratic (5.3 s to load 100k users, measured).
                // Sorting here is cheaper than `ORDER BY`, which would visit the table through the
                // creation-order index row by row.
                var records: [ResourceRecord] = []
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT \(ResourceRecord.columnList) FROM resource WHERE connectionId = ?", arguments: [connectionId])
                while let row = try rows.next() { records.append(try ResourceRecord(columnListRow: row)) }
                records.sort { a, b in
                    if a.resourceType != b.resourceType { return a.resourceType < b.resourceType }
                    return CreationOrderKey(createdAt: a.createdAt, id: a.id) < CreationOrderKey(createdAt: b.createdAt, id: b.id)
                }
                let users = records.reduce(0) { $0 + ($1.resourceType == "Group" ? 0 : 1) }
                resources.users.reserveCapacity(users)
                resources.groups.reserveCapacity(records.count - users)
                for record in records { resources.apply(.putResource(record)) }
                records = []
                var members = try GroupMemberRecord.fetchAll(
                    db, sql: "SELECT * FROM groupMember WHERE connectionId = ?", arguments: [connectionId])
                members.sort { a, b in
                    if a.groupId != b.groupId { return a.groupId < b.groupId }
                    if a.position != b.position { return a.position < b.position }
                    return a.memberId.utf8.lexicographicallyPrecedes(b.memberId.utf8)
                }
                for row in members { resources.apply(.putMember(row)) }
                let warnings = try WarningRecord.fetchCursor(db, sql: "SELECT * FROM warning WHERE connectionId = ?", arguments: [connectionId])
                while let row = try warnings.next() { resources.apply(.putWarning(row)) }
                let tombstones = try TombstoneRecord.fetchCursor(
                    db, sql: "SELECT * FROM tombstone WHERE connectionId = ? AND resourceType = 'User'", arguments: [connectionId])
                while let row = try tombstones.next() { resources.apply(.putTombstone(row)) }
                resources.remappedVersion = try StoreReader(db).remappedVersion(connectionId: connectionId)
            }
        } catch {
            // Unreadable now (an I/O error): unclaimed, so that the next read tries again.
            let waiters = slot.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.claimed = false
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
            throw error
        }
        let count = resources.users.count + resources.groups.count
        let waiters = slot.state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            for change in state.buffered { resources.apply(change) }
            state.buffered = []
            state.resources = resources
            state.loaded = true
            state.lastRead = DispatchTime.now().uptimeNanoseconds
            // Counted under the slot's lock, as commits count their changes: an eviction (which
            // takes the lock) cannot subtract it before it is added.
            residentTotal.add(resources.residentBytes, ordering: .relaxed)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        return count
    }

    /// Returns once the connection is in memory, loading it now if its turn has not come. Throws
    /// the database's error if this call's own attempt to load it fails.
    func ensureLoaded(_ connectionId: String, pool: DatabasePool) async throws {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return }
        while true {
            let (loaded, claimed) = slot.state.withLockedValue { ($0.loaded, $0.claimed) }
            if loaded { return }
            if !claimed {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    Self.loadQueue.async {
                        continuation.resume(
                            with: Result {
                                if try self.load(connectionId, from: pool) > 0 { self.enforceLimit(sparing: connectionId) }
                            })
                    }
                }
                continue
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = slot.state.withLockedValue { state -> Bool in
                    if state.loaded || !state.claimed { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Loads everything now, on the calling thread (tests).
    func loadAll(_ pool: DatabasePool) throws {
        for id in slots.withLockedValue({ Array($0.keys) }) { try load(id, from: pool) }
    }

    /// Whether every connection is in memory.
    public var isLoaded: Bool { slots.withLockedValue { slots in slots.values.allSatisfy { $0.state.withLockedValue(\.loaded) } } }

    /// Runs `body` with the connection's committed data, holding its lock: for reads that take
    /// microseconds (a resource by id, an index lookup, a page). Commits to this connection wait.
    /// Returns nil, without calling `body`, when the connection is not in memory (not loaded yet,
    /// or evicted since ``ensureLoaded(_:pool:)`` returned): ``Store/withResources(_:_:)`` then
    /// loads it again. A connection the replica does not know reads as empty.
    func readIfLoaded<T>(_ connectionId: String, _ body: (ConnectionResources) throws -> T) rethrows -> T? {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return try body(ConnectionResources()) }
        return try slot.state.withLockedValue { state -> T? in
            guard state.loaded else { return nil }
            state.lastRead = DispatchTime.now().uptimeNanoseconds
            return try body(state.resources)
        }
    }

    /// Like ``readIfLoaded(_:_:)``, without counting as a read for eviction (counts, metrics), and
    /// nil for a connection the replica does not know.
    func peek<T>(_ connectionId: String, _ body: (ConnectionResources) throws -> T) rethrows -> T? {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return nil }
        return try slot.state.withLockedValue { state -> T? in state.loaded ? try body(state.resources) : nil }
    }

    /// The connection's committed data as a value that later commits do not change: for scans,
    /// which then run without holding any lock. (A commit to the connection while the snapshot is
    /// alive copies the tables it changes.) Nil when the connection is not in memory, as
    /// ``readIfLoaded(_:_:)``.
    func snapshotIfLoaded(_ connectionId: String) -> ConnectionResources? {
        readIfLoaded(connectionId) { $0 }
    }

    /// The connection's data, or an empty one when it is not in memory: for a replica loaded whole
    /// (``Store/loadReplicaFromDisk()``, tests).
    func snapshot(_ connectionId: String) -> ConnectionResources { snapshotIfLoaded(connectionId) ?? ConnectionResources() }

    /// What is in memory now: connections resident and known, and their estimated bytes.
    public func residency() -> ReplicaResidency {
        var residency = ReplicaResidency(limitBytes: residentLimit)
        for slot in slots.withLockedValue({ Array($0.values) }) {
            residency.connections += 1
            slot.state.withLockedValue { state in
                guard state.loaded else { return }
                residency.residentConnections += 1
                residency.residentBytes += state.resources.residentBytes
            }
        }
        return residency
    }

    /// Drops connections from memory, least recently read first, until the estimate is within
    /// ``residentLimit``. Never dropped: `sparing` (the connection a read is waiting for) and the
    /// connection read most recently, so that one connection larger than the limit is not
    /// reloaded again and again.
    /// Returns what was evicted (nothing without a limit or under it).
    @discardableResult
    func enforceLimit(sparing: String? = nil) -> (connections: Int, bytes: Int) {
        guard let limit = residentLimit else { return (0, 0) }
        var resident: [(id: String, slot: Slot, bytes: Int, lastRead: UInt64)] = []
        for (id, slot) in slots.withLockedValue({ Array($0) }) {
            slot.state.withLockedValue { state in
                if state.loaded { resident.append((id, slot, state.resources.residentBytes, state.lastRead)) }
            }
        }
        var total = resident.reduce(0) { $0 + $1.bytes }
        guard total > limit else { return (0, 0) }
        resident.sort { $0.lastRead < $1.lastRead }
        resident.removeLast()
        var evicted = 0
        var freed = 0
        for candidate in resident where total > limit && candidate.id != sparing {
            // Taken out under the lock, released after it: freeing 100k rows takes milliseconds.
            let dropped = Self.drop(candidate.slot, counting: residentTotal)
            guard let dropped else { continue }
            total -= dropped.residentBytes
            freed += dropped.residentBytes
            evicted += 1
        }
        guard evicted > 0 else { return (0, 0) }
        #if canImport(CMalloc)
        // Freed rows sit in glibc's arenas; without a trim the process keeps them resident.
        malloc_trim(0)
        #endif
        logger.info(
            "connections evicted from memory (over --memory-limit; reloaded on their next read)",
            metadata: [
                "connections": "\(evicted)", "freedBytes": "\(freed)", "residentBytes": "\(total)", "limitBytes": "\(limit)",
            ])
        return (evicted, freed)
    }

    /// Returns once every block queued on the load queue so far has run: eviction passes queued by
    /// commits (tests).
    func settleEvictions() { Self.loadQueue.sync(flags: .barrier) {} }

    /// Drops one connection from memory now, as the limit would (tests).
    func evict(_ connectionId: String) {
        guard let slot = slots.withLockedValue({ $0[connectionId] }) else { return }
        _ = Self.drop(slot, counting: residentTotal)
    }

    /// Takes a loaded connection's data out of its slot (now unloaded and unclaimed, so commits
    /// are not kept for it) and returns it, to be released after the lock; nil if not loaded.
    private static func drop(_ slot: Slot, counting total: borrowing Synchronization.Atomic<Int>) -> ConnectionResources? {
        slot.state.withLockedValue { state in
            guard state.loaded else { return nil }
            let resources = state.resources
            state.resources = ConnectionResources()
            state.loaded = false
            state.claimed = false
            state.buffered = []
            total.subtract(resources.residentBytes, ordering: .relaxed)
            return resources
        }
    }

    /// The connections that have a place in memory.
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
                // A connection created since the store opened: nothing of it to load. Counted as
                // read now, so that a new connection is not the first the limit evicts.
                let slot = Slot(loaded: true)
                slot.state.withLockedValue { $0.lastRead = DispatchTime.now().uptimeNanoseconds }
                slots[connectionId] = slot
                return slot
            }
            slot.state.withLockedValue { state in
                if state.loaded {
                    let before = state.resources.residentBytes
                    for change in changes[start..<end] { state.resources.apply(change) }
                    residentTotal.add(state.resources.residentBytes - before, ordering: .relaxed)
                } else if state.claimed {
                    state.buffered += changes[start..<end]
                }
                // Neither loaded nor being loaded: dropped. These changes are committed, so the
                // snapshot of any load claimed from now on holds them.
            }
            if case .deleteConnection = changes[end - 1] {
                slots.withLockedValue { _ = $0.removeValue(forKey: connectionId) }
            }
            start = end
        }
        // Commits grew memory past the limit: one eviction pass, off the writer's thread.
        if let limit = residentLimit, residentTotal.load(ordering: .relaxed) > limit,
            evictionQueued.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        {
            Self.loadQueue.async {
                self.evictionQueued.store(false, ordering: .relaxed)
                self.enforceLimit()
            }
        }
    }
}

/// What `connections.get` counts for a connection (``Store/resourceCounts(_:)``).
public struct ResourceCounts: Sendable, Equatable {
    public var users: Int
    /// Users whose `active` is not false.
    public var activeUsers: Int
    public var groups: Int
    /// Open warnings of all its resources.
    public var openWarnings: Int
    /// Resources with at least one open warning.
    public var resourcesWithWarnings: Int
}

/// How much of the database is in memory (``ResourceReplica/residency()``), for `system.health`.
public struct ReplicaResidency: Sendable, Equatable {
    /// `--memory-limit` in bytes; nil when unlimited.
    public var limitBytes: Int?
    /// Connections stored.
    public var connections = 0
    /// Connections in memory.
    public var residentConnections = 0
    /// Estimated bytes the resident connections hold (``ConnectionResources/residentBytes``).
    public var residentBytes = 0

    public init(limitBytes: Int? = nil, connections: Int = 0, residentConnections: Int = 0, residentBytes: Int = 0) {
        self.limitBytes = limitBytes
        self.connections = connections
        self.residentConnections = residentConnections
        self.residentBytes = residentBytes
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

    /// One write body's changes. Unchecked sendability is safe: a log is created (`begin`),
    /// appended to (`record`) and closed (`end`) by the one thread running that body — GRDB's writer
    /// connection runs one body at a time — and only read after that thread has closed it; the
    /// dictionary that hands it between those calls is behind `logs`' lock.
    final class Log: @unchecked Sendable {
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
