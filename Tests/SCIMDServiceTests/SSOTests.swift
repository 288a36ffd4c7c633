import Foundation
import GRDB
import SCIMDProtocol
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

@Suite struct SSOTests {
    /// A connection with three users: ada (active), bob (inactive), and a deleted carol.
    func setup(clock: Clock = .system) async throws -> (ServiceFixture, String, [String: String]) {
        let fixture = try ServiceFixture(clock: clock)
        let a = try await fixture.service.createConnection(.init(name: "Acme", customerId: "cus_42"))
        var ids: [String: String] = [:]
        for (name, active, external) in [("Ada@Example.com", true, "ext-ada"), ("bob@example.com", false, "ext-bob"), ("carol@example.com", true, "ext-carol")] {
            let r = await fixture.scim(
                "POST", "/Users", token: a.token,
                body: ["userName": .string(name), "active": .bool(active), "externalId": .string(external),
                       "emails": [["value": .string(name.lowercased()), "primary": true]], "department": "R&D"])
            ids[String(name.lowercased().prefix { $0 != "@" })] = r.body?["id"]?.stringValue
        }
        _ = await fixture.scim("DELETE", "/Users/\(ids["carol"]!)", token: a.token)
        return (fixture, a.token, ids)
    }

    func resolve(_ f: ServiceFixture, _ claims: [String: JSONValue], connection: String? = "Acme", customerId: String? = nil) async throws -> SSOResolve.Result {
        try await f.service.resolveSSO(.init(connection: connection, customerId: customerId, claims: claims))
    }

    @Test func emailToUserNameIsTheDefaultAndIgnoresCase() async throws {
        let (f, _, ids) = try await setup()
        let r = try await resolve(f, ["email": "ADA@example.COM", "sub": "whatever"])
        #expect(r.verdict == "allow")
        #expect(r.strategy.kind == "email_userName")
        #expect(r.user?.id == ids["ada"])
        #expect(r.user?.mapped["email"] == "ada@example.com")
    }

    @Test func verdictsForInactiveDeletedAndUnknownUsers() async throws {
        let (f, _, ids) = try await setup()
        let inactive = try await resolve(f, ["email": "bob@example.com"])
        #expect(inactive.verdict == "deny_deprovisioned")
        #expect(inactive.user?.id == ids["bob"])
        let deleted = try await resolve(f, ["email": "carol@example.com"])
        #expect(deleted.verdict == "deny_deprovisioned")
        #expect(deleted.user == nil)
        let unknown = try await resolve(f, ["email": "mallory@example.com"])
        #expect(unknown.verdict == "deny_not_provisioned")
    }

    /// A disabled connection's IdP can no longer deactivate anyone, so its active users are
    /// denied too, named, with the reason; enabled again, they are allowed.
    @Test func aDisabledConnectionFailsClosed() async throws {
        let (f, _, ids) = try await setup()
        _ = try await f.service.updateConnection(.init(connection: "Acme", disabled: true))
        let ada = try await resolve(f, ["email": "ada@example.com"])
        #expect(ada.verdict == "deny_deprovisioned")
        #expect(ada.reason == "connection_disabled")
        #expect(ada.user?.id == ids["ada"])
        let bob = try await resolve(f, ["email": "bob@example.com"])
        #expect(bob.reason == "inactive", "an inactive user stays inactive")
        #expect(try await resolve(f, ["email": "mallory@example.com"]).verdict == "deny_not_provisioned")
        _ = try await f.service.updateConnection(.init(connection: "Acme", disabled: false))
        #expect(try await resolve(f, ["email": "ada@example.com"]).verdict == "allow")
    }

    @Test(arguments: [
        ("sub_userName", ["sub": JSONValue.string("ada@example.com")]),
        ("sub_externalId", ["sub": .string("ext-ada")]),
        ("email_localpart_userName", ["email": .string("Ada@Example.com@x.example")]),
        ("preferred_username_userName", ["preferred_username": .string("ada@EXAMPLE.com")]),
    ])
    func everyStrategyFindsAda(_ kind: String, _ claims: [String: JSONValue]) async throws {
        let (f, _, ids) = try await setup()
        // The local-part strategy needs the customer's domains.
        let domains = kind == "email_localpart_userName" ? ["x.example"] : nil
        _ = try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: kind), domains: domains))
        // email_localpart_userName: the local part of "Ada@Example.com@x.example" (before the last "@") is Ada's userName.
        let r = try await resolve(f, claims)
        #expect(r.verdict == "allow", "\(kind)")
        #expect(r.user?.id == ids["ada"], "\(kind)")
        #expect(try await f.service.getConnection("Acme").sso.kind == kind)
    }

    @Test func externalIdIsCaseExact() async throws {
        let (f, _, _) = try await setup()
        _ = try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "sub_externalId")))
        #expect(try await resolve(f, ["sub": "EXT-ADA"]).verdict == "deny_not_provisioned")
        #expect(try await resolve(f, ["sub": "ext-carol"]).verdict == "deny_deprovisioned")
    }

    @Test func claimToMappedPropertyAndAmbiguity() async throws {
        let (f, token, _) = try await setup()
        _ = try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "claim_property", claim: "upn", property: "email")))
        #expect(try await resolve(f, ["upn": "ADA@example.com"]).verdict == "allow")
        // Two users whose mapped email is the same: never guess.
        _ = await f.scim("POST", "/Users", token: token, body: ["userName": "ada-alias", "emails": [["value": "ada@example.com", "primary": true]]])
        let r = try await resolve(f, ["upn": "ada@example.com"])
        #expect(r.verdict == "ambiguous")
        #expect(r.candidates?.count == 2)
        #expect(r.user == nil)
    }

    @Test func badRequestsAreClearErrors() async throws {
        let (f, _, _) = try await setup()
        // A missing claim is a verdict with a reason, not an error: one shape for the login path.
        let missing = try await resolve(f, ["sub": "x"])
        #expect(missing.verdict == "deny_not_provisioned")
        #expect(missing.reason == "claim_missing")
        #expect(try await resolve(f, ["email": "  "]).reason == "claim_missing")
        await #expect(throws: RPCError.self) { try await resolve(f, ["email": "a"], connection: nil) }
        await #expect(throws: RPCError.self) { try await resolve(f, ["email": "a"], connection: "nope") }
        await #expect(throws: RPCError.self) {
            try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "guess")))
        }
        // A claim given with a strategy that reads its own would be stored and ignored at every login.
        await #expect(throws: RPCError.self) {
            try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "sub_userName", claim: "x")))
        }
        await #expect(throws: RPCError.self) {
            try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "claim_property", claim: "x", property: "nonexistent")))
        }
        let byCustomer = try await resolve(f, ["email": "ada@example.com"], connection: nil, customerId: "cus_42")
        #expect(byCustomer.verdict == "allow")
        // Both, agreeing: fine; disagreeing: refused rather than one of them silently ignored.
        #expect(try await resolve(f, ["email": "ada@example.com"], connection: "Acme", customerId: "cus_42").verdict == "allow")
        do {
            _ = try await resolve(f, ["email": "ada@example.com"], connection: "Acme", customerId: "cus_other")
            Issue.record("a connection and another customer's id were accepted together")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params" && error.data?.field == "customerId", "\(error.message)")
        }
    }

    @Test func linkAndUnlink() async throws {
        let (f, _, ids) = try await setup()
        let linked = try await f.service.linkUser(.init(connection: "Acme", id: "ada@example.com", appUserId: "app-1"))
        #expect(linked.id == ids["ada"])
        #expect(try await resolve(f, ["email": "ada@example.com"]).user?.appUserId == "app-1")
        #expect(try await f.service.getUser(.init(connection: "Acme", id: ids["ada"]!)).appUserId == "app-1")
        #expect(try await f.service.listUsers(.init(connection: "Acme")).users.first { $0.id == ids["ada"] }?.appUserId == "app-1")
        // Its event carries what every user.* event does: the version and the mapped properties.
        let event = try await f.service.listEvents(.init(types: ["user.updated"])).events.last
        #expect(event?.data["appUserId"] == "app-1")
        #expect(event?.data["version"]?.stringValue?.hasPrefix("W/") == true, "\(event?.data ?? [:])")
        #expect(event?.data["mapped"]?.objectValue != nil, "\(event?.data ?? [:])")
        do {
            _ = try await f.service.linkUser(.init(connection: "Acme", id: "bob@example.com", appUserId: "app-1"))
            Issue.record("one app user linked twice")
        } catch let error as RPCError {
            #expect(error.kind == "conflict")
        }
        _ = try await f.service.unlinkUser(.init(connection: "Acme", id: ids["ada"]!))
        #expect(try await resolve(f, ["email": "ada@example.com"]).user?.appUserId == nil)
        await #expect(throws: RPCError.self) { try await f.service.linkUser(.init(connection: "Acme", id: "ghost", appUserId: "x")) }
        await #expect(throws: RPCError.self) { try await f.service.linkUser(.init(connection: "Acme", id: "ada@example.com", appUserId: " ")) }
    }
}

@Suite struct ConfirmModeTests {
    func confirmConnection(_ f: ServiceFixture, timeout: Int? = nil) async throws -> String {
        let a = try await f.connection()
        _ = try await f.service.updateConnection(.init(connection: "Acme", confirmMode: true, commitTimeoutSeconds: timeout))
        return a.token
    }

    @Test func createIsHeldUntilCommittedWithTheAnnouncedId() async throws {
        let f = try ServiceFixture()
        let token = try await confirmConnection(f)
        let held = await f.scim("POST", "/Users", token: token, body: ["userName": "new@example.com"])
        #expect(held.status == 202)
        #expect(held.result.body == nil)
        let action = try #require(held.result.actionRequired)
        #expect(action.action == "link")
        #expect(action.user["userName"] == "new@example.com")
        #expect(try await f.service.getConnection("Acme").users == 0, "nothing applied yet")
        let committed = try await f.service.commitSCIM(.init(commitId: action.commitId, appUserId: "app-7"))
        #expect(committed.status == 201)
        // The commit answers under the request id the held request was given.
        let requestId = try #require(held.result.headers["X-Request-Id"])
        #expect(committed.headers["X-Request-Id"] == requestId)
        let logged = try await f.service.listRequests(.init(connection: "Acme", method: "POST"))
        #expect(Set(logged.requests.map(\.status)) == [202, 201])
        for summary in logged.requests {
            #expect(try await f.service.getRequest(summary.id).requestId == requestId)
        }
        let body = try JSONParser().parse(committed.body ?? "")
        #expect(body["id"] == action.user["id"])
        #expect(committed.changes.map(\.change) == ["created"])
        let resolved = try await f.service.resolveSSO(.init(connection: "Acme", claims: ["email": "new@example.com"]))
        #expect(resolved.user?.appUserId == "app-7")
        await #expect(throws: RPCError.self) { try await f.service.commitSCIM(.init(commitId: action.commitId)) }
    }

    @Test func deactivationAndDeletionAreHeldAndRejectable() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let created = await f.scim("POST", "/Users", token: a.token, body: ["userName": "d@example.com"])
        let id = created.body?["id"]?.stringValue ?? ""
        _ = try await f.service.updateConnection(.init(connection: "Acme", confirmMode: true))
        let off = await f.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "active", "value": false]]])
        #expect(off.status == 202)
        #expect(off.result.actionRequired?.action == "disable")
        #expect(off.result.actionRequired?.user["active"] == false)
        let rejected = try await f.service.rejectSCIM(.init(commitId: off.result.actionRequired!.commitId, reason: "user has open invoices"))
        #expect(rejected.status == 400)
        #expect(rejected.body?.contains("open invoices") == true)
        #expect(await f.scim("GET", "/Users/\(id)", token: a.token).body?["active"] != .bool(false), "the rejected change was not applied")
        // Ordinary updates are not held.
        let renamed = await f.scim(
            "PATCH", "/Users/\(id)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "displayName", "value": "D"]]])
        #expect(renamed.status == 200)
        let delete = await f.scim("DELETE", "/Users/\(id)", token: a.token)
        #expect(delete.result.actionRequired?.action == "delete")
        #expect(await f.scim("GET", "/Users/\(id)", token: a.token).status == 200)
        let done = try await f.service.commitSCIM(.init(commitId: delete.result.actionRequired!.commitId))
        #expect(done.status == 204)
        #expect(await f.scim("GET", "/Users/\(id)", token: a.token).status == 404)
        await #expect(throws: RPCError.self) { try await f.service.rejectSCIM(.init(commitId: "nope", reason: "x")) }
    }

    @Test func anUnconfirmedChangeExpiresAndNothingIsApplied() async throws {
        let now = Box(Milliseconds(5_000_000))
        let f = try ServiceFixture(clock: Clock { now.value })
        let token = try await confirmConnection(f, timeout: 60)
        let held = await f.scim("POST", "/Users", token: token, body: ["userName": "late@example.com"])
        let action = try #require(held.result.actionRequired)
        now.mutate { $0 += 61_000 }
        do {
            _ = try await f.service.commitSCIM(.init(commitId: action.commitId))
            Issue.record("expired commit applied")
        } catch let error as RPCError {
            #expect(error.kind == "not_found")
        }
        #expect(try await f.service.getConnection("Acme").users == 0)
    }

    @Test func maintenanceDropsExpiredHeldChangesOnly() async throws {
        let now = Box(Milliseconds(5_000_000))
        let f = try ServiceFixture(clock: Clock { now.value })
        let token = try await confirmConnection(f, timeout: 60)
        let late = try #require(await f.scim("POST", "/Users", token: token, body: ["userName": "late@example.com"]).result.actionRequired)
        now.mutate { $0 += 30_000 }
        let fresh = try #require(await f.scim("POST", "/Users", token: token, body: ["userName": "fresh@example.com"]).result.actionRequired)
        now.mutate { $0 += 31_000 }
        func held() async throws -> Int {
            try await f.store.readDatabase { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pendingCommit") ?? 0 }
        }
        #expect(try await held() == 2)
        #expect(await f.service.runMaintenance().failures == 0)
        #expect(try await held() == 1, "the expired change is gone, the other waits")
        await #expect(throws: RPCError.self) { try await f.service.commitSCIM(.init(commitId: late.commitId)) }
        #expect(try await f.service.commitSCIM(.init(commitId: fresh.commitId)).status == 201)
    }
}

@Suite struct RoleRuleTests {
    @Test func rolesFollowMembershipGroupNamesAndRules() async throws {
        let f = try ServiceFixture()
        let a = try await f.connection()
        let u = await f.scim("POST", "/Users", token: a.token, body: ["userName": "r@example.com", "emails": [["value": "r@example.com", "primary": true]]])
        let uid = u.body?["id"]?.stringValue ?? ""
        let rules: JSONValue = [
            "rules": [["group": "Admins", "role": "admin"], ["group": "eng-ext", "by": "externalId", "role": "engineer"]],
            "defaultRole": "member", "mode": "first",
        ]
        let preview = try await f.service.previewMapping(.init(connection: "Acme", roles: rules))
        #expect(preview.gained["roles"] == 1)
        let set = try await f.service.setMapping(.init(connection: "Acme", roles: rules))
        #expect(set.mapping.roles?["defaultRole"] == "member")
        func roles() async throws -> [String] {
            try await f.service.getUser(.init(connection: "Acme", id: uid)).mapped["roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        #expect(try await roles() == ["member"])
        let eng = await f.scim("POST", "/Groups", token: a.token, body: ["displayName": "Engineering", "externalId": "eng-ext", "members": [["value": .string(uid)]]])
        #expect(try await roles() == ["engineer"])
        #expect(eng.result.changes.contains { $0.resourceType == "User" && $0.id == uid && $0.change == "updated" })
        let admins = await f.scim("POST", "/Groups", token: a.token, body: ["displayName": "Ops"])
        let adminsId = admins.body?["id"]?.stringValue ?? ""
        _ = await f.scim(
            "PATCH", "/Groups/\(adminsId)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "add", "path": "members", "value": [["value": .string(uid)]]]]])
        #expect(try await roles() == ["engineer"], "Ops matches no rule")
        _ = await f.scim(
            "PATCH", "/Groups/\(adminsId)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "path": "displayName", "value": "ADMINS"]]])
        #expect(try await roles() == ["admin"], "a renamed group re-maps its members; displayName ignores case; first rule wins")
        // The role change reaches the change feed as the user's update, named like every user event.
        let feed = try await f.service.listEvents(.init(types: ["user.updated"], limit: 100))
        let roleEvents = feed.events.filter { $0.resourceId == uid && $0.data["mapped"]?["roles"] != nil }
        #expect(!roleEvents.isEmpty)
        #expect(roleEvents.allSatisfy { $0.data["userName"]?.stringValue != nil }, "\(roleEvents.map(\.data))")
        var all = rules.objectValue!
        all["mode"] = "all"
        _ = try await f.service.setMapping(.init(connection: "Acme", roles: .object(all)))
        #expect(try await roles() == ["admin", "engineer"])
        _ = await f.scim("DELETE", "/Groups/\(adminsId)", token: a.token)
        #expect(try await roles() == ["engineer"])
        let sso = try await f.service.resolveSSO(.init(connection: "Acme", claims: ["email": "r@example.com"]))
        #expect(sso.user?.roles == ["engineer"])
        await #expect(throws: RPCError.self) {
            try await f.service.setMapping(.init(connection: "Acme", roles: ["rules": [["group": "", "role": "x"]]]))
        }
        let history = try await f.service.mappingHistory("Acme")
        #expect(history.first?.roles?["mode"] == "all")
    }
}
