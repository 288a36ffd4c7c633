import SCIMJSON

/// A Group PATCH split into edits of `members` and the operations on everything else, so that
/// adding or removing one member of a 10,000-member group touches one membership row instead of
/// reading, patching and rewriting the whole member list.
///
/// Only the shapes identity providers send for membership changes are split out:
/// - `{"op":"add","path":"members","value":[{"value":"id", …}]}` (Okta, Entra, OneLogin, JumpCloud);
/// - `{"op":"remove","path":"members[value eq \"id\"]"}` (Okta, Google);
/// - `{"op":"remove","path":"members","value":[{"value":"id"}]}` (Entra, OneLogin).
///
/// Anything else that touches `members` (`replace` of the list, `remove` of the whole list, a
/// sub-attribute such as `members[value eq "id"].display`, a path-less value with a `members`
/// key, a filter other than `value eq "…"`) makes ``split(_:)`` return nil: the caller then
/// applies the request with ``PatchEngine`` to the whole group, which gives the same result.
/// The edits keep the semantics of ``PatchEngine``: adding an existing member merges the new
/// sub-attributes into it, removing a member that is not there is not an error, and removal by
/// value respects `type` when both sides have one.
public struct GroupMemberPatch: Sendable, Equatable {
    /// One membership edit, applied in request order.
    public enum Edit: Sendable, Equatable {
        /// Members to add, in the stored form (`value` a string; `display`, `type`, `$ref` and
        /// unknown sub-attributes kept, attribute names canonical).
        case add([JSONObject])
        /// Remove the member whose `value` equals this id, ignoring case (RFC 7643 §2.2:
        /// `members.value` is not `caseExact`), as a `members[value eq "id"]` filter does.
        case removeMatching(String)
        /// Remove the members listed by value (exact `value`, and equal `type` when both the
        /// listed and the stored member have one), as ``PatchEngine`` does for a `remove` with a value.
        case removeListed([JSONObject])
    }

    /// Membership edits, in request order.
    public var memberEdits: [Edit]
    /// The operations that do not touch `members`, in request order; empty when there are none.
    /// Their relative order with the member edits does not matter: they touch other attributes.
    public var otherOperations: [PatchOperation]

    /// Splits `request` (a PATCH on a Group); nil when an operation touches `members` in a way
    /// that needs the whole list (see the type's documentation). Throws `SCIMError.invalidValue`
    /// for a member value of the wrong type, naming the operation, like ``PatchEngine/apply(_:to:resourceType:)``.
    public static func split(_ request: PatchRequest) throws(SCIMError) -> GroupMemberPatch? {
        var edits: [Edit] = []
        var others: [PatchOperation] = []
        for (index, operation) in request.operations.enumerated() {
            guard let path = operation.path else {
                // A path-less add/replace: its value's keys are attribute names.
                if case .object(let attributes)? = operation.value, attributes.keys.contains(where: isMembersKey) { return nil }
                others.append(operation)
                continue
            }
            guard isMembersPath(path) else {
                others.append(operation)
                continue
            }
            guard path.subAttribute == nil else { return nil }
            switch (operation.op, path.valueFilter, operation.value) {
            case (.add, nil, let value?) where !value.isNull:
                guard let members = try normalizedMembers(value, index: index, operation: operation) else { return nil }
                edits.append(.add(members))
            case (.remove, .compare(let filterPath, .eq, .string(let id))?, nil)
            where filterPath.schemaURN == nil && filterPath.valueFilter == nil && filterPath.subAttribute == nil
                && filterPath.attribute.caseInsensitiveEquals("value"):
                edits.append(.removeMatching(id))
            case (.remove, nil, let value?) where !value.isNull:
                guard let members = try normalizedMembers(value, index: index, operation: operation) else { return nil }
                edits.append(.removeListed(members))
            default:
                return nil
            }
        }
        return GroupMemberPatch(memberEdits: edits, otherOperations: others)
    }

    /// Whether a path names the Group's `members` (bare, or with the Group schema URN).
    static func isMembersPath(_ path: AttributePath) -> Bool {
        guard path.attribute.caseInsensitiveEquals("members") else { return false }
        return path.schemaURN.map { $0.caseInsensitiveEquals(SCIMSchemas.groupURN) } ?? true
    }

    /// Whether a path-less value's key is `members` or a full path ending in `:members`.
    static func isMembersKey(_ key: String) -> Bool {
        key.caseInsensitiveEquals("members") || key.lowercased().hasSuffix(":members")
    }

    /// Coerces a members value like a stored Group's `members`; nil when an element has no
    /// `value` after coercion (the general path decides what that means).
    static func normalizedMembers(_ value: JSONValue, index: Int, operation: PatchOperation) throws(SCIMError) -> [JSONObject]? {
        let coerced: JSONValue?
        do {
            coerced = try SCIMResource.normalizeValue(value, attribute: "members", resourceType: .group)
        } catch {
            var e = error
            e.detail = "operation \(index + 1) (\(operation.op.rawValue) members): \(error.detail)"
            throw e
        }
        var members: [JSONObject] = []
        for element in coerced?.arrayValue ?? [] {
            guard case .object(let member) = element, member["value"]?.stringValue != nil else { return nil }
            members.append(member)
        }
        return members
    }
}
