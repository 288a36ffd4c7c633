import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

struct SSOCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sso", abstract: "Which provisioned user an SSO login is.", subcommands: [Resolve.self])

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve SSO claims to a SCIM user and a verdict (allow, deny_deprovisioned, deny_not_provisioned, ambiguous).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Option(name: .customLong("claim"), help: "A claim as name=value (repeatable), e.g. --claim email=a@example.com.")
        var claims: [String] = []
        func validate() throws {
            guard !claims.isEmpty else { throw ValidationError("give at least one --claim name=value") }
            for claim in claims where !claim.contains("=") { throw ValidationError("--claim \(claim): expected name=value") }
        }
        func run() async throws {
            var parsed: [String: JSONValue] = [:]
            for claim in claims {
                let parts = claim.split(separator: "=", maxSplits: 1).map(String.init)
                parsed[parts[0]] = .string(parts.count > 1 ? parts[1] : "")
            }
            let result = try await options.withClient { try await $0.resolveSSO(.init(connection: connection, claims: parsed)) }
            if options.json {
                try options.printJSON(result)
                // The exit code says the verdict with --json too: a script that checks only it must
                // never take a denied login for an allowed one.
                if result.verdict != "allow" { throw ExitCode(1) }
                return
            }
            let style = Style.automatic
            let verdict = result.verdict == "allow" ? result.verdict : style.error(result.verdict)
            switch result.reason {
            case "claim_missing", "invalid_claim", "domain_not_allowed":
                // Refused before any lookup: say so, rather than "looked up".
                let claim = result.lookedUp.isEmpty ? "" : " '\(result.lookedUp)'"
                print("\(verdict)  (\(result.strategy.kind): claim\(claim) refused, reason: \(result.reason ?? ""))")
            default:
                let reason = result.reason.map { ", reason: \($0)" } ?? ""
                print("\(verdict)  (\(result.strategy.kind): looked up '\(result.lookedUp)'\(reason))")
            }
            if let user = result.user {
                print("user \(user.userName)  id \(user.id)  active \(user.active ? "yes" : "no")")
                if let app = user.appUserId { print("application user \(app)") }
                if !user.roles.isEmpty { print("roles \(user.roles.joined(separator: ", "))") }
                if !user.groups.isEmpty { print("groups \(user.groups.compactMap(\.name).joined(separator: ", "))") }
            }
            if let candidates = result.candidates { print("matches: \(candidates.joined(separator: ", "))") }
            if result.verdict != "allow" { throw ExitCode(1) }
        }
    }
}
