import SCIMJSON

/// The members each object of a mapping's JSON may have, checked before it is decoded.
///
/// Decoding reads the members it knows and ignores the rest, so a misspelled optional member
/// vanished without a word: `"warnIfMising": true` saved a property whose missing values open no
/// warning, while the operator believed they would. What an operator sends (`mapping.set`,
/// `mapping.preview`) is checked here first; stored versions are the engine's own output and are
/// decoded as they are. Pure: no I/O.
public enum MappingShape {
    /// An object member that no mapping object has: where it is and what was expected there.
    public struct UnknownMember: Sendable, Equatable, CustomStringConvertible {
        /// The path to the member, e.g. `["properties", 3, "warnIfMising"]` (array positions as `Int`).
        public var path: [PathElement]
        /// The member's name as sent.
        public var member: String
        /// The members an object at that place may have.
        public var expected: [String]

        /// One step of a path: a member name or an array position.
        public enum PathElement: Sendable, Equatable, CustomStringConvertible {
            case member(String)
            case index(Int)
            public var description: String {
                switch self {
                case .member(let name): return name
                case .index(let index): return String(index)
                }
            }
        }

        /// The expected member the name most likely meant: the same ignoring case, or within two
        /// edits (a letter missing, added, changed or two swapped); nil when none is that close.
        public var suggestion: String? {
            if let same = expected.first(where: { $0.lowercased() == member.lowercased() }) { return same }
            let candidates = expected.map { ($0, MappingShape.editDistance($0.lowercased(), member.lowercased())) }.filter { $0.1 <= 2 }
            return candidates.min { $0.1 < $1.1 }?.0
        }

        /// `unknown member 'warnIfMising' (did you mean 'warnIfMissing'?); expected name, type, …`
        public var description: String {
            var text = "unknown member '\(member)'"
            if let suggestion { text += " (did you mean '\(suggestion)'?)" }
            return text + "; expected " + expected.joined(separator: ", ")
        }
    }

    static let mappingMembers = ["properties"]
    static let propertyMembers = ["name", "type", "options", "of", "path", "fallbackPaths", "default", "warnIfMissing", "description"]
    static let typeMembers = ["type", "options", "of"]
    static let rolesMembers = ["rules", "defaultRole", "mode"]
    static let ruleMembers = ["group", "by", "role"]

    /// The first unknown member of a mapping, `{"properties": [...]}` or the bare array of
    /// properties, in document order; nil when every object has only members it may have.
    /// Values of the wrong kind are left to decoding, which names them.
    public static func unknownMember(inMapping json: JSONValue) -> UnknownMember? {
        switch json {
        case .array(let properties):
            return unknownMember(inProperties: properties, at: [])
        case .object(let object):
            if let unknown = unknown(object, allowed: mappingMembers, at: []) { return unknown }
            if case .array(let properties)? = object["properties"] {
                return unknownMember(inProperties: properties, at: [.member("properties")])
            }
            return nil
        default:
            return nil
        }
    }

    /// The first unknown member of role rules, `{"rules": [...], "defaultRole"?, "mode"?}`.
    public static func unknownMember(inRoles json: JSONValue) -> UnknownMember? {
        guard case .object(let object) = json else { return nil }
        if let unknown = unknown(object, allowed: rolesMembers, at: []) { return unknown }
        guard case .array(let rules)? = object["rules"] else { return nil }
        for (index, rule) in rules.enumerated() {
            if case .object(let rule) = rule, let unknown = unknown(rule, allowed: ruleMembers, at: [.member("rules"), .index(index)]) {
                return unknown
            }
        }
        return nil
    }

    private static func unknownMember(inProperties properties: [JSONValue], at base: [UnknownMember.PathElement]) -> UnknownMember? {
        for (index, property) in properties.enumerated() {
            guard case .object(let object) = property else { continue }
            let path = base + [.index(index)]
            if let unknown = unknown(object, allowed: propertyMembers, at: path) { return unknown }
            // `type` and `of` may be written as type objects ({"type": "enum", "options": [...]}).
            for key in ["type", "of"] {
                if let unknown = unknownMember(inType: object[key], at: path + [.member(key)]) { return unknown }
            }
        }
        return nil
    }

    private static func unknownMember(inType json: JSONValue?, at path: [UnknownMember.PathElement]) -> UnknownMember? {
        guard case .object(let object)? = json else { return nil }
        if let unknown = unknown(object, allowed: typeMembers, at: path) { return unknown }
        return unknownMember(inType: object["of"], at: path + [.member("of")])
    }

    private static func unknown(_ object: JSONObject, allowed: [String], at path: [UnknownMember.PathElement]) -> UnknownMember? {
        guard let member = object.keys.first(where: { !allowed.contains($0) }) else { return nil }
        return UnknownMember(path: path + [.member(member)], member: member, expected: allowed)
    }

    /// Levenshtein distance with adjacent transpositions (optimal string alignment), by UTF-8 byte.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
