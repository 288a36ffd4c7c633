import SCIMJSON

/// Group → role rules of a connection: a user's `roles` follow from the groups they are in.
///
/// JSON: `{"rules": [{"group": "Admins", "by": "displayName", "role": "admin"}, …],
/// "defaultRole": "member", "mode": "first"}`. Rules are ordered by priority. With `mode` `first`
/// a user gets the role of the first rule any of their groups matches; with `all`, every matching
/// rule's role (in rule order, without repeats). A user no rule matches gets `defaultRole`, or no
/// role. `by` is `displayName` (compared ignoring case, as SCIM compares it) or `externalId` (exact).
public struct RoleRules: Sendable, Hashable, Codable {
    public struct Rule: Sendable, Hashable, Codable {
        public enum Match: String, Sendable, Hashable, Codable { case displayName, externalId }
        public var group: String
        public var by: Match
        public var role: String

        public init(group: String, by: Match = .displayName, role: String) {
            self.group = group
            self.by = by
            self.role = role
        }

        private enum CodingKeys: String, CodingKey { case group, by, role }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            group = try c.decode(String.self, forKey: .group)
            by = try c.decodeIfPresent(Match.self, forKey: .by) ?? .displayName
            role = try c.decode(String.self, forKey: .role)
        }
    }

    public enum Mode: String, Sendable, Hashable, Codable { case first, all }

    public var rules: [Rule]
    public var defaultRole: String?
    public var mode: Mode

    public init(rules: [Rule], defaultRole: String? = nil, mode: Mode = .first) {
        self.rules = rules
        self.defaultRole = defaultRole
        self.mode = mode
    }

    private enum CodingKeys: String, CodingKey { case rules, defaultRole, mode }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rules = try c.decodeIfPresent([Rule].self, forKey: .rules) ?? []
        defaultRole = try c.decodeIfPresent(String.self, forKey: .defaultRole)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .first
    }

    /// Throws `MappingError` (property `roles`) for an empty group or role name.
    public func validate() throws(MappingError) {
        for (i, rule) in rules.enumerated() {
            if isBlank(rule.group) {
                throw MappingError(property: "roles", message: "rule \(i + 1): group must not be empty", field: "rules[\(i)].group", index: i)
            }
            if isBlank(rule.role) {
                throw MappingError(property: "roles", message: "rule \(i + 1): role must not be empty", field: "rules[\(i)].role", index: i)
            }
        }
        if let d = defaultRole, isBlank(d) {
            throw MappingError(property: "roles", message: "defaultRole must not be empty (omit it for none)", field: "defaultRole")
        }
    }

    /// The roles of a user in `groups` (each group's displayName and externalId).
    public func roles(for groups: [(displayName: String?, externalId: String?)]) -> [String] {
        var result: [String] = []
        for rule in rules {
            let matched = groups.contains { g in
                switch rule.by {
                case .displayName: return g.displayName.map { $0.caseInsensitiveEquals(rule.group) } ?? false
                case .externalId: return g.externalId == rule.group
                }
            }
            guard matched else { continue }
            if !result.contains(rule.role) { result.append(rule.role) }
            if mode == .first { break }
        }
        if result.isEmpty, let defaultRole { result = [defaultRole] }
        return result
    }
}

/// True for "" and strings of spaces/tabs only (this module does without Foundation).
private func isBlank(_ s: String) -> Bool {
    s.allSatisfy { $0 == " " || $0 == "\t" }
}
