import Foundation
import GRDB
import Logging
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

/// Serves SCIM 2.0 (RFC 7644) for one authenticated connection over the store.
///
/// Every request that changes data runs in a single write transaction (checks, writes and
/// membership edges together), so a request is all-or-nothing and two requests racing on the same
/// group are serialized by SQLite's writer instead of losing a member.
struct SCIMEndpoint: Sendable {
    let store: Store
    let configuration: ServiceConfiguration
    let clock: Clock
    let connectionId: String
    /// Current mappings, read inside each write transaction (see ``MappingRegistry``).
    let mappings: MappingRegistry
    /// The request's log entry, completed and written in the same transaction as a change.
    let log: RequestLogDraft
    let logger: Logger
    /// Confirm mode: user lifecycle changes are worked out, rolled back and held (see ``Held``).
    var confirm = false
    /// For a committed `link`: the id the held preview announced, and the application's id to link.
    var assignedId: String? = nil
    var linkAppUserId: String? = nil

    /// Thrown inside a write transaction to roll it back and hold the change for `scim.commit`.
    struct Held: Error {
        var action: String
        var id: String
        var user: JSONObject
        var mapped: JSONObject
    }

    /// Base URL for `meta.location`: from `X-Forwarded-Proto`/`Host` when sent, else the base path alone.
    func baseURL(_ request: SCIMRequest) -> String {
        guard let host = request.headers["x-forwarded-host"] ?? request.headers["host"] else {
            return configuration.scimBasePath
        }
        let scheme = request.headers["x-forwarded-proto"] ?? "https"
        return "\(scheme)://\(host)\(configuration.scimBasePath)"
    }

    func handle(_ request: SCIMRequest) async -> SCIMResponse {
        do {
            return try await route(request)
        } catch let error as SCIMError {
            return SCIMResponse(error: error)
        } catch let held as Held {
            var response = SCIMResponse(status: 202, body: nil)
            response.headers = [:]
            response.held = held
            response.resourceType = "User"
            response.resourceId = held.id
            return response
        } catch is StorageFullError {
            // The store logged the episode once; nothing of this request was applied.
            return StorageFull.scimResponse()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            // Defence in depth: the unique index backs the in-transaction uniqueness check.
            logger.warning("uniqueness enforced by the index", metadata: ["error": "\(error)"])
            return SCIMResponse(error: .uniqueness("a resource with that name already exists"))
        } catch {
            logger.error("SCIM request failed", metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(error)"])
            return SCIMResponse(error: SCIMError(status: 500, scimType: nil, detail: "internal error; see the daemon's log"))
        }
    }

    private func route(_ request: SCIMRequest) async throws -> SCIMResponse {
        let s = request.segments
        // U+0000 is refused in every string scimd takes in (see `JSONValue.pathOfFirstNUL`); in the
        // URI it can only come from a percent-encoded `%00`.
        if let parameter = request.query.first(where: { $0.name.utf8.contains(0) || $0.value.utf8.contains(0) }) {
            let detail = "the query parameter '\(parameter.name)' contains U+0000 (NUL), which scimd refuses in every string"
            throw parameter.name.caseInsensitiveEquals("filter") ? SCIMError.invalidFilter(detail) : SCIMError.invalidValue(detail)
        }
        if s.contains(where: { $0.utf8.contains(0) }) {
            throw SCIMError.invalidValue("the request path contains U+0000 (NUL), which scimd refuses in every string")
        }
        guard let first = s.first else {
            throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
        }
        let type: SCIMResourceType? =
            first.caseInsensitiveEquals("Users") ? .user : first.caseInsensitiveEquals("Groups") ? .group : nil
        if let type {
            if s.count == 1 {
                switch request.method {
                case "GET": return try await list(type: type, query: try ListQuery(request: request, configuration: configuration), request: request)
                case "POST": return try await create(type: type, request: request)
                default: return methodNotAllowed(["GET", "POST"])
                }
            }
            if s.count == 2, s[1].caseInsensitiveEquals(".search") {
                guard request.method == "POST" else { return methodNotAllowed(["POST"]) }
                return try await list(type: type, query: try ListQuery(searchBody: request.body, configuration: configuration), request: request)
            }
            if s.count == 2 {
                let id = s[1]
                switch request.method {
                case "GET": return try await get(type: type, id: id, request: request)
                case "PUT": return try await replace(type: type, id: id, request: request)
                case "PATCH": return try await patch(type: type, id: id, request: request)
                case "DELETE": return try await delete(type: type, id: id, request: request)
                default: return methodNotAllowed(["GET", "PUT", "PATCH", "DELETE"])
                }
            }
            throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
        }
        let base = baseURL(request)
        switch first.lowercased() {
        case "serviceproviderconfig" where s.count == 1:
            guard request.method == "GET" else { return methodNotAllowed(["GET"]) }
            return SCIMResponse(
                status: 200,
                body: SCIMSchemas.serviceProviderConfig(
                    baseURL: base, maxResults: configuration.maxResults, maxOperations: configuration.maxPatchOperations,
                    maxPayloadSize: configuration.maxBodyBytes))
        case "schemas", "resourcetypes":
            guard request.method == "GET" else { return methodNotAllowed(["GET"]) }
            let documents =
                first.lowercased() == "schemas"
                ? SCIMSchemas.schemaDocuments(baseURL: base) : SCIMSchemas.resourceTypeDocuments(baseURL: base)
            if s.count == 1 { return listResponse(documents, total: documents.count, startIndex: 1) }
            if s.count == 2, let match = documents.first(where: { ($0["id"]?.stringValue ?? "").caseInsensitiveEquals(s[1]) }) {
                return SCIMResponse(status: 200, body: match)
            }
            throw SCIMError.notFound("no \(first) entry '\(s.dropFirst().joined(separator: "/"))'")
        case ".search" where s.count == 1:
            guard request.method == "POST" else { return methodNotAllowed(["POST"]) }
            let query = try ListQuery(searchBody: request.body, configuration: configuration)
            return try await list(types: [.user, .group], query: query, request: request)
        case "bulk" where s.count == 1:
            return SCIMResponse(
                error: SCIMError(status: 501, scimType: nil, detail: "bulk operations are not supported (see /ServiceProviderConfig)"))
        case "me" where s.count == 1:
            return SCIMResponse(error: SCIMError(status: 501, scimType: nil, detail: "/Me is not supported"))
        default:
            throw SCIMError.notFound("no SCIM endpoint at \(request.path)")
        }
    }

    func methodNotAllowed(_ allowed: [String]) -> SCIMResponse {
        var response = SCIMResponse(
            error: SCIMError(status: 405, scimType: nil, detail: "method not allowed here; allowed: \(allowed.joined(separator: ", "))"))
        response.headers["Allow"] = allowed.joined(separator: ", ")
        return response
    }

    // MARK: reading

    private func get(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        let connectionId = self.connectionId
        let query = try ListQuery(request: request, configuration: configuration)
        let base = baseURL(request)
        let includeMembers = query.returns("members")
        // Answered from memory. A User is rendered under the connection's lock (microseconds); a
        // Group's members can be thousands, rendered from a snapshot so commits do not wait.
        let found: (ResourceRecord, JSONObject)?
        if type == .user {
            found = try await store.withResources(connectionId) { resources in
                resources.users.resource(id: id).map { ($0.record, resources.rendered($0, baseURL: base)) }
            }
        } else {
            let resources = try await store.resources(connectionId)
            found = resources.groups.resource(id: id).map { ($0.record, resources.rendered($0, members: includeMembers, baseURL: base)) }
        }
        guard let (record, rendered) = found else { throw SCIMError.notFound("\(type.rawValue) \(id) not found") }
        var resource = rendered
        let etag = ETag.string(record.version)
        if let noneMatch = request.headers["if-none-match"], ETag.matches(noneMatch, version: record.version) {
            var response = SCIMResponse(status: 304, body: nil)
            response.headers = ["ETag": etag]
            return response
        }
        if !query.attributes.isEmpty || !query.excludedAttributes.isEmpty {
            resource = SCIMResource.project(
                resource, attributes: query.attributes, excludedAttributes: query.excludedAttributes, resourceType: type)
        }
        var response = SCIMResponse(status: 200, body: .object(resource))
        response.headers["ETag"] = etag
        response.resourceType = type.rawValue
        response.resourceId = id
        return response
    }

    private func list(type: SCIMResourceType, query: ListQuery, request: SCIMRequest) async throws -> SCIMResponse {
        try await list(types: [type], query: query, request: request)
    }

    private func list(types: [SCIMResourceType], query: ListQuery, request: SCIMRequest) async throws -> SCIMResponse {
        // Schema errors (`active gt true`) are refused even when there is nothing to scan.
        for type in types { try query.filter?.validate(resourceType: type) }
        let connectionId = self.connectionId
        let base = baseURL(request)
        let includeMembers = query.returns("members")
        let readPage: @Sendable (ConnectionResources) throws -> (Int, [JSONObject]) = { resources in
            // No filter and no sort: the page is a slice of list order.
            if query.filter == nil, query.sortBy == nil, types.count == 1 {
                let table = resources.table(types[0].rawValue)
                let page = query.count == 0 ? [] : table.page(offset: query.startIndex - 1, count: query.count)
                return (table.count, page.map { resources.rendered($0, members: includeMembers, baseURL: base) })
            }
            // Without sortBy the page is known while scanning: keep only its resources and count the
            // rest, so a broad filter over a large connection never holds every match.
            var matches: [(JSONObject, SCIMResourceType, ReplicaResource)] = []
            var matched = 0
            let pageRange = (query.startIndex - 1)..<(query.startIndex - 1 + query.count)
            let filterNeedsGroups = query.filter.map { mentions($0, attribute: "groups") } ?? false
            let filterNeedsMembers = query.filter.map { mentions($0, attribute: "members") } ?? false
            // Without sortBy, a filter that reads only stored members is evaluated on just those
            // members of each resource (see `Filter.topLevelMemberNames`); only the page is rendered.
            let storedMembers = query.sortBy == nil ? query.filter.flatMap(Self.storedMembersRead) : nil
            for type in types {
                let includeRelated = type == .user ? filterNeedsGroups : filterNeedsMembers
                let table = resources.table(type.rawValue)
                let consider: (ReplicaResource) throws -> Bool = { resource in
                    if let filter = query.filter, let storedMembers {
                        let members = resource.object { key in storedMembers.contains { $0.caseInsensitiveEquals(key) } }
                        guard try filter.matches(members, resourceType: type) else { return true }
                        // Rendered with its groups or members below, like every page resource here.
                        if pageRange.contains(matched) { matches.append((JSONObject(), type, resource)) }
                        matched += 1
                        return true
                    }
                    let rendered =
                        includeRelated ? resources.rendered(resource, baseURL: base) : resources.renderedAlone(resource, baseURL: base)
                    if let filter = query.filter {
                        guard try filter.matches(rendered, resourceType: type) else { return true }
                    }
                    if query.sortBy != nil || pageRange.contains(matched) { matches.append((rendered, type, resource)) }
                    matched += 1
                    return true
                }
                if let filter = query.filter, let plan = IndexPlan.candidates(filter, type: type) {
                    for resource in plan.candidates(in: table) { _ = try consider(resource) }
                } else {
                    try table.forEach(consider)
                }
            }
            var pageMatches = matches[...]
            if let sortBy = query.sortBy {
                // Stable: equal keys keep creation order, so pages never overlap or skip.
                let sorted = matches.enumerated().sorted { x, y in
                    let order = SCIMResource.compareForSort(x.element.0, y.element.0, by: sortBy, resourceType: x.element.1)
                    switch order {
                    case .orderedSame: return x.offset < y.offset
                    case .orderedAscending: return !query.descending
                    case .orderedDescending: return query.descending
                    }
                }.map(\.element)
                let start = min(pageRange.lowerBound, sorted.count)
                pageMatches = sorted[start..<min(pageRange.upperBound, sorted.count)]
            }
            var page: [JSONObject] = []
            for (rendered, type, resource) in pageMatches {
                // Resources were filtered without their groups or members unless the filter needed
                // them: add them now.
                if storedMembers != nil || (type == .user ? !filterNeedsGroups : (!filterNeedsMembers && includeMembers)) {
                    page.append(resources.rendered(resource, members: includeMembers, baseURL: base))
                } else {
                    page.append(rendered)
                }
            }
            return (matched, page)
        }
        // An `eq` on userName, externalId or id looks a handful of resources up in an index: answered
        // at once. Anything that scans runs off the event loop.
        let indexed = query.sortBy == nil && query.filter.map { filter in types.allSatisfy { IndexPlan.candidates(filter, type: $0) != nil } } == true
        let noScan = query.filter == nil && query.sortBy == nil && types.count == 1 && (types[0] == .user || !includeMembers)
        let total: Int
        let page: [JSONObject]
        if indexed || noScan {
            // Under the connection's lock: a snapshot here would make a commit racing this read
            // copy the connection's tables.
            (total, page) = try await store.withResources(connectionId) { try readPage($0) }
        } else {
            let resources = try await store.resources(connectionId)
            (total, page) = try await ReplicaScans.run { try readPage(resources) }
        }
        let projected = page.map { resource -> JSONValue in
            if query.attributes.isEmpty && query.excludedAttributes.isEmpty { return .object(resource) }
            let type: SCIMResourceType = resource["meta"]?["resourceType"]?.stringValue == "Group" ? .group : .user
            return .object(
                SCIMResource.project(
                    resource, attributes: query.attributes, excludedAttributes: query.excludedAttributes, resourceType: type))
        }
        return listResponse(projected, total: total, startIndex: query.startIndex)
    }

    /// The top-level members `filter` reads, when all of them are stored as sent; nil when it reads
    /// one that rendering adds or replaces (`id`, `meta`, `schemas`, a User's `groups`, a Group's
    /// `members`), so it must see the rendered resource.
    static func storedMembersRead(by filter: Filter) -> [String]? {
        let names = filter.topLevelMemberNames
        let rendered = ["id", "meta", "schemas", "groups", "members"]
        if names.contains(where: { name in rendered.contains { $0.caseInsensitiveEquals(name) } }) { return nil }
        return names
    }

    private func listResponse(_ resources: [JSONValue], total: Int, startIndex: Int) -> SCIMResponse {
        SCIMResponse(
            status: 200,
            body: [
                "schemas": [.string(SCIMSchemas.listResponseURN)],
                "totalResults": .int(total),
                "startIndex": .int(startIndex),
                "itemsPerPage": .int(resources.count),
                "Resources": .array(resources),
            ])
    }

    // MARK: writing

    private func create(type: SCIMResourceType, request: SCIMRequest) async throws -> SCIMResponse {
        let body = try parseBody(request)
        var prepared = try SCIMResource.prepareForStorage(body, resourceType: type)
        // A Group's members are stored as rows, not in its JSON (see ``memberRows``).
        let members = type == .group ? prepared["members"]?.arrayValue ?? [] : []
        if type == .group { prepared["members"] = nil }
        let resource = prepared
        let fields = try IndexedFields(resource, type: type)
        let now = clock.now()
        let id = assignedId ?? UUID().uuidString.lowercased()
        let connectionId = self.connectionId
        let base = baseURL(request)
        let (mappings, log) = (self.mappings, self.log)
        let (confirm, linkAppUserId) = (self.confirm, self.linkAppUserId)
        return try await store.write { db -> SCIMResponse in
            if let existing = try db.resource(connectionId: connectionId, type: type.rawValue, nameKey: fields.nameKey) {
                throw SCIMError.uniqueness(
                    "\(type == .user ? "userName" : "displayName") '\(fields.name)' is already used by \(type.rawValue) \(existing.id)")
            }
            var record = ResourceRecord(
                connectionId: connectionId, resourceType: type.rawValue, id: id, nameKey: fields.nameKey,
                externalId: fields.externalId, displayName: fields.displayName, active: fields.active, createdAt: now,
                updatedAt: now, version: 1, raw: JSONSerializer.string(.object(resource)))
            let rows = memberRows(members, connectionId: connectionId, groupId: id)
            var response = SCIMResponse(status: 201, body: .object(try render(record, groups: [], members: rows.map(memberValue), baseURL: base)))
            response.headers["Location"] = "\(base)/\(type == .user ? "Users" : "Groups")/\(id)"
            response.headers["ETag"] = ETag.string(record.version)
            response.resourceType = type.rawValue
            response.resourceId = id
            let requestId = try log.insert(db, response)
            let mapping = mappings.current(connectionId)
            let result = mapping.evaluate(
                raw: resource, id: id, type: type, groups: [], members: mapping.groupsReadMembers ? rows.map(memberValue) : [])
            if confirm && type == .user {
                throw Held(action: "link", id: id, user: try render(record, groups: [], baseURL: base), mapped: result.properties)
            }
            let warnings = try MappingWriter.apply(result, version: mapping.version, to: &record, requestId: requestId, now: now, db: db)
            if type == .user, let linkAppUserId {
                if let other = try String.fetchOne(
                    db, sql: "SELECT id FROM resource WHERE connectionId = ? AND appUserId = ?", arguments: [connectionId, linkAppUserId])
                {
                    throw SCIMError.uniqueness("application user \(linkAppUserId) is already linked to user \(other)")
                }
                record.appUserId = linkAppUserId
            }
            try record.insertRow(db)
            if type == .group { try db.replaceMembers(connectionId: connectionId, groupId: id, members: rows) }
            var names = [id: fields.name]
            let roleChanges =
                type == .group
                ? try remapMembers(db, userIds: Set(rows.map(\.memberId)), mapping: mapping, now: now, names: &names) : []
            response.changes = [
                ResourceChange(
                    resourceType: type.rawValue, id: id, change: "created", connection: connectionId,
                    version: ETag.string(1), mapped: .object(result.properties), warningsOpened: warnings.opened,
                    warningsResolved: warnings.resolved)
            ]
            if type == .group {
                for member in rows.map(\.memberId) {
                    response.changes.append(.init(resourceType: "Group", id: id, change: "member_added", connection: connectionId, member: member))
                }
                response.changes += roleChanges
            }
            try EventLog.append(db, at: now, changes: response.changes, names: names)
            response.logged = true
            return response
        }
    }

    private func replace(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        let body = try parseBody(request)
        let resource = try SCIMResource.prepareForStorage(body, resourceType: type)
        return try await update(type: type, id: id, request: request, memberPatch: nil) { _ in resource }
    }

    private func patch(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        let body = try parseBody(request)
        let patch = try PatchRequest.parse(body, maximumOperations: configuration.maxPatchOperations)
        // Membership changes of a Group go straight to its member rows: one row per member
        // touched, whatever the group's size.
        let memberPatch = type == .group ? try GroupMemberPatch.split(patch) : nil
        return try await update(type: type, id: id, request: request, memberPatch: memberPatch) { current in
            try PatchEngine.apply(patch, to: current, resourceType: type)
        }
    }

    /// The shared write path of PUT and PATCH: read, check `If-Match`, transform, check
    /// uniqueness, write, re-derive membership, map, log — one transaction.
    ///
    /// `transform` gets the whole resource (a Group with its `members`). With a `memberPatch`
    /// (a Group PATCH that ``GroupMemberPatch/split(_:)`` could split) it is not called: the
    /// other operations apply to the Group's JSON, the member edits to its rows.
    ///
    /// PATCH on a Group answers 204 No Content (RFC 7644 §3.5.2 allows it; identity providers do
    /// not read the body, and it would carry every member) unless the request asks for
    /// `attributes` or `excludedAttributes`; PUT and User PATCH answer 200 with the resource.
    private func update(
        type: SCIMResourceType, id: String, request: SCIMRequest, memberPatch: GroupMemberPatch?,
        transform: @escaping @Sendable (JSONObject) throws -> JSONObject
    ) async throws -> SCIMResponse {
        let connectionId = self.connectionId
        let base = baseURL(request)
        let ifMatch = request.headers["if-match"]
        let now = clock.now()
        let (mappings, log) = (self.mappings, self.log)
        let confirm = self.confirm
        let query = try ListQuery(request: request, configuration: configuration)
        let shaped = !query.attributes.isEmpty || !query.excludedAttributes.isEmpty
        let answersNoContent = type == .group && request.method == "PATCH" && !shaped
        return try await store.write { db -> SCIMResponse in
            guard var record = try db.resource(connectionId: connectionId, type: type.rawValue, id: id) else {
                throw SCIMError.notFound("\(type.rawValue) \(id) not found")
            }
            if let ifMatch, !ETag.matches(ifMatch, version: record.version) {
                throw SCIMError.preconditionFailed("If-Match \(ifMatch) does not match the current version \(ETag.string(record.version))")
            }
            let current = try storedObject(record)
            let updated: JSONObject
            var delta = MembershipDelta()
            // The Group's members after the request, when known without reading them back.
            var members: [JSONValue]? = nil
            if let memberPatch {
                updated =
                    memberPatch.otherOperations.isEmpty
                    ? current : try PatchEngine.apply(PatchRequest(operations: memberPatch.otherOperations), to: current, resourceType: .group)
                delta = try applyMemberEdits(db, memberPatch.memberEdits, groupId: id)
            } else if type == .group {
                let before = try db.groupMembers(connectionId: connectionId, groupId: id).map(memberValue)
                var whole = current
                if !before.isEmpty { whole["members"] = .array(before) }
                var after = try transform(whole)
                let rows = memberRows(after["members"]?.arrayValue ?? [], connectionId: connectionId, groupId: id)
                after["members"] = nil
                updated = after
                members = rows.map(memberValue)
                if members != before {
                    try db.replaceMembers(connectionId: connectionId, groupId: id, members: rows)
                    let beforeIds = before.compactMap { $0[caseInsensitive: "value"]?.stringValue }
                    let (beforeSet, afterSet) = (Set(beforeIds), Set(rows.map(\.memberId)))
                    delta.added = rows.map(\.memberId).filter { !beforeSet.contains($0) }
                    delta.removed = beforeIds.filter { !afterSet.contains($0) }
                    delta.rowsChanged = true
                }
            } else {
                updated = try transform(current)
            }
            let fields = try IndexedFields(updated, type: type)
            if fields.nameKey != record.nameKey,
                let other = try db.resource(connectionId: connectionId, type: type.rawValue, nameKey: fields.nameKey), other.id != id
            {
                throw SCIMError.uniqueness(
                    "\(type == .user ? "userName" : "displayName") '\(fields.name)' is already used by \(type.rawValue) \(other.id)")
            }
            var changes: [ResourceChange] = []
            var names = [id: fields.name]
            let changed = updated != current || delta.rowsChanged
            let wasActive = record.active
            if changed {
                record.nameKey = fields.nameKey
                record.externalId = fields.externalId
                record.displayName = fields.displayName
                record.active = fields.active
                record.updatedAt = max(now, record.updatedAt)
                record.version += 1
                if updated != current { record.raw = JSONSerializer.string(.object(updated)) }
            }
            let groups = type == .user ? try memberships(db, connectionId: connectionId, userId: id) : []
            let mapping = mappings.current(connectionId)
            if members == nil, type == .group, !answersNoContent || (changed && mapping.groupsReadMembers) {
                members = try groupMembers(db, connectionId: connectionId, groupId: id)
            }
            var response: SCIMResponse
            if answersNoContent {
                response = SCIMResponse(status: 204, body: nil)
                response.headers = [:]
            } else {
                var resource = try render(record, groups: groups, members: members ?? [], baseURL: base)
                if shaped {
                    resource = SCIMResource.project(
                        resource, attributes: query.attributes, excludedAttributes: query.excludedAttributes, resourceType: type)
                }
                response = SCIMResponse(status: 200, body: .object(resource))
            }
            response.headers["ETag"] = ETag.string(record.version)
            response.resourceType = type.rawValue
            response.resourceId = id
            let requestId = try log.insert(db, response)
            guard changed else {
                response.logged = true
                return response
            }
            let result = mapping.evaluate(
                raw: updated, id: id, type: type, groups: groups, members: mapping.groupsReadMembers ? members ?? [] : [])
            let warnings = try MappingWriter.apply(result, version: mapping.version, to: &record, requestId: requestId, now: now, db: db)
            try record.updateRow(db)
            let kind: String
            if type == .user, wasActive != false, fields.active == false {
                kind = "deactivated"
            } else if type == .user, wasActive == false, fields.active != false {
                kind = "reactivated"
            } else {
                kind = "updated"
            }
            if confirm && (kind == "deactivated" || kind == "reactivated") {
                throw Held(
                    action: kind == "deactivated" ? "disable" : "enable", id: id,
                    user: try render(record, groups: groups, baseURL: base), mapped: result.properties)
            }
            changes.append(
                .init(
                    resourceType: type.rawValue, id: id, change: kind, connection: connectionId, version: ETag.string(record.version),
                    mapped: .object(result.properties), warningsOpened: warnings.opened, warningsResolved: warnings.resolved))
            if type == .group {
                for m in delta.added {
                    changes.append(.init(resourceType: "Group", id: id, change: "member_added", connection: connectionId, member: m))
                }
                for m in delta.removed {
                    changes.append(.init(resourceType: "Group", id: id, change: "member_removed", connection: connectionId, member: m))
                }
                // Roles follow membership and the group's name: re-map the users it may have changed.
                if mapping.dependsOnGroups {
                    let renamed =
                        fields.displayName != IndexedFields.displayName(current)
                        || fields.externalId != current[caseInsensitive: "externalId"]?.stringValue
                    var affected = Set(delta.added).union(delta.removed)
                    if renamed { affected.formUnion(try db.groupMemberIds(connectionId: connectionId, groupId: id)) }
                    changes += try remapMembers(db, userIds: affected, mapping: mapping, now: now, names: &names)
                }
            }
            response.changes = changes
            try EventLog.append(db, at: now, changes: changes, names: names)
            response.logged = true
            return response
        }
    }

    /// Applies member edits to a Group's rows, in order, with ``PatchEngine``'s semantics (see
    /// ``GroupMemberPatch``). Each edit reads and writes only the rows of the members it names.
    private func applyMemberEdits(_ db: Database, _ edits: [GroupMemberPatch.Edit], groupId: String) throws -> MembershipDelta {
        var delta = MembershipDelta()
        for edit in edits {
            switch edit {
            case .add(let added):
                for member in added {
                    guard let memberId = member["value"]?.stringValue else { continue }
                    let existing = try db.groupMember(connectionId: connectionId, groupId: groupId, memberId: memberId)
                    delta.touch(memberId, wasMember: existing != nil)
                    var row: GroupMemberRecord
                    if let existing {
                        // Re-adding a member merges what was sent into it, like PatchEngine.
                        guard case .object(var merged) = memberValue(existing) else { continue }
                        for (key, value) in member { merged[caseInsensitive: key] = value }
                        row = existing
                        row.member = JSONSerializer.string(.object(merged))
                        if row.member == existing.member { continue }
                    } else {
                        row = GroupMemberRecord(
                            connectionId: connectionId, groupId: groupId, memberId: memberId,
                            position: try db.nextMemberPosition(connectionId: connectionId, groupId: groupId),
                            member: JSONSerializer.string(.object(member)))
                    }
                    try db.saveMember(row)
                    delta.rowsChanged = true
                }
            case .removeMatching(let memberId):
                // A filter removes every member it matches: ids equal ignoring case are distinct rows.
                for existing in try db.groupMembers(connectionId: connectionId, groupId: groupId, memberIdIgnoringCase: memberId) {
                    delta.touch(existing.memberId, wasMember: true)
                    try db.deleteMember(connectionId: connectionId, groupId: groupId, memberId: existing.memberId)
                    delta.rowsChanged = true
                }
            case .removeListed(let listed):
                for member in listed {
                    guard let memberId = member["value"]?.stringValue,
                        let existing = try db.groupMember(connectionId: connectionId, groupId: groupId, memberId: memberId),
                        PatchEngine.sameValue(.object(member), memberValue(existing))
                    else { continue }
                    delta.touch(memberId, wasMember: true)
                    try db.deleteMember(connectionId: connectionId, groupId: groupId, memberId: memberId)
                    delta.rowsChanged = true
                }
            }
        }
        try delta.finish { id in try db.groupMember(connectionId: connectionId, groupId: groupId, memberId: id) != nil }
        return delta
    }

    private func delete(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        let connectionId = self.connectionId
        let ifMatch = request.headers["if-match"]
        let now = clock.now()
        let log = self.log
        let confirm = self.confirm
        let base = baseURL(request)
        return try await store.write { db -> SCIMResponse in
            guard let record = try db.resource(connectionId: connectionId, type: type.rawValue, id: id) else {
                throw SCIMError.notFound("\(type.rawValue) \(id) not found")
            }
            if let ifMatch, !ETag.matches(ifMatch, version: record.version) {
                throw SCIMError.preconditionFailed("If-Match \(ifMatch) does not match the current version \(ETag.string(record.version))")
            }
            if confirm && type == .user {
                let groups = try memberships(db, connectionId: connectionId, userId: id)
                let mapped = record.mapped.flatMap { try? JSONParser().parse($0).objectValue } ?? [:]
                throw Held(action: "delete", id: id, user: try render(record, groups: groups, baseURL: base), mapped: mapped)
            }
            var changes: [ResourceChange] = [.init(resourceType: type.rawValue, id: id, change: "deleted", connection: connectionId)]
            var names: [String: String] = [:]
            // A deleted resource leaves every group that listed it (RFC 7644 §3.6: no dangling references).
            for groupId in try db.groupIds(connectionId: connectionId, memberId: id) {
                guard var group = try db.resource(connectionId: connectionId, type: "Group", id: groupId) else { continue }
                group.version += 1
                group.updatedAt = max(now, group.updatedAt)
                try group.updateRow(db)
                try db.deleteMember(connectionId: connectionId, groupId: groupId, memberId: id)
                changes.append(.init(resourceType: "Group", id: groupId, change: "member_removed", connection: connectionId, member: id))
            }
            _ = try record.delete(db)
            // Its open warnings go with it: say so in the feed, or a consumer that follows
            // warning.opened/resolved keeps them open forever.
            let resolved = try String.fetchAll(
                db, sql: "SELECT property FROM warning WHERE connectionId = ? AND resourceType = ? AND resourceId = ? ORDER BY property",
                arguments: [connectionId, type.rawValue, id])
            if !resolved.isEmpty { changes[0].warningsResolved = resolved }
            try MappingWriter.deleteWarnings(db, connectionId: connectionId, type: type.rawValue, resourceId: id)
            if type == .group {
                let formerMembers = try db.groupMemberIds(connectionId: connectionId, groupId: id)
                try db.replaceMembers(connectionId: connectionId, groupId: id, members: [])
                changes += try remapMembers(db, userIds: Set(formerMembers), mapping: mappings.current(connectionId), now: now, names: &names)
            }
            var response = SCIMResponse(status: 204, body: nil)
            response.headers = [:]
            response.resourceType = type.rawValue
            response.resourceId = id
            response.changes = changes
            _ = try log.insert(db, response)
            try TombstoneRecord(
                connectionId: connectionId, resourceType: type.rawValue, id: id, nameKey: record.nameKey, externalId: record.externalId,
                appUserId: record.appUserId, deletedAt: now
            ).insert(db, onConflict: .replace)
            names[id] = SCIMDService.displayName(record)
            try EventLog.append(db, at: now, changes: changes, names: names)
            response.logged = true
            return response
        }
    }

    // MARK: helpers

    /// Re-maps users whose `roles` may have changed because a group they are (or were) in changed.
    /// Their SCIM data is untouched (no new `meta.version`); what changes is the application's view.
    /// Adds each changed user's `userName` to `names`, for its `user.updated` event.
    func remapMembers(
        _ db: Database, userIds: Set<String>, mapping: ActiveMapping, now: Milliseconds, names: inout [String: String]
    ) throws -> [ResourceChange] {
        guard mapping.dependsOnGroups, !userIds.isEmpty else { return [] }
        let ids = userIds.sorted()
        let groups = try memberships(db, connectionId: connectionId, userIds: ids)
        var changes: [ResourceChange] = []
        for record in try db.resources(connectionId: connectionId, type: "User", ids: ids) {
            var record = record
            let old = try SCIMDService.storedResult(db, record)
            let raw = try storedObject(record)
            let new = mapping.evaluate(raw: raw, id: record.id, type: .user, groups: groups[record.id] ?? [])
            guard !MappingDiff.diff(old: old, new: new).isEmpty else { continue }
            names[record.id] = raw[caseInsensitive: "userName"]?.stringValue
            let warnings = try MappingWriter.apply(new, version: mapping.version, to: &record, requestId: nil, now: now, db: db)
            try record.updateRow(db)
            changes.append(
                ResourceChange(
                    resourceType: "User", id: record.id, change: "updated", connection: connectionId, version: ETag.string(record.version),
                    mapped: .object(new.properties), warningsOpened: warnings.opened, warningsResolved: warnings.resolved))
        }
        return changes
    }

    /// Parses the request body as JSON. Throws 400 invalidSyntax (absent/invalid), 413 (too large).
    func parseBody(_ request: SCIMRequest) throws(SCIMError) -> JSONValue {
        guard let body = request.body, !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SCIMError.invalidSyntax("the request needs a JSON body")
        }
        if body.utf8.count > configuration.maxBodyBytes {
            throw SCIMError(status: 413, scimType: nil, detail: "request body exceeds \(configuration.maxBodyBytes) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONParser(maximumDepth: 64).parse(body)
        } catch {
            throw SCIMError.invalidSyntax("request body is not valid JSON: \(error)")
        }
        if let location = value.pathOfFirstNUL() {
            throw SCIMError.invalidValue("'\(location)' contains U+0000 (NUL), which scimd refuses in every string")
        }
        return value
    }

    func storedObject(_ record: ResourceRecord) throws -> JSONObject { try SCIMDService.storedObject(record) }

    func render(_ record: ResourceRecord, groups: [MemberOf], members: [JSONValue] = [], baseURL: String) throws -> JSONObject {
        try SCIMDService.render(record, groups: groups, members: members, baseURL: baseURL)
    }

    /// Renders a stored resource with what lives outside its JSON: a User's `groups`, and a
    /// Group's `members` unless `members` is false (the caller's output leaves them out).
    func render(_ db: Database, _ record: ResourceRecord, members: Bool = true, baseURL: String) throws -> JSONObject {
        try SCIMDService.render(db, record, members: members, baseURL: baseURL)
    }
}

/// A group's `members` as SCIM returns them, in list order.
func groupMembers(_ db: Database, connectionId: String, groupId: String) throws -> [JSONValue] {
    try db.groupMembers(connectionId: connectionId, groupId: groupId).map(memberValue)
}

/// One member row as a `members` value: the member as sent, or `{"value": id}` for a row
/// without one.
func memberValue(_ row: GroupMemberRecord) -> JSONValue {
    if let text = row.member, case .object(let member)? = try? JSONParser().parse(text) { return .object(member) }
    return .object(["value": .string(row.memberId)])
}

/// The rows for a Group's `members` list (stored form): one per distinct `value`, the first
/// listed winning, positions 1…n in list order. Members without a string `value` have no row.
func memberRows(_ members: [JSONValue], connectionId: String, groupId: String) -> [GroupMemberRecord] {
    var seen: Set<String> = []
    var rows: [GroupMemberRecord] = []
    for member in members {
        guard case .object(let object) = member, let id = object[caseInsensitive: "value"]?.stringValue, seen.insert(id).inserted else {
            continue
        }
        rows.append(
            GroupMemberRecord(
                connectionId: connectionId, groupId: groupId, memberId: id, position: Int64(rows.count + 1),
                member: JSONSerializer.string(member)))
    }
    return rows
}

/// What a request did to a group's membership: ids that joined and that left, in the order the
/// request touched them, and whether any row changed (a merged `display` counts).
struct MembershipDelta {
    var added: [String] = []
    var removed: [String] = []
    var rowsChanged = false
    /// Whether each touched id was a member before the request (first touch wins).
    private var before: [String: Bool] = [:]
    private var order: [String] = []

    mutating func touch(_ id: String, wasMember: Bool) {
        if before[id] == nil {
            before[id] = wasMember
            order.append(id)
        }
    }

    /// Fixes `added`/`removed` from the first and final state of every touched id.
    mutating func finish(isMember: (String) throws -> Bool) rethrows {
        for id in order {
            let now = try isMember(id)
            switch (before[id] ?? false, now) {
            case (false, true): added.append(id)
            case (true, false): removed.append(id)
            default: break
            }
        }
    }
}

/// A group a user belongs to.
struct MemberOf: Sendable {
    var id: String
    var displayName: String?
    var externalId: String?
}

func memberships(_ db: Database, connectionId: String, userId: String) throws -> [MemberOf] {
    try Row.fetchAll(
        db.cachedStatement(
            sql: """
                SELECT m.groupId, r.displayName, r.externalId FROM groupMember m
                LEFT JOIN resource r ON r.connectionId = m.connectionId AND r.resourceType = 'Group' AND r.id = m.groupId
                WHERE m.connectionId = ? AND m.memberId = ? ORDER BY r.displayName, m.groupId
                """), arguments: [connectionId, userId]
    ).map { MemberOf(id: $0[0], displayName: $0[1], externalId: $0[2]) }
}

/// The groups of several users at once, by user id.
func memberships(_ db: Database, connectionId: String, userIds: [String]) throws -> [String: [MemberOf]] {
    guard !userIds.isEmpty else { return [:] }
    var result: [String: [MemberOf]] = [:]
    var arguments: StatementArguments = [connectionId]
    arguments += StatementArguments(userIds)
    let rows = try Row.fetchAll(
        db,
        sql: """
            SELECT m.memberId, m.groupId, r.displayName, r.externalId FROM groupMember m
            LEFT JOIN resource r ON r.connectionId = m.connectionId AND r.resourceType = 'Group' AND r.id = m.groupId
            WHERE m.connectionId = ? AND m.memberId IN (\(databaseQuestionMarks(count: userIds.count))) ORDER BY r.displayName, m.groupId
            """, arguments: arguments)
    for row in rows {
        result[row[0], default: []].append(MemberOf(id: row[1], displayName: row[2], externalId: row[3]))
    }
    return result
}


extension JSONValue {
    subscript(caseInsensitive key: String) -> JSONValue? { objectValue?[caseInsensitive: key] }
}

/// True when the filter refers to `attribute` (`groups`, `members`: kept outside the stored JSON,
/// so resources must be rendered with them to be filtered).
func mentions(_ filter: Filter, attribute: String) -> Bool {
    switch filter {
    case .compare(let path, _, _), .present(let path): return path.attribute.caseInsensitiveEquals(attribute)
    case .valuePath(let path, _): return path.attribute.caseInsensitiveEquals(attribute)
    case .and(let a, let b), .or(let a, let b): return mentions(a, attribute: attribute) || mentions(b, attribute: attribute)
    case .not(let f): return mentions(f, attribute: attribute)
    }
}

/// The columns a stored resource is indexed by, read from its JSON.
struct IndexedFields {
    static func displayName(_ resource: JSONObject) -> String? {
        resource[caseInsensitive: "displayName"]?.stringValue
    }

    var name: String
    var nameKey: String
    var externalId: String?
    var displayName: String?
    var active: Bool?

    init(_ resource: JSONObject, type: SCIMResourceType) throws(SCIMError) {
        let nameAttribute = type == .user ? "userName" : "displayName"
        guard let name = resource[caseInsensitive: nameAttribute]?.stringValue,
            !name.trimmingCharacters(in: .whitespaces).isEmpty
        else {
            throw SCIMError.invalidValue("\(nameAttribute) is required and must be a non-empty string")
        }
        self.name = name
        self.nameKey = foldedKey(name)
        self.externalId = resource[caseInsensitive: "externalId"]?.stringValue
        self.displayName = Self.displayName(resource)
        self.active = type == .user ? (resource[caseInsensitive: "active"]?.boolValue ?? true) : nil
    }
}

/// Weak ETags over `meta.version` (RFC 7644 §3.14, RFC 7232).
enum ETag {
    static func string(_ version: Int) -> String { "W/\"\(version)\"" }

    /// True when an `If-Match`/`If-None-Match` value names `version` (or is `*`); comparison is weak.
    static func matches(_ header: String, version: Int) -> Bool {
        for raw in header.split(separator: ",") {
            var tag = raw.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 { tag = String(tag.dropFirst().dropLast()) }
            if tag == String(version) { return true }
        }
        return false
    }
}

extension SCIMDService {
    /// The stored JSON of a record.
    static func storedObject(_ record: ResourceRecord) throws -> JSONObject {
        guard case .object(let object) = try JSONParser().parse(record.raw) else {
            throw SCIMError(status: 500, scimType: nil, detail: "stored resource is not an object")
        }
        return object
    }

    /// Renders a stored resource with what lives outside its JSON: a User's `groups`, and a
    /// Group's `members` unless `members` is false (the caller's output leaves them out).
    static func render(_ db: Database, _ record: ResourceRecord, members: Bool = true, baseURL: String) throws -> JSONObject {
        if record.resourceType == "Group" {
            let list = members ? try groupMembers(db, connectionId: record.connectionId, groupId: record.id) : []
            return try render(record, groups: [], members: list, baseURL: baseURL)
        }
        return try render(record, groups: try memberships(db, connectionId: record.connectionId, userId: record.id), baseURL: baseURL)
    }

    /// The resource as SCIM returns it: `schemas`, `id`, the stored attributes, `groups` (Users),
    /// `members` (Groups, stored as rows) and `meta` maintained by scimd.
    static func render(_ record: ResourceRecord, groups: [MemberOf], members: [JSONValue] = [], baseURL: String) throws -> JSONObject {
        render(record, stored: try Self.storedObject(record), groups: groups, members: members, baseURL: baseURL)
    }

    /// ``render(_:groups:members:baseURL:)`` with the record's JSON already parsed (`stored`).
    static func render(
        _ record: ResourceRecord, stored: JSONObject, groups: [MemberOf], members: [JSONValue] = [], baseURL: String
    ) -> JSONObject {
        let type: SCIMResourceType = record.resourceType == "Group" ? .group : .user
        var out = JSONObject()
        out["schemas"] = stored["schemas"] ?? .array([.string(type == .user ? SCIMSchemas.userURN : SCIMSchemas.groupURN)])
        out["id"] = .string(record.id)
        for (key, value) in stored where key != "schemas" {
            out[key] = value
        }
        if type == .group, !members.isEmpty {
            out["members"] = .array(members)
        }
        if type == .user, !groups.isEmpty {
            out["groups"] = .array(
                groups.map { g in
                    var o: JSONObject = ["value": .string(g.id), "$ref": .string("\(baseURL)/Groups/\(g.id)")]
                    if let name = g.displayName { o["display"] = .string(name) }
                    o["type"] = "direct"
                    return .object(o)
                })
        }
        out["meta"] = [
            "resourceType": .string(type.rawValue),
            "created": .string(Timestamp.string(record.createdAt)),
            "lastModified": .string(Timestamp.string(record.updatedAt)),
            "location": .string("\(baseURL)/\(type == .user ? "Users" : "Groups")/\(record.id)"),
            "version": .string(ETag.string(record.version)),
        ]
        return out
    }

}
