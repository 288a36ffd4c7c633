import Foundation
import Logging
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

extension SCIMDService {
    // MARK: mapping.get / history

    /// `mapping.get`. Throws `not_found`.
    public func getMapping(_ reference: String) async throws -> MappingInfo {
        let connection = try connection(named: reference)
        // From memory: the registry holds the saved record of the current version.
        guard let record = mappingRegistry.saved(connection.id) else {
            throw RPCError.notFound("connection '\(reference)' has no mapping")
        }
        return try Self.info(record)
    }

    /// `mapping.history`, newest first. Throws `not_found`.
    public func mappingHistory(_ reference: String) async throws -> [MappingInfo] {
        let id = try connection(named: reference).id
        return try await store.read { db in try db.mappingVersions(connectionId: id) }.map(Self.info)
    }

    static func info(_ record: MappingVersionRecord) throws -> MappingInfo {
        let (configuration, roles) = try MappingCodec.decodeWithRoles(record.configuration)
        return MappingInfo(
            connection: record.connectionId, version: record.version, users: try MappingCodec.json(configuration.users),
            groups: try MappingCodec.json(configuration.groups), roles: try roles.map(MappingCodec.json),
            createdAt: Timestamp.string(record.createdAt), comment: record.comment, changedBy: record.changedBy)
    }

    // MARK: mapping.set / preview / rollback

    /// Decodes and compiles the mapping a `mapping.set`/`mapping.preview` asks for; nothing changes
    /// unless all of it is valid. Throws `invalid_mapping` naming the property and path position,
    /// `conflict` for a stale `expectedVersion`.
    func proposedMapping(_ params: MappingChange) throws -> (ConnectionRecord, ActiveMapping, ActiveMapping) {
        let connection = try connection(named: params.connection)
        let current = activeMapping(connection.id)
        if let expected = params.expectedVersion, expected != current.version {
            throw RPCError.conflict("the mapping is at version \(current.version), not \(expected); reload it and try again")
        }
        var configuration = current.configuration
        if let users = params.users { configuration.users = try Self.decodeMapping(users, field: "users") }
        if let groups = params.groups { configuration.groups = try Self.decodeMapping(groups, field: "groups") }
        var roles = current.roles
        if let json = params.roles {
            if let unknown = MappingShape.unknownMember(inRoles: json) {
                let path = unknown.path.map(\.description).joined(separator: ".")
                throw RPCError.invalidMapping("invalid role rules at '\(path)': \(unknown)", field: "roles.\(path)")
            }
            do {
                roles = try JSONDecoder().decode(RoleRules.self, from: Data(JSONSerializer.bytes(json)))
            } catch {
                throw RPCError.invalidMapping("invalid role rules: \(error)", field: "roles")
            }
        }
        do {
            return (connection, current, try ActiveMapping(version: current.version + 1, configuration: configuration, roles: roles))
        } catch {
            var details = JSONObject()
            if let property = error.property { details["property"] = .string(property) }
            if let position = error.position { details["position"] = .int(position) }
            if let field = error.field { details["path"] = .string(field) }
            if let index = error.index { details["index"] = .int(index) }
            throw RPCError.invalidMapping(error.description, field: error.property, details: .object(details))
        }
    }

    static func decodeMapping(_ json: JSONValue, field: String) throws -> Mapping {
        var value = json
        // A bare list of properties is accepted as well as {"properties": [...]}.
        if case .array = json { value = ["properties": json] }
        // A misspelled member would otherwise be ignored by decoding (`warnIfMising`: no warnings).
        if let unknown = MappingShape.unknownMember(inMapping: value) {
            let path = unknown.path.map(\.description).joined(separator: ".")
            var named = ""
            if unknown.path.count >= 2, case .index(let index) = unknown.path[1],
                let name = value["properties"]?.arrayValue?[safe: index]?["name"]?.stringValue
            {
                named = " (property '\(name)')"
            }
            throw RPCError.invalidMapping("invalid \(field) mapping at '\(path)'\(named): \(unknown)", field: "\(field).\(path)")
        }
        do {
            return try JSONDecoder().decode(Mapping.self, from: Data(JSONSerializer.bytes(value)))
        } catch let error as DecodingError {
            // Array positions as plain numbers (`properties.8.options`), never Foundation's "Index 8".
            let text = { (keys: [any CodingKey]) in keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
            let keys = Self.codingPath(of: error)
            let path = text(keys)
            // Name the property too when the position is inside one: `properties.13` alone makes
            // the operator count.
            var named = ""
            if keys.count >= 2, keys[0].stringValue == "properties", let index = keys[1].intValue,
                let name = value["properties"]?.arrayValue?[safe: index]?["name"]?.stringValue
            {
                named = " (property '\(name)')"
            }
            throw RPCError.invalidMapping(
                "invalid \(field) mapping at '\(path)'\(named): \(Self.describe(error))", field: "\(field).\(path)")
        }
    }

    /// Where a decoding error happened, the missing key included.
    static func codingPath(of error: DecodingError) -> [any CodingKey] {
        switch error {
        case .keyNotFound(let key, let c): return c.codingPath + [key]
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return c.codingPath
        @unknown default: return []
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case .typeMismatch(let type, _): return "expected \(type)"
        case .valueNotFound(let type, _): return "expected \(type), found null"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "invalid"
        }
    }

    /// `mapping.set`: saves the new version, makes it current (so ingest uses it at once), then
    /// re-maps every stored resource in batches. Throws `not_found`, `invalid_mapping`, `conflict`.
    /// Changes of one connection's mapping take turns (``mappingGate(_:)``): the version check, the
    /// new version's row and the registry update happen as one step, so of two changes made against
    /// the same `expectedVersion` the second gets `conflict`, and without `expectedVersion` the
    /// second builds on the first. `params.changedBy` (set by Swift callers such as the dashboard,
    /// never over the socket) is kept with the version and put in its `mapping.changed` event.
    public func setMapping(_ params: MappingChange) async throws -> MappingSet.Result {
        let id = try connection(named: params.connection).id
        return try await serialized(Self.mappingGate(id)) {
            let (connection, _, proposed) = try proposedMapping(params)
            return try await install(proposed, connection: connection, comment: params.comment, changedBy: params.changedBy)
        }
    }

    /// `mapping.rollback`: the configuration of `version` becomes a new version, attributed to
    /// `params.changedBy` like ``setMapping(_:)``. Throws `not_found`, `conflict` (already current).
    public func rollbackMapping(_ params: MappingRollback.Params) async throws -> MappingSet.Result {
        let id = try connection(named: params.connection).id
        return try await serialized(Self.mappingGate(id)) { try await rollbackMapping(params, connectionId: id) }
    }

    private func rollbackMapping(_ params: MappingRollback.Params, connectionId id: String) async throws -> MappingSet.Result {
        let connection = try connection(named: id)
        guard
            let old = try await store.read({ db in
                try db.mappingVersion(connectionId: id, version: params.version)
            })
        else {
            throw RPCError.notFound("connection '\(connection.name)' has no mapping version \(params.version)")
        }
        let current = activeMapping(id)
        guard params.version != current.version else {
            throw RPCError.conflict("version \(params.version) is already the current mapping of '\(connection.name)'")
        }
        let (configuration, roles) = try MappingCodec.decodeWithRoles(old.configuration)
        let proposed = try ActiveMapping(version: current.version + 1, configuration: configuration, roles: roles)
        return try await install(
            proposed, connection: connection, comment: "rollback to version \(params.version)", changedBy: params.changedBy)
    }

    private func install(
        _ mapping: ActiveMapping, connection: ConnectionRecord, comment: String?, changedBy: String?
    ) async throws -> MappingSet.Result {
        let record = MappingVersionRecord(
            connectionId: connection.id, version: mapping.version,
            configuration: try MappingCodec.encode(mapping.configuration, roles: mapping.roles),
            createdAt: clock.now(), comment: comment, changedBy: changedBy)
        var data: JSONObject = ["version": .int(mapping.version), "comment": comment.map(JSONValue.string) ?? .null]
        if let changedBy { data["changedBy"] = .string(changedBy) }
        let eventData = data
        try await conflictOnConstraint("mapping version \(mapping.version) of '\(connection.name)' was saved meanwhile; reload it and try again") {
            try await store.write { db in
                try db.insert(record)
                try EventLog.append(
                    db, at: record.createdAt, connectionId: connection.id, type: .mappingChanged, resourceType: nil, resourceId: nil,
                    data: eventData)
            }
        }
        mappingRegistry.set(mapping, saved: record, for: connection.id)
        logger.info("mapping changed", metadata: ["connection": "\(connection.id)", "version": "\(mapping.version)"])
        let summary = try await remap(connectionId: connection.id, with: mapping, write: true)
        eventNotifier.notify()
        return .init(mapping: try Self.info(record), remap: summary)
    }

    /// `mapping.preview`: the re-mapping `mapping.set` would do, without writing.
    public func previewMapping(_ params: MappingChange) async throws -> RemapSummary {
        let (connection, _, proposed) = try proposedMapping(params)
        return try await remap(connectionId: connection.id, with: proposed, write: false)
    }

    /// The mapping result a row holds now: its mapped properties and its warnings as issues.
    static func storedResult(_ db: StoreReader, _ record: ResourceRecord) throws -> MappingResult {
        let properties = record.mapped.flatMap { try? JSONParser().parse($0).objectValue } ?? JSONObject()
        guard record.warningCount > 0 else { return MappingResult(properties: properties, issues: []) }
        let issues = try db.warnings(connectionId: record.connectionId, type: record.resourceType, resourceId: record.id).map {
            PropertyIssue(property: $0.property, kind: PropertyIssue.Kind(rawValue: $0.kind) ?? .missing, detail: $0.detail)
        }
        return MappingResult(properties: properties, issues: issues)
    }

    // MARK: mapping.suggest

    /// `mapping.suggest`. Throws `not_found` for an unknown connection or property.
    public func suggestMapping(_ params: MappingSuggest.Params) async throws -> MappingSuggest.Result {
        let connection = try connection(named: params.connection)
        let type: SCIMResourceType = params.resourceType.map { $0.caseInsensitiveEquals("Group") } == true ? .group : .user
        let mapping = activeMapping(connection.id)
        guard let property = mapping.configuration.mapping(for: type).property(named: params.property) else {
            throw RPCError.notFound("the \(type.rawValue) mapping has no property '\(params.property)'")
        }
        // The warned resources come from memory: each table's warnings by resource, with the raw
        // rows beside them (no join over the warning table).
        let name = property.name
        let raws = try await store.withResources(connection.id) { resources -> [String] in
            let table = resources.table(type.rawValue)
            var raws: [String] = []
            table.forEachWarned(after: nil) { resource in
                if table.warnings.warnings(of: resource.record.id).contains(where: { $0.property == name }) {
                    raws.append(resource.record.raw)
                }
                return raws.count < 1_000
            }
            return raws
        }
        let resources = raws.compactMap { try? JSONParser().parse($0).objectValue }
        let suggestions = MappingSuggester.suggest(property: property, resources: resources, resourceType: type)
        return .init(
            warnedResources: resources.count,
            suggestions: suggestions.map { PathSuggestionInfo(path: $0.path, resourcesFixed: $0.resourcesFixed, exampleValue: $0.exampleValue) })
    }

    // MARK: warnings

    /// `warnings.summary`. Throws `not_found` for an unknown connection.
    public func warningsSummary(_ reference: String?) async throws -> [WarningSummary] {
        let selected = try reference.map { [try connection(named: $0)] } ?? connections.values.sorted { $0.name < $1.name }
        var result: [WarningSummary] = []
        for connection in selected {
            // Counted from memory: each table keeps a running count per property.
            let (open, resources, byProperty) = try await store.withResources(connection.id) { resources in
                var byProperty: [PropertyWarningCount] = []
                for (type, table) in [("User", resources.users), ("Group", resources.groups)] {
                    for (property, count) in table.warnings.countsByProperty {
                        byProperty.append(PropertyWarningCount(resourceType: type, property: property, count: count))
                    }
                }
                byProperty.sort { ($1.count, $0.property, $0.resourceType) < ($0.count, $1.property, $1.resourceType) }
                return (
                    resources.users.warnings.count + resources.groups.warnings.count,
                    resources.users.warnings.resourceCount + resources.groups.warnings.resourceCount, byProperty
                )
            }
            result.append(
                WarningSummary(
                    connection: connection.id, connectionName: connection.name, openWarnings: open, resourcesWithWarnings: resources,
                    byProperty: byProperty))
        }
        return result
    }

    /// `warnings.list`. Throws `not_found`, `invalid_params`.
    public func listWarnings(_ params: WarningsList.Params) async throws -> WarningsList.Result {
        let connection = try connection(named: params.connection)
        let limit = params.limit ?? 50
        guard (1...500).contains(limit) else { throw RPCError.invalidParams("limit must be 1…500", field: "limit") }
        // The cursor: the last resource's type, creation time and id (groups come before users).
        var after: (type: String, createdAt: Milliseconds, id: String)? = nil
        if let cursor = params.cursor {
            let parts = cursor.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, ["User", "Group"].contains(parts[0]), let createdAt = Milliseconds(parts[1]) else {
                throw RPCError.invalidParams("invalid cursor", field: "cursor")
            }
            after = (parts[0], createdAt, parts[2])
        }
        let id = connection.id
        let property = params.property
        let cursorAfter = after
        // The warned resources and their warnings come from memory (each table's index of warned
        // resources, in list order), so a page costs its own rows; SQLite is read only for the
        // example requests of the page's warnings.
        let snapshot = try await store.resources(id)
        var page: [(record: ResourceRecord, warnings: [WarningRecord])] = []
        var more = false
        for type in ["Group", "User"] {
            if cursorAfter?.type == "User" && type == "Group" { continue }
            let start = cursorAfter?.type == type ? cursorAfter.map { (createdAt: $0.createdAt, id: $0.id) } : nil
            let table = snapshot.table(type)
            table.forEachWarned(after: start) { resource in
                let warnings = table.warnings.warnings(of: resource.record.id)
                if let property, !warnings.contains(where: { $0.property == property }) { return true }
                if page.count == limit {
                    more = true
                    return false
                }
                page.append((resource.record, warnings))
                return true
            }
            if more { break }
        }
        let chosen = page
        let resources = try await store.read { db in
            try chosen.map { entry in
                ResourceWarnings(
                    resourceType: entry.record.resourceType, id: entry.record.id, name: Self.displayName(entry.record),
                    warnings: try entry.warnings.map { try Self.warningInfo(db, $0) })
            }
        }
        let last = page.last?.record
        let next = more ? last.map { "\($0.resourceType):\($0.createdAt):\($0.id)" } : nil
        return .init(resources: resources, nextCursor: next)
    }

    static func displayName(_ record: ResourceRecord) -> String {
        if let raw = try? JSONParser().parse(record.raw),
            let name = raw[record.resourceType == "User" ? "userName" : "displayName"]?.stringValue
        {
            return name
        }
        return record.displayName ?? record.id
    }

    static func warningInfo(_ db: StoreReader, _ w: WarningRecord) throws -> WarningInfo {
        var example: ExampleRequest? = nil
        if let requestId = w.requestId, let r = try db.loggedRequest(id: requestId) {
            example = ExampleRequest(
                id: Int(requestId), method: r.method, path: r.path, at: Timestamp.string(r.at), status: r.status, body: r.requestBody)
        }
        return WarningInfo(
            property: w.property, kind: w.kind, detail: w.detail, firstSeenAt: Timestamp.string(w.firstSeenAt),
            lastSeenAt: Timestamp.string(w.lastSeenAt), exampleRequest: example)
    }
}

extension Array {
    /// The element at `index`, or nil when it is out of range.
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
