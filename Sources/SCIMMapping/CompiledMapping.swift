import SCIMJSON
import SCIMModel

/// Why a ``Mapping`` is invalid (RPC error kind `invalid_mapping`).
///
/// `description` reads e.g. `property "group" fallbackPaths[0] at position 7: invalid path "emails[type"…`.
public struct MappingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending property's name (possibly empty, when the problem is an empty name); nil
    /// for problems of the mapping as a whole.
    public var property: String?
    /// For an unparseable path: the 0-based character offset in that path's text where it goes
    /// wrong (the path's length when it ends too early). nil for other problems.
    public var position: Int?
    /// What is wrong, for humans.
    public var message: String
    /// Which member of the property is wrong: `name`, `type`, `path`, `fallbackPaths[i]` or `default`.
    public var field: String?
    /// The property's 0-based index in ``Mapping/properties``.
    public var index: Int?
    /// `users` or `groups` when the error comes from compiling a whole ``MappingConfiguration``
    /// (``CompiledMappingConfiguration``); nil when a single ``Mapping`` was compiled.
    public var mapping: String?

    /// Creates an error; see the properties for what each part means.
    public init(
        property: String?, position: Int? = nil, message: String, field: String? = nil, index: Int? = nil,
        mapping: String? = nil
    ) {
        self.property = property
        self.position = position
        self.message = message
        self.field = field
        self.index = index
        self.mapping = mapping
    }

    /// The RPC error kind for every mapping error.
    public var kind: String { "invalid_mapping" }

    /// `[users: ]property "name" field at position N: message`.
    public var description: String {
        var parts: [String] = []
        if let property { parts.append("property \"\(property)\"") } else if let index { parts.append("property #\(index)") }
        if let field { parts.append(field) }
        if let position { parts.append("at position \(position)") }
        let located = parts.isEmpty ? message : parts.joined(separator: " ") + ": " + message
        return mapping.map { "\($0): " + located } ?? located
    }
}

/// A ``MappingConfiguration`` with both mappings compiled.
public struct CompiledMappingConfiguration: Sendable {
    /// The configuration as given.
    public let configuration: MappingConfiguration
    /// ``MappingConfiguration/users`` compiled for `/Users`.
    public let users: CompiledMapping
    /// ``MappingConfiguration/groups`` compiled for `/Groups`.
    public let groups: CompiledMapping

    /// Validates and compiles both mappings (users first).
    /// - Throws: ``MappingError`` with ``MappingError/mapping`` set to `users` or `groups`.
    public init(_ configuration: MappingConfiguration) throws(MappingError) {
        self.configuration = configuration
        do {
            users = try CompiledMapping(configuration.users, resourceType: .user)
        } catch {
            var e = error
            e.mapping = "users"
            throw e
        }
        do {
            groups = try CompiledMapping(configuration.groups, resourceType: .group)
        } catch {
            var e = error
            e.mapping = "groups"
            throw e
        }
    }

    /// The compiled mapping for `resourceType`.
    public func mapping(for resourceType: SCIMResourceType) -> CompiledMapping {
        switch resourceType {
        case .user: return users
        case .group: return groups
        }
    }

    /// Evaluates `resource` with the mapping for `resourceType`.
    public func evaluate(_ resource: JSONObject, resourceType: SCIMResourceType) -> MappingResult {
        mapping(for: resourceType).evaluate(resource)
    }
}

/// A validated ``Mapping`` with every path parsed once, ready to evaluate many resources.
///
/// ## Evaluation
///
/// For each property, in order: ``MappingProperty/path`` then each fallback path is evaluated
/// with `JSONObject.leaves(at:resourceType:)`. `null` and blank (empty or whitespace-only)
/// strings count as no value (RFC 7643 §2.5: unassigned). The **first path yielding a usable
/// value wins**:
/// - a single-valued type takes the first value found. Through a multi-valued attribute that is
///   its first value (`emails.value`, `emails[type eq "work"].value`); but a JSON array written at
///   the end of the path with two or more values (`"skills": ["swift", "sql"]`) is not usable:
///   taking one would cut the customer's data silently. (An array of one value is that value.)
/// - a `list` type takes every value at the path; elements that do not coerce are dropped and
///   reported as `typeMismatch`, the others kept. A path where none coerces is not usable.
/// - a value that does not coerce to the type is not usable.
///
/// A path whose value is not usable counts as missing: **the next fallback path is tried**. If no
/// path yields a usable value, the property gets its ``MappingProperty/default`` if it has one,
/// else it is omitted from ``MappingResult/properties``, and:
/// - if some path held an unusable value, a `typeMismatch` ``PropertyIssue`` is reported (always,
///   whatever `warnIfMissing` says: the data is there but the mapping cannot use it), its detail
///   naming each value and where it was found, and that the default was used;
/// - else, when `warnIfMissing`, a `missing` issue is reported — **also when the default was
///   used** (its detail says so): a default fills the value, it does not hide that the customer
///   does not send it. A default without `warnIfMissing` is silent.
///
/// ## Coercion
/// - `string`: strings as-is; numbers as their JSON text; booleans `"true"`/`"false"`.
/// - `integer`: integers, whole doubles (`42.0`), strings of either (`"42"`); not `4.2`.
/// - `number`: numbers and decimal strings (`"-1.5e3"`); not NaN/infinity/hex.
/// - `boolean`: booleans; strings `true`/`false` (any case) and `"1"`/`"0"`; integers 1/0.
/// - `date`: `YYYY-MM-DD`, or the date part as written of a date-time → `"YYYY-MM-DD"`.
/// - `dateTime`: ISO 8601 with optional seconds, fraction, zone (none = UTC) → UTC
///   `"YYYY-MM-DDThh:mm:ss[.f]Z"` (fraction kept up to 9 digits, trailing zeros dropped); a bare
///   date is midnight UTC.
/// - `enum`: case- and surrounding-whitespace-insensitive match → the option's own spelling.
/// - `list`: element-wise.
/// Surrounding whitespace is ignored for every type but `string`.
public struct CompiledMapping: Sendable {
    /// The mapping as configured.
    public let mapping: Mapping
    /// The resource type the paths were compiled for.
    public let resourceType: SCIMResourceType

    let compiled: [CompiledProperty]

    /// A class: ``evaluate(_:)`` walks the properties for every resource, and iterating
    /// structs copied each one out whole (eight strings and arrays retained and released per
    /// property per resource: 13% of a re-map's evaluation under perf).
    final class CompiledProperty: Sendable {
        let name: String
        let coercer: Coercer
        let paths: [AttributePath]
        /// `paths`, each resolved against the schema once, here rather than per resource.
        let readers: [AttributeReader]
        let pathTexts: [String]
        /// The configured default, already coerced.
        let defaultValue: JSONValue?
        let warnIfMissing: Bool
        /// Prebuilt so a missing value costs no string building (its detail says when the default was used).
        let missingIssue: PropertyIssue
        /// `the default "x" was used`, when there is a default.
        let defaultNote: String?

        init(
            name: String, coercer: Coercer, paths: [AttributePath], readers: [AttributeReader], pathTexts: [String],
            defaultValue: JSONValue?, warnIfMissing: Bool, missingIssue: PropertyIssue, defaultNote: String?
        ) {
            self.name = name
            self.coercer = coercer
            self.paths = paths
            self.readers = readers
            self.pathTexts = pathTexts
            self.defaultValue = defaultValue
            self.warnIfMissing = warnIfMissing
            self.missingIssue = missingIssue
            self.defaultNote = defaultNote
        }
    }

    /// Validates `mapping` and parses its paths once.
    ///
    /// Checks, reporting the first problem found in property order: names non-empty (ignoring
    /// whitespace) and unique ignoring case; `enum` has at least one option, options non-empty
    /// and unique ignoring case; a `list`'s element is not a list; `path` and every fallback
    /// path parse (with the character position of the error); the default (if any, and not
    /// `null`) coerces to the type.
    /// - Throws: ``MappingError`` naming the property, the field and, for paths, the position.
    public init(_ mapping: Mapping, resourceType: SCIMResourceType) throws(MappingError) {
        self.mapping = mapping
        self.resourceType = resourceType
        var seen: [String: Int] = [:]
        var compiled: [CompiledProperty] = []
        compiled.reserveCapacity(mapping.properties.count)
        for (index, property) in mapping.properties.enumerated() {
            let name = property.name
            if Coercer.isBlank(name) {
                throw MappingError(property: name, message: "property name is empty", field: "name", index: index)
            }
            let folded = name.lowercased()
            if let first = seen[folded] {
                throw MappingError(
                    property: name,
                    message: "duplicate property name \"\(name)\" (same as property #\(first) \"\(mapping.properties[first].name)\", ignoring case)",
                    field: "name", index: index)
            }
            seen[folded] = index

            try CompiledMapping.validate(type: property.type, property: name, index: index, nested: false)

            var paths: [AttributePath] = []
            var texts: [String] = []
            for (i, text) in property.allPaths.enumerated() {
                let field = i == 0 ? "path" : "fallbackPaths[\(i - 1)]"
                paths.append(try CompiledMapping.parsePath(text, property: name, field: field, index: index))
                texts.append(text)
            }

            let coercer = Coercer(property.type)
            var defaultValue: JSONValue? = nil
            if let def = property.default, !def.isNull {
                switch coercer.coerce(def) {
                case .success(let v): defaultValue = v
                case .failure(let f):
                    throw MappingError(
                        property: name,
                        message: "default \(Coercer.quote(def)) \(f.reason) (type \(property.type))",
                        field: "default", index: index)
                }
            }

            let defaultNote = defaultValue.map { "the default \(Coercer.quote($0)) was used" }
            let missingDetail = "no value at " + texts.joined(separator: ", ") + (defaultNote.map { "; " + $0 } ?? "")
            compiled.append(CompiledProperty(
                name: name, coercer: coercer, paths: paths,
                readers: paths.map { AttributeReader($0, resourceType: resourceType) }, pathTexts: texts, defaultValue: defaultValue,
                warnIfMissing: property.warnIfMissing,
                missingIssue: PropertyIssue(property: name, kind: .missing, detail: missingDetail, pathsTried: texts),
                defaultNote: defaultNote))
        }
        self.compiled = compiled
    }

    /// Whether a path or fallback path starts at the top-level core attribute `name` (ignoring
    /// case, with or without the core schema URN): the caller must then include that attribute
    /// in the resource it evaluates. Used for a Group's `members`, kept outside its stored JSON.
    public func reads(attribute name: String) -> Bool {
        let coreURN = resourceType == .group ? SCIMSchemas.groupURN : SCIMSchemas.userURN
        return compiled.contains { property in
            property.paths.contains { path in
                path.attribute.caseInsensitiveEquals(name) && (path.schemaURN.map { $0.caseInsensitiveEquals(coreURN) } ?? true)
            }
        }
    }

    /// The names of the top-level members of a resource that ``evaluate(_:)`` can read (looked
    /// up ignoring case): for each path and fallback path its attribute, and for a
    /// schema-qualified path also the schema's URN and the literal `urn:attribute` key, as
    /// ``Filter/topLevelMemberNames`` gives them for a filter. A re-map parses only these members
    /// of each stored resource (`JSONParser.parseObject(_:keepingMembersIn:)`); the result is the
    /// same as evaluating the whole resource.
    public var topLevelMemberNames: [String] {
        var names: [String] = []
        for property in compiled {
            for path in property.paths {
                names.append(path.attribute)
                if let urn = path.schemaURN {
                    names.append(urn)
                    names.append(urn + ":" + path.attribute)
                }
            }
        }
        return names
    }

    static func validate(type: PropertyType, property: String, index: Int, nested: Bool) throws(MappingError) {
        switch type {
        case .enumeration(let options):
            if options.isEmpty {
                throw MappingError(property: property, message: "enum type has no options", field: "type", index: index)
            }
            var seen: Set<String> = []
            for option in options {
                if Coercer.isBlank(option) {
                    throw MappingError(property: property, message: "enum option is empty", field: "type", index: index)
                }
                if !seen.insert(option.lowercased()).inserted {
                    throw MappingError(
                        property: property, message: "duplicate enum option \"\(option)\" (options match ignoring case)",
                        field: "type", index: index)
                }
            }
        case .list(let element):
            if nested {
                throw MappingError(property: property, message: "a list's element type cannot be a list", field: "type", index: index)
            }
            try validate(type: element, property: property, index: index, nested: true)
        default:
            break
        }
    }

    static func parsePath(_ text: String, property: String, field: String, index: Int) throws(MappingError) -> AttributePath {
        if Coercer.isBlank(text) {
            throw MappingError(property: property, position: 0, message: "path is empty", field: field, index: index)
        }
        do {
            return try AttributePath.parse(text)
        } catch {
            let position = PathErrorLocator.position(in: text, error: error)
            throw MappingError(
                property: property, position: position,
                message: "invalid path \"\(text)\": \(error.detail)", field: field, index: index)
        }
    }

    /// Maps one stored raw resource (the object as the IdP sent it, plus `id`/`meta`). Pure; see
    /// the type's documentation for the rules.
    public func evaluate(_ resource: JSONObject) -> MappingResult {
        var members: [(key: String, value: JSONValue)] = []
        members.reserveCapacity(compiled.count)
        var issues: [PropertyIssue] = []
        for property in compiled {
            let outcome = evaluate(property, in: resource)
            if let value = outcome.value { members.append((key: property.name, value: value)) }
            if let issue = outcome.issue { issues.append(issue) }
        }
        // Property names are unique ignoring case (checked when compiled).
        return MappingResult(properties: JSONObject(uniqueMembers: members), issues: issues)
    }

    /// What one property's evaluation found: the value kept (or the default), the path it came
    /// from, and the issue reported. One function serves ``evaluate(_:)`` and ``trace(_:)``, so
    /// the trace an operator reads is the evaluation itself, not a second opinion.
    struct PropertyOutcome {
        var value: JSONValue?
        /// Index into the property's paths of the path the value came from; nil when none gave one.
        var matchedPathIndex: Int?
        var usedDefault = false
        var issue: PropertyIssue?
    }

    func evaluate(_ property: CompiledProperty, in resource: JSONObject) -> PropertyOutcome {
        // Values found that the property could not use, with the path they were found at.
        var unusable: [(pathIndex: Int, text: String)] = []
        var outcome: JSONValue? = nil
        var matched: Int? = nil
        var listIssue: PropertyIssue? = nil
        pathLoop: for (i, reader) in property.readers.enumerated() {
            let leaves = reader.leaves(in: resource)
            if leaves.isEmpty { continue }
            if case .list(let element) = property.coercer {
                var kept: [JSONValue] = []
                var bad: [JSONValue] = []
                var firstFailure: CoercionFailure? = nil
                for leaf in leaves {
                    for v in leaf.values where CompiledMapping.isPresent(v) {
                        switch element.coerce(v) {
                        case .success(let c): kept.append(c)
                        case .failure(let f):
                            bad.append(v)
                            if firstFailure == nil { firstFailure = f }
                        }
                    }
                }
                if kept.isEmpty && bad.isEmpty { continue }
                if kept.isEmpty, let firstFailure {
                    unusable.append((i, CompiledMapping.describe(bad, at: property.pathTexts[i], failure: firstFailure)))
                    continue
                }
                // Some elements coerced: the list keeps them, and the others are reported.
                if let firstFailure {
                    listIssue = CompiledMapping.mismatch(property, pathIndex: i, values: bad, failure: firstFailure)
                }
                outcome = .array(kept)
                matched = i
                break pathLoop
            } else {
                for leaf in leaves {
                    let present = leaf.values.filter(CompiledMapping.isPresent)
                    guard let first = present.first else { continue }
                    if leaf.isArray && present.count > 1 {
                        // Several values where one is expected: cutting them to the first would
                        // lose the customer's data without a word.
                        let shown = present.prefix(3).map(Coercer.quote).joined(separator: ", ") + (present.count > 3 ? ", …" : "")
                        unusable.append(
                            (i, "\(present.count) values (\(shown)) at \(property.pathTexts[i]), but the property takes one (a list type keeps them all)"))
                        continue pathLoop
                    }
                    switch property.coercer.coerce(first) {
                    case .success(let c):
                        outcome = c
                        matched = i
                        break pathLoop
                    case .failure(let f):
                        unusable.append((i, CompiledMapping.describe([first], at: property.pathTexts[i], failure: f)))
                        continue pathLoop
                    }
                }
            }
        }
        if let outcome {
            return PropertyOutcome(value: outcome, matchedPathIndex: matched, issue: listIssue)
        }
        var result = PropertyOutcome(value: property.defaultValue, matchedPathIndex: nil, usedDefault: property.defaultValue != nil)
        if let firstUnusable = unusable.first {
            // Always reported, whatever warnIfMissing says: the data is there but unusable.
            var detail = unusable.map(\.text).joined(separator: "; ")
            if let note = property.defaultNote { detail += "; " + note }
            result.issue = PropertyIssue(
                property: property.name, kind: .typeMismatch, detail: detail, pathsTried: property.pathTexts,
                path: property.pathTexts[firstUnusable.pathIndex])
        } else if property.warnIfMissing {
            // With a default the value is the default, and the warning still opens: the operator
            // asked to learn which customers do not send it.
            result.issue = property.missingIssue
        }
        return result
    }

    /// How each property's value was found in `resource`, for an operator reading why a value is
    /// there or missing: every path in order (``MappingProperty/path`` first, then the fallback
    /// paths) with the values present at it, which one gave the value, whether the default was
    /// used, and the issue reported. Pure; agrees with ``evaluate(_:)`` by construction (both use
    /// one per-property evaluation).
    public func trace(_ resource: JSONObject) -> [PropertyTrace] {
        compiled.map { property in
            let outcome = evaluate(property, in: resource)
            let steps = property.readers.enumerated().map { i, reader in
                let found = reader.leaves(in: resource).flatMap { $0.values.filter(CompiledMapping.isPresent) }
                return PropertyTrace.Step(
                    path: property.pathTexts[i], valuesFound: found, matched: outcome.matchedPathIndex == i,
                    tried: outcome.matchedPathIndex.map { i <= $0 } ?? true)
            }
            return PropertyTrace(
                property: property.name, steps: steps, value: outcome.value, usedDefault: outcome.usedDefault,
                warnIfMissing: property.warnIfMissing, issue: outcome.issue)
        }
    }

    /// Evaluates every resource (convenience for re-mapping and previews).
    public func evaluate(_ resources: [JSONObject]) -> [MappingResult] {
        resources.map { evaluate($0) }
    }

    /// Not null, and not an empty or whitespace-only string.
    @inline(__always) static func isPresent(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return false
        case .string(let s): return !Coercer.isBlank(s)
        default: return true
        }
    }

    /// `value "n/a" at …:seats is not an integer`, or for several: `values "a", "b" at tags do not coerce (first: …)`.
    static func describe(_ values: [JSONValue], at path: String, failure: CoercionFailure) -> String {
        let shown = values.count == 1 ? "value \(Coercer.quote(values[0]))" : "values " + values.map(Coercer.quote).joined(separator: ", ")
        let what = values.count == 1 ? failure.reason : "do not coerce (first: \(failure.reason))"
        return "\(shown) at \(path) \(what)"
    }

    static func mismatch(_ p: CompiledProperty, pathIndex: Int, values: [JSONValue], failure: CoercionFailure) -> PropertyIssue {
        let shown = values.count == 1 ? "value \(Coercer.quote(values[0]))" : "values " + values.map(Coercer.quote).joined(separator: ", ")
        let path = p.pathTexts[pathIndex]
        let what = values.count == 1 ? failure.reason : "do not coerce (first: \(failure.reason))"
        return PropertyIssue(
            property: p.name, kind: .typeMismatch, detail: "\(shown) at \(path) \(what)",
            pathsTried: Array(p.pathTexts[...pathIndex]), path: path)
    }
}

/// One property's evaluation, step by step (``CompiledMapping/trace(_:)``).
public struct PropertyTrace: Sendable, Equatable {
    /// One path tried.
    public struct Step: Sendable, Equatable {
        /// The path as configured (`urn:…:enterprise:2.0:User:department`).
        public var path: String
        /// The values present at the path (null and blank strings are absent), in document order;
        /// empty when the resource has nothing there.
        public var valuesFound: [JSONValue]
        /// Whether the property's value came from this path.
        public var matched: Bool
        /// False for the paths after the one that matched: evaluation stopped before them.
        public var tried: Bool
    }

    /// The property's name.
    public var property: String
    /// Every configured path, in the order they are tried.
    public var steps: [Step]
    /// The value mapped (coerced), the default when ``usedDefault``; nil when the property is omitted.
    public var value: JSONValue?
    /// True when no path gave a value and the configured default was used.
    public var usedDefault: Bool
    /// The property's *warn if missing* flag.
    public var warnIfMissing: Bool
    /// The issue reported for the property (a warning when stored), if any.
    public var issue: PropertyIssue?
}
