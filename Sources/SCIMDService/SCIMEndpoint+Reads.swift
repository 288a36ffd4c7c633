import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

// SCIM reads (RFC 7644 §3.4): GET by id and list/filter/sort/page, answered from the in-memory
// replica.
extension SCIMEndpoint {
    func get(type: SCIMResourceType, id: String, request: SCIMRequest) async throws -> SCIMResponse {
        // Loops only when the connection is not in memory (not loaded yet, or evicted since).
        while true {
            if let response = try getImmediately(type: type, id: id, request: request) { return response }
            try await store.waitUntilResident(connectionId)
        }
    }

    /// ``get(type:id:request:)`` without waiting: nil when the connection is not in memory.
    func getImmediately(type: SCIMResourceType, id: String, request: SCIMRequest) throws -> SCIMResponse? {
        let connectionId = self.connectionId
        let query = try ListQuery(request: request, configuration: configuration)
        let base = baseURL(request)
        let includeMembers = query.returns("members")
        // Answered from memory. A User is rendered under the connection's lock (microseconds); a
        // Group's members can be thousands, rendered from a snapshot so commits do not wait.
        let found: (ResourceRecord, JSONObject)?
        if type == .user {
            let read = try store.withResourcesIfResident(connectionId) { resources in
                resources.users.resource(id: id).map { ($0.record, resources.rendered($0, baseURL: base)) }
            }
            guard let read else { return nil }
            found = read
        } else {
            guard let resources = store.resourcesIfResident(connectionId) else { return nil }
            found = resources.groups.resource(id: id).map { ($0.record, resources.rendered($0, members: includeMembers, baseURL: base)) }
        }
        guard let (record, rendered) = found else { throw SCIMError.notFound("\(type.rawValue) \(id) not found") }
        var resource = rendered
        let etag = ETag.string(record.version)
        // RFC 9110 §13.1.1: If-Match holds for every method; a GET with a stale one is refused as a write would be.
        if let ifMatch = request.headers["if-match"], !ETag.matches(ifMatch, version: record.version) {
            throw SCIMError.preconditionFailed("If-Match \(ifMatch) does not match the current version \(etag)")
        }
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

    func list(types: [SCIMResourceType], query: ListQuery, request: SCIMRequest) async throws -> SCIMResponse {
        let plan = try listPlan(types: types, query: query, request: request)
        let connectionId = self.connectionId
        let (total, page): (Int, [JSONObject])
        if plan.underLock {
            (total, page) = try await store.withResources(connectionId) { try plan.readPage($0) }
        } else {
            let resources = try await store.resources(connectionId)
            let readPage = plan.readPage
            (total, page) = try await ReplicaScans.run { try readPage(resources) }
        }
        return plan.response(total, page)
    }

    /// ``list(types:query:request:)`` without waiting: nil when the list needs a scan (which
    /// runs off the event loop) or the connection is not in memory.
    func listImmediately(types: [SCIMResourceType], query: ListQuery, request: SCIMRequest) throws -> SCIMResponse? {
        let plan = try listPlan(types: types, query: query, request: request)
        guard plan.underLock, let (total, page) = try store.withResourcesIfResident(connectionId, { try plan.readPage($0) }) else {
            return nil
        }
        return plan.response(total, page)
    }

    /// How a list is read and answered.
    struct ListPlan {
        /// The total of matches and the page, rendered, from the connection's resources.
        var readPage: @Sendable (ConnectionResources) throws -> (Int, [JSONObject])
        /// An index or list order serves it: it is read under the connection's lock, at once.
        /// Otherwise it scans, on a snapshot, off the event loop.
        var underLock: Bool
        /// The `ListResponse` of a total and a page.
        var response: (Int, [JSONObject]) -> SCIMResponse
    }

    /// Throws `SCIMError.invalidFilter` for a filter its resource types' schemas refuse.
    private func listPlan(types: [SCIMResourceType], query: ListQuery, request: SCIMRequest) throws -> ListPlan {
        // Schema errors (`active gt true`) are refused even when there is nothing to scan. Each
        // type's filter is prepared once (paths resolved in its schema) for every resource scanned.
        var prepareds: [SCIMResourceType: PreparedFilter] = [:]
        if let filter = query.filter {
            for type in types { prepareds[type] = try PreparedFilter(filter, resourceType: type) }
        }
        let preparedFilters = prepareds
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
            // (rendered or empty, type, resource, its stored JSON when already parsed)
            var matches: [(JSONObject, SCIMResourceType, ReplicaResource, JSONObject?)] = []
            var matched = 0
            let pageRange = (query.startIndex - 1)..<(query.startIndex - 1 + query.count)
            let filterNeedsGroups = query.filter.map { mentions($0, attribute: "groups") } ?? false
            let filterNeedsMembers = query.filter.map { mentions($0, attribute: "members") } ?? false
            // Without sortBy, a filter that reads only stored members is evaluated on just those
            // members of each resource (see `Filter.topLevelMemberNames`); only the page is rendered.
            let storedMembers = query.sortBy == nil ? query.filter.flatMap(Self.storedMembersRead).map(JSONMemberNames.init) : nil
            // What a resource's filter sees when it need not be rendered whole: the stored members
            // the filter reads, and `id`, `meta` and `schemas` when it reads those (rendered from
            // the record around just those members; `meta.lastModified gt …` rendered every user
            // whole, on one thread, 1.35 s for 100k).
            // Made once per thread of a parallel scan, with the names in arrays of its own (see
            // `JSONMemberNames.copied()`).
            let makePartialView: (@Sendable () -> @Sendable (ReplicaResource) -> JSONObject)?
            if let storedMembers {
                makePartialView = {
                    let names = storedMembers.copied()
                    return { $0.object(keepingMembersIn: names) }
                }
            } else if query.sortBy == nil, let rendered = query.filter.flatMap(Self.renderedMembersRead).map(JSONMemberNames.init) {
                makePartialView = {
                    let names = rendered.copied()
                    return { resources.renderedAlone($0, keepingMembersIn: names, baseURL: base) }
                }
            } else {
                makePartialView = nil
            }
            let partialView = makePartialView?()
            for type in types {
                let includeRelated = type == .user ? filterNeedsGroups : filterNeedsMembers
                let table = resources.table(type.rawValue)
                let prepared = preparedFilters[type]
                let consider: (ReplicaResource) throws -> Bool = { resource in
                    if let prepared, let partialView {
                        guard prepared.matches(partialView(resource)) else { return true }
                        // Rendered with its groups or members below, like every page resource here.
                        if pageRange.contains(matched) { matches.append((JSONObject(), type, resource, nil)) }
                        matched += 1
                        return true
                    }
                    let rendered =
                        includeRelated ? resources.rendered(resource, baseURL: base) : resources.renderedAlone(resource, baseURL: base)
                    if let prepared {
                        guard prepared.matches(rendered) else { return true }
                    }
                    if query.sortBy != nil || pageRange.contains(matched) { matches.append((rendered, type, resource, nil)) }
                    matched += 1
                    return true
                }
                if let filter = query.filter, let prepared, let plan = IndexPlan.candidates(filter, type: type), storedMembers != nil {
                    // A handful of candidates from an index: each is parsed once, whole, for the
                    // filter (which reads only stored members) and for its rendering.
                    for resource in plan.candidates(in: table) {
                        let stored = resource.object
                        guard prepared.matches(stored) else { continue }
                        if pageRange.contains(matched) { matches.append((JSONObject(), type, resource, stored)) }
                        matched += 1
                    }
                } else if let filter = query.filter, let plan = IndexPlan.candidates(filter, type: type) {
                    for resource in plan.candidates(in: table) { _ = try consider(resource) }
                } else if let prepared, let makePartialView, table.count >= Self.parallelScanMinimum {
                    // Matching one resource needs nothing of another: split the scan over the cores.
                    for resource in Self.matching(table, filter: prepared, makeView: makePartialView) {
                        if pageRange.contains(matched) { matches.append((JSONObject(), type, resource, nil)) }
                        matched += 1
                    }
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
            for (rendered, type, resource, stored) in pageMatches {
                // Resources were filtered without their groups or members unless the filter needed
                // them: add them now.
                if partialView != nil || (type == .user ? !filterNeedsGroups : (!filterNeedsMembers && includeMembers)) {
                    page.append(resources.rendered(resource, stored: stored, members: includeMembers, baseURL: base))
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
        // Under the connection's lock: a snapshot there would make a commit racing this read copy
        // the connection's tables.
        return ListPlan(readPage: readPage, underLock: indexed || noScan) { total, page in
            let projected = page.map { resource -> JSONValue in
                if query.attributes.isEmpty && query.excludedAttributes.isEmpty { return .object(resource) }
                let type: SCIMResourceType = resource["meta"]?["resourceType"]?.stringValue == "Group" ? .group : .user
                return .object(
                    SCIMResource.project(
                        resource, attributes: query.attributes, excludedAttributes: query.excludedAttributes, resourceType: type))
            }
            return listResponse(projected, total: total, startIndex: query.startIndex)
        }
    }

    /// Fewest resources for which a scan is split over the cores (below, the hand-off costs more).
    static let parallelScanMinimum = 2_048

    /// The resources of `table` the `filter` matches, in list order, each evaluated on its view
    /// (the members the filter reads, from `makeView()`), in one slice of the table per core.
    ///
    /// Each slice resolves the filter again and makes its own view: what one thread retains for
    /// every resource it matches is then its own, not a reference count both cores increment
    /// (`PreparedFilter.resolvedAgain()`).
    static func matching(
        _ table: ResourceTable, filter shared: PreparedFilter, makeView: @Sendable () -> @Sendable (ReplicaResource) -> JSONObject
    ) -> [ReplicaResource] {
        let count = table.count
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / (parallelScanMinimum / 2)))
        let results = NIOLockedValueBox([[ReplicaResource]](repeating: [], count: slices))
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let start = count * slice / slices
            let end = count * (slice + 1) / slices
            let filter = shared.resolvedAgain()
            let view = makeView()
            var kept: [ReplicaResource] = []
            table.scan(start..<end) { resource in
                if filter.matches(view(resource)) { kept.append(resource) }
            }
            results.withLockedValue { $0[slice] = kept }
        }
        return results.withLockedValue { $0 }.flatMap { $0 }
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

    /// The top-level members `filter` reads plus `schemas`, when none of them is one that lives
    /// outside the stored JSON (a User's `groups`, a Group's `members`): rendering just these with
    /// `id` and `meta` gives the filter what the whole rendered resource would. Nil otherwise.
    static func renderedMembersRead(by filter: Filter) -> [String]? {
        let names = filter.topLevelMemberNames
        if names.contains(where: { $0.caseInsensitiveEquals("groups") || $0.caseInsensitiveEquals("members") }) { return nil }
        return names + ["schemas"]
    }

    func listResponse(_ resources: [JSONValue], total: Int, startIndex: Int) -> SCIMResponse {
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
}
