import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// Parses the daemon's RFC 3339 timestamps (`2026-01-02T03:04:05.678Z`).
func timestamp(_ text: String?) -> Date? {
    guard let text else { return nil }
    return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}

/// The SCIM status a bearer token gets for `GET /Users` through `scim.handle`.
func status(of token: String, _ daemon: Daemon) async throws -> Int {
    try await daemon.client { try await $0.handleSCIM(method: "GET", path: "/Users", headers: ["Authorization": "Bearer \(token)"]) }.status
}

/// Polls `condition` until it holds or `timeout` passes; true when it held.
func eventually(timeout: TimeInterval, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// The error kind (`not_found`, `conflict`, …) a call fails with, or nil when it succeeds.
func errorKind(_ body: () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.kind
    } catch {
        return "\(error)"
    }
}

/// Connection administration through the real daemon: what each change does to the IdP's token,
/// and that it is still so after a restart.
@Suite(.serialized) struct ConnectionLifecycleEndToEndTests {
    static let userBody = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"rot@example.com"}"#

    @Test func tokenRotationKeepsTheOldTokenForTheOverlapOnlyAcrossARestart() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let t0 = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        #expect(try await status(of: t0, daemon) == 200)

        // A long overlap: both tokens work, and the previous one's end is announced.
        let rotatedAt = Date()
        let first = try await daemon.client { try await $0.rotateToken("Acme", overlapSeconds: 3600) }
        let t1 = first.token
        #expect(t1 != t0)
        #expect(try await status(of: t0, daemon) == 200, "the old token works during the overlap")
        #expect(try await status(of: t1, daemon) == 200)
        let announced = try #require(timestamp(first.connection.previousTokenExpiresAt))
        #expect(abs(announced.timeIntervalSince(rotatedAt) - 3600) < 60, "\(first.connection.previousTokenExpiresAt ?? "nil")")

        // The overlap is stored, not just remembered.
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await status(of: t0, daemon) == 200, "the overlap survives a restart")
        #expect(try await status(of: t1, daemon) == 200)
        #expect(try await daemon.client { try await $0.connection("Acme") }.previousTokenExpiresAt == first.connection.previousTokenExpiresAt)

        // A second rotation with a one-second overlap: only the token it replaces is kept, and
        // only until the overlap ends.
        let second = try await daemon.client { try await $0.rotateToken("Acme", overlapSeconds: 1) }
        let t2 = second.token
        let ends = try #require(timestamp(second.connection.previousTokenExpiresAt))
        #expect(try await status(of: t0, daemon) == 401, "a token two rotations old is refused")
        #expect(try await status(of: t2, daemon) == 200)
        var refusedAt: Date? = nil
        let refused = try await eventually(timeout: 10) {
            let s = try await status(of: t1, daemon)
            if s == 401 { refusedAt = Date() }
            return s == 401
        }
        #expect(refused, "the previous token is refused once its overlap ended")
        // Millisecond timestamps: allow for the rounding of `ends`.
        #expect((refusedAt ?? .distantPast) >= ends.addingTimeInterval(-0.002), "refused before the overlap ended")
        #expect(try await status(of: t2, daemon) == 200)

        // No overlap (a leaked token): the old one stops at once.
        let third = try await daemon.client { try await $0.rotateToken("Acme") }
        #expect(third.connection.previousTokenExpiresAt == nil)
        #expect(try await status(of: t2, daemon) == 401)
        #expect(try await status(of: third.token, daemon) == 200)
        #expect(
            await errorKind { _ = try await daemon.client { try await $0.rotateToken("Acme", overlapSeconds: -1) } } == "invalid_params")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await status(of: t1, daemon) == 401)
        #expect(try await status(of: t2, daemon) == 401)
        #expect(try await status(of: third.token, daemon) == 200)
    }

    @Test func disableAnswers403AndDeleteRemovesEverythingForGood() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let acme = try await daemon.client { try await $0.createConnection(name: "Acme") }
        let other = try await daemon.client { try await $0.createConnection(name: "Other") }
        let created = try await daemon.client {
            try await $0.handleSCIM(method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(acme.token)"], body: Self.userBody)
        }
        #expect(created.status == 201)

        let disabled = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", disabled: true)) }
        #expect(disabled.disabled)
        #expect(try await status(of: acme.token, daemon) == 403)
        let write = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: ["Authorization": "Bearer \(acme.token)"],
                body: #"{"userName":"refused@example.com"}"#)
        }
        #expect(write.status == 403)
        #expect(try await status(of: other.token, daemon) == 200, "other connections are unaffected")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await status(of: acme.token, daemon) == 403, "disabled stays disabled after a restart")
        #expect(try await daemon.client { try await $0.connection("Acme") }.users == 1, "the refused write changed nothing")
        _ = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", disabled: false)) }
        #expect(try await status(of: acme.token, daemon) == 200)

        let deleted = try await daemon.client { try await $0.deleteConnection("Acme") }
        #expect(deleted.deleted)
        #expect(deleted.users == 1)
        #expect(try await status(of: acme.token, daemon) == 401)
        #expect(await errorKind { _ = try await daemon.client { try await $0.connection("Acme") } } == "not_found")
        #expect(await errorKind { _ = try await daemon.client { try await $0.deleteConnection("Acme") } } == "not_found")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await status(of: acme.token, daemon) == 401, "a deleted connection's token never comes back")
        #expect(try await daemon.client { try await $0.listConnections() }.map(\.name) == ["Other"])
        // The name is free again, with a new token.
        let again = try await daemon.client { try await $0.createConnection(name: "Acme") }
        #expect(again.connection.id != acme.connection.id)
        #expect(again.connection.users == 0)
    }

    @Test func linkUnlinkAndMappingRollbackSurviveARestart() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        let created = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: auth,
                body: #"{"userName":"ada@example.com","nickName":"Countess","emails":[{"value":"ada@example.com","primary":true}]}"#)
        }
        let id = try #require(try JSONParser().parse(created.body ?? "{}")["id"]?.stringValue)

        // users.link, then users.unlink: sso.resolve reports the link, then its absence.
        let linked = try await daemon.client { try await $0.linkUser("Acme", user: "ada@example.com", appUserId: "app-1") }
        #expect(linked.id == id)
        #expect(linked.appUserId == "app-1")
        let resolve = SSOResolve.Params(connection: "Acme", claims: ["email": "ada@example.com"])
        #expect(try await daemon.client { try await $0.resolveSSO(resolve) }.user?.appUserId == "app-1")
        let unlinked = try await daemon.client { try await $0.unlinkUser("Acme", user: id) }
        #expect(unlinked.id == id)
        #expect(unlinked.appUserId == nil)
        #expect(await errorKind { _ = try await daemon.client { try await $0.unlinkUser("Acme", user: "ghost") } } == "not_found")

        // mapping.set adds a property (version 2); mapping.rollback to 1 saves version 3 without it.
        let v1 = try await daemon.client { try await $0.mapping("Acme") }
        #expect(v1.version == 1)
        let properties = (v1.users["properties"]?.arrayValue ?? []) + [["name": "nick", "type": "string", "path": "nickName"]]
        let v2 = try await daemon.client { try await $0.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)])) }
        #expect(v2.mapping.version == 2)
        #expect(try await daemon.client { try await $0.user("Acme", id) }.mapped["nick"] == "Countess")
        let v3 = try await daemon.client { try await $0.rollbackMapping("Acme", to: 1) }
        #expect(v3.mapping.version == 3)
        #expect(v3.mapping.users == v1.users)
        #expect(await errorKind { _ = try await daemon.client { try await $0.rollbackMapping("Acme", to: 42) } } == "not_found")

        #expect(daemon.stop() == 0)
        try daemon.start()
        let user = try await daemon.client { try await $0.user("Acme", id) }
        #expect(user.appUserId == nil, "the unlink is stored")
        #expect(user.mappingVersion == 3)
        #expect(user.mapped["nick"] == nil, "the rollback re-mapped the user")
        #expect(user.mapped["userName"] == "ada@example.com")
        #expect(try await daemon.client { try await $0.mapping("Acme") }.version == 3)
        #expect(try await daemon.client { try await $0.mappingHistory("Acme") }.map(\.version).sorted() == [1, 2, 3])
        #expect(try await daemon.client { try await $0.resolveSSO(resolve) }.user?.appUserId == nil)
    }

    @Test func ssoVerdictsThroughTheDaemon() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        var ids: [String: String] = [:]
        for (name, active) in [("ada", true), ("bob", false), ("carol", true)] {
            let r = try await daemon.client {
                try await $0.handleSCIM(
                    method: "POST", path: "/Users", headers: auth,
                    body: #"{"userName":"\#(name)@example.com","active":\#(active),"emails":[{"value":"\#(name)@example.com","primary":true}]}"#)
            }
            #expect(r.status == 201)
            ids[name] = try JSONParser().parse(r.body ?? "{}")["id"]?.stringValue
        }
        let carol = try #require(ids["carol"])
        #expect(try await daemon.client { try await $0.handleSCIM(method: "DELETE", path: "/Users/\(carol)", headers: auth) }.status == 204)

        func verdict(_ claims: [String: JSONValue]) async throws -> SSOResolve.Result {
            try await daemon.client { try await $0.resolveSSO(.init(connection: "Acme", claims: claims)) }
        }
        let ada = try await verdict(["email": "ADA@example.com"])
        #expect(ada.verdict == "allow")
        #expect(ada.user?.id == ids["ada"])
        let bob = try await verdict(["email": "bob@example.com"])
        #expect(bob.verdict == "deny_deprovisioned", "inactive")
        #expect(bob.user?.id == ids["bob"])
        let deleted = try await verdict(["email": "carol@example.com"])
        #expect(deleted.verdict == "deny_deprovisioned", "deleted: its tombstone says so")
        #expect(deleted.user == nil)
        #expect(try await verdict(["email": "mallory@example.com"]).verdict == "deny_not_provisioned")

        // Matching a claim against the mapped email: a second user with Ada's email makes it ambiguous.
        _ = try await daemon.client {
            try await $0.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "claim_property", claim: "upn", property: "email")))
        }
        #expect(try await verdict(["upn": "ada@example.com"]).verdict == "allow")
        let alias = try await daemon.client {
            try await $0.handleSCIM(
                method: "POST", path: "/Users", headers: auth,
                body: #"{"userName":"ada-alias","emails":[{"value":"ada@example.com","primary":true}]}"#)
        }
        let aliasId = try #require(try JSONParser().parse(alias.body ?? "{}")["id"]?.stringValue)
        let ambiguous = try await verdict(["upn": "ada@example.com"])
        #expect(ambiguous.verdict == "ambiguous")
        #expect(Set(ambiguous.candidates ?? []) == Set([ids["ada"], aliasId].compactMap { $0 }))
        #expect(ambiguous.user == nil)

        // The strategy and the tombstone are stored: the same verdicts after a restart.
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await verdict(["upn": "ada@example.com"]).verdict == "ambiguous")
        _ = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "email_userName"))) }
        #expect(try await verdict(["email": "carol@example.com"]).verdict == "deny_deprovisioned")
    }
}

/// Confirm mode through the real daemon: held changes are applied by `scim.commit`, refused by
/// `scim.reject`, and dropped once they expire.
@Suite(.serialized) struct ConfirmModeEndToEndTests {
    static let patchOp = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":"#

    @Test func heldChangesAreCommittedOrRejected() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        _ = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", confirmMode: true)) }

        // A create is held: 202, nothing applied, until scim.commit (which links the app user).
        let held = try await daemon.client {
            try await $0.handleSCIM(method: "POST", path: "/Users", headers: auth, body: #"{"userName":"new@example.com"}"#)
        }
        #expect(held.status == 202)
        #expect(held.body == nil)
        let link = try #require(held.actionRequired)
        #expect(link.action == "link")
        #expect(link.user["userName"] == "new@example.com")
        #expect(try await daemon.client { try await $0.connection("Acme") }.users == 0, "nothing applied before the commit")
        let committed = try await daemon.client { try await $0.commitSCIM(link.commitId, appUserId: "app-7") }
        #expect(committed.status == 201)
        let id = try #require(try JSONParser().parse(committed.body ?? "{}")["id"]?.stringValue)
        #expect(link.user["id"]?.stringValue == id, "the id the preview announced")
        #expect(try await daemon.client { try await $0.user("Acme", id) }.appUserId == "app-7")
        #expect(await errorKind { _ = try await daemon.client { try await $0.commitSCIM(link.commitId) } } == "not_found", "a commit applies once")

        // A deactivation is held and rejected: the IdP gets a 400 with the reason; nothing changes.
        let off = try await daemon.client {
            try await $0.handleSCIM(
                method: "PATCH", path: "/Users/\(id)", headers: auth, body: Self.patchOp + #"[{"op":"replace","path":"active","value":false}]}"#)
        }
        #expect(off.status == 202)
        let disable = try #require(off.actionRequired)
        #expect(disable.action == "disable")
        let rejected = try await daemon.client { try await $0.rejectSCIM(disable.commitId, reason: "user has open invoices") }
        #expect(rejected.status == 400)
        #expect(rejected.body?.contains("open invoices") == true)
        #expect(await errorKind { _ = try await daemon.client { try await $0.commitSCIM(disable.commitId) } } == "not_found", "a rejected change cannot be committed")
        #expect(await errorKind { _ = try await daemon.client { try await $0.rejectSCIM(disable.commitId, reason: "again") } } == "not_found")
        let still = try await daemon.client { try await $0.handleSCIM(method: "GET", path: "/Users/\(id)", headers: auth) }
        #expect(try JSONParser().parse(still.body ?? "{}")["active"] != .bool(false), "the rejected change was not applied")

        // A delete survives a restart while held, and is applied by its commit after it.
        let delete = try await daemon.client { try await $0.handleSCIM(method: "DELETE", path: "/Users/\(id)", headers: auth) }
        #expect(delete.status == 202)
        let remove = try #require(delete.actionRequired)
        #expect(remove.action == "delete")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try await daemon.client { try await $0.handleSCIM(method: "GET", path: "/Users/\(id)", headers: auth) }.status == 200)
        let done = try await daemon.client { try await $0.commitSCIM(remove.commitId) }
        #expect(done.status == 204)
        #expect(try await daemon.client { try await $0.handleSCIM(method: "GET", path: "/Users/\(id)", headers: auth) }.status == 404)
        #expect(await errorKind { _ = try await daemon.client { try await $0.rejectSCIM("nope", reason: "x") } } == "not_found")
        #expect(await errorKind { _ = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", commitTimeoutSeconds: 9)) } } == "invalid_params")
    }

    /// The smallest allowed timeout (10 s) is the only wait: the test holds a change, waits for
    /// the expiry the daemon announced, and checks the commit is refused and nothing applied.
    @Test func anUnconfirmedChangeExpires() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Acme") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        let info = try await daemon.client { try await $0.updateConnection(.init(connection: "Acme", confirmMode: true, commitTimeoutSeconds: 10)) }
        #expect(info.commitTimeoutSeconds == 10)
        let heldAt = Date()
        let held = try await daemon.client {
            try await $0.handleSCIM(method: "POST", path: "/Users", headers: auth, body: #"{"userName":"late@example.com"}"#)
        }
        let action = try #require(held.actionRequired)
        let expiresAt = try #require(timestamp(action.expiresAt))
        #expect(abs(expiresAt.timeIntervalSince(heldAt) - 10) < 5, "\(action.expiresAt)")
        // Until the announced moment, then a little for the millisecond rounding.
        let wait = expiresAt.timeIntervalSinceNow + 0.05
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        #expect(await errorKind { _ = try await daemon.client { try await $0.commitSCIM(action.commitId) } } == "not_found")
        #expect(try await daemon.client { try await $0.connection("Acme") }.users == 0, "the expired change was never applied")
        let lookup = try await daemon.client {
            try await $0.handleSCIM(method: "GET", path: "/Users?filter=userName%20eq%20%22late@example.com%22", headers: auth)
        }
        #expect(try JSONParser().parse(lookup.body ?? "{}")["totalResults"] == 0)
    }
}
