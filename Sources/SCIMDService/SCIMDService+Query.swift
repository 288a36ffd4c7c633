import Foundation
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

/// The dashboard queries: users and groups of a connection, one resource's whole story.
extension SCIMDService {
    /// `users.list`. Throws `not_found`, `invalid_params`.
    public func listUsers(_ params: UsersList.Params) async throws -> UsersList.Result {
        let connection = try connection(named: params.connection)
        let page = try await listResources(
            connectionId: connection.id, type: .user, filter: params.filter, search: params.search, withWarnings: params.withWarnings,
            active: params.active, limit: params.limit, cursor: params.cursor)
        return .init(
            users: page.records.map { record in
                UserRow(
                    id: record.id, userName: Self.displayName(record), externalId: record.externalId, active: record.active ?? true,
                    displayName: record.displayName, warningCount: record.warningCount, updatedAt: Timestamp.string(record.updatedAt),
                    appUserId: record.appUserId)
            }, nextCursor: page.next)
    }

    /// `groups.list`. Throws `not_found`, `invalid_params`.
    public func listGroups(_ params: GroupsList.Params) async throws -> GroupsList.Result {
        let connection = try connection(named: params.connection)
        let page = try await listResources(
            connectionId: connection.id, type: .group, filter: params.filter, search: params.search, withWarnings: params.withWarnings,
            active: nil, limit: params.limit, cursor: params.cursor)
        let counts = try await store.withResources(connection.id) { resources in
            page.records.map { resources.memberships.members(ofGroup: $0.id).count }
        }
        return .init(
            groups: zip(page.records, counts).map { record, count in
                GroupRow(
                    id: record.id, displayName: Self.displayName(record), externalId: record.externalId, memberCount: count,
                    warningCount: record.warningCount, updatedAt: Timestamp.string(record.updatedAt))
            }, nextCursor: page.next)
    }

    /// A page of resources in creation order after `cursor`, filtered by columns, by `search`
    /// (see ``SearchText``) and, when given, by a SCIM filter evaluated on each resource as SCIM serves it.
    func listResources(
        connectionId: String, type: SCIMResourceType, filter: String?, search: String? = nil, withWarnings: Bool?, active: Bool?,
        limit: Int?, cursor: String?
    ) async throws -> (records: [ResourceRecord], next: String?) {
        let limit = limit ?? 50
        guard (1...1000).contains(limit) else { throw RPCError.invalidParams("limit must be 1…1000", field: "limit") }
        var parsed: Filter? = nil
        if let filter, !filter.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                parsed = try Filter.parse(filter, maximumDepth: configuration.maxFilterDepth, maximumLength: configuration.maxFilterLength)
                try parsed?.validate(resourceType: type)
            } catch {
                throw RPCError.invalidParams("invalid filter: \(error.detail)", field: "filter")
            }
        }
        var after: (Milliseconds, String)? = nil
        if let cursor {
            guard let colon = cursor.firstIndex(of: ":"), let ms = Milliseconds(cursor[..<colon]) else {
                throw RPCError.invalidParams("invalid cursor", field: "cursor")
            }
            after = (ms, String(cursor[cursor.index(after: colon)...]))
        }
        let base = configuration.scimBasePath
        let filterNeedsRelated = parsed.map { mentions($0, attribute: type == .user ? "groups" : "members") } ?? false
        let start = after
        let filterValue = parsed
        let searchText = search.flatMap(SearchText.init)
        let resources = try await store.resources(connectionId)
        let records = try await ReplicaScans.run { () -> [ResourceRecord] in
            var out: [ResourceRecord] = []
            let table = resources.table(type.rawValue)
            // Only the warned ones are walked when only they are wanted (the dashboard's list).
            let walk = withWarnings == true ? table.forEachWarned : table.forEach
            try walk(start) { resource in
                let record = resource.record
                if withWarnings == true && record.warningCount == 0 { return true }
                if withWarnings == false && record.warningCount > 0 { return true }
                if let active, (record.active ?? true) != active { return true }
                if let searchText, !searchText.matches(record) { return true }
                if let filterValue {
                    let rendered = filterNeedsRelated ? resources.rendered(resource, baseURL: base) : resources.renderedAlone(resource, baseURL: base)
                    guard (try? filterValue.matches(rendered, resourceType: type)) == true else { return true }
                }
                out.append(record)
                return out.count <= limit
            }
            return out
        }
        let page = Array(records.prefix(limit))
        let next = records.count > limit ? page.last.map { "\($0.createdAt):\($0.id)" } : nil
        return (page, next)
    }

    /// `users.get` by id or userName. Throws `not_found`.
    public func getUser(_ params: UsersGet.Params) async throws -> ResourceDetail {
        try await detail(connection: params.connection, type: .user, reference: params.id, membersLimit: 0, membersCursor: nil)
    }

    /// `groups.get` by id or displayName. Throws `not_found`, `invalid_params`.
    public func getGroup(_ params: GroupsGet.Params) async throws -> ResourceDetail {
        let limit = params.membersLimit ?? 100
        guard (1...1000).contains(limit) else { throw RPCError.invalidParams("membersLimit must be 1…1000", field: "membersLimit") }
        return try await detail(connection: params.connection, type: .group, reference: params.id, membersLimit: limit, membersCursor: params.membersCursor)
    }

    /// How the connection's current mapping finds each property of the user or group in
    /// `detail` (a `users.get`/`groups.get` answer): every path tried, the values found there, the
    /// one that matched, the default, the issue. For a user the input includes the groups in
    /// `detail.related`, as the mapping sees them; for a group, the members on `detail`'s page only.
    /// Throws `not_found` (no such connection), `internal_error` when `detail.raw` is not a JSON object.
    public func traceMapping(_ detail: ResourceDetail, connection reference: String) throws -> [PropertyTrace] {
        let connection = try connection(named: reference)
        guard case .object(let raw)? = try? JSONParser().parse(detail.raw) else {
            throw RPCError.internalError("the stored \(detail.resourceType) \(detail.id) is not a JSON object")
        }
        let type: SCIMResourceType = detail.resourceType == "Group" ? .group : .user
        let groups = type == .user ? detail.related.map { MemberOf(id: $0.id, displayName: $0.name, externalId: nil) } : []
        let members: [JSONValue] = type == .group ? detail.related.map { ref in
            var member: JSONObject = ["value": .string(ref.id)]
            if let name = ref.name { member["display"] = .string(name) }
            if let kind = ref.resourceType { member["type"] = .string(kind) }
            return .object(member)
        } : []
        return activeMapping(connection.id).trace(raw: raw, id: detail.id, type: type, groups: groups, members: members)
    }

    /// The resource, its groups or a page of its members, its warnings and its rendering, from
    /// memory; the warnings' example requests and the recent requests from the request log, the
    /// one part of the story kept only in SQLite (history, not state: it holds request bodies,
    /// and no request path reads it).
    private func detail(
        connection reference: String, type: SCIMResourceType, reference id: String, membersLimit: Int, membersCursor: String?
    ) async throws -> ResourceDetail {
        let connection = try connection(named: reference)
        let connectionId = connection.id
        let base = configuration.scimBasePath
        let parts: DetailParts?
        if type == .user {
            // A user takes microseconds: under the connection's lock, as SCIM GET reads one.
            parts = try await store.withResources(connectionId) { resources in
                Self.detailParts(resources, type: type, reference: id, membersLimit: membersLimit, membersCursor: membersCursor, baseURL: base)
            }
        } else {
            // A group's members can be thousands: from a snapshot, so commits do not wait.
            let resources = try await store.resources(connectionId)
            parts = Self.detailParts(resources, type: type, reference: id, membersLimit: membersLimit, membersCursor: membersCursor, baseURL: base)
        }
        guard let parts else {
            throw RPCError.notFound(
                "no \(type == .user ? "user" : "group") '\(id)' in connection '\(connection.name)' (list them with `scimctl \(type == .user ? "users" : "groups") list \(connection.name)`)")
        }
        let record = parts.record
        try await store.waitForQueuedWrites()  // its recent requests include reads' log entries
        let (warnings, recent) = try await store.read { db in
            (try parts.warnings.map { try Self.warningInfo(db, $0) }, try db.recentRequests(connectionId: connectionId, resourceId: record.id, limit: 10))
        }
        return ResourceDetail(
            resourceType: type.rawValue, id: record.id, name: Self.displayName(record), raw: record.raw, scim: .object(parts.scim),
            mapped: record.mapped.flatMap { try? JSONParser().parse($0) } ?? .object([:]),
            mappingVersion: record.effectiveMappingVersion(remapped: parts.remappedVersion),
            related: parts.related, relatedCount: parts.relatedCount, nextRelatedCursor: parts.nextRelatedCursor, warnings: warnings,
            recentRequests: recent.map(self.summary), createdAt: Timestamp.string(record.createdAt),
            updatedAt: Timestamp.string(record.updatedAt), appUserId: record.appUserId)
    }

    /// What a `users.get`/`groups.get` answer takes from memory.
    struct DetailParts: Sendable {
        var record: ResourceRecord
        var scim: JSONObject
        var related: [ResourceRef]
        var relatedCount: Int
        var nextRelatedCursor: String?
        var warnings: [WarningRecord]
        var remappedVersion: Int?
    }

    /// The resource `reference` names (its id, else its userName or displayName, folded) with its
    /// groups (a User) or the page of up to `membersLimit` members whose ids sort bytewise after
    /// `membersCursor` (a Group), its warnings by property, and its SCIM rendering; nil when the
    /// connection has no such resource.
    static func detailParts(
        _ resources: ConnectionResources, type: SCIMResourceType, reference: String, membersLimit: Int, membersCursor: String?,
        baseURL: String
    ) -> DetailParts? {
        let table = resources.table(type.rawValue)
        guard let resource = table.resource(id: reference) ?? table.resource(nameKey: foldedKey(reference)) else { return nil }
        let record = resource.record
        var related: [ResourceRef] = []
        var relatedCount = 0
        var next: String? = nil
        if type == .user {
            related = resources.memberOf(userId: record.id).map { ResourceRef(id: $0.id, resourceType: "Group", name: $0.displayName, active: nil) }
            relatedCount = related.count
        } else {
            // By member id, bytewise (the cursor is the last id of the previous page).
            let members = resources.memberships.members(ofGroup: record.id)
            relatedCount = members.count
            let after = membersCursor ?? ""
            let page = members.lazy.map(\.memberId).filter { after.utf8.lexicographicallyPrecedes($0.utf8) }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.prefix(membersLimit + 1)
            for memberId in page.prefix(membersLimit) {
                let member = resources.users.resource(id: memberId) ?? resources.groups.resource(id: memberId)
                let memberType = member?.record.resourceType
                let name = member?.object[memberType == "Group" ? "displayName" : "userName"]?.stringValue
                let active: Bool? = memberType == "User" ? (member?.record.active ?? true) : nil
                related.append(ResourceRef(id: memberId, resourceType: memberType, name: name, active: active))
            }
            if page.count > membersLimit { next = related.last?.id }
        }
        return DetailParts(
            record: record, scim: resources.rendered(resource, baseURL: baseURL), related: related, relatedCount: relatedCount,
            nextRelatedCursor: next, warnings: table.warnings.warnings(of: record.id), remappedVersion: resources.remappedVersion)
    }
}

/// The dashboard's search box (`users.list`/`groups.list` `search`): what an operator types to
/// find someone, matched against the stored row without rendering it, so a search over 100,000
/// users costs a pass of string comparisons rather than 100,000 SCIM renderings.
///
/// A resource matches when its userName (groups: displayName) or displayName starts with the
/// text, compared as userName uniqueness compares (case and Unicode normalization folded), or its
/// externalId equals the text exactly; and, when the text contains `@`, when one of its `emails`
/// values starts with it (ignoring case).
struct SearchText: Sendable {
    let text: String
    let folded: String
    let emailLike: Bool

    /// nil for blank text (no search).
    init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        self.text = trimmed
        self.folded = foldedKey(trimmed)
        self.emailLike = trimmed.contains("@")
    }

    func matches(_ record: ResourceRecord) -> Bool {
        if record.nameKey.hasPrefix(folded) || record.externalId == text { return true }
        if let displayName = record.displayName, foldedKey(displayName).hasPrefix(folded) { return true }
        guard emailLike, record.raw.range(of: text, options: .caseInsensitive) != nil,
            case .object(let resource)? = try? JSONParser().parse(record.raw),
            case .array(let emails)? = resource[caseInsensitive: "emails"]
        else { return false }
        return emails.contains { email in
            guard case .object(let e) = email, let value = e[caseInsensitive: "value"]?.stringValue else { return false }
            return foldedKey(value).hasPrefix(folded)
        }
    }
}
