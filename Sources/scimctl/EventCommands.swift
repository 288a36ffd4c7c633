import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "The change feed.", subcommands: [List.self, Tail.self], defaultSubcommand: Tail.self)

    /// One event as a line: sequence, time, type, the connection's name (its id when `names`,
    /// id → name, does not know it: a deleted connection), the resource, and `data` without `mapped`.
    static func line(_ e: EventInfo, names: [String: String]) -> String {
        var parts = ["\(e.sequence)", e.at, e.type, names[e.connection] ?? e.connection]
        if let type = e.resourceType, let id = e.resourceId { parts.append("\(type)/\(id)") }
        var details = e.data
        if case .object(var o) = details {
            o["mapped"] = nil
            details = .object(o)
        }
        if details != .object([:]) { parts.append(details.description) }
        return parts.joined(separator: "  ")
    }

    /// Connection id → name, for event lines.
    static func connectionNames(_ client: SCIMDClient) async throws -> [String: String] {
        Dictionary(try await client.listConnections().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
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
            let (page, names) = try await options.withClient { client in
                (try await client.listEvents(params), try await EventsCommand.connectionNames(client))
            }
            if options.json { return try options.printJSON(page) }
            if page.events.isEmpty {
                print(after < page.latestSequence ? "No events match." : "No events after \(after) (the newest is \(page.latestSequence)).")
            }
            for e in page.events { print(EventsCommand.line(e, names: names)) }
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
                var names = json ? [:] : try await EventsCommand.connectionNames(client)
                var unknown: Set<String> = []
                let stream = try await client.subscribeEvents(EventSelection(after: start, connection: connection, types: types))
                do {
                    for try await event in stream {
                        if json {
                            print(JSONSerializer.string(try JSONParser().parse(bytes: try RPCCodec.encode(event))))
                        } else {
                            // A connection created since the tail began: look the names up again, once.
                            if names[event.connection] == nil, unknown.insert(event.connection).inserted {
                                names = try await EventsCommand.connectionNames(client)
                            }
                            print(EventsCommand.line(event, names: names))
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
