import Dispatch
import SCIMDStore
import SCIMJSON
import SCIMModel

// Reads of SCIM data from the store's in-memory replica (``ResourceReplica``): the same answers
// the SQL reads gave, in the same order, without SQLite.

extension ConnectionResources {
    /// The groups a user directly belongs to, ordered as SCIM lists them: by `displayName` (groups
    /// without one first, names compared bytewise like SQLite's BINARY collation), then by id.
    func memberOf(userId: String) -> [MemberOf] {
        memberships.groupIds(ofMember: userId).map { groupId in
            let group = groups.resource(id: groupId)?.record
            return MemberOf(id: groupId, displayName: group?.displayName, externalId: group?.externalId)
        }.sorted { a, b in
            switch (a.displayName, b.displayName) {
            case (nil, nil): return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?):
                if x == y { return a.id.utf8.lexicographicallyPrecedes(b.id.utf8) }
                return x.utf8.lexicographicallyPrecedes(y.utf8)
            }
        }
    }

    /// A group's `members` as SCIM returns them, in list order.
    func memberValues(groupId: String) -> [JSONValue] {
        memberships.members(ofGroup: groupId).map(memberValue)
    }

    /// The resource as SCIM returns it: with a User's `groups`, and a Group's `members` unless
    /// `members` is false (the caller's output leaves them out).
    /// `stored`: the resource's JSON when the caller has parsed it already (else it is parsed here).
    func rendered(_ resource: ReplicaResource, stored: JSONObject? = nil, members: Bool = true, baseURL: String) -> JSONObject {
        if resource.record.resourceType == "Group" {
            return SCIMDService.render(
                resource.record, stored: stored ?? resource.object, groups: [],
                members: members ? memberValues(groupId: resource.record.id) : [], baseURL: baseURL)
        }
        return SCIMDService.render(
            resource.record, stored: stored ?? resource.object, groups: memberOf(userId: resource.record.id), baseURL: baseURL)
    }

    /// The resource as stored, with `id` and `meta` but without what lives outside its JSON
    /// (`groups`, `members`): enough to evaluate a filter that does not mention them.
    func renderedAlone(_ resource: ReplicaResource, baseURL: String) -> JSONObject {
        SCIMDService.render(resource.record, stored: resource.object, groups: [], members: [], baseURL: baseURL)
    }

    /// ``renderedAlone(_:baseURL:)`` around only the stored members in `names` (which should
    /// hold `schemas`, rendered from the stored value): what a filter reading those members, `id`
    /// or `meta` needs, without building the rest.
    func renderedAlone(_ resource: ReplicaResource, keepingMembersIn names: JSONMemberNames, baseURL: String) -> JSONObject {
        SCIMDService.render(resource.record, stored: resource.object(keepingMembersIn: names), groups: [], members: [], baseURL: baseURL)
    }
}

extension IndexPlan {
    /// The candidates from the replica's indexes, each once, in list order.
    func candidates(in table: ResourceTable) -> [ReplicaResource] {
        var seen = Set<String>()
        var out: [ReplicaResource] = []
        func collect(_ plan: IndexPlan) {
            switch plan {
            case .id(let id):
                if let r = table.resource(id: id), seen.insert(id).inserted { out.append(r) }
            case .nameKey(let key):
                if let r = table.resource(nameKey: key), seen.insert(r.record.id).inserted { out.append(r) }
            case .externalId(let value):
                for r in table.resources(externalId: value) where seen.insert(r.record.id).inserted { out.append(r) }
            case .union(let a, let b):
                collect(a)
                collect(b)
            }
        }
        collect(self)
        return table.inListOrder(out)
    }
}

/// Where scans of the replica run: off the event loops (a filter over a large connection takes
/// milliseconds), on a concurrent queue, so several scans use the cores in parallel.
enum ReplicaScans {
    private static let queue = DispatchQueue(label: "scimd.replica-scan", qos: .userInitiated, attributes: .concurrent)

    /// Runs `body` on the scan queue and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

extension String {
    /// The string with ASCII letters lowercased and everything else kept: SQLite's NOCASE folding.
    var lowercasedASCII: String {
        String(decoding: utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
