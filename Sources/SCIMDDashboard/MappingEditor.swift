import SCIMDProtocol
import SCIMJSON

/// One change an operator makes in the mapping editor; pure, so each is tested alone.
///
/// The editor keeps no draft on the server: the draft (the whole users or groups mapping as JSON)
/// travels in a hidden form field from page to page, each edit posts it back with one of these
/// changes, and saving sends it to `mapping.set` with the version it was based on
/// (`expectedVersion`). Whatever the browser posts is checked again by the engine on save.
enum MappingEdit: Equatable {
    case addFallbackPath(property: String, path: String)
    case removeFallbackPath(property: String, path: String)
    case setWarnIfMissing(property: String, Bool)
    case setPath(property: String, path: String)
    case removeProperty(property: String)
    case addProperty(name: String, type: String, path: String, warnIfMissing: Bool)

    /// The edit a form posted: `action` plus its fields. Throws ``EditError`` naming what is missing.
    init(form: FormFields) throws(EditError) {
        func field(_ name: String) throws(EditError) -> String {
            guard let value = form.nonBlank(name) else { throw EditError("the form is missing \(name)") }
            return value
        }
        switch form["action"] ?? "" {
        case "addFallbackPath": self = .addFallbackPath(property: try field("property"), path: try field("path"))
        case "removeFallbackPath": self = .removeFallbackPath(property: try field("property"), path: try field("path"))
        case "setWarnIfMissing": self = .setWarnIfMissing(property: try field("property"), form["value"] == "true")
        case "setPath": self = .setPath(property: try field("property"), path: try field("path"))
        case "removeProperty": self = .removeProperty(property: try field("property"))
        case "addProperty":
            self = .addProperty(
                name: try field("name"), type: form.nonBlank("type") ?? "string", path: try field("path"),
                warnIfMissing: form["warnIfMissing"] == "true")
        case let other: throw EditError("unknown mapping edit '\(other)'")
        }
    }

    /// `definition` with this edit applied. Throws ``EditError`` when the property is unknown or
    /// the edit would do nothing the operator could want (a fallback path already tried, a name taken).
    func apply(to definition: MappingDefinition) throws(EditError) -> MappingDefinition {
        var definition = definition
        func index(_ name: String) throws(EditError) -> Int {
            guard let i = definition.properties.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw EditError("there is no property '\(name)' in this mapping")
            }
            return i
        }
        switch self {
        case .addFallbackPath(let name, let path):
            let i = try index(name)
            let property = definition.properties[i]
            let tried = [property.path] + (property.fallbackPaths ?? [])
            if tried.contains(where: { $0.lowercased() == path.lowercased() }) {
                throw EditError("'\(path)' is already one of \(property.name)'s paths")
            }
            definition.properties[i].fallbackPaths = (property.fallbackPaths ?? []) + [path]
        case .removeFallbackPath(let name, let path):
            let i = try index(name)
            var fallbacks = definition.properties[i].fallbackPaths ?? []
            guard let at = fallbacks.firstIndex(of: path) else {
                throw EditError("'\(path)' is not a fallback path of \(definition.properties[i].name)")
            }
            fallbacks.remove(at: at)
            definition.properties[i].fallbackPaths = fallbacks.isEmpty ? nil : fallbacks
        case .setWarnIfMissing(let name, let value):
            definition.properties[try index(name)].warnIfMissing = value
        case .setPath(let name, let path):
            definition.properties[try index(name)].path = path
        case .removeProperty(let name):
            definition.properties.remove(at: try index(name))
        case .addProperty(let name, let type, let path, let warnIfMissing):
            if definition.properties.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                throw EditError("there is already a property named '\(name)'")
            }
            definition.properties.append(
                MappingPropertyDefinition(name: name, type: .named(type), path: path, warnIfMissing: warnIfMissing ? true : nil))
        }
        return definition
    }

    /// Why an edit was refused, in words for the page.
    struct EditError: Error, Equatable, CustomStringConvertible {
        var description: String { message }
        var message: String
        init(_ message: String) { self.message = message }
    }
}

/// What changed between two versions of a mapping, property by property (history pages).
struct MappingDifference: Equatable {
    var added: [String] = []
    var removed: [String] = []
    /// Properties present in both whose definition differs, with what differs.
    var changed: [(property: String, what: [String])] = []

    static func == (a: MappingDifference, b: MappingDifference) -> Bool {
        a.added == b.added && a.removed == b.removed && a.changed.map(\.property) == b.changed.map(\.property)
            && a.changed.map(\.what) == b.changed.map(\.what)
    }

    init(from old: MappingDefinition, to new: MappingDefinition) {
        let oldByName = Dictionary(old.properties.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.properties.map { $0.name.lowercased() })
        for property in new.properties {
            guard let before = oldByName[property.name.lowercased()] else {
                added.append(property.name)
                continue
            }
            var what: [String] = []
            if before.path != property.path { what.append("path \(before.path) → \(property.path)") }
            let fallbacksBefore = before.fallbackPaths ?? [], fallbacksAfter = property.fallbackPaths ?? []
            for path in fallbacksAfter where !fallbacksBefore.contains(path) { what.append("fallback path \(path) added") }
            for path in fallbacksBefore where !fallbacksAfter.contains(path) { what.append("fallback path \(path) removed") }
            if (before.warnIfMissing ?? false) != (property.warnIfMissing ?? false) {
                what.append((property.warnIfMissing ?? false) ? "warn if missing turned on" : "warn if missing turned off")
            }
            if before.type != property.type || before.options != property.options || before.of != property.of { what.append("type changed") }
            if before.default != property.default { what.append("default changed") }
            if !what.isEmpty { changed.append((property.name, what)) }
        }
        removed = old.properties.filter { !newNames.contains($0.name.lowercased()) }.map(\.name)
    }

    var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}

extension MappingDefinition {
    /// The definition as compact JSON text (the editor's hidden draft field).
    func jsonText() -> String {
        (try? RPCCodec.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"properties":[]}"#
    }

    /// A draft posted back by the browser. Throws ``MappingEdit/EditError`` when it is not a mapping.
    static func fromDraft(_ text: String) throws(MappingEdit.EditError) -> MappingDefinition {
        guard let json = try? JSONParser().parse(text), let definition = try? RPCCodec.decode(MappingDefinition.self, from: json) else {
            throw MappingEdit.EditError("the draft mapping sent with the form is not a mapping; start again from the Mapping tab")
        }
        return definition
    }
}
