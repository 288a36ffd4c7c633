import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMDConsole
import SCIMJSON

/// scimctl's entry point: global options may come before the subcommand, as with systemctl or
/// kubectl (`scimctl --socket /run/scimd/scimd.sock dashboard`); bare `scimctl` prints help and
/// exits 64 (EX_USAGE).
@main
enum SCIMCtlMain {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.isEmpty {
            FileHandle.standardError.write(Data((SCIMCtl.helpMessage() + "\n").utf8))
            SCIMCtl.exit(withError: ExitCode(64))
        }
        await SCIMCtl.main(GlobalOptionPlacement.reorder(arguments))
    }
}

/// Moves the global options (`--socket PATH`, `--socket=PATH`, `--json`, `--utc`) written before
/// the subcommand to after it, where swift-argument-parser reads them. Pure, for tests.
enum GlobalOptionPlacement {
    static let flags: Set<String> = ["--json", "--utc"]
    static let options: Set<String> = ["--socket"]

    static func reorder(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if flags.contains(argument) || options.contains(where: { argument.hasPrefix($0 + "=") }) {
                leading.append(argument)
                index += 1
            } else if options.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        if leading.isEmpty || index == arguments.count { return arguments }
        return Array(arguments[index...]) + leading
    }
}

/// scimctl: a thin CLI over SCIMDClient. Human tables by default, `--json` prints the RPC result.
struct SCIMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scimctl",
        abstract: "Operate a running scimd over its Unix socket.",
        discussion: """
            Global options (--socket, --json) may come before or after the subcommand, and so may --utc on \
            the commands that show times (dashboard, connections, users, groups, requests list). The socket \
            defaults to $SCIMD_SOCKET, then /run/scimd/scimd.sock, then ./scimd.sock.

            Exit codes: 0 success; 1 scimd refused the request (the error is printed; with --json as a JSON \
            object on stderr), or a check failed (health degraded, an SSO verdict other than allow, a replay \
            step); 3 not found; 64 usage error; 69 scimd cannot be reached, or is at its connection limit.
            """,
        version: "0.1.0",
        subcommands: [
            Dashboard.self, Health.self, Stats.self, Backup.self, Discover.self, Connections.self, Users.self, Groups.self,
            MappingCommand.self, WarningsCommand.self, SSOCommand.self, EventsCommand.self, WebhooksCommand.self, OperatorsCommand.self,
            Requests.self, Replay.self,
        ])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: "scimd's socket (default: $SCIMD_SOCKET, /run/scimd/scimd.sock, ./scimd.sock).")
    var socket: String?

    @Flag(help: "Print the RPC result as JSON instead of a table.")
    var json = false

    var socketPath: String { socket ?? SCIMDClient.defaultSocketPath }

    /// Runs `body` with a connected client; prints errors the way operators need them and exits non-zero.
    /// With `reconnecting` (a command that follows the daemon, `events tail`), the client opens a
    /// new connection when scimd restarts instead of ending with the first one; it still fails
    /// at once when scimd cannot be reached at the start.
    func withClient<T: Sendable>(reconnecting: Bool = false, _ body: (SCIMDClient) async throws -> T) async throws -> T {
        do {
            let configuration = SCIMDClient.Configuration(timeout: reconnecting ? .seconds(60) : nil, reconnects: reconnecting)
            return try await SCIMDClient.withConnection(socketPath: socketPath, configuration: configuration, body)
        } catch let error as RPCError {
            if json {
                printErrorJSON(["code": .int(error.code.rawValue), "message": .string(error.message), "data": error.json["data"] ?? .null])
            } else {
                var message = "error: \(error.message) [\(error.kind)]"
                if let field = error.data?.field { message += " (field: \(field))" }
                FileHandle.standardError.write(Data((message + "\n").utf8))
            }
            // Over its connection limit scimd cannot be used right now, like one that is not running.
            throw ExitCode(error.kind == "not_found" ? 3 : error.kind == "unavailable" ? 69 : 1)
        } catch let error as SCIMDClientError {
            if json {
                printErrorJSON(["message": .string("\(error)"), "data": ["kind": "daemon_unreachable"]])
            } else {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
            throw ExitCode(69)  // EX_UNAVAILABLE
        }
    }

    /// `{"error": {…}}` on standard error, one line: what `--json` users parse instead of text.
    func printErrorJSON(_ error: JSONObject) {
        FileHandle.standardError.write(Data((JSONSerializer.string(["error": .object(error)]) + "\n").utf8))
    }

    /// Prints an Encodable as pretty JSON.
    func printJSON<T: Encodable>(_ value: T) throws {
        let json = try JSONParser().parse(bytes: try RPCCodec.encode(value))
        print(JSONSerializer.prettyString(json))
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that scimd answers.")
    @OptionGroup var options: GlobalOptions
    func run() async throws {
        let health = try await options.withClient { try await $0.health() }
        if options.json {
            try options.printJSON(health)
        } else {
            print("scimd \(health.version): \(health.status), up \(Format.duration(health.uptimeSeconds))")
            for check in health.checks ?? [] where check.status != "ok" {
                print("  \(check.name): \(check.status)\(check.detail.map { " — " + $0 } ?? "")")
            }
        }
        // With --json too: scripts read the exit code.
        if health.status != "ok" { throw ExitCode(1) }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the database to FILE while scimd serves (restore: scimd --restore FILE).",
        discussion: """
            scimd itself writes FILE, so it must be a path scimd can write (under systemd, inside its state \
            directory, e.g. /var/lib/scimd/backup-2026-11-30.sqlite); a relative path is taken from the current \
            directory. FILE must not exist.
            """)
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The file to create.") var file: String
    func run() async throws {
        // Relative to this command's directory (scimd's is not the caller's): `/` and `x.sqlite`
        // make `/x.sqlite`, not `//x.sqlite`.
        let path = file.hasPrefix("/") ? file : URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)).standardizedFileURL.path
        let result = try await options.withClient { try await $0.backup(to: path) }
        if options.json { return try options.printJSON(result) }
        print("Backup written to \(result.path) (\(result.bytes) bytes, \(Int(result.milliseconds)) ms).")
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's counters.")
    @OptionGroup var options: GlobalOptions
    func run() async throws {
        let stats = try await options.withClient { try await $0.stats() }
        if options.json { return try options.printJSON(stats) }
        print(
            Table.render(
                headers: ["counter", "value"],
                rows: [
                    ["uptime", Format.duration(stats.uptimeSeconds)],
                    ["open socket connections", "\(stats.openSocketConnections)"],
                    ["accepted socket connections", "\(stats.acceptedSocketConnections)"],
                    ["JSON-RPC requests served", "\(stats.requestsServed)"],
                    ["SCIM connections", "\(stats.scimConnections)"],
                    ["scim.handle calls", "\(stats.scimRequests)"],
                    ["SCIM connections in memory", stats.residentConnections.map { "\($0)" } ?? "-"],
                    [
                        "memory held by them (estimate)",
                        stats.residentBytes.map { Format.bytes($0) + (stats.memoryLimitBytes.map { " of " + Format.bytes($0) + " limit" } ?? "") }
                            ?? "-",
                    ],
                ], rightAligned: [1]))
    }
}

struct Discover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every RPC method (rpc.discover); with --json, print the whole OpenRPC document.")
    @OptionGroup var options: GlobalOptions
    func run() async throws {
        let document = try await options.withClient { try await $0.discover() }
        if options.json { return print(JSONSerializer.prettyString(document)) }
        let rows = (document["methods"]?.arrayValue ?? []).map {
            [$0["name"]?.stringValue ?? "", $0["summary"]?.stringValue ?? ""]
        }
        print(Table.render(headers: ["METHOD", "SUMMARY"], rows: rows))
    }
}

// MARK: - connections

struct Connections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage SCIM connections (one per customer organization).",
        subcommands: [List.self, Create.self, Show.self, Update.self, Delete.self, RotateToken.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connections with their counters (same as `scimctl dashboard`).")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Show absolute UTC times instead of relative ones.") var utc = false
        func run() async throws {
            let list = try await options.withClient { try await $0.listConnections() }
            if options.json { return try options.printJSON(ConnectionsList.Result(connections: list)) }
            print(Views.dashboard(list, ConsoleContext(utc: utc)))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a connection and print its bearer token (shown once).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Display name (unique).") var name: String
        @Option(help: "The customer's id in your application.") var customerId: String?
        @Option(help: "The identity provider (Okta, Entra ID, …).") var idp: String?
        func run() async throws {
            let created = try await options.withClient {
                try await $0.createConnection(name: name, customerId: customerId, idp: idp)
            }
            if options.json { return try options.printJSON(created) }
            print("Created connection \(created.connection.name) (\(created.connection.id)).")
            print("Bearer token (store it now, it is not shown again):")
            print("  \(created.token)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one connection.", aliases: ["get"])
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Flag(help: "Show absolute UTC times.") var utc = false
        func run() async throws {
            let c = try await options.withClient { try await $0.connection(connection) }
            if options.json { return try options.printJSON(c) }
            let now = Date()
            print(
                Table.render(
                    headers: ["field", "value"],
                    rows: [
                        ["id", c.id], ["name", c.name], ["customer", c.customerId ?? ""], ["idp", c.idp ?? ""],
                        ["disabled", c.disabled ? "yes" : "no"], ["users (active/total)", "\(c.activeUsers)/\(c.users)"],
                        ["groups", "\(c.groups)"], ["open warnings", "\(c.openWarnings)"],
                        ["requests 24h", "\(c.requests24h)"], ["errors 24h", "\(c.errors24h)"],
                        ["last request", c.lastRequestAt.map { Format.time($0, now: now, utc: utc) } ?? "never"],
                        ["created", Format.time(c.createdAt, now: now, utc: utc)],
                        ["previous token valid until", c.previousTokenExpiresAt ?? "-"],
                        ["SSO matching", c.sso.kind + (c.sso.claim.map { " (claim \($0) → \(c.sso.property ?? "?"))" } ?? "")],
                        ["confirm mode", c.confirmMode ? "on (held changes expire after \(c.commitTimeoutSeconds) s)" : "off"],
                    ]))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename, re-label, disable or enable a connection.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Option(help: "New display name (unique across connections).") var name: String?
        @Option(help: "The customer's id in your application (an empty value removes it).") var customerId: String?
        @Option(help: "The identity provider (Okta, Entra ID, …; an empty value removes it).") var idp: String?
        @Flag(help: "Disable the connection: its token is refused (SCIM 403) until --enable.") var disable = false
        @Flag(help: "Enable a disabled connection.") var enable = false
        @Option(help: "SSO matching: \(SSOStrategy.kinds.joined(separator: ", ")).") var sso: String?
        @Option(help: "For --sso claim_property: the claim to read.") var ssoClaim: String?
        @Option(help: "For --sso claim_property: the mapped property to compare with.") var ssoProperty: String?
        @Flag(inversion: .prefixedNo, help: "Hold user lifecycle changes until the application calls scim.commit.")
        var confirmMode: Bool?
        @Option(help: "Seconds a held change waits for scim.commit.") var commitTimeout: Int?
        @Option(
            name: .customLong("domain"),
            help: "The customer's email domain (repeat for several; replaces the list): SSO refuses email claims from others.")
        var domains: [String] = []
        @Flag(help: "Remove the email-domain restriction.") var clearDomains = false
        func validate() throws {
            if disable && enable { throw ValidationError("--disable and --enable exclude each other") }
            if clearDomains && !domains.isEmpty { throw ValidationError("--domain and --clear-domains exclude each other") }
        }
        func run() async throws {
            let strategy = sso.map { SSOStrategy(kind: $0, claim: ssoClaim, property: ssoProperty) }
            let disabled: Bool? = disable ? true : (enable ? false : nil)
            let params = ConnectionsUpdate.Params(
                connection: connection, name: name, customerId: customerId, idp: idp, disabled: disabled, sso: strategy,
                confirmMode: confirmMode, commitTimeoutSeconds: commitTimeout,
                domains: clearDomains ? [] : (domains.isEmpty ? nil : domains))
            let c = try await options.withClient { try await $0.updateConnection(params) }
            if options.json { return try options.printJSON(c) }
            // A disabled connection says so whatever changed; enabling it says so too.
            print("Updated \(c.name) (\(c.id))\(c.disabled ? ": disabled" : (enable ? ": enabled" : "")).")
            // Echo what was changed, as it now stands.
            if sso != nil { print("SSO matching: \(c.sso.kind)") }
            // The hold timeout means something only while confirm mode is on.
            if confirmMode != nil || commitTimeout != nil {
                print("Confirm mode: " + (c.confirmMode ? "on (held changes wait \(c.commitTimeoutSeconds) s)" : "off"))
            }
            if !c.domains.isEmpty { print("Email domains: \(c.domains.joined(separator: ", "))") } else if clearDomains { print("Email domains: none") }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a connection and everything it holds.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Flag(help: "Do not ask for confirmation.") var yes = false
        func run() async throws {
            if !yes {
                guard isatty(STDIN_FILENO) != 0 else {
                    FileHandle.standardError.write(Data("error: refusing to delete without --yes when not interactive\n".utf8))
                    throw ExitCode(1)
                }
                print("Delete connection '\(connection)' with all its users, groups and logs? Type 'yes': ", terminator: "")
                guard readLine() == "yes" else { throw ExitCode(1) }
            }
            let result = try await options.withClient { try await $0.deleteConnection(connection) }
            if options.json { return try options.printJSON(result) }
            print("Deleted \(connection): \(result.users) users, \(result.groups) groups.")
        }
    }

    struct RotateToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token", abstract: "Issue a new bearer token; the old one stops at once unless --overlap-seconds keeps it.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Option(help: "Seconds the old token keeps working: 0 stops it at once (right for a leaked token); give the IdP's admin time to switch with e.g. 86400.")
        var overlapSeconds: Int = 0
        func run() async throws {
            let rotated = try await options.withClient { try await $0.rotateToken(connection, overlapSeconds: overlapSeconds) }
            if options.json { return try options.printJSON(rotated) }
            print("New bearer token for \(rotated.connection.name) (store it now, it is not shown again):")
            print("  \(rotated.token)")
            if let until = rotated.connection.previousTokenExpiresAt { print("The previous token keeps working until \(until).") }
        }
    }
}

// MARK: - requests

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the SCIM request log.", subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a connection's logged requests, newest first.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Option(help: "2xx, 4xx, 5xx, error, or an exact status.") var status: String?
        @Option(help: "Only requests since this RFC 3339 time.") var since: String?
        @Option(help: "Page size.") var limit: Int = 50
        @Option(help: "Cursor from the previous page.") var cursor: String?
        @Flag(help: "Show absolute UTC times.") var utc = false
        func run() async throws {
            let params = RequestsList.Params(connection: connection, status: status, since: since, limit: limit, cursor: cursor)
            let page = try await options.withClient { try await $0.listRequests(params) }
            if options.json { return try options.printJSON(page) }
            if page.requests.isEmpty { return print("No requests match.") }
            let now = Date()
            print(
                Table.render(
                    headers: ["ID", "TIME", "METHOD", "PATH", "STATUS", "µs", "ERROR"],
                    rows: page.requests.map {
                        ["\($0.id)", Format.time($0.at, now: now, utc: utc), $0.method, $0.path, "\($0.status)", "\($0.durationMicroseconds)", $0.error ?? ""]
                    }, rightAligned: [0, 4, 5],
                    // An IdP's path can be tens of kilobytes (a refused filter); `requests show` has it whole.
                    maximumWidths: [3: 120, 6: 120]))
            if let next = page.nextCursor {
                // The next page of the same query: the filters are repeated.
                var words = ["scimctl", "requests", "list", connection]
                if let status { words += ["--status", status] }
                if let since { words += ["--since", since] }
                if limit != 50 { words += ["--limit", String(limit)] }
                if utc { words.append("--utc") }
                print("More: " + shellCommand(words + ["--cursor", next]))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one logged request with its bodies.", aliases: ["get"])
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Request id.") var id: Int
        func run() async throws {
            let detail = try await options.withClient { try await $0.request(id: id) }
            if options.json { return try options.printJSON(detail) }
            let s = detail.summary
            print("\(s.method) \(s.path) → \(s.status) in \(s.durationMicroseconds) µs at \(s.at)")
            if let error = s.error { print("error: \(error)") }
            if let requestId = detail.requestId { print("request id: \(requestId)") }
            print("\nRequest headers:")
            for (k, v) in detail.requestHeaders.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
            print("\nRequest body:\n\(Format.prettyJSON(detail.requestBody))")
            print("\nResponse body:\n\(Format.prettyJSON(detail.responseBody))")
        }
    }
}

// MARK: - replay

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a scenario file of SCIM requests through scim.handle and check each step's expectation.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "Scenario file (fixtures format: {name, steps: [{request, expect, save}]}).") var file: String
    @Option(help: "Connection id or name to replay against.", completion: ConnectionCompletion.kind) var connection: String

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            FileHandle.standardError.write(Data("error: cannot read \(file): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(1)
        }
        let scenario: Scenario
        do {
            scenario = try Scenario(json: try JSONParser().parse(bytes: Array(data)))
        } catch {
            FileHandle.standardError.write(Data("error: \(file) is not a scenario: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let connection = self.connection
        let results = try await options.withClient { client in
            // An unknown connection is one clear error, not a failure on every step.
            _ = try await client.connection(connection)
            return try await ScenarioRunner.run(scenario) { request in
                var headers = request.headers
                var named: String? = connection
                switch request.auth {
                case "none": named = nil
                case "wrong":
                    named = nil
                    headers["Authorization"] = "Bearer wrong-token"
                default: break
                }
                let result = try await client.handleSCIM(
                    method: request.method, path: request.path, headers: headers, body: request.body, connection: named)
                return (result.status, result.body)
            }
        }
        if options.json {
            let rows: [JSONValue] = results.map {
                [
                    "step": .int($0.index), "method": .string($0.request.method), "path": .string($0.request.path),
                    "status": .int($0.status), "passed": .bool($0.passed), "failure": $0.failure.map(JSONValue.string) ?? .null,
                ]
            }
            print(JSONSerializer.prettyString(["scenario": .string(scenario.name), "steps": .array(rows)]))
        } else {
            print(
                Table.render(
                    headers: ["#", "METHOD", "PATH", "STATUS", "RESULT"],
                    rows: results.map {
                        ["\($0.index)", $0.request.method, $0.request.path, "\($0.status)", $0.failure.map { "FAIL \($0)" } ?? "ok"]
                    }, rightAligned: [0, 3]))
            let failed = results.filter { !$0.passed }.count
            print("\(scenario.name): \(results.count - failed) passed, \(failed) failed")
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
    }
}
