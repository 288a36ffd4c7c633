import Foundation
import SCIMDProtocol
import SCIMJSON

/// What a rendering depends on besides the data, so that output is reproducible in tests.
public struct ConsoleContext: Sendable {
    /// "Now", for relative times.
    public var now: Date
    /// Terminal width in characters.
    public var width: Int
    /// Absolute RFC 3339 times instead of "3 min ago".
    public var utc: Bool
    public var style: Style

    public init(now: Date = Date(), width: Int = Table.terminalWidth, utc: Bool = false, style: Style = .automatic) {
        self.now = now
        self.width = width
        self.utc = utc
        self.style = style
    }

    func time(_ rfc3339: String) -> String { Format.time(rfc3339, now: now, utc: utc) }
}

/// The terminal views of scimctl's dashboard commands.
public enum Views {
    /// One row per connection: name, customer, IdP, users (active/total), groups, warnings, errors in 24 h, last request.
    public static func dashboard(_ connections: [ConnectionInfo], _ c: ConsoleContext) -> String {
        if connections.isEmpty { return "No connections yet. Create one with: scimctl connections create --name NAME" }
        let rows = connections.map { x -> [String] in
            let warnings = x.openWarnings > 0 ? c.style.warn("\(x.openWarnings)") : "0"
            let errors = x.errors24h > 0 ? c.style.error("\(x.errors24h)") : "0"
            var last = x.lastRequestAt.map(c.time) ?? "never"
            if let status = x.lastRequestStatus {
                last += status >= 400 ? " " + c.style.error("(\(status))") : " (\(status))"
            }
            return [
                x.name + (x.disabled ? c.style.dim(" (disabled)") : ""), x.customerId ?? "", x.idp ?? "",
                "\(x.activeUsers)/\(x.users)", "\(x.groups)", warnings, errors, last,
            ]
        }
        return Table.render(
            headers: ["CONNECTION", "CUSTOMER", "IDP", "USERS ACTIVE/ALL", "GROUPS", "WARNINGS", "ERRORS 24H", "LAST REQUEST"], rows: rows,
            rightAligned: [3, 4, 5, 6], width: c.width)
    }

    /// A page of users, with how to get the next one.
    public static func users(_ page: UsersList.Result, nextCommand: String, _ c: ConsoleContext) -> String {
        if page.users.isEmpty { return "No users match." }
        let rows = page.users.map { u in
            [
                u.userName, u.displayName ?? "", u.active ? "yes" : c.style.dim("no"),
                u.warningCount > 0 ? c.style.warn("\(u.warningCount)") : "0", u.externalId ?? "", u.appUserId ?? "",
                c.time(u.updatedAt), u.id,
            ]
        }
        var out = Table.render(
            headers: ["USERNAME", "DISPLAY NAME", "ACTIVE", "WARNINGS", "EXTERNAL ID", "APP USER", "UPDATED", "ID"], rows: rows,
            rightAligned: [3], width: c.width)
        if let next = page.nextCursor { out += "\nMore: \(nextCommand) --cursor \(next)" }
        return out
    }

    /// A page of groups, with how to get the next one.
    public static func groups(_ page: GroupsList.Result, nextCommand: String, _ c: ConsoleContext) -> String {
        if page.groups.isEmpty { return "No groups match." }
        let rows = page.groups.map { g in
            [
                g.displayName, "\(g.memberCount)", g.warningCount > 0 ? c.style.warn("\(g.warningCount)") : "0", g.externalId ?? "",
                c.time(g.updatedAt), g.id,
            ]
        }
        var out = Table.render(
            headers: ["DISPLAY NAME", "MEMBERS", "WARNINGS", "EXTERNAL ID", "UPDATED", "ID"], rows: rows, rightAligned: [1, 2],
            width: c.width)
        if let next = page.nextCursor { out += "\nMore: \(nextCommand) --cursor \(next)" }
        return out
    }

    /// One user's or group's whole story: mapped properties, open warnings with their example
    /// requests, groups or members, recent requests and the raw SCIM data.
    public static func resource(_ d: ResourceDetail, _ c: ConsoleContext) -> String {
        var out: [String] = []
        out.append(c.style.bold("\(d.resourceType) \(d.name)") + "  id \(d.id)")
        out.append("created \(c.time(d.createdAt)), updated \(c.time(d.updatedAt))")
        if let app = d.appUserId { out.append("linked to application user \(app)") }

        out.append("")
        out.append(c.style.bold("Mapped properties") + (d.mappingVersion.map { " (mapping version \($0))" } ?? ""))
        let mapped = d.mapped.objectValue ?? [:]
        if mapped.isEmpty {
            out.append("  (none)")
        } else {
            out.append(
                Table.render(
                    headers: ["PROPERTY", "VALUE"], rows: mapped.map { [$0.key, $0.value.stringValue ?? $0.value.description] },
                    width: c.width))
        }

        out.append("")
        out.append(c.style.bold("Open warnings") + " (\(d.warnings.count))")
        if d.warnings.isEmpty { out.append("  (none)") }
        for w in d.warnings {
            out.append("  " + c.style.warn("\(w.property): \(w.kind)") + " since \(c.time(w.firstSeenAt))" + (w.detail.map { " — \($0)" } ?? ""))
            if let r = w.exampleRequest {
                out.append("    example request #\(r.id): \(r.method) \(r.path) → \(r.status), \(c.time(r.at))")
                if let body = r.body {
                    out.append(Format.prettyJSON(body).split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n"))
                }
            } else {
                out.append("    (raised by a mapping change)")
            }
        }

        out.append("")
        if d.resourceType == "User" {
            out.append(c.style.bold("Groups") + " (\(d.relatedCount))")
            if d.related.isEmpty { out.append("  (none)") }
            for g in d.related { out.append("  \(g.name ?? "?")  \(c.style.dim(g.id))") }
        } else {
            out.append(c.style.bold("Members") + " (\(d.relatedCount))")
            if d.related.isEmpty { out.append("  (none)") }
            for m in d.related {
                let state = m.active == false ? c.style.dim(" (inactive)") : ""
                out.append("  \(m.name ?? "(not stored)")\(state)  \(c.style.dim(m.id))")
            }
            if let next = d.nextRelatedCursor { out.append("  … more members: --members-cursor \(next)") }
        }

        out.append("")
        out.append(c.style.bold("Recent requests"))
        if d.recentRequests.isEmpty { out.append("  (none)") }
        for r in d.recentRequests {
            let status = r.status >= 400 ? c.style.error("\(r.status)") : "\(r.status)"
            out.append("  #\(r.id) \(c.time(r.at))  \(r.method) \(r.path) → \(status)")
        }

        out.append("")
        out.append(c.style.bold("Raw SCIM data (as stored)"))
        out.append(Format.prettyJSON(d.raw))
        return out.joined(separator: "\n")
    }
}
