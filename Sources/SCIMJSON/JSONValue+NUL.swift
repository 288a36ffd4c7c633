extension JSONValue {
    /// Where the first string holding U+0000 (NUL) is, member names included; nil when none does.
    ///
    /// scimd refuses NUL in every string it takes in (SCIM bodies, filters, JSON-RPC params), the
    /// way PostgreSQL refuses it in `text`: SQLite's C interface reads a bound string up to its
    /// first NUL, so `"ada@example.com\u0000x"` would be stored, indexed and matched as
    /// `"ada@example.com"` while the raw data kept the whole string.
    ///
    /// The location is a path in the value: member names joined with `.`, list positions in
    /// brackets (`emails[1].value`, `name.givenName`, `urn:…:User.department`); a NUL in a member
    /// name reports that name, as `(member name)` when it is the first thing in the path.
    /// Returns `""` when the value itself is such a string.
    public func pathOfFirstNUL() -> String? {
        switch self {
        case .string(let s):
            return s.utf8.contains(0) ? "" : nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let inner = element.pathOfFirstNUL() { return Self.join("[\(index)]", inner) }
            }
            return nil
        case .object(let members):
            for (name, member) in members {
                if name.utf8.contains(0) { return Self.printable(name) }
                if let inner = member.pathOfFirstNUL() { return Self.join(name, inner) }
            }
            return nil
        default:
            return nil
        }
    }

    private static func join(_ head: String, _ tail: String) -> String {
        if tail.isEmpty { return head }
        return tail.hasPrefix("[") ? head + tail : head + "." + tail
    }

    /// A member name with its NULs shown as `\u0000`, so an error message can name it.
    private static func printable(_ name: String) -> String {
        var shown = ""
        for scalar in name.unicodeScalars {
            if scalar.value == 0 { shown += "\\u0000" } else { shown.unicodeScalars.append(scalar) }
        }
        return shown
    }
}
