import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Testing

/// A connection's email domains: email-based SSO strategies refuse claims from other domains.
@Suite struct SSODomainTests {
    /// Acme with user `mhopper` (email at example.com) and `ada@example.com`.
    func setup() async throws -> ServiceFixture {
        let f = try ServiceFixture()
        let token = try await f.connection("Acme").token
        for (userName, email) in [("mhopper", "mhopper@example.com"), ("ada@example.com", "ada@example.com")] {
            let r = await f.scim(
                "POST", "/Users", token: token, body: ["userName": .string(userName), "emails": [["value": .string(email), "primary": true]]])
            #expect(r.status == 201)
        }
        return f
    }

    func resolve(_ f: ServiceFixture, _ claims: [String: JSONValue]) async throws -> SSOResolve.Result {
        try await f.service.resolveSSO(.init(connection: "Acme", claims: claims))
    }

    @Test func theLocalPartStrategyCannotBeChosenWithoutDomains() async throws {
        let f = try await setup()
        do {
            _ = try await f.service.updateConnection(.init(connection: "Acme", sso: SSOStrategy(kind: "email_localpart_userName")))
            Issue.record("local-part strategy accepted without domains")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params")
            #expect(error.data?.field == "sso.kind")
        }
        #expect(try await f.service.getConnection("Acme").sso.kind == "email_userName")
        // With domains, in the same call: accepted. Then the domains cannot be removed under it.
        let updated = try await f.service.updateConnection(
            .init(connection: "Acme", sso: SSOStrategy(kind: "email_localpart_userName"), domains: ["Example.COM", "@example.org"]))
        #expect(updated.domains == ["example.com", "example.org"])
        do {
            _ = try await f.service.updateConnection(.init(connection: "Acme", domains: []))
            Issue.record("domains removed under the local-part strategy")
        } catch let error as RPCError {
            #expect(error.data?.field == "domains")
        }
    }

    @Test func theLocalPartStrategyRefusesOtherDomains() async throws {
        let f = try await setup()
        _ = try await f.service.updateConnection(
            .init(connection: "Acme", sso: SSOStrategy(kind: "email_localpart_userName"), domains: ["example.com"]))
        let evil = try await resolve(f, ["email": "mhopper@evil.example.net"])
        #expect(evil.verdict == "deny_not_provisioned")
        #expect(evil.reason == "domain_not_allowed")
        #expect(evil.user == nil)
        // A subdomain is another domain.
        #expect(try await resolve(f, ["email": "mhopper@mail.example.com"]).reason == "domain_not_allowed")
        let good = try await resolve(f, ["email": "MHopper@EXAMPLE.com"])
        #expect(good.verdict == "allow")
        #expect(good.user?.userName == "mhopper")
        #expect(try await resolve(f, ["email": "no-at-sign"]).reason == "invalid_claim")
        #expect(try await resolve(f, ["email": "@example.com"]).reason == "invalid_claim")
    }

    @Test(arguments: [
        (SSOStrategy(kind: "email_userName"), "email"),
        (SSOStrategy(kind: "preferred_username_userName"), "preferred_username"),
        (SSOStrategy(kind: "claim_property", claim: "email", property: "email"), "email"),
    ])
    func everyEmailBasedStrategyRefusesOtherDomains(_ strategy: SSOStrategy, _ claim: String) async throws {
        let f = try await setup()
        _ = try await f.service.updateConnection(.init(connection: "Acme", sso: strategy, domains: ["example.com"]))
        let evil = try await resolve(f, [claim: "ada@evil.example.net"])
        #expect(evil.verdict == "deny_not_provisioned")
        #expect(evil.reason == "domain_not_allowed")
        #expect(try await resolve(f, [claim: "ada@example.com"]).verdict == "allow")
    }

    @Test func withoutDomainsNothingChanges() async throws {
        let f = try await setup()
        let r = try await resolve(f, ["email": "ada@example.com"])
        #expect(r.verdict == "allow")
        #expect(r.reason == nil)
        #expect(try await f.service.getConnection("Acme").domains == [])
        let unknown = try await resolve(f, ["email": "nobody@example.com"])
        #expect(unknown.reason == "not_provisioned")
    }

    @Test(arguments: [["exa mple.com"], ["example"], ["a@b.com"], [""], ["-bad.com"], ["example..com"]])
    func invalidDomainsAreRefusedNamingTheEntry(_ domains: [String]) async throws {
        let f = try await setup()
        do {
            _ = try await f.service.updateConnection(.init(connection: "Acme", domains: ["ok.example"] + domains))
            Issue.record("\(domains) accepted")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params")
            #expect(error.data?.field == "domains.1")
        }
        #expect(try await f.service.getConnection("Acme").domains == [])
    }
}
