import SCIMJSON
import SCIMModel

/// A path that, added as a fallback, would give a property a value (`mapping.suggest`).
///
/// JSON (Codable): `{"path": "preferences.favoriteColor", "resourcesFixed": 12, "exampleValue": "blue"}`.
public struct PathSuggestion: Sendable, Hashable, Codable {
    /// SCIM path text that `AttributePath.parse` accepts: `favorite_color`,
    /// `preferences.favoriteColor`, `urn:x:custom:2.0:User:favoriteColor`, …
    public var path: String
    /// How many of the given resources this path yields a value for that coerces to the
    /// property's type.
    public var resourcesFixed: Int
    /// The first such value, already coerced to the property's type.
    public var exampleValue: JSONValue?

    /// Creates a suggestion (normally made by ``MappingSuggester/suggest(property:resources:resourceType:)``).
    public init(path: String, resourcesFixed: Int, exampleValue: JSONValue? = nil) {
        self.path = path
        self.resourcesFixed = resourcesFixed
        self.exampleValue = exampleValue
    }

    /// Hashes consistently with `==` (`exampleValue` by JSON equality).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(path)
        hasher.combine(resourcesFixed)
        hashJSON(exampleValue, into: &hasher)
    }
}

/// Finds where a property's data actually is when an IdP sends it under another name.
public enum MappingSuggester {
    /// Looks through `resources` (typically the stored raw resources that miss `property`) for
    /// keys whose ``normalizedName(_:)`` equals the normalized property name, or the normalized
    /// last segment of the property's configured ``MappingProperty/path`` (so property `group`
    /// at `urn:…:enterprise:2.0:User:group` also finds a top-level `group`; the generic
    /// sub-attribute names `value`, `display`, `type`, `primary`, `$ref` are not used that way).
    ///
    /// Keys are looked for at the top level (`favorite_color` → path `favorite_color`), one level
    /// down in complex or multi-valued attributes (`preferences.favoriteColor`), inside extension
    /// schema objects (`urn:x:custom:2.0:User` → `urn:x:custom:2.0:User:favoriteColor`, and one
    /// level further `urn:…:User:manager.value`), and as top-level keys that are full URN paths.
    /// Deeper keys cannot be addressed by a SCIM path and are not suggested.
    ///
    /// Every candidate is parsed and then verified by evaluating it on every resource with
    /// `values(at:resourceType:)` and coercing the result to the property's type, exactly as a
    /// fallback path would be; candidates that fix no resource, or that are already the
    /// property's path or a fallback, are dropped.
    ///
    /// - Returns: suggestions by ``PathSuggestion/resourcesFixed``, most first; ties in the order
    ///   the keys were first met.
    public static func suggest(property: MappingProperty, resources: [JSONObject], resourceType: SCIMResourceType)
        -> [PathSuggestion]
    {
        var targets: Set<String> = [normalizedName(property.name)]
        if let parsed = try? AttributePath.parse(property.path) {
            let last = parsed.subAttribute ?? parsed.attribute
            if !genericSubAttributes.contains(last.lowercased()) { targets.insert(normalizedName(last)) }
        }
        targets.remove("")
        guard !targets.isEmpty else { return [] }

        var existing: Set<String> = []
        for text in property.allPaths {
            existing.insert(text.lowercased())
            if let parsed = try? AttributePath.parse(text) { existing.insert(parsed.description.lowercased()) }
        }

        // Collect candidate path texts, deduplicated ignoring case, in first-met order.
        var candidates: [String] = []
        var seen: Set<String> = []
        func consider(_ key: String, path: String) {
            guard targets.contains(normalizedName(key)) else { return }
            let folded = path.lowercased()
            guard !existing.contains(folded), seen.insert(folded).inserted else { return }
            candidates.append(path)
        }
        func visitChildren(of value: JSONValue, prefix: String, separator: String) {
            switch value {
            case .object(let object):
                for (k, _) in object { consider(k, path: prefix + separator + k) }
            case .array(let elements):
                for case .object(let object) in elements {
                    for (k, _) in object { consider(k, path: prefix + separator + k) }
                }
            default:
                break
            }
        }
        var wholeSchemaURN: [String: Bool] = [:]
        for resource in resources {
            for (key, value) in resource {
                if isURN(key) {
                    let isSchema: Bool
                    if let known = wholeSchemaURN[key] {
                        isSchema = known
                    } else {
                        isSchema = (try? AttributePath.parse(key))?.isExtensionURN ?? false
                        wholeSchemaURN[key] = isSchema
                    }
                    if isSchema {
                        // An extension schema object: its keys are the extension's attributes.
                        if case .object(let ext) = value {
                            for (k, v) in ext {
                                consider(k, path: key + ":" + k)
                                visitChildren(of: v, prefix: key + ":" + k, separator: ".")
                            }
                        }
                        continue
                    }
                }
                // A core attribute, or a top-level key that is itself a full URN path
                // (`urn:…:User:group`). Candidates that do not evaluate are dropped below.
                consider(key, path: key)
                visitChildren(of: value, prefix: key, separator: ".")
            }
        }

        let coercer = Coercer(property.type)
        var suggestions: [(order: Int, suggestion: PathSuggestion)] = []
        for (order, text) in candidates.enumerated() {
            guard let path = try? AttributePath.parse(text) else { continue }
            if existing.contains(path.description.lowercased()) { continue }
            var fixed = 0
            var example: JSONValue? = nil
            for resource in resources {
                let values = resource.values(at: path, resourceType: resourceType)
                guard let value = usableValue(values, coercer: coercer) else { continue }
                fixed += 1
                if example == nil { example = value }
            }
            if fixed > 0 {
                suggestions.append((order, PathSuggestion(path: text, resourcesFixed: fixed, exampleValue: example)))
            }
        }
        suggestions.sort {
            $0.suggestion.resourcesFixed != $1.suggestion.resourcesFixed
                ? $0.suggestion.resourcesFixed > $1.suggestion.resourcesFixed : $0.order < $1.order
        }
        return suggestions.map(\.suggestion)
    }

    /// The name used to match keys to properties: the part after the last `:` or `.` (so
    /// nesting and URN prefixes are ignored), lowercased, with `_`, `-` and spaces removed.
    /// `favorite_color`, `FavoriteColor`, `preferences.favoriteColor` and
    /// `urn:x:custom:2.0:User:favoriteColor` all give `favoritecolor`.
    public static func normalizedName(_ key: String) -> String {
        let last = key.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "." }).last ?? Substring(key)
        return String(last.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " })
    }

    static let genericSubAttributes: Set<String> = ["value", "display", "type", "primary", "$ref"]

    static func isURN(_ key: String) -> Bool {
        key.utf8.count > 4 && key.prefix(4).lowercased() == "urn:"
    }

    /// The value a fallback path would produce from `values`, coerced; nil if none or not coercible.
    static func usableValue(_ values: [JSONValue], coercer: Coercer) -> JSONValue? {
        if case .list(let element) = coercer {
            var out: [JSONValue] = []
            for v in values where CompiledMapping.isPresent(v) {
                if case .success(let c) = element.coerce(v) { out.append(c) }
            }
            return out.isEmpty ? nil : .array(out)
        }
        for v in values where CompiledMapping.isPresent(v) {
            if case .success(let c) = coercer.coerce(v) { return c }
            return nil
        }
        return nil
    }
}
