import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON

/// The mapping editor: the current mapping, drafts with a preview of what saving would change,
/// saving with `expectedVersion`, history with differences, rollback.
extension Dashboard {
    enum MappingKind: String {
        case users, groups

        init(_ text: String?) { self = text == "groups" ? .groups : .users }
        var resourceType: String { self == .users ? "User" : "Group" }
        var label: String { self == .users ? "users" : "groups" }

        func definition(of info: MappingInfo) throws -> MappingDefinition {
            self == .users ? try info.usersDefinition() : try info.groupsDefinition()
        }

        /// `mapping.set`/`mapping.preview` params replacing only this kind's mapping.
        func change(connection: String, definition: MappingDefinition, expectedVersion: Int?, comment: String?) throws -> MappingChange {
            self == .users
                ? try MappingChange.typed(connection: connection, users: definition, expectedVersion: expectedVersion, comment: comment)
                : try MappingChange.typed(connection: connection, groups: definition, expectedVersion: expectedVersion, comment: comment)
        }
    }

    func mappingPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let kind = MappingKind(visit.request.query["kind"])
        let (connection, model) = try await connectionPage(reference, current: "mapping", visit: visit)
        let info = try await service.getMapping(connection.id)
        var page = model
        if let notice = visit.flash { page["notice"] = notice }
        if let by = info.changedBy { page["changedBy"] = by }
        return try await editorPage(
            page, connection: connection, kind: kind, definition: try kind.definition(of: info), baseVersion: info.version, isDraft: false,
            visit: visit)
    }

    /// The editor (current mapping or a draft), with suggestions for properties that have warnings.
    func editorPage(
        _ model: [String: Any], connection: ConnectionInfo, kind: MappingKind, definition: MappingDefinition, baseVersion: Int, isDraft: Bool,
        preview: RemapSummary? = nil, difference: MappingDifference? = nil, visit: Visit, status: Int = 200
    ) async throws -> DashboardResponse {
        var model = model
        let base = "/connections/\(connection.id.urlComponent)"
        model["kind"] = kind.rawValue
        model["kinds"] = [MappingKind.users, .groups].map { k -> [String: Any] in
            ["label": k == .users ? "Users" : "Groups", "href": "\(base)/mapping?kind=\(k.rawValue)", "current": k == kind]
        }
        model["historyHref"] = "\(base)/mapping/history"
        model["editAction"] = "\(base)/mapping/edit"
        model["saveAction"] = "\(base)/mapping/save"
        model["discardHref"] = "\(base)/mapping?kind=\(kind.rawValue)"
        model["draft"] = definition.jsonText()
        model["baseVersion"] = baseVersion
        model["isDraft"] = isDraft
        model["canEdit"] = visit.canEdit
        model["typeNames"] = PropertyTypeDefinition.names
        model["properties"] = definition.properties.map { p -> [String: Any] in
            var row: [String: Any] = [
                "name": p.name, "type": Self.describe(p), "path": p.path,
                "fallbacks": (p.fallbackPaths ?? []).map { ["path": $0, "property": p.name] },
                "warnIfMissing": p.warnIfMissing ?? false, "toggleValue": (p.warnIfMissing ?? false) ? "false" : "true",
            ]
            if let def = p.default, !def.isNull { row["defaultValue"] = JSONSerializer.string(def) }
            return row
        }
        // The properties with open warnings, each with a link that looks for where the data is
        // (`mapping.suggest` reads every warned resource, so only on request: `?suggest=NAME`).
        let summary = try await service.warningsSummary(connection.id).first
        let warned = (summary?.byProperty ?? []).filter { entry in
            entry.resourceType == kind.resourceType && definition.properties.contains { $0.name == entry.property }
        }
        model["warned"] = warned.map { entry -> [String: Any] in
            [
                "property": entry.property, "count": entry.count,
                "suggestHref": "\(base)/mapping?kind=\(kind.rawValue)&suggest=\(entry.property.urlComponent)#suggest-h",
            ]
        }
        model["hasWarned"] = !warned.isEmpty && !isDraft
        var suggestions: [[String: Any]] = []
        let asked = isDraft ? nil : visit.request.query.nonBlank("suggest")
        for entry in warned where entry.property == asked {
            let found = try await service.suggestMapping(
                MappingSuggest.Params(connection: connection.id, property: entry.property, resourceType: kind.resourceType))
            let tried = Set(definition.properties.first { $0.name == entry.property }.map { [$0.path] + ($0.fallbackPaths ?? []) } ?? [])
            for suggestion in found.suggestions.prefix(3) where !tried.contains(suggestion.path) {
                var row: [String: Any] = [
                    "property": entry.property, "path": suggestion.path, "resourcesFixed": suggestion.resourcesFixed, "warned": found.warnedResources,
                ]
                if let example = suggestion.exampleValue { row["example"] = JSONSerializer.string(example) }
                suggestions.append(row)
            }
        }
        model["suggestions"] = suggestions
        model["hasSuggestions"] = !suggestions.isEmpty
        if let preview { model["preview"] = Self.previewModel(preview, kind: kind, base: base) }
        if let difference, !difference.isEmpty { model["diff"] = ["lines": Self.lines(difference)] }
        return render("mapping", model, status: status)
    }

    /// `enum (a, b)`, `list of string`, `dateTime`.
    static func describe(_ p: MappingPropertyDefinition) -> String {
        func name(_ t: PropertyTypeDefinition) -> String {
            switch t {
            case .named(let n): return n
            case .object(let type, _, _): return name(type)
            }
        }
        let type = name(p.type)
        var options = p.options, of = p.of
        if case .object(_, let o, let e) = p.type {
            options = options ?? o
            of = of ?? e
        }
        if type.lowercased().hasPrefix("enum"), let options { return "enum (\(options.joined(separator: ", ")))" }
        if type.lowercased() == "list", let of { return "list of \(name(of))" }
        return type
    }

    static func previewModel(_ s: RemapSummary, kind: MappingKind, base: String) -> [String: Any] {
        var lines: [String] = []
        func add(_ counts: [String: Int], _ phrase: String) {
            for (property, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
                lines.append("\(property): \(count) \(count == 1 ? "resource" : "resources") \(phrase)")
            }
        }
        add(s.gained, "would gain a value")
        add(s.lost, "would lose their value")
        add(s.changed, "would get a different value")
        add(s.warningsResolved, "would have their warning resolved")
        add(s.warningsOpened, "would get a new warning")
        if lines.isEmpty { lines.append("No mapped value and no warning would change.") }
        let examples: [[String: Any]] = s.examples.prefix(10).map { e in
            var parts: [String] = []
            if case .object(let changes) = e.changes {
                // {"group": {"old": null, "new": "Managers"}} reads as: group: none → "Managers"
                for (property, change) in changes {
                    guard case .object(let values) = change else { continue }
                    func shown(_ v: JSONValue?) -> String { v.map { $0.isNull ? "none" : JSONSerializer.string($0) } ?? "none" }
                    parts.append("\(property): \(shown(values["old"])) → \(shown(values["new"]))")
                }
            }
            if !e.warningsResolved.isEmpty { parts.append("warnings resolved: " + e.warningsResolved.joined(separator: ", ")) }
            if !e.warningsOpened.isEmpty { parts.append("warnings opened: " + e.warningsOpened.joined(separator: ", ")) }
            return [
                "href": "\(base)/\(e.resourceType == "Group" ? "groups" : "users")/\(e.id.urlComponent)", "name": e.name ?? e.id,
                "text": parts.joined(separator: "; "),
            ]
        }
        return [
            "resources": s.resources, "resourcesChanged": s.resourcesChanged, "kindLabel": kind.label, "lines": lines, "examples": examples,
            "hasExamples": !examples.isEmpty,
        ]
    }

    static func lines(_ d: MappingDifference) -> [String] {
        d.added.map { "property \($0) added" } + d.removed.map { "property \($0) removed" }
            + d.changed.flatMap { change in change.what.map { "\(change.property): \($0)" } }
    }

    /// One edit to the draft, answered with the draft's page and its preview. A draft the engine
    /// refuses (a path that does not parse) is shown as it was before this edit, with the reason.
    func editMapping(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let form = visit.request.form
        let kind = MappingKind(form["kind"])
        let (connection, model) = try await connectionPage(reference, current: "mapping", visit: visit)
        let info = try await service.getMapping(connection.id)
        let current = try kind.definition(of: info)
        let before = try form["draft"].map(MappingDefinition.fromDraft) ?? current
        let baseVersion = form["baseVersion"].flatMap(Int.init) ?? info.version
        var page = model
        if baseVersion != info.version {
            page["problem"] = "The mapping was saved as version \(info.version) after this draft began from version \(baseVersion): saving this draft will be refused. Discard it and start again from the current mapping."
        }
        let edited: MappingDefinition
        do {
            edited = try MappingEdit(form: form).apply(to: before)
        } catch {
            page["problem"] = error.message
            return try await editorPage(
                page, connection: connection, kind: kind, definition: before, baseVersion: baseVersion, isDraft: true,
                difference: MappingDifference(from: current, to: before), visit: visit, status: 400)
        }
        do {
            let preview = try await service.previewMapping(
                try kind.change(connection: connection.id, definition: edited, expectedVersion: nil, comment: nil))
            return try await editorPage(
                page, connection: connection, kind: kind, definition: edited, baseVersion: baseVersion, isDraft: true, preview: preview,
                difference: MappingDifference(from: current, to: edited), visit: visit)
        } catch let error as RPCError where error.kind == "invalid_mapping" || error.kind == "invalid_params" {
            page["problem"] = "That change was not applied: \(error.message)"
            return try await editorPage(
                page, connection: connection, kind: kind, definition: before, baseVersion: baseVersion, isDraft: true,
                difference: MappingDifference(from: current, to: before), visit: visit, status: 400)
        }
    }

    /// Saves the draft as a new version (`mapping.set` with `expectedVersion`), which re-maps every
    /// stored resource. Another operator's save in between is a conflict: the draft is kept and shown.
    func saveMapping(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let form = visit.request.form
        let kind = MappingKind(form["kind"])
        let (connection, model) = try await connectionPage(reference, current: "mapping", visit: visit)
        guard let draftText = form["draft"], let baseVersion = form["baseVersion"].flatMap(Int.init) else {
            throw MappingEdit.EditError("the save form is missing its draft or base version; start again from the Mapping tab")
        }
        let draft = try MappingDefinition.fromDraft(draftText)
        var change = try kind.change(connection: connection.id, definition: draft, expectedVersion: baseVersion, comment: form.nonBlank("comment"))
        change.changedBy = "operator:\(visit.operator.name)"
        do {
            let result = try await service.setMapping(change)
            logger.notice(
                "dashboard: mapping saved",
                metadata: ["operator": "\(visit.operator.name)", "connection": "\(connection.name)", "version": "\(result.mapping.version)"])
            let resolved = result.remap.warningsResolved.values.reduce(0, +), opened = result.remap.warningsOpened.values.reduce(0, +)
            let notice =
                "Saved version \(result.mapping.version): \(result.remap.resourcesChanged) of \(result.remap.resources) resources changed, \(resolved) warnings resolved, \(opened) opened."
            return redirect("/connections/\(connection.id.urlComponent)/mapping?kind=\(kind.rawValue)", flash: notice, visit: visit)
        } catch let error as RPCError where error.kind == "conflict" || error.kind == "invalid_mapping" || error.kind == "invalid_params" {
            var page = model
            page["problem"] =
                error.kind == "conflict"
                ? "Not saved: another change was saved since this draft began (\(error.message)). Your draft is below; discard it and redo the change on the current mapping."
                : "Not saved: \(error.message)"
            let info = try await service.getMapping(connection.id)
            return try await editorPage(
                page, connection: connection, kind: kind, definition: draft, baseVersion: baseVersion, isDraft: true,
                difference: MappingDifference(from: try kind.definition(of: info), to: draft), visit: visit,
                status: error.kind == "conflict" ? 409 : 400)
        }
    }

    func historyPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        var (connection, model) = try await connectionPage(reference, current: "mapping", visit: visit)
        let versions = try await service.mappingHistory(connection.id).sorted { $0.version > $1.version }
        let current = versions.first?.version
        model["versions"] = versions.enumerated().map { index, info -> [String: Any] in
            var lines: [String] = []
            if index + 1 < versions.count {
                let older = versions[index + 1]
                for kind in [MappingKind.users, .groups] {
                    if let old = try? kind.definition(of: older), let new = try? kind.definition(of: info) {
                        lines += Self.lines(MappingDifference(from: old, to: new)).map { "\(kind == .users ? "Users" : "Groups"): \($0)" }
                    }
                }
                if older.roles != info.roles { lines.append("group → role rules changed") }
            }
            var row: [String: Any] = [
                "version": info.version, "createdAt": info.createdAt, "current": info.version == current, "lines": lines, "hasLines": !lines.isEmpty,
                "canRollback": visit.canEdit && info.version != current,
                "rollbackAction": "/connections/\(connection.id.urlComponent)/mapping/rollback",
            ]
            if let comment = info.comment { row["comment"] = comment }
            if let by = info.changedBy { row["changedBy"] = by }
            return row
        }
        return render("history", model)
    }

    func rollback(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        guard let version = visit.request.form["version"].flatMap(Int.init) else {
            throw RPCError.invalidParams("the rollback form sent no version", field: "version")
        }
        let connection = try await service.getConnection(reference)
        var params = MappingRollback.Params(connection: connection.id, version: version)
        params.changedBy = "operator:\(visit.operator.name)"
        let result = try await service.rollbackMapping(params)
        logger.notice(
            "dashboard: mapping rolled back",
            metadata: ["operator": "\(visit.operator.name)", "connection": "\(connection.name)", "to": "\(version)"])
        let notice = "Rolled back to version \(version), saved as version \(result.mapping.version): \(result.remap.resourcesChanged) resources changed."
        return redirect("/connections/\(connection.id.urlComponent)/mapping", flash: notice, visit: visit)
    }
}
