import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import SCIMMapping

/// The read-only pages. Each fetches what it shows through the service and nothing more: lists
/// are one page of rows (``Dashboard/Configuration/pageSize``), never a whole connection.
extension Dashboard {
    // MARK: - Connections

    func connectionsPage(_ visit: Visit) async throws -> DashboardResponse {
        let connections = try await service.listConnections()
        var charts: [String: String] = [:]
        for c in connections { charts[c.id] = RequestChart.svg(try await service.requestsPerHour(c.id)) }
        let rows: [[String: Any]] = connections.map { c in
            var row: [String: Any] = [
                "name": c.name, "href": "/connections/\(c.id.urlComponent)/users", "customer": c.customerId ?? "", "idp": c.idp ?? "",
                "activeUsers": c.activeUsers, "users": c.users, "groups": c.groups, "openWarnings": c.openWarnings,
                "hasWarnings": c.openWarnings > 0, "warningsHref": "/connections/\(c.id.urlComponent)/warnings",
                "requests24h": c.requests24h, "errors24h": c.errors24h, "disabled": c.disabled, "chart": charts[c.id] ?? "",
            ]
            if let at = c.lastRequestAt { row["lastRequestAt"] = at }
            if let status = c.lastRequestStatus {
                row["lastRequestStatus"] = status
                row["lastRequestClass"] = status / 100
            }
            return row
        }
        return render(
            "connections",
            ["chrome": visit.chrome, "rows": rows, "hasRows": !rows.isEmpty, "live": "/live?after=\(try await service.latestEventSequence())"])
    }

    /// The connection's title, tabs and links, shared by every page inside it.
    func header(_ c: ConnectionInfo, current: String) -> [String: Any] {
        let base = "/connections/\(c.id.urlComponent)"
        let tabs: [(String, String, Int?)] = [
            ("users", "Users", c.users), ("groups", "Groups", c.groups), ("warnings", "Users with Warnings", c.resourcesWithWarnings),
            ("mapping", "Mapping", nil), ("requests", "Requests", nil), ("events", "Events", nil), ("settings", "Settings", nil),
        ]
        var header: [String: Any] = [
            "name": c.name, "id": c.id, "base": base + "/users", "disabled": c.disabled,
            "tabs": tabs.map { key, label, count -> [String: Any] in
                var tab: [String: Any] = ["href": "\(base)/\(key)", "label": label, "current": key == current]
                if let count, count > 0 { tab["count"] = String(count) }
                return tab
            },
        ]
        if let customer = c.customerId { header["customer"] = customer }
        if let idp = c.idp { header["idp"] = idp }
        return header
    }

    func connectionPage(_ reference: String, current: String, visit: Visit) async throws -> (ConnectionInfo, [String: Any]) {
        let connection = try await service.getConnection(reference)
        var model: [String: Any] = ["chrome": visit.chrome, "header": header(connection, current: current), "csrfToken": visit.session.csrfToken]
        // Pages that show what the IdP sends follow the change feed; the editor and settings do not
        // (a refresh would replace a form being filled in).
        if ["users", "groups", "warnings", "requests", "events"].contains(current) {
            model["live"] = "/connections/\(connection.id.urlComponent)/live?after=\(try await service.latestEventSequence())"
        }
        return (connection, model)
    }

    /// Server-Sent Events for the live pages: one `change` event per change-feed event of the
    /// connection (all connections for `connection` nil) after the query's `after`, and a comment
    /// every 20 seconds so proxies keep the connection and a browser that left is noticed.
    func liveStream(connection reference: String?, _ visit: Visit) async throws -> DashboardResponse {
        var after = visit.request.query["after"].flatMap(Int.init)
        if after == nil { after = try await service.latestEventSequence() }
        let (connectionId, start) = try await service.prepareSubscription(EventSelection(after: after, connection: reference))
        let service = self.service
        return DashboardResponse(
            status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")], body: [],
            stream: { write in
                try await write("retry: 3000\n\n")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await service.streamEvents(
                            connectionId: connectionId, types: nil, after: start,
                            send: { event in
                                try await write("event: change\nid: \(event.sequence)\ndata: {\"sequence\":\(event.sequence),\"type\":\(JSONSerializer.string(.string(event.type)))}\n\n")
                            },
                            dropped: { _ in try await write("event: change\ndata: {}\n\n") })
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: .seconds(20))
                            try await write(": keep-alive\n\n")
                        }
                    }
                    // Either ends only by failing (the browser left) or by cancellation (shutdown).
                    _ = try await group.next()
                    group.cancelAll()
                }
            })
    }

    // MARK: - Users and groups

    func usersPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let query = visit.request.query
        var (connection, model) = try await connectionPage(reference, current: "users", visit: visit)
        let q = query.nonBlank("q")
        let status = query["status"] ?? "all"
        let result = try await service.listUsers(
            UsersList.Params(
                connection: connection.id, search: q, withWarnings: status == "warnings" ? true : nil, active: status == "active" ? true : status == "inactive" ? false : nil,
                limit: configuration.pageSize, cursor: query.nonBlank("cursor")))
        let base = "/connections/\(connection.id.urlComponent)"
        let rows: [[String: Any]] = result.users.map { u in
            [
                "href": "\(base)/users/\(u.id.urlComponent)", "userName": u.userName, "displayName": u.displayName ?? "",
                "externalId": u.externalId ?? "", "active": u.active, "warningCount": u.warningCount, "hasWarnings": u.warningCount > 0,
                "updatedAt": u.updatedAt,
            ]
        }
        model["rows"] = rows
        model["hasRows"] = !rows.isEmpty
        model["q"] = q ?? ""
        model["statuses"] = [("all", "All"), ("active", "Active"), ("inactive", "Inactive"), ("warnings", "With warnings")].map {
            ["value": $0.0, "label": $0.1, "selected": $0.0 == status] as [String: Any]
        }
        if let next = result.nextCursor {
            model["nextHref"] = "\(base)/users?q=\((q ?? "").urlComponent)&status=\(status.urlComponent)&cursor=\(next.urlComponent)"
        }
        return render("users", model)
    }

    func groupsPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let query = visit.request.query
        var (connection, model) = try await connectionPage(reference, current: "groups", visit: visit)
        let q = query.nonBlank("q")
        let result = try await service.listGroups(
            GroupsList.Params(
                connection: connection.id, search: q, limit: configuration.pageSize, cursor: query.nonBlank("cursor")))
        let base = "/connections/\(connection.id.urlComponent)"
        let rows: [[String: Any]] = result.groups.map { g in
            [
                "href": "\(base)/groups/\(g.id.urlComponent)", "displayName": g.displayName, "externalId": g.externalId ?? "",
                "memberCount": g.memberCount, "warningCount": g.warningCount, "updatedAt": g.updatedAt,
            ]
        }
        model["rows"] = rows
        model["hasRows"] = !rows.isEmpty
        model["q"] = q ?? ""
        if let next = result.nextCursor { model["nextHref"] = "\(base)/groups?q=\((q ?? "").urlComponent)&cursor=\(next.urlComponent)" }
        return render("groups", model)
    }

    // MARK: - Users with warnings

    func warningsPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let query = visit.request.query
        var (connection, model) = try await connectionPage(reference, current: "warnings", visit: visit)
        let base = "/connections/\(connection.id.urlComponent)"
        let property = query.nonBlank("property")
        let summary = try await service.warningsSummary(connection.id).first
        let byProperty: [[String: Any]] = (summary?.byProperty ?? []).map { p in
            ["resourceType": p.resourceType, "property": p.property, "count": p.count, "href": "\(base)/warnings?property=\(p.property.urlComponent)"]
        }
        model["byProperty"] = byProperty
        model["hasByProperty"] = !byProperty.isEmpty
        if let property {
            model["property"] = property
            model["allHref"] = "\(base)/warnings"
            model["mappingHref"] = "\(base)/mapping"
        }
        let result = try await service.listWarnings(
            WarningsList.Params(connection: connection.id, property: property, limit: configuration.pageSize, cursor: query.nonBlank("cursor")))
        let resources: [[String: Any]] = result.resources.map { r in
            let href = "\(base)/\(r.resourceType == "Group" ? "groups" : "users")/\(r.id.urlComponent)"
            return [
                "warnings": r.warnings.map { w -> [String: Any] in
                    var row: [String: Any] = [
                        "href": href, "name": r.name, "resourceType": r.resourceType, "property": w.property, "detail": w.detail ?? w.kind,
                    ]
                    if let example = w.exampleRequest {
                        row["exampleHref"] = "\(base)/requests/\(example.id)"
                        row["exampleLabel"] = "\(example.method) \(example.path) → \(example.status)"
                    }
                    return row
                }
            ]
        }
        model["resources"] = resources
        model["hasResources"] = !resources.isEmpty
        if let next = result.nextCursor {
            model["nextHref"] = "\(base)/warnings?property=\((property ?? "").urlComponent)&cursor=\(next.urlComponent)"
        }
        return render("warnings", model)
    }

    // MARK: - One user or group

    func resourcePage(_ reference: String, type: String, id: String, _ visit: Visit) async throws -> DashboardResponse {
        var (connection, model) = try await connectionPage(reference, current: type == "User" ? "users" : "groups", visit: visit)
        let detail =
            type == "User"
            ? try await service.getUser(UsersGet.Params(connection: connection.id, id: id))
            : try await service.getGroup(GroupsGet.Params(connection: connection.id, id: id, membersLimit: 100))
        let base = "/connections/\(connection.id.urlComponent)"
        let traces = try await service.traceMapping(detail, connection: connection.id)
        model["resourceType"] = type
        model["id"] = detail.id
        model["name"] = detail.name
        model["updatedAt"] = detail.updatedAt
        if let version = detail.mappingVersion { model["mappingVersion"] = version }
        if let app = detail.appUserId { model["appUserId"] = app }
        model["traces"] = traces.map { trace -> [String: Any] in
            var row: [String: Any] = [
                "property": trace.property, "usedDefault": trace.usedDefault, "warnIfMissing": trace.warnIfMissing,
                "steps": trace.steps.map { step -> [String: Any] in
                    var s: [String: Any] = ["path": step.path, "matched": step.matched, "skipped": !step.tried]
                    if !step.valuesFound.isEmpty {
                        s["found"] = step.valuesFound.prefix(3).map { JSONSerializer.string($0) }.joined(separator: ", ")
                            + (step.valuesFound.count > 3 ? ", …" : "")
                    }
                    return s
                },
            ]
            if let value = trace.value { row["value"] = JSONSerializer.string(value) }
            if let issue = trace.issue { row["issue"] = issue.detail ?? issue.kind.rawValue }
            return row
        }
        if case .object(let mapped) = detail.mapped, let roles = mapped["roles"] { model["roles"] = JSONSerializer.string(roles) }
        let warnings: [[String: Any]] = detail.warnings.map { w in
            var row: [String: Any] = ["property": w.property, "kind": w.kind, "detail": w.detail ?? "", "firstSeenAt": w.firstSeenAt]
            if let example = w.exampleRequest {
                row["exampleHref"] = "\(base)/requests/\(example.id)"
                row["exampleLabel"] = "\(example.method) \(example.path) → \(example.status)"
            }
            return row
        }
        model["warnings"] = warnings
        model["hasWarnings"] = !warnings.isEmpty
        model["relatedHeading"] = type == "User" ? "Groups" : "Members"
        model["relatedCount"] = detail.relatedCount
        model["related"] = detail.related.map { ref -> [String: Any] in
            var row: [String: Any] = ["name": ref.name ?? ref.id, "inactive": ref.active == false]
            if ref.resourceType == "User" { row["href"] = "\(base)/users/\(ref.id.urlComponent)" }
            if ref.resourceType == "Group" { row["href"] = "\(base)/groups/\(ref.id.urlComponent)" }
            return row
        }
        model["raw"] = (try? JSONParser().parse(detail.raw)).map { JSONSerializer.prettyString($0) } ?? detail.raw
        model["recent"] = detail.recentRequests.map { requestRow($0, base: base) }
        return render("resource", model)
    }

    func requestRow(_ r: RequestSummary, base: String) -> [String: Any] {
        var row: [String: Any] = [
            "href": "\(base)/requests/\(r.id)", "at": r.at, "method": r.method, "path": r.path, "status": r.status,
            "statusClass": r.status / 100, "milliseconds": String(format: "%.1f", Double(r.durationMicroseconds) / 1000),
        ]
        if let error = r.error { row["error"] = error }
        return row
    }

    // MARK: - Requests and events

    func requestsPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let query = visit.request.query
        var (connection, model) = try await connectionPage(reference, current: "requests", visit: visit)
        let base = "/connections/\(connection.id.urlComponent)"
        let status = query.nonBlank("status"), method = query.nonBlank("method"), resourceType = query.nonBlank("resourceType")
        let from = query.nonBlank("from"), until = query.nonBlank("until")
        let result = try await service.listRequests(
            RequestsList.Params(
                connection: connection.id, status: status, since: from.map(Self.utcTime), until: until.map(Self.utcTime), method: method,
                resourceType: resourceType, limit: configuration.pageSize, cursor: query.nonBlank("cursor")))
        let rows = result.requests.map { requestRow($0, base: base) }
        model["rows"] = rows
        model["hasRows"] = !rows.isEmpty
        func options(_ values: [(String, String)], _ selected: String?) -> [[String: Any]] {
            values.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == (selected ?? "")] }
        }
        model["statuses"] = options([("", "Any"), ("2xx", "2xx"), ("4xx", "4xx"), ("5xx", "5xx")], status)
        model["methods"] = options([("", "Any")] + ["GET", "POST", "PUT", "PATCH", "DELETE"].map { ($0, $0) }, method?.uppercased())
        model["resourceTypes"] = options([("", "Any"), ("User", "Users"), ("Group", "Groups")], resourceType)
        model["from"] = from ?? ""
        model["until"] = until ?? ""
        if let next = result.nextCursor {
            let filters = [("status", status), ("method", method), ("resourceType", resourceType), ("from", from), ("until", until)]
                .compactMap { name, value in value.map { "\(name)=\($0.urlComponent)" } }
            model["nextHref"] = "\(base)/requests?" + (filters + ["cursor=\(next.urlComponent)"]).joined(separator: "&")
        }
        if let notice = visit.flash { model["notice"] = notice }
        return render("requests", model)
    }

    /// A time from the filter form as RFC 3339: a browser's `datetime-local` value
    /// (`2026-11-30T14:05`, no zone) is taken as UTC, as the page shows times; anything else is
    /// passed on for the service to accept or refuse.
    static func utcTime(_ text: String) -> String {
        let localForm = text.count == 16 && text.dropFirst(10).first == "T"
        return localForm ? text + ":00Z" : text
    }

    /// Header names whose values are never shown: credentials.
    static let secretHeaders: Set<String> = ["authorization", "cookie", "proxy-authorization", "x-api-key"]

    func requestPage(_ reference: String, _ number: String, _ visit: Visit) async throws -> DashboardResponse {
        var (connection, model) = try await connectionPage(reference, current: "requests", visit: visit)
        guard let id = Int(number) else { throw RPCError.notFound("there is no request \(number)") }
        let detail = try await service.getRequest(id)
        // A request id is global: one of another connection is not shown under this one.
        guard detail.summary.connection == connection.id || detail.summary.connection == connection.name else {
            throw RPCError.notFound("request \(id) does not belong to connection '\(connection.name)'")
        }
        let base = "/connections/\(connection.id.urlComponent)"
        for (key, value) in requestRow(detail.summary, base: base) { model[key] = value }
        model["id"] = id
        if let type = detail.summary.resourceType, let rid = detail.summary.resourceId {
            model["resourceHref"] = "\(base)/\(type == "Group" ? "groups" : "users")/\(rid.urlComponent)"
        }
        if let requestId = detail.requestId { model["requestId"] = requestId }
        model["canEdit"] = visit.canEdit
        model["replayAction"] = "\(base)/requests/\(id)/replay"
        model["headers"] = detail.requestHeaders.sorted { $0.key < $1.key }.map { name, value -> [String: Any] in
            ["name": name, "value": Self.secretHeaders.contains(name.lowercased()) ? "[redacted]" : value]
        }
        func pretty(_ body: String?) -> String? {
            guard let body, !body.isEmpty else { return nil }
            return (try? JSONParser().parse(body)).map { JSONSerializer.prettyString($0) } ?? body
        }
        if let body = pretty(detail.requestBody) { model["requestBody"] = body }
        if let body = pretty(detail.responseBody) { model["responseBody"] = body }
        return render("request", model)
    }

    func eventsPage(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let query = visit.request.query
        var (connection, model) = try await connectionPage(reference, current: "events", visit: visit)
        let base = "/connections/\(connection.id.urlComponent)"
        let after = query.nonBlank("after").flatMap(Int.init)
        let result = try await service.listEvents(EventsList.Params(after: after, connection: connection.id, limit: configuration.pageSize))
        let rows: [[String: Any]] = result.events.map { e in
            var row: [String: Any] = ["sequence": e.sequence, "at": e.at, "type": e.type, "data": JSONSerializer.string(e.data)]
            if let type = e.resourceType, let id = e.resourceId {
                row["resource"] = "\(type) \(id)"
                row["href"] = "\(base)/\(type == "Group" ? "groups" : "users")/\(id.urlComponent)"
            }
            return row
        }
        model["rows"] = rows
        model["hasRows"] = !rows.isEmpty
        if rows.count == configuration.pageSize, let last = result.events.last { model["nextHref"] = "\(base)/events?after=\(last.sequence)" }
        return render("events", model)
    }

    // MARK: - Settings

    func settingsPage(_ reference: String, _ visit: Visit, newToken: String? = nil) async throws -> DashboardResponse {
        var (connection, model) = try await connectionPage(reference, current: "settings", visit: visit)
        if let newToken { model["newToken"] = newToken }
        model["rotateAction"] = "/connections/\(connection.id.urlComponent)/settings/rotate-token"
        model["overlaps"] = Self.overlapChoices.map { ["seconds": $0.seconds, "label": $0.label, "selected": $0.seconds == 86_400] as [String: Any] }
        model["sso"] = connection.sso.kind + (connection.sso.claim.map { " (claim \($0) = property \(connection.sso.property ?? "?"))" } ?? "")
        model["ssoKinds"] = SSOStrategy.kinds.map { ["value": $0, "selected": $0 == connection.sso.kind] as [String: Any] }
        model["ssoClaim"] = connection.sso.claim ?? ""
        model["ssoProperty"] = connection.sso.property ?? ""
        model["domains"] = connection.domains.isEmpty ? "any" : connection.domains.joined(separator: ", ")
        model["confirmMode"] = connection.confirmMode
        model["commitTimeoutSeconds"] = connection.commitTimeoutSeconds
        model["disabled"] = connection.disabled
        model["toggleDisabled"] = connection.disabled ? "false" : "true"
        if let expires = connection.previousTokenExpiresAt { model["previousTokenExpiresAt"] = expires }
        model["createdAt"] = connection.createdAt
        model["canEdit"] = visit.canEdit
        model["action"] = "/connections/\(connection.id.urlComponent)/settings"
        if let notice = visit.flash { model["notice"] = notice }
        return render("settings", model)
    }

    /// Rotates the bearer token, the old one kept for the chosen overlap; the new token is shown
    /// on this one answer (never stored, never in a URL) for the operator to give the IdP.
    func rotateToken(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        guard let overlap = visit.request.form["overlapSeconds"].flatMap(Int.init), Self.overlapChoices.contains(where: { $0.seconds == overlap }) else {
            throw RPCError.invalidParams("choose how long the current token keeps working", field: "overlapSeconds")
        }
        let rotated = try await service.rotateToken(ConnectionsRotateToken.Params(connection: reference, overlapSeconds: overlap))
        logger.notice(
            "dashboard: bearer token rotated",
            metadata: ["operator": "\(visit.operator.name)", "connection": "\(rotated.connection.name)", "overlapSeconds": "\(overlap)"])
        var response = try await settingsPage(rotated.connection.id, visit, newToken: rotated.token)
        response.status = 200
        return response
    }

    static let overlapChoices: [(seconds: Int, label: String)] = [
        (0, "stops working now"), (3600, "keeps working for 1 hour"), (86_400, "keeps working for 24 hours"), (604_800, "keeps working for 7 days"),
    ]

    /// Replays a logged request through the engine again (as `scimctl replay` does, addressed by
    /// connection rather than token): for an operator who fixed what made it fail. A change that
    /// confirm mode would hold is dropped at once, as on the HTTP listener.
    func replayRequest(_ reference: String, _ number: String, _ visit: Visit) async throws -> DashboardResponse {
        let connection = try await service.getConnection(reference)
        guard let id = Int(number) else { throw RPCError.notFound("there is no request \(number)") }
        let logged = try await service.getRequest(id)
        guard logged.summary.connection == connection.id || logged.summary.connection == connection.name else {
            throw RPCError.notFound("request \(id) does not belong to connection '\(connection.name)'")
        }
        let headers = logged.requestHeaders.filter { !Self.secretHeaders.contains($0.key.lowercased()) }
        var result = await service.handleSCIM(
            SCIMHandle.Params(
                method: logged.summary.method, path: logged.summary.path, headers: headers, body: logged.requestBody, connection: connection.id))
        if let action = result.actionRequired {
            _ = try? await service.rejectSCIM(.init(commitId: action.commitId, reason: "replayed from the dashboard, which cannot confirm changes"))
            result.status = 501
        }
        logger.notice(
            "dashboard: request replayed",
            metadata: ["operator": "\(visit.operator.name)", "connection": "\(connection.name)", "request": "\(id)", "status": "\(result.status)"])
        let notice =
            result.status == 501
            ? "Not replayed: the connection is in confirm mode, and the dashboard cannot confirm a change."
            : "Replayed \(logged.summary.method) \(logged.summary.path): \(result.status)."
        return redirect("/connections/\(connection.id.urlComponent)/requests", flash: notice, visit: visit)
    }

    /// The settings forms: enable/disable (`disabled`), or SSO matching and confirm mode
    /// (`sso`, with `claim` and `property` for `claim_property`; `confirmMode`). The service checks
    /// every value as `connections.update` does; its refusal is shown as the page's problem.
    func changeSettings(_ reference: String, _ visit: Visit) async throws -> DashboardResponse {
        let form = visit.request.form
        var params = ConnectionsUpdate.Params(connection: reference)
        let notice: String
        if let disabled = form["disabled"] {
            guard let value = Bool(disabled) else { throw RPCError.invalidParams("disabled must be true or false", field: "disabled") }
            params.disabled = value
            notice = value ? "Disabled: the IdP's token is now refused." : "Enabled: the IdP can provision again."
        } else if let kind = form.nonBlank("sso") {
            params.sso = SSOStrategy(
                kind: kind, claim: kind == "claim_property" ? form.nonBlank("claim") : nil,
                property: kind == "claim_property" ? form.nonBlank("property") : nil)
            params.confirmMode = form["confirmMode"] == "true"
            notice = "Saved: SSO matching \(kind), confirm mode \(params.confirmMode == true ? "on" : "off")."
        } else {
            throw RPCError.invalidParams("the settings form sent nothing to change", field: "disabled")
        }
        let updated = try await service.updateConnection(params)
        logger.notice(
            "dashboard: connection settings changed", metadata: ["operator": "\(visit.operator.name)", "connection": "\(updated.name)", "change": "\(notice)"])
        return redirect("/connections/\(updated.id.urlComponent)/settings", flash: notice, visit: visit)
    }
}
