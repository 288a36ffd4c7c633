import SCIMJSON

/// How one property's value differs between two ``MappingResult``s.
public struct PropertyChange: Sendable, Equatable, Codable {
    /// Whether the value appeared, disappeared or changed. JSON: `"gained"`, `"lost"`, `"changed"`.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// No value before, a value now.
        case gained
        /// A value before, none now.
        case lost
        /// A different value (by JSON equality: `1` equals `1.0`, member order ignored).
        case changed
    }

    /// The property's name.
    public var property: String
    /// What happened to the value.
    public var kind: Kind
    /// The old value (nil for `gained`).
    public var old: JSONValue?
    /// The new value (nil for `lost`).
    public var new: JSONValue?

    /// Creates a change record.
    public init(property: String, kind: Kind, old: JSONValue?, new: JSONValue?) {
        self.property = property
        self.kind = kind
        self.old = old
        self.new = new
    }
}

/// What changes for one resource when it is evaluated with a new mapping instead of an old one
/// (`mapping.preview`, re-mapping statistics).
///
/// Issues are matched by property name and ``PropertyIssue/Kind``: an issue present in both
/// results is neither opened nor resolved, even if its detail or paths tried changed.
public struct MappingDiff: Sendable, Equatable, Codable {
    /// Value changes: first the new result's properties in its order, then properties only the
    /// old result had.
    public var changes: [PropertyChange]
    /// Issues in the new result that the old one did not have.
    public var openedIssues: [PropertyIssue]
    /// Issues in the old result that the new one does not have.
    public var resolvedIssues: [PropertyIssue]

    /// Creates a diff (normally made by ``diff(old:new:)``).
    public init(changes: [PropertyChange] = [], openedIssues: [PropertyIssue] = [], resolvedIssues: [PropertyIssue] = []) {
        self.changes = changes
        self.openedIssues = openedIssues
        self.resolvedIssues = resolvedIssues
    }

    /// Names of properties that gained a value.
    public var gained: [String] { changes.filter { $0.kind == .gained }.map(\.property) }
    /// Names of properties that lost their value.
    public var lost: [String] { changes.filter { $0.kind == .lost }.map(\.property) }
    /// Names of properties whose value changed.
    public var changed: [String] { changes.filter { $0.kind == .changed }.map(\.property) }

    /// True when nothing differs.
    public var isEmpty: Bool { changes.isEmpty && openedIssues.isEmpty && resolvedIssues.isEmpty }

    /// Compares two evaluations of the same resource.
    public static func diff(old: MappingResult, new: MappingResult) -> MappingDiff {
        var d = MappingDiff()
        for (name, value) in new.properties {
            if let before = old.properties[name] {
                if before != value { d.changes.append(PropertyChange(property: name, kind: .changed, old: before, new: value)) }
            } else {
                d.changes.append(PropertyChange(property: name, kind: .gained, old: nil, new: value))
            }
        }
        for (name, value) in old.properties where new.properties[name] == nil {
            d.changes.append(PropertyChange(property: name, kind: .lost, old: value, new: nil))
        }
        for issue in new.issues
        where !old.issues.contains(where: { $0.property == issue.property && $0.kind == issue.kind }) {
            d.openedIssues.append(issue)
        }
        for issue in old.issues
        where !new.issues.contains(where: { $0.property == issue.property && $0.kind == issue.kind }) {
            d.resolvedIssues.append(issue)
        }
        return d
    }
}

/// Totals of many ``MappingDiff``s, for re-mapping statistics (`mapping.preview` over a connection).
public struct MappingDiffSummary: Sendable, Hashable, Codable {
    /// Resources compared.
    public var resources: Int
    /// Resources with any difference.
    public var resourcesChanged: Int
    /// Property name → resources where it gained a value.
    public var gained: [String: Int]
    /// Property name → resources where it lost its value.
    public var lost: [String: Int]
    /// Property name → resources where its value changed.
    public var changed: [String: Int]
    /// Property name → issues opened.
    public var issuesOpened: [String: Int]
    /// Property name → issues resolved.
    public var issuesResolved: [String: Int]

    /// An empty summary.
    public init() {
        resources = 0
        resourcesChanged = 0
        gained = [:]
        lost = [:]
        changed = [:]
        issuesOpened = [:]
        issuesResolved = [:]
    }

    /// Adds one resource's diff.
    public mutating func add(_ diff: MappingDiff) {
        resources += 1
        if !diff.isEmpty { resourcesChanged += 1 }
        for c in diff.changes {
            switch c.kind {
            case .gained: gained[c.property, default: 0] += 1
            case .lost: lost[c.property, default: 0] += 1
            case .changed: changed[c.property, default: 0] += 1
            }
        }
        for i in diff.openedIssues { issuesOpened[i.property, default: 0] += 1 }
        for i in diff.resolvedIssues { issuesResolved[i.property, default: 0] += 1 }
    }
}
