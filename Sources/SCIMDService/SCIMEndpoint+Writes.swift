import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

// SCIM writes (RFC 7644 §3.3, §3.5, §3.6): each request is one write transaction — checks, rows,
// membership edges, mapping, warnings, events and its log entry together.
extension SCIMEndpoint {
    func create(type: SCIMResourceType, request: SCIMRequest) async throws -> SCIMResponse {
        let body = try parseBody(request)
        var prepared = try SCIMResource.prepareForStorage(body, resourceType: type)
        // A Group's members are stored as rows, not in its JSON (see ``memberRows``).
        let members = type == .group ? prepared["members"]?.arrayValue ?? [] : []
        if type == .group { prepared["members"] = nil }
        let resource = prepared
        let fields = try IndexedFields(resource, type: type)
        let now = clock.now()
        let id = assignedId ?? ResourceId.make(milliseconds: now)
        let connectionId = self.connectionId
        let base = baseURL(request)
        let (mappings, log) = (self.mappings, self.log)
        let (confirm, linkAppUserId) = (self.confirm, self.linkAppUserId)
        // What depends only on the request is built before the write transaction, on the caller's
        // thread: the stored JSON, the rendered answer and its log entry, and the mapping's
        // evaluation. Inside the transaction it held the one writer thread that every
        // connection's writes share (a third of its time under pipelined creates).
        let fresh = ResourceRecord(
            connectionId: connectionId, resourceType: type.rawValue, id: id, nameKey: fields.nameKey,
            externalId: fields.externalId, displayName: fields.displayName, active: fields.active, createdAt: now,
            updatedAt: now, version: 1, raw: JSONSerializer.string(.object(resource)))
        let rows = memberRows(members, connectionId: connectionId, groupId: id)
        // Rendered from the object just serialized into `raw`, not from `raw` parsed again: the
        // answer's text is the same (one serializer writes both), without a second parse.
        var answer = SCIMResponse(
            status: 201, body: .object(SCIMDService.render(fresh, stored: resource, groups: [], members: rows.map(memberValue), baseURL: base)))
        answer.headers["Location"] = "\(base)/\(type == .user ? "Users" : "Groups")/\(id)"
        answer.headers["ETag"] = ETag.string(fresh.version)
        answer.resourceType = type.rawValue
        answer.resourceId = id
        let logEntry = log.record(for: answer)
        @Sendable func evaluate(_ mapping: ActiveMapping) -> MappingResult {
            mapping.evaluate(raw: resource, id: id, type: type, groups: [], members: mapping.groupsReadMembers ? rows.map(memberValue) : [])
        }
        let early = mappings.current(connectionId)
        let earlyResult = evaluate(early)
        let rendered = answer
        return try await store.write { db -> SCIMResponse in
            if let existing = try db.resourceId(connectionId: connectionId, type: type.rawValue, nameKey: fields.nameKey) {
                throw SCIMError.uniqueness(
                    "\(type == .user ? "userName" : "displayName") '\(fields.name)' is already used by \(type.rawValue) \(existing)")
            }
            var record = fresh
            var response = rendered
            let requestId = try db.logRequest(logEntry)
            // A mapping committed since the evaluation above wins: the row must carry the
            // version a re-map would compare against.
            let mapping = mappings.current(connectionId)
            let result = mapping.version == early.version ? earlyResult : evaluate(mapping)
            if confirm && type == .user {
                throw Held(action: .link, id: id, user: try render(record, groups: [], baseURL: base), mapped: result.properties)
            }
            let warnings = try MappingWriter.apply(result, version: mapping.version, to: &record, requestId: requestId, now: now, db: db)
            if type == .user, let linkAppUserId {
                if let other = try db.userLinked(toAppUserId: linkAppUserId, connectionId: connectionId) {
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
                    type, id: id, .created, connection: connectionId,
                    version: ETag.string(1), mapped: .object(result.properties), warningsOpened: warnings.opened,
                    warningsResolved: warnings.resolved)
            ]
            if type == .group {
                for member in rows.map(\.memberId) {
                    response.changes.append(.init(.group, id: id, .memberAdded, connection: connectionId, member: member))
                }
                response.changes += roleChanges
            }
            try EventLog.append(db, at: now, changes: response.changes, names: names)
            response.logged = true
            return response
        }
    }

    func replace(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        let body = try parseBody(request)
        let resource = try SCIMResource.prepareForStorage(body, resourceType: type)
        return try await update(type: type, id: id, request: request, memberPatch: nil) { _ in resource }
    }

    func patch(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
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
    func update(
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
            let stored = record
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
                let other = try db.resourceId(connectionId: connectionId, type: type.rawValue, nameKey: fields.nameKey), other != id
            {
                throw SCIMError.uniqueness(
                    "\(type == .user ? "userName" : "displayName") '\(fields.name)' is already used by \(type.rawValue) \(other)")
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
            let groups = type == .user ? try db.memberships(connectionId: connectionId, userId: id) : []
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
            let requestId = try db.logRequest(log.record(for: response))
            guard changed else {
                response.logged = true
                return response
            }
            let result = mapping.evaluate(
                raw: updated, id: id, type: type, groups: groups, members: mapping.groupsReadMembers ? members ?? [] : [])
            let warnings = try MappingWriter.apply(result, version: mapping.version, to: &record, requestId: requestId, now: now, db: db)
            try record.updateRow(db, replacing: stored)
            let kind: ResourceChangeKind
            if type == .user, wasActive != false, fields.active == false {
                kind = .deactivated
            } else if type == .user, wasActive == false, fields.active != false {
                kind = .reactivated
            } else {
                kind = .updated
            }
            if confirm && (kind == .deactivated || kind == .reactivated) {
                throw Held(
                    action: kind == .deactivated ? .disable : .enable, id: id,
                    user: try render(record, groups: groups, baseURL: base), mapped: result.properties)
            }
            changes.append(
                .init(
                    type, id: id, kind, connection: connectionId, version: ETag.string(record.version),
                    mapped: .object(result.properties), warningsOpened: warnings.opened, warningsResolved: warnings.resolved))
            if type == .group {
                for m in delta.added {
                    changes.append(.init(.group, id: id, .memberAdded, connection: connectionId, member: m))
                }
                for m in delta.removed {
                    changes.append(.init(.group, id: id, .memberRemoved, connection: connectionId, member: m))
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
    func applyMemberEdits(_ db: StoreTransaction, _ edits: [GroupMemberPatch.Edit], groupId: String) throws -> MembershipDelta {
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

    func delete(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
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
                let groups = try db.memberships(connectionId: connectionId, userId: id)
                let mapped = record.mapped.flatMap { try? JSONParser().parse($0).objectValue } ?? [:]
                throw Held(action: .delete, id: id, user: try render(record, groups: groups, baseURL: base), mapped: mapped)
            }
            var changes: [ResourceChange] = [.init(type, id: id, .deleted, connection: connectionId)]
            var names: [String: String] = [:]
            // A deleted resource leaves every group that listed it (RFC 7644 §3.6: no dangling references).
            for groupId in try db.groupIds(connectionId: connectionId, memberId: id) {
                guard let stored = try db.resource(connectionId: connectionId, type: "Group", id: groupId) else { continue }
                var group = stored
                group.version += 1
                group.updatedAt = max(now, group.updatedAt)
                try group.updateRow(db, replacing: stored)
                try db.deleteMember(connectionId: connectionId, groupId: groupId, memberId: id)
                changes.append(.init(.group, id: groupId, .memberRemoved, connection: connectionId, member: id))
            }
            try record.deleteRow(db)
            // Its open warnings go with it: say so in the feed, or a consumer that follows
            // warning.opened/resolved keeps them open forever.
            let resolved = try db.warnings(connectionId: connectionId, type: type.rawValue, resourceId: id).map(\.property)
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
            _ = try db.logRequest(log.record(for: response))
            try db.saveTombstone(
                TombstoneRecord(
                    connectionId: connectionId, resourceType: type.rawValue, id: id, nameKey: record.nameKey,
                    externalId: record.externalId, appUserId: record.appUserId, deletedAt: now))
            names[id] = SCIMDService.displayName(record)
            try EventLog.append(db, at: now, changes: changes, names: names)
            response.logged = true
            return response
        }
    }

    /// Re-maps users whose `roles` may have changed because a group they are (or were) in changed.
    /// Their SCIM data is untouched (no new `meta.version`); what changes is the application's view.
    /// Adds each changed user's `userName` to `names`, for its `user.updated` event.
    func remapMembers(
        _ db: StoreTransaction, userIds: Set<String>, mapping: ActiveMapping, now: Milliseconds, names: inout [String: String]
    ) throws -> [ResourceChange] {
        guard mapping.dependsOnGroups, !userIds.isEmpty else { return [] }
        let ids = userIds.sorted()
        let groups = try db.memberships(connectionId: connectionId, userIds: ids)
        var changes: [ResourceChange] = []
        for record in try db.resources(connectionId: connectionId, type: "User", ids: ids) {
            var record = record
            let old = try SCIMDService.storedResult(db, record)
            let raw = try storedObject(record)
            let new = mapping.evaluate(raw: raw, id: record.id, type: .user, groups: groups[record.id] ?? [])
            guard !MappingDiff.diff(old: old, new: new).isEmpty else { continue }
            names[record.id] = raw[caseInsensitive: "userName"]?.stringValue
            let warnings = try MappingWriter.apply(new, version: mapping.version, to: &record, requestId: nil, now: now, db: db)
            try record.updateMappingColumns(db)  // read above, in this transaction
            changes.append(
                ResourceChange(
                    .user, id: record.id, .updated, connection: connectionId, version: ETag.string(record.version),
                    mapped: .object(new.properties), warningsOpened: warnings.opened, warningsResolved: warnings.resolved))
        }
        return changes
    }
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
