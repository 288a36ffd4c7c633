import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

// Rendering stored rows as SCIM resources, and the helpers reads and writes share.
extension SCIMEndpoint {
    /// Parses the request body as JSON. Throws 400 invalidSyntax (absent/invalid), 413 (too large).
    func parseBody(_ request: SCIMRequest) throws(SCIMError) -> JSONValue {
        // Blank when no scalar is anything but white space: the first one that is ends the look.
        // (Foundation's `trimmingCharacters` copied the whole body to find out: a third of a
        // create's CPU on the event loop, under perf.)
        guard let body = request.body, body.unicodeScalars.contains(where: { !CharacterSet.whitespacesAndNewlines.contains($0) }) else {
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
}


/// A group's `members` as SCIM returns them, in list order.
func groupMembers(_ db: StoreReader, connectionId: String, groupId: String) throws -> [JSONValue] {
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
            !name.isBlank
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
            var tag = raw.trimmingWhitespace()
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
