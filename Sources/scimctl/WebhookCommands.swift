import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

/// `scimctl webhooks …`: the `webhooks.*` RPCs.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "HTTP endpoints that receive the change feed as signed POSTs (see the README's Webhooks section).",
        subcommands: [
            List.self, Add.self, Remove.self, Pause.self, Resume.self, RotateSecret.self, Deliveries.self, Redeliver.self,
        ],
        defaultSubcommand: List.self)

    /// The options that name one webhook.
    struct Target: ParsableArguments {
        @Argument(help: "The webhook's id (wh_…, from `scimctl webhooks list`).") var id: String
        @Option(help: "Connection id or name the webhook must belong to.", completion: ConnectionCompletion.kind)
        var connection: String?
        var reference: WebhookReference { WebhookReference(id: id, connection: connection) }
    }

    /// One line per endpoint's state: what an operator scans for.
    static func stateText(_ w: WebhookInfo) -> String {
        var text = w.state
        if let retry = w.retry {
            text += " (event \(retry.sequence), \(retry.attempts) failed: \(retry.lastError); next \(retry.nextAttemptAt))"
        }
        if w.missedEvents > 0 { text += "; MISSED \(w.missedEvents) pruned events" }
        return text
    }

    static func printSecret(_ created: WebhookWithSecret, verb: String) {
        print("\(verb) webhook \(created.webhook.id) → \(created.webhook.url)")
        print("Signing secret (store it now, it is not shown again):")
        print("  \(created.secret)")
        if let until = created.webhook.previousSecretExpiresAt { print("The previous secret keeps signing too until \(until).") }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhook endpoints and their delivery state.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this connection's endpoints (id or name).", completion: ConnectionCompletion.kind) var connection: String?
        func run() async throws {
            let list = try await options.withClient { try await $0.call(WebhooksList.self, .init(connection: connection)) }
            if options.json { return try options.printJSON(list) }
            if list.webhooks.isEmpty { return print("No webhooks. Add one with `scimctl webhooks add URL`.") }
            print(
                Table.render(
                    headers: ["id", "connection", "url", "types", "cursor", "delivered", "failed", "skipped", "state"],
                    rows: list.webhooks.map { w in
                        [
                            w.id, w.connectionName ?? w.connection ?? "(all)", w.url, w.types?.joined(separator: ",") ?? "(all)",
                            "\(w.cursor)/\(w.latestSequence)", "\(w.delivered)", "\(w.failed)", "\(w.skipped)", WebhooksCommand.stateText(w),
                        ]
                    }))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an endpoint; events committed from now on are POSTed to it. Prints its signing secret (shown once).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "http:// or https:// URL (no user name or password in it).") var url: String
        @Option(help: "Only this connection's events (id or name); default: every connection's.", completion: ConnectionCompletion.kind)
        var connection: String?
        @Option(help: "Comma-separated event types; `user.*` selects a family. Default: every type.") var types: String?
        func run() async throws {
            let params = WebhooksAdd.Params(url: url, connection: connection, types: types?.split(separator: ",").map(String.init))
            let created = try await options.withClient { try await $0.call(WebhooksAdd.self, params) }
            if options.json { return try options.printJSON(created) }
            WebhooksCommand.printSecret(created, verb: "Added")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an endpoint and its delivery log.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        func run() async throws {
            let result = try await options.withClient { try await $0.call(WebhooksRemove.self, target.reference) }
            if options.json { return try options.printJSON(result) }
            print("Removed webhook \(target.id).")
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause deliveries to an endpoint; events wait in the feed (within its retention).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        func run() async throws {
            let w = try await options.withClient { try await $0.call(WebhooksPause.self, target.reference) }
            if options.json { return try options.printJSON(w) }
            print("Paused webhook \(w.id) at event \(w.cursor).")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused endpoint where it stopped.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        func run() async throws {
            let w = try await options.withClient { try await $0.call(WebhooksResume.self, target.reference) }
            if options.json { return try options.printJSON(w) }
            print("Resumed webhook \(w.id) after event \(w.cursor).")
        }
    }

    struct RotateSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "New signing secret (shown once); during the overlap each request carries both signatures.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Option(help: "Seconds the previous secret keeps signing beside the new one (0 stops it at once, right for a leaked secret).")
        var overlapSeconds: Int = 86_400
        func run() async throws {
            let params = WebhooksRotateSecret.Params(id: target.id, connection: target.connection, overlapSeconds: overlapSeconds)
            let rotated = try await options.withClient { try await $0.call(WebhooksRotateSecret.self, params) }
            if options.json { return try options.printJSON(rotated) }
            WebhooksCommand.printSecret(rotated, verb: "Rotated the secret of")
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's delivery log, newest first.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Option(help: "Only entries older than this log id (the previous page's last).") var before: Int?
        @Option(help: "At most this many entries (1…500).") var limit: Int = 50
        func run() async throws {
            let params = WebhooksDeliveries.Params(id: target.id, connection: target.connection, before: before, limit: limit)
            let page = try await options.withClient { try await $0.call(WebhooksDeliveries.self, params) }
            if options.json { return try options.printJSON(page) }
            if page.deliveries.isEmpty { return print("No deliveries logged yet.") }
            print(
                Table.render(
                    headers: ["log id", "event", "type", "outcome", "attempts", "status", "finished", "error"],
                    rows: page.deliveries.map { d in
                        [
                            "\(d.id)", "\(d.sequence)", d.eventType ?? "", d.outcome + (d.redelivery ? " (redelivery)" : ""),
                            "\(d.attempts)", d.status.map(String.init) ?? "", d.finishedAt, d.error ?? "",
                        ]
                    }))
            if let next = page.next { print("More: scimctl webhooks deliveries \(target.id) --before \(next)") }
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one event to an endpoint again (queued before its next feed event; the cursor does not move).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var target: Target
        @Option(help: "The event's sequence number (see `scimctl webhooks deliveries`).") var sequence: Int
        func run() async throws {
            let params = WebhooksRedeliver.Params(id: target.id, connection: target.connection, sequence: sequence)
            let w = try await options.withClient { try await $0.call(WebhooksRedeliver.self, params) }
            if options.json { return try options.printJSON(w) }
            print("Queued event \(sequence) for redelivery to \(w.id) (\(w.queuedRedeliveries) queued).")
        }
    }
}
