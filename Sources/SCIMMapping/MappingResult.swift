import SCIMJSON

/// A problem found while mapping one property of one resource.
///
/// JSON (Codable): `{"property": "email", "kind": "missing", "detail": "...",
/// "pathsTried": ["emails[primary eq true].value", ...], "path": null}`.
public struct PropertyIssue: Sendable, Hashable, Codable {
    /// What went wrong.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// No path yielded a value and the property has no default. Reported only for properties
        /// with ``MappingProperty/warnIfMissing``.
        case missing
        /// A path yielded a value that could not be coerced to the property's type (for a list:
        /// at least one element could not). Always reported, whatever ``MappingProperty/warnIfMissing`` says.
        case typeMismatch
    }

    /// The property's ``MappingProperty/name``.
    public var property: String
    /// What went wrong.
    public var kind: Kind
    /// For humans, e.g. `no value at emails[primary eq true].value, emails.value` or
    /// `value "blue-ish" at favoriteColor is not one of the enum options (red, green)`.
    public var detail: String?
    /// The paths evaluated, in order: all of them for `missing`; up to and including ``path``
    /// for `typeMismatch`.
    public var pathsTried: [String]
    /// For `typeMismatch`, the path whose value could not be coerced; nil for `missing`.
    public var path: String?

    /// Creates an issue (normally made by ``CompiledMapping/evaluate(_:)``).
    public init(property: String, kind: Kind, detail: String? = nil, pathsTried: [String] = [], path: String? = nil) {
        self.property = property
        self.kind = kind
        self.detail = detail
        self.pathsTried = pathsTried
        self.path = path
    }
}

/// The outcome of evaluating a ``CompiledMapping`` over one resource.
///
/// Codable as `{"properties": {...}, "issues": [...]}`; note that `JSONValue`'s Codable does not
/// keep member order, so use ``JSONSerializer`` on ``properties`` where order matters.
public struct MappingResult: Sendable, Equatable, Codable {
    /// Property name → coerced value, in mapping order. A property with neither a usable value
    /// nor a default is **omitted** (never `null`).
    public var properties: JSONObject
    /// Issues in mapping order (at most one per property).
    public var issues: [PropertyIssue]

    /// Creates a result (normally made by ``CompiledMapping/evaluate(_:)``).
    public init(properties: JSONObject = JSONObject(), issues: [PropertyIssue] = []) {
        self.properties = properties
        self.issues = issues
    }

    /// True when there are no issues.
    public var isClean: Bool { issues.isEmpty }

    /// The issue for `property`, if any.
    public func issue(for property: String) -> PropertyIssue? {
        issues.first { $0.property == property }
    }

    private enum CodingKeys: String, CodingKey { case properties, issues }

    /// Decodes `{"properties": {...}, "issues": [...]}`; `issues` may be absent. Throws
    /// `DecodingError` when `properties` is not an object.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let value = try c.decode(JSONValue.self, forKey: .properties)
        guard case .object(let object) = value else {
            throw DecodingError.dataCorruptedError(
                forKey: .properties, in: c, debugDescription: "properties must be an object")
        }
        properties = object
        issues = try c.decodeIfPresent([PropertyIssue].self, forKey: .issues) ?? []
    }

    /// Encodes `{"properties": {...}, "issues": [...]}`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(JSONValue.object(properties), forKey: .properties)
        try c.encode(issues, forKey: .issues)
    }
}
