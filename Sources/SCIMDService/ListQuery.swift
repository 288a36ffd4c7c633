import SCIMDStore
import SCIMJSON
import SCIMModel

/// The list parameters of RFC 7644 §3.4.2 (GET query or POST `.search` body), validated.
struct ListQuery: Sendable {
    var filter: Filter?
    var sortBy: AttributePath?
    var descending = false
    /// 1-based; values below 1 are read as 1 (RFC 7644 §3.4.2.4).
    var startIndex = 1
    /// 0…maxResults; negative is read as 0, absent as the default page size.
    var count: Int
    var attributes: [AttributePath] = []
    var excludedAttributes: [AttributePath] = []

    /// Whether output shaped by `attributes`/`excludedAttributes` (RFC 7644 §3.4.2.5) contains the
    /// core attribute `name`, so that it is worth reading (a Group's `members` are rows).
    func returns(_ name: String) -> Bool {
        let named = { (path: AttributePath) in path.attribute.caseInsensitiveEquals(name) && !path.isExtensionURN }
        if excludedAttributes.contains(where: { named($0) && $0.subAttribute == nil }) { return false }
        return attributes.isEmpty || attributes.contains(where: named)
    }

    /// From the query string. Throws invalidFilter / invalidValue / invalidPath.
    init(request: SCIMRequest, configuration: ServiceConfiguration) throws(SCIMError) {
        count = configuration.defaultPageSize
        try apply(
            filter: request.queryValue("filter"), sortBy: request.queryValue("sortBy"),
            sortOrder: request.queryValue("sortOrder"), startIndex: request.queryValue("startIndex"),
            count: request.queryValue("count"), attributes: request.queryValue("attributes"),
            excludedAttributes: request.queryValue("excludedAttributes"), configuration: configuration)
    }

    /// From a `SearchRequest` body (RFC 7644 §3.4.3). Throws invalidSyntax for a body that is not an object.
    init(searchBody: String?, configuration: ServiceConfiguration) throws(SCIMError) {
        count = configuration.defaultPageSize
        let body: JSONValue
        do {
            body = try JSONParser(maximumDepth: 64).parse(searchBody ?? "{}")
        } catch {
            throw SCIMError.invalidSyntax("search body is not valid JSON: \(error)")
        }
        guard case .object(let o) = body else { throw SCIMError.invalidSyntax("search body must be a JSON object") }
        func text(_ key: String) throws(SCIMError) -> String? {
            switch o[caseInsensitive: key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case .array(let a)?: return a.compactMap(\.stringValue).joined(separator: ",")
            default: throw SCIMError.invalidValue("\(key) has the wrong type")
            }
        }
        try apply(
            filter: try text("filter"), sortBy: try text("sortBy"), sortOrder: try text("sortOrder"),
            startIndex: try text("startIndex"), count: try text("count"), attributes: try text("attributes"),
            excludedAttributes: try text("excludedAttributes"), configuration: configuration)
    }

    private mutating func apply(
        filter: String?, sortBy: String?, sortOrder: String?, startIndex: String?, count: String?, attributes: String?,
        excludedAttributes: String?, configuration: ServiceConfiguration
    ) throws(SCIMError) {
        if let filter, !filter.isBlank {
            self.filter = try Filter.parse(
                filter, maximumDepth: configuration.maxFilterDepth, maximumLength: configuration.maxFilterLength)
        }
        if let sortBy, !sortBy.isEmpty { self.sortBy = try AttributePath.parse(sortBy) }
        if let sortOrder {
            switch sortOrder.lowercased() {
            case "ascending", "": descending = false
            case "descending": descending = true
            default: throw SCIMError.invalidValue("sortOrder must be 'ascending' or 'descending'")
            }
        }
        if let startIndex {
            guard let value = Int(startIndex.trimmingWhitespace()) else {
                throw SCIMError.invalidValue("startIndex must be an integer")
            }
            self.startIndex = max(1, value)
        }
        if let count {
            guard let value = Int(count.trimmingWhitespace()) else {
                throw SCIMError.invalidValue("count must be an integer")
            }
            self.count = min(max(0, value), configuration.maxResults)
        }
        self.attributes = try Self.paths(attributes)
        self.excludedAttributes = try Self.paths(excludedAttributes)
    }

    private static func paths(_ list: String?) throws(SCIMError) -> [AttributePath] {
        guard let list else { return [] }
        var result: [AttributePath] = []
        for part in list.split(separator: ",") {
            let trimmed = part.trimmingWhitespace()
            if !trimmed.isEmpty { result.append(try AttributePath.parse(trimmed)) }
        }
        return result
    }
}

/// How to find filter candidates through an index instead of scanning the connection.
///
/// `userName eq`, `externalId eq`, `id eq` and Group `displayName eq` are answered from indexed
/// columns; an `and` uses whichever side is indexable; an `or` only when both sides are. The full
/// filter is still evaluated on every candidate, so the plan only narrows, never decides.
indirect enum IndexPlan {
    case id(String)
    case nameKey(String)
    case externalId(String)
    case union(IndexPlan, IndexPlan)

    static func candidates(_ filter: Filter, type: SCIMResourceType) -> IndexPlan? {
        switch filter {
        case .compare(let path, .eq, .string(let value)) where path.valueFilter == nil && path.subAttribute == nil:
            if let urn = path.schemaURN, !(urn.caseInsensitiveEquals(SCIMSchemas.userURN) || urn.caseInsensitiveEquals(SCIMSchemas.groupURN)) {
                return nil
            }
            let name = path.attribute
            if name.caseInsensitiveEquals("id") { return .id(value) }
            if name.caseInsensitiveEquals("externalId") { return .externalId(value) }
            if type == .user && name.caseInsensitiveEquals("userName") { return .nameKey(foldedKey(value)) }
            if type == .group && name.caseInsensitiveEquals("displayName") { return .nameKey(foldedKey(value)) }
            return nil
        case .and(let a, let b):
            return candidates(a, type: type) ?? candidates(b, type: type)
        case .or(let a, let b):
            guard let left = candidates(a, type: type), let right = candidates(b, type: type) else { return nil }
            return .union(left, right)
        default:
            return nil
        }
    }
}
