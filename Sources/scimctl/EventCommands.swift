import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "The change feed.", subcommands: [List.self, Tail.self], defaultSubcommand: Tail.self)

    /// One event per line: `sequence time type connection resource details`.
    static func line(_ e: EventInfo) -> String {
        var parts = ["\(e.sequence)", e.at, e.type, e.connection]
        if let type = e.resourceType, let id = e.resourceId { parts.append("\(type)/\(id)") }
        var details = e.data
        if case .object(var o) = details {
            o["mapped"] = nil
            details = .object(o)
        }
        if details != .object([:]) { parts.append(details.description) }
        return parts.joined(separator: "  ")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print events after a sequence number and exit.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String?
        @Option(help: "Comma-separated types; `user.*` selects a family.") var types: String?
        @Option(help: "Only events after this sequence number.") var after: Int = 0
        @Option(help: "At most this many events.") var limit: Int = 100
        func run() async throws {
            let params = EventsList.Params(
                after: after, connection: connection, types: types?.split(separator: ",").map(String.init), limit: limit)
            let page = try await options.withClient { try await $0.listEvents(params) }
            if options.json { return try options.printJSON(page) }
            for e in page.events { print(EventsCommand.line(e)) }
            if page.nextAfter < page.latestSequence && page.events.count == limit {
                print("More: scimctl events list --after \(page.nextAfter)")
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow the change feed live (backlog after --after first); one line per event (--json: one JSON object per line).",
            discussion: """
                When scimd restarts, tail reconnects (with backoff) and resumes after the last event it printed: \
                no event is skipped or printed twice.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String?
        @Option(help: "Comma-separated types; `user.*` selects a family.") var types: String?
        @Option(help: "Start after this sequence number (default: only new events).") var after: Int?
        func run() async throws {
            let json = options.json
            let connection = self.connection
            let types = self.types?.split(separator: ",").map(String.init)
            let after = self.after
            try await options.withClient(reconnecting: true) { client in
                let start: Int
                if let after {
                    start = after
                } else {
                    start = try await client.listEvents(.init(after: 0, limit: 1)).latestSequence
                }
                let stream = try await client.subscribeEvents(EventSelection(after: start, connection: connection, types: types))
                do {
                    for try await event in stream {
                        if json {
                            print(JSONSerializer.string(try JSONParser().parse(bytes: try RPCCodec.encode(event))))
                        } else {
                            print(EventsCommand.line(event))
                        }
                        fflush(nil)  // each event shows at once, also through a pipe
                    }
                } catch let error as SCIMDClientError {
                    FileHandle.standardError.write(Data("scimctl: \(error)\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
    }
}
