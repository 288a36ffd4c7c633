import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMDConsole
import SCIMJSON

struct MappingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Show and edit a connection's mapping (SCIM paths → the properties your application reads).",
        subcommands: [Show.self, Set.self, AddFallback.self, Warn.self, Preview.self, History.self, Rollback.self, Suggest.self],
        defaultSubcommand: Show.self)

    /// `--groups` picks the Group mapping instead of the User one.
    struct Target: ParsableArguments {
        @Flag(help: "Work on the Group mapping (default: User).") var groups = false
        var key: String { groups ? "groups" : "users" }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the current mapping.", aliases: ["get"])
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        func run() async throws {
            let info = try await options.withClient { try await $0.mapping(connection) }
            if options.json { return try options.printJSON(info) }
            print("Mapping version \(info.version) of \(connection)\(info.comment.map { " — \($0)" } ?? "")")
            for (title, mapping) in [("Users", info.users), ("Groups", info.groups)] {
                print("\n\(title):")
                let rows = (mapping["properties"]?.arrayValue ?? []).map { p -> [String] in
                    var type = p["type"]?.stringValue ?? ""
                    if let of = p["of"] { type += " of \(of.stringValue ?? of.description)" }
                    if let options = p["options"]?.arrayValue { type += " (" + options.compactMap(\.stringValue).joined(separator: "|") + ")" }
                    let fallbacks = (p["fallbackPaths"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
                    let def = p["default"].map { $0.isNull ? "" : $0.description } ?? ""
                    return [p["name"]?.stringValue ?? "", type, p["path"]?.stringValue ?? "", fallbacks, def, p["warnIfMissing"] == .bool(true) ? "yes" : ""]
                }
                print(Table.render(headers: ["NAME", "TYPE", "PATH", "FALLBACKS", "DEFAULT", "WARN"], rows: rows))
            }
            if let roles = info.roles {
                let mode = roles["mode"]?.stringValue ?? "first"
                print("\nRoles (\(mode == "all" ? "every matching rule" : "first matching rule")" + (roles["defaultRole"]?.stringValue.map { ", default \($0)" } ?? "") + "):")
                let rows = (roles["rules"]?.arrayValue ?? []).enumerated().map { i, r in
                    ["\(i + 1)", r["group"]?.stringValue ?? "", r["by"]?.stringValue ?? "displayName", r["role"]?.stringValue ?? ""]
                }
                print(Table.render(headers: ["#", "GROUP", "BY", "ROLE"], rows: rows, rightAligned: [0]))
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the mapping from a JSON file ({\"users\": {\"properties\": [...]}, \"groups\": {...}, \"roles\": {...}}, as `mapping show --json` prints).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "JSON file.") var file: String
        @Option(help: "Fail unless the current version is this one.") var expectedVersion: Int?
        @Option(help: "Comment kept in the history.") var comment: String?
        func run() async throws {
            let json = try readJSONFile(file)
            let change = MappingChange(
                connection: connection, users: json["users"], groups: json["groups"], roles: json["roles"],
                expectedVersion: expectedVersion, comment: comment)
            let result = try await options.withClient { try await $0.setMapping(change) }
            if options.json { return try options.printJSON(result) }
            print("Mapping is now version \(result.mapping.version).")
            printRemap(result.remap)
        }
    }

    struct AddFallback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-fallback", abstract: "Append a fallback path to a property and re-map.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "Property name.") var property: String
        @Argument(help: "SCIM path to try when the earlier ones yield nothing.") var path: String
        func run() async throws {
            let result = try await editProperty(options: options, connection: connection, key: target.key, property: property) { p in
                var fallbacks = p["fallbackPaths"]?.arrayValue ?? []
                guard !fallbacks.contains(.string(path)) && p["path"] != .string(path) else { return nil }
                fallbacks.append(.string(path))
                p["fallbackPaths"] = .array(fallbacks)
                return "add fallback \(path) to \(property)"
            }
            guard let result else { return print("\(property) already tries \(path); nothing changed.") }
            if options.json { return try options.printJSON(result) }
            print("Added fallback \(path) to \(property); mapping is now version \(result.mapping.version).")
            printRemap(result.remap)
        }
    }

    struct Warn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn warn-if-missing on or off for a property and re-map.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "Property name.") var property: String
        @Argument(help: "on or off.") var state: String
        func validate() throws {
            guard ["on", "off"].contains(state.lowercased()) else { throw ValidationError("state must be 'on' or 'off'") }
        }
        func run() async throws {
            let on = state.lowercased() == "on"
            let result = try await editProperty(options: options, connection: connection, key: target.key, property: property) { p in
                guard p["warnIfMissing"] != .bool(on) else { return nil }
                p["warnIfMissing"] = .bool(on)
                return "warn if \(property) is missing: \(on ? "on" : "off")"
            }
            guard let result else { return print("warn-if-missing is already \(on ? "on" : "off") for \(property).") }
            if options.json { return try options.printJSON(result) }
            print("warn-if-missing \(on ? "on" : "off") for \(property); mapping is now version \(result.mapping.version).")
            printRemap(result.remap)
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what a mapping file would change, without applying it.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "JSON file, as for `mapping set`.") var file: String
        func run() async throws {
            let json = try readJSONFile(file)
            let change = MappingChange(connection: connection, users: json["users"], groups: json["groups"], roles: json["roles"])
            let summary = try await options.withClient { try await $0.previewMapping(change) }
            if options.json { return try options.printJSON(summary) }
            print("Preview (nothing changed):")
            printRemap(summary)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List mapping versions, newest first.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        func run() async throws {
            let versions = try await options.withClient { try await $0.mappingHistory(connection) }
            if options.json { return try options.printJSON(MappingHistory.Result(versions: versions)) }
            print(
                Table.render(
                    headers: ["VERSION", "CREATED", "USER PROPS", "GROUP PROPS", "COMMENT"],
                    rows: versions.map {
                        [
                            "\($0.version)", $0.createdAt, "\($0.users["properties"]?.arrayValue?.count ?? 0)",
                            "\($0.groups["properties"]?.arrayValue?.count ?? 0)", $0.comment ?? "",
                        ]
                    }, rightAligned: [0, 2, 3]))
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an earlier version current again and re-map.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "Version to restore.") var version: Int
        func run() async throws {
            let result = try await options.withClient { try await $0.rollbackMapping(connection, to: version) }
            if options.json { return try options.printJSON(result) }
            print("Restored version \(version) as version \(result.mapping.version).")
            printRemap(result.remap)
        }
    }

    struct Suggest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find where a missing property's value actually lives in the stored data.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "Property name.") var property: String
        func run() async throws {
            let result = try await options.withClient {
                try await $0.suggestMapping(connection, property: property, resourceType: target.groups ? "Group" : "User")
            }
            if options.json { return try options.printJSON(result) }
            if result.suggestions.isEmpty {
                print("No suggestion: none of the \(resources(result.warnedResources)) missing \(property) has a matching key.")
                return
            }
            print("\(resources(result.warnedResources)) \(result.warnedResources == 1 ? "misses" : "miss") \(property). Candidate fallback paths:")
            print(
                Table.render(
                    headers: ["PATH", "FIXES", "EXAMPLE"],
                    rows: result.suggestions.map { [$0.path, "\($0.resourcesFixed)", $0.exampleValue?.description ?? ""] },
                    rightAligned: [1]))
            if let best = result.suggestions.first {
                print("Apply: scimctl mapping add-fallback \(connection)\(target.groups ? " --groups" : "") \(property) '\(best.path)'")
            }
        }
    }
}

struct WarningsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warnings", abstract: "Open mapping warnings: a summary, or with --list the resources and what each misses.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Connection id or name (all connections when omitted).", completion: ConnectionCompletion.kind) var connection: String?
    @Flag(help: "List the resources with warnings (needs CONNECTION).") var list = false
    @Option(help: "Only warnings on this property: in the summary, and with --list the resources warned on it, each with that warning.")
    var property: String?
    @Option(help: "Page size (with --list).") var limit: Int = 50
    @Option(help: "Cursor from the previous page (with --list).") var cursor: String?

    func run() async throws {
        if list {
            guard let connection else { throw ValidationError("--list needs a CONNECTION") }
            let params = WarningsList.Params(connection: connection, property: property, limit: limit, cursor: cursor)
            let page = try await options.withClient { try await $0.listWarnings(params) }
            if options.json { return try options.printJSON(page) }
            var rows: [[String]] = []
            for r in page.resources {
                // The RPC returns each resource warned on the property with all its warnings
                // (--json shows them); the table shows the property asked for.
                for w in r.warnings where property.map({ $0 == w.property }) ?? true {
                    let example = w.exampleRequest.map { "\($0.method) \($0.path) (#\($0.id))" } ?? "mapping change"
                    rows.append([r.resourceType, r.name, w.property, w.kind, w.firstSeenAt, example])
                }
            }
            print(Table.render(headers: ["TYPE", "NAME", "PROPERTY", "KIND", "SINCE", "EXAMPLE REQUEST"], rows: rows, maximumWidths: [5: 120]))
            if let next = page.nextCursor {
                var words = ["scimctl", "warnings", connection, "--list"]
                if let property { words += ["--property", property] }
                if limit != 50 { words += ["--limit", String(limit)] }
                print("More: " + shellCommand(words + ["--cursor", next]))
            }
            return
        }
        let summaries = try await options.withClient { try await $0.warningsSummary(connection) }
        if options.json { return try options.printJSON(WarningsSummary.Result(connections: summaries)) }
        var rows: [[String]] = []
        for s in summaries {
            let counts = s.byProperty.filter { p in property.map { $0 == p.property } ?? true }
            if counts.isEmpty {
                rows.append([s.connectionName, "-", property ?? "-", "0"])
            }
            for p in counts { rows.append([s.connectionName, p.resourceType, p.property, "\(p.count)"]) }
        }
        print(Table.render(headers: ["CONNECTION", "TYPE", "PROPERTY", "OPEN"], rows: rows, rightAligned: [3]))
    }
}

/// Reads a JSON file or exits with a clear message.
/// A command line to show (a "More:" hint), each word quoted for a POSIX shell when it needs it:
/// `["scimctl", "users", "list", "Acme", "--filter", "userName sw \"o'b\""]` →
/// `scimctl users list Acme --filter 'userName sw "o'\''b"'`.
func shellCommand(_ words: [String]) -> String {
    words.map { word in
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "@%+=:,./_-".unicodeScalars.contains($0)
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}

func readJSONFile(_ path: String) throws -> JSONValue {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("error: cannot read \(path): \(String(cString: strerror(errno)))\n".utf8))
        throw ExitCode(1)
    }
    do {
        return try JSONParser().parse(bytes: Array(data))
    } catch {
        FileHandle.standardError.write(Data("error: \(path) is not valid JSON: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Fetches the mapping, edits one property with `edit` (nil = nothing to do), and sets it with
/// `expectedVersion`, so a concurrent edit is never overwritten.
func editProperty(
    options: GlobalOptions, connection: String, key: String, property: String,
    edit: @escaping @Sendable (inout JSONObject) -> String?
) async throws -> MappingSet.Result? {
    try await options.withClient { client -> MappingSet.Result? in
        let info = try await client.mapping(connection)
        let mapping = key == "groups" ? info.groups : info.users
        var properties = mapping["properties"]?.arrayValue ?? []
        guard let index = properties.firstIndex(where: { $0["name"]?.stringValue == property }),
            var object = properties[index].objectValue
        else {
            throw RPCError.notFound(
                "the \(key == "groups" ? "Group" : "User") mapping of \(connection) has no property '\(property)' (see `scimctl mapping show \(connection)`)")
        }
        guard let comment = edit(&object) else { return nil }
        properties[index] = .object(object)
        let updated: JSONValue = ["properties": .array(properties)]
        let change = MappingChange(
            connection: connection, users: key == "users" ? updated : nil, groups: key == "groups" ? updated : nil,
            expectedVersion: info.version, comment: comment)
        return try await client.setMapping(change)
    }
}

/// "1 resource", "2 resources".
func resources(_ count: Int) -> String { count == 1 ? "1 resource" : "\(count) resources" }

/// Prints a re-mapping summary: warnings resolved/opened and values gained/lost.
func printRemap(_ s: RemapSummary) {
    let resolved = s.warningsResolved.values.reduce(0, +), opened = s.warningsOpened.values.reduce(0, +)
    print("\(resources(s.resources)) re-mapped in \(String(format: "%.1f", s.elapsedMilliseconds)) ms; \(s.resourcesChanged) with changed values or warnings.")
    print("Warnings resolved: \(resolved)\(detail(s.warningsResolved)); opened: \(opened)\(detail(s.warningsOpened)).")
    if !s.gained.isEmpty { print("Values gained:\(detail(s.gained))") }
    if !s.lost.isEmpty { print("Values lost:\(detail(s.lost))") }
    if !s.changed.isEmpty { print("Values changed:\(detail(s.changed))") }
}

private func detail(_ counts: [String: Int]) -> String {
    guard !counts.isEmpty else { return "" }
    return " (" + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
}
