import Foundation
import SCIMDProtocol
import SCIMDStore
import SCIMJSON

/// SSO and SCIM together: which provisioned user a login is, and the link to the application's users.
extension SCIMDService {
    /// `sso.resolve`. Throws `not_found` (no such connection), `invalid_params` (neither connection
    /// nor customerId, or both naming different customers), `conflict` (customerId shared by
    /// several connections). Everything about the claims is a verdict with a
    /// ``SSOResolve/Result/reason``.
    public func resolveSSO(_ params: SSOResolve.Params) async throws -> SSOResolve.Result {
        let connection: ConnectionRecord
        if let reference = params.connection {
            connection = try self.connection(named: reference)
            // Both given: they must agree. Ignoring customerId would resolve a login of one
            // customer against another customer's users when the caller mixed them up.
            if let customerId = params.customerId, connection.customerId != customerId {
                throw RPCError.invalidParams(
                    "connection '\(reference)' is customerId '\(connection.customerId ?? "")', not '\(customerId)'; give one of them",
                    field: "customerId")
            }
        } else if let customerId = params.customerId {
            let matches = connections.values.filter { $0.customerId == customerId }
            guard let first = matches.first else { throw RPCError.notFound("no connection has customerId '\(customerId)'") }
            guard matches.count == 1 else {
                throw RPCError.conflict("\(matches.count) connections have customerId '\(customerId)'; name the connection instead")
            }
            connection = first
        } else {
            throw RPCError.invalidParams("give connection or customerId", field: "connection")
        }
        let settings = ConnectionSettings(connection)
        let strategy = settings.ssoStrategy
        let claimName: String
        switch strategy.kind {
        case "sub_userName", "sub_externalId": claimName = "sub"
        case "email_userName", "email_localpart_userName": claimName = "email"
        case "preferred_username_userName": claimName = "preferred_username"
        default: claimName = strategy.claim ?? ""
        }
        // A login that cannot match is a verdict with a reason, not an error: an application's
        // login path handles one shape.
        func deny(_ reason: String, lookedUp: String) -> SSOResolve.Result {
            .init(
                verdict: "deny_not_provisioned", connection: connection.id, strategy: strategy, lookedUp: lookedUp, user: nil,
                candidates: nil, reason: reason)
        }
        guard let claim = params.claims[claimName], let value = claim.stringValue ?? claim.intValue.map(String.init),
            !value.trimmingCharacters(in: .whitespaces).isEmpty
        else {
            return deny("claim_missing", lookedUp: "")
        }
        // With the customer's domains set, an email-shaped claim from any other domain is refused
        // before any lookup: `mhopper@evil.example.net` is not the customer's `mhopper`.
        let domains = settings.domains ?? []
        let readsEmail: Bool
        switch strategy.kind {
        case "email_userName", "email_localpart_userName": readsEmail = true
        case "claim_property": readsEmail = claimName.lowercased() == "email"
        case "preferred_username_userName": readsEmail = value.contains("@")  // Entra's UPN is email-shaped
        default: readsEmail = false
        }
        if readsEmail && !domains.isEmpty {
            guard let domain = EmailDomains.domain(ofEmail: value) else { return deny("invalid_claim", lookedUp: value) }
            guard domains.contains(domain) else { return deny("domain_not_allowed", lookedUp: value) }
        }
        var lookedUp = value
        if strategy.kind == "email_localpart_userName" {
            guard let at = value.lastIndex(of: "@"), at != value.startIndex else { return deny("invalid_claim", lookedUp: value) }
            lookedUp = String(value[..<at])
        }
        let connectionId = connection.id
        let key = lookedUp
        // Live users and deleted users' keys come from memory.
        let live: [ResourceRecord]
        var tombstone: (key: TombstoneKey, value: String)? = nil
        switch strategy.kind {
        case "sub_externalId":
            live = try await store.withResources(connectionId) { $0.users.resources(externalId: key).map(\.record) }
            tombstone = (.externalId, key)
        case "claim_property":
            // Not indexed: a scan of the connection's mapped values, off the event loop. A string
            // value equal ignoring ASCII case matches (what SQL's `COLLATE NOCASE` compared).
            let property = strategy.property ?? ""
            let resources = try await store.resources(connectionId)
            live = try await ReplicaScans.run {
                var found: [ResourceRecord] = []
                resources.users.forEach { resource in
                    if let mapped = resource.record.mapped, case .object(let values)? = try? JSONParser().parse(mapped),
                        let text = values[property]?.stringValue, text.lowercasedASCII == key.lowercasedASCII
                    {
                        found.append(resource.record)
                    }
                    return true
                }
                return found
            }
        default:
            let folded = foldedKey(key)
            live = try await store.withResources(connectionId) { $0.users.resource(nameKey: folded).map { [$0.record] } ?? [] }
            tombstone = (.nameKey, folded)
        }
        var deleted = false
        if live.isEmpty, let tombstone {
            deleted = try await store.withResources(connectionId) { $0.deletedUsers.contains(tombstone.key, tombstone.value) }
        }
        if live.count > 1 {
            return .init(
                verdict: "ambiguous", connection: connectionId, strategy: strategy, lookedUp: lookedUp, user: nil,
                candidates: live.map(\.id), reason: "ambiguous")
        }
        guard let record = live.first else {
            return .init(
                verdict: deleted ? "deny_deprovisioned" : "deny_not_provisioned", connection: connectionId, strategy: strategy,
                lookedUp: lookedUp, user: nil, candidates: nil, reason: deleted ? "deprovisioned" : "not_provisioned")
        }
        let user = try await ssoUser(record)
        // A disabled connection fails closed: its IdP's SCIM calls are refused, so a user the
        // customer deactivated since would still read active here. The user is still named, so
        // the application can say why.
        let reason = !user.active ? "inactive" : connection.disabled ? "connection_disabled" : nil
        return .init(
            verdict: reason == nil ? "allow" : "deny_deprovisioned", connection: connectionId, strategy: strategy, lookedUp: lookedUp,
            user: user, candidates: nil, reason: reason)
    }

    private func ssoUser(_ record: ResourceRecord) async throws -> SSOUser {
        let groups = try await store.withResources(record.connectionId) { $0.memberOf(userId: record.id) }
        let mapped = record.mapped.flatMap { try? JSONParser().parse($0) } ?? .object([:])
        return SSOUser(
            id: record.id, userName: Self.displayName(record), active: record.active ?? true, mapped: mapped,
            groups: groups.map { ResourceRef(id: $0.id, resourceType: "Group", name: $0.displayName, active: nil) },
            roles: mapped["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [], appUserId: record.appUserId)
    }

    /// `users.link`. Throws `not_found`, `conflict`, `invalid_params`.
    public func linkUser(_ params: UsersLink.Params) async throws -> LinkResult {
        let appUserId = params.appUserId.trimmingCharacters(in: .whitespaces)
        guard !appUserId.isEmpty else { throw RPCError.invalidParams("appUserId must not be empty", field: "appUserId") }
        return try await setLink(connection: params.connection, user: params.id, appUserId: appUserId)
    }

    /// `users.unlink`. Throws `not_found`.
    public func unlinkUser(_ params: UsersUnlink.Params) async throws -> LinkResult {
        try await setLink(connection: params.connection, user: params.id, appUserId: nil)
    }

    private func setLink(connection reference: String, user: String, appUserId: String?) async throws -> LinkResult {
        let connection = try connection(named: reference)
        let connectionId = connection.id
        let now = clock.now()
        let result = try await store.write { db -> LinkResult? in
            guard
                var record = try db.resource(connectionId: connectionId, type: "User", id: user)
                    ?? db.resource(connectionId: connectionId, type: "User", nameKey: foldedKey(user))
            else { return nil }
            if let appUserId,
                let other = try db.userLinked(toAppUserId: appUserId, connectionId: connectionId, excluding: record.id)
            {
                throw RPCError.conflict("application user \(appUserId) is already linked to SCIM user \(other)")
            }
            guard record.appUserId != appUserId else {
                return LinkResult(id: record.id, userName: Self.displayName(record), appUserId: appUserId)
            }
            record.appUserId = appUserId
            try record.updateRow(db)
            // Like every `user.*` event: the user's version (a link does not change its SCIM data)
            // and mapped properties, so a consumer can update its copy from the event alone.
            var data: JSONObject = [
                "userName": .string(Self.displayName(record)), "version": .string(ETag.string(record.version)),
                "appUserId": appUserId.map(JSONValue.string) ?? .null,
            ]
            if let mapped = record.mapped, let parsed = try? JSONParser().parse(mapped) { data["mapped"] = parsed }
            try EventLog.append(db, at: now, connectionId: connectionId, type: .userUpdated, resourceType: "User", resourceId: record.id, data: data)
            return LinkResult(id: record.id, userName: Self.displayName(record), appUserId: appUserId)
        }
        guard let result else {
            throw RPCError.notFound("no user '\(user)' in connection '\(connection.name)'")
        }
        eventNotifier.notify()
        return result
    }
}
