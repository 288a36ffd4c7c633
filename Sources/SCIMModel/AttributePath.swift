import SCIMJSON

/// An attribute path (RFC 7644 §3.10 attribute notation and the §3.5.2 `PATH` grammar):
///
/// ```
/// PATH     = attrPath / valuePath [subAttr]
/// attrPath = [URI ":"] ATTRNAME *1subAttr
/// valuePath = attrPath "[" valFilter "]"
/// ```
///
/// Examples and how they are held:
///
/// | text | schemaURN | attribute | valueFilter | subAttribute |
/// | --- | --- | --- | --- | --- |
/// | `userName` | nil | userName | nil | nil |
/// | `name.givenName` | nil | name | nil | givenName |
/// | `urn:…:enterprise:2.0:User:manager.value` | `urn:…:enterprise:2.0:User` | manager | nil | value |
/// | `emails[type eq "work"].value` | nil | emails | `type eq "work"` | value |
/// | `members[value eq "x"]` | nil | members | `value eq "x"` | nil |
/// | `urn:…:enterprise:2.0:User` | nil | `urn:…:enterprise:2.0:User` | nil | nil |
///
/// A URN naming a whole extension (the last row) is held as the attribute name, because that is
/// the member name under which the extension object sits in a resource (RFC 7643 §3.3).
/// A URN is told apart from `URN:attribute` by its shape: it is a known schema URN, or its last
/// component is not an attribute name (`urn:scim:schemas:core:1.0`), or the component before
/// the last is a version (`…:2.0:User`), the convention every SCIM extension URN follows.
/// Splitting at the *last* colon keeps the dots of "2.0" inside the URN.
///
/// Attribute names are case-insensitive (RFC 7643 §2.1), so equality and hashing ignore case
/// of `schemaURN`, `attribute` and `subAttribute`.
public struct AttributePath: Sendable, Hashable, CustomStringConvertible {
    /// The schema URN prefix when one was written (core or extension).
    public var schemaURN: String?
    /// The attribute name (or a whole extension URN, see above).
    public var attribute: String
    /// The `[...]` value selection filter, evaluated against each value of a multi-valued attribute.
    public var valueFilter: Filter?
    /// The sub-attribute after `.`.
    public var subAttribute: String?

    /// Creates a path from its parts; ``description`` prints it back as text.
    public init(schemaURN: String? = nil, attribute: String, valueFilter: Filter? = nil, subAttribute: String? = nil) {
        self.schemaURN = schemaURN
        self.attribute = attribute
        self.valueFilter = valueFilter
        self.subAttribute = subAttribute
    }

    /// Parses a PATCH `path`, an `attributes`/`excludedAttributes`/`sortBy` entry, or an attribute
    /// reference. Surrounding whitespace is ignored.
    ///
    /// Throws `SCIMError` `invalidPath` (RFC 7644 §3.5.2, §3.12) for an empty path, empty name
    /// segments (`name..givenName`), more than one sub-attribute level (`a.b.c`), characters not
    /// allowed in an attribute name, unbalanced or empty brackets, a malformed value filter,
    /// or anything after the path.
    public static func parse(_ text: String) throws(SCIMError) -> AttributePath {
        do {
            var parser = FilterParser(text, maximumDepth: 64)
            return try parser.parseWholePath()
        } catch {
            throw SCIMError.invalidPath("invalid attribute path \"\(text)\": \(error.message)")
        }
    }

    /// The path in parseable form: `[schemaURN:]attribute[[filter]][.subAttribute]`.
    public var description: String {
        var text = ""
        if let schemaURN { text += schemaURN + ":" }
        text += attribute
        if let valueFilter { text += "[" + valueFilter.description + "]" }
        if let subAttribute { text += "." + subAttribute }
        return text
    }

    /// True when this path names a whole extension object by its URN (`urn:…:2.0:User`).
    public var isExtensionURN: Bool {
        schemaURN == nil && attribute.lowercased().hasPrefix("urn:")
    }

    /// The same path without its value filter and sub-attribute.
    public var attributeOnly: AttributePath {
        AttributePath(schemaURN: schemaURN, attribute: attribute)
    }

    /// Equal when the parts are equal, names compared ignoring case.
    public static func == (lhs: AttributePath, rhs: AttributePath) -> Bool {
        optionalCaseInsensitiveEquals(lhs.schemaURN, rhs.schemaURN)
            && lhs.attribute.caseInsensitiveEquals(rhs.attribute)
            && lhs.valueFilter == rhs.valueFilter
            && optionalCaseInsensitiveEquals(lhs.subAttribute, rhs.subAttribute)
    }

    /// Hashes lower-cased names, consistent with ``==``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(schemaURN?.lowercased())
        hasher.combine(attribute.lowercased())
        hasher.combine(valueFilter)
        hasher.combine(subAttribute?.lowercased())
    }
}

func optionalCaseInsensitiveEquals(_ a: String?, _ b: String?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let a?, let b?): return a.caseInsensitiveEquals(b)
    default: return false
    }
}

// MARK: - Names and URNs

enum PathSyntax {
    /// RFC 7644 §3.10 `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`.
    /// `$ref` is accepted too: RFC 7643 §2.4 names that sub-attribute and clients address it.
    static func isAttributeName<S: StringProtocol>(_ name: S) -> Bool {
        var scalars = name.unicodeScalars[...]
        if scalars.first == "$" { scalars = scalars.dropFirst() }
        guard let first = scalars.first, isAlpha(first) else { return false }
        for c in scalars.dropFirst() where !(isAlpha(c) || isDigit(c) || c == "-" || c == "_") {
            return false
        }
        return true
    }

    static func isAlpha(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    /// `2.0`, `1`, `10.1.3`: the version component of SCIM schema URNs.
    static func isVersion<S: StringProtocol>(_ s: S) -> Bool {
        guard !s.isEmpty, s.first != ".", s.last != "." else { return false }
        var previousDot = false
        for c in s.unicodeScalars {
            if c == "." {
                if previousDot { return false }
                previousDot = true
            } else if isDigit(c) {
                previousDot = false
            } else {
                return false
            }
        }
        return true
    }

    static func hasURNPrefix(_ s: String) -> Bool {
        s.utf8.count >= 4 && s.prefix(4).lowercased() == "urn:"
    }

    /// Whether `text` (which starts with `urn:`) names a schema as a whole rather than
    /// `URN:attribute`. See ``AttributePath``.
    static func isWholeSchemaURN(_ text: String) -> Bool {
        if SCIMSchemas.knownSchemaURNs.contains(where: { $0.caseInsensitiveEquals(text) }) { return true }
        let components = text.split(separator: ":", omittingEmptySubsequences: false)
        guard components.count >= 3, let last = components.last else { return true }
        let lastName = last.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? last
        if !isAttributeName(lastName) { return true }
        return isVersion(components[components.count - 2])
    }

    /// Whether the top-level member `key` holding `value` is an extension object (RFC 7643 §3.3)
    /// rather than a value under a literal `URN:attribute` key. An object under a URN is an
    /// extension unless the key reads as `URN:attribute` for a URN this resource already uses
    /// (core, known extension, listed in `schemas`, or present as an object): a provider-defined
    /// URN such as `urn:okta:onprem_app:1.0:user:custom` is kept whole.
    static func isExtensionMember(
        _ key: String, _ value: JSONValue, schemas: [String], resource: JSONObject, resourceType: SCIMResourceType
    ) -> Bool {
        guard hasURNPrefix(key), value.objectValue != nil else { return false }
        if isWholeSchemaURN(key) || schemas.contains(where: { $0.caseInsensitiveEquals(key) }) { return true }
        guard let path = try? AttributePath.parse(key), let urn = path.schemaURN else { return true }
        let used = urn.caseInsensitiveEquals(resourceType.coreSchemaURN)
            || SCIMSchemas.extensionURNs(resourceType).contains { $0.caseInsensitiveEquals(urn) }
            || schemas.contains { $0.caseInsensitiveEquals(urn) }
            || resource[caseInsensitive: urn]?.objectValue != nil
        return !used
    }

    /// Splits the name part of a path (no brackets) into URN, attribute and sub-attribute.
    /// `allowSubAttribute` is false for the part before `[` when the caller handles `.sub` itself.
    static func splitName(_ text: String) throws(PathParseError) -> (schemaURN: String?, attribute: String, subAttribute: String?) {
        if text.isEmpty { throw PathParseError("empty attribute name") }
        if hasURNPrefix(text) {
            if isWholeSchemaURN(text) {
                try validateURN(text)
                return (nil, text, nil)
            }
            let colon = text.lastIndex(of: ":")!
            let urn = String(text[..<colon])
            let rest = String(text[text.index(after: colon)...])
            try validateURN(urn)
            let (attribute, sub) = try splitDotted(rest)
            return (urn, attribute, sub)
        }
        let (attribute, sub) = try splitDotted(text)
        return (nil, attribute, sub)
    }

    static func splitDotted(_ text: String) throws(PathParseError) -> (String, String?) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        for part in parts where part.isEmpty {
            throw PathParseError("empty name segment in \"\(text)\"")
        }
        if parts.count > 2 {
            throw PathParseError("\"\(text)\" has more than one sub-attribute level (SCIM complex attributes do not nest)")
        }
        for part in parts where !isAttributeName(part) {
            throw PathParseError("\"\(part)\" is not a valid attribute name (a letter followed by letters, digits, '-' or '_')")
        }
        return (String(parts[0]), parts.count == 2 ? String(parts[1]) : nil)
    }

    static func validateURN(_ urn: String) throws(PathParseError) {
        let components = urn.split(separator: ":", omittingEmptySubsequences: false)
        if components.count < 3 || components.contains(where: \.isEmpty) {
            throw PathParseError("\"\(urn)\" is not a valid schema URN")
        }
    }
}

/// An internal parse failure; turned into `invalidPath` or `invalidFilter` by the public entry points.
struct PathParseError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
