import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

/// Output options of the dashboard views.
struct ViewOptions: ParsableArguments {
    @Flag(help: "Absolute UTC times instead of relative ones.") var utc = false
    var context: ConsoleContext { ConsoleContext(utc: utc) }
}

struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "All connections at a glance: users, groups, warnings, errors in 24 h, last request.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var view: ViewOptions
    func run() async throws {
        let list = try await options.withClient { try await $0.listConnections() }
        if options.json { return try options.printJSON(ConnectionsList.Result(connections: list)) }
        print(Views.dashboard(list, view.context))
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A connection's provisioned users.", subcommands: [List.self, Show.self, Link.self, Unlink.self],
        defaultSubcommand: List.self)

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link a SCIM user to your application's user id.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "User id or userName.") var user: String
        @Argument(help: "Your application's id for this user.") var appUserId: String
        func run() async throws {
            let result = try await options.withClient { try await $0.linkUser(connection, user: user, appUserId: appUserId) }
            if options.json { return try options.printJSON(result) }
            print("Linked \(result.userName) (\(result.id)) to application user \(appUserId).")
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's link to your application's user id.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "User id or userName.") var user: String
        func run() async throws {
            let result = try await options.withClient { try await $0.unlinkUser(connection, user: user) }
            if options.json { return try options.printJSON(result) }
            print("Unlinked \(result.userName) (\(result.id)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (paged).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var view: ViewOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Flag(help: "Only users with open warnings.") var withWarnings = false
        @Flag(help: "Only inactive (deprovisioned) users.") var inactive = false
        @Flag(help: "Only active users.") var active = false
        @Option(help: "SCIM filter, e.g. 'userName sw \"a\"'.") var filter: String?
        @Option(help: "Page size.") var limit: Int = 50
        @Option(help: "Cursor from the previous page.") var cursor: String?
        func validate() throws {
            if active && inactive { throw ValidationError("--active and --inactive exclude each other") }
        }
        func run() async throws {
            let params = UsersList.Params(
                connection: connection, filter: filter, withWarnings: withWarnings ? true : nil,
                active: inactive ? false : (active ? true : nil), limit: limit, cursor: cursor)
            let page = try await options.withClient { try await $0.listUsers(params) }
            if options.json { return try options.printJSON(page) }
            var words = ["scimctl", "users", "list", connection]
            if withWarnings { words.append("--with-warnings") }
            if inactive { words.append("--inactive") }
            if active { words.append("--active") }
            if let filter { words += ["--filter", filter] }
            if limit != 50 { words += ["--limit", String(limit)] }
            print(Views.users(page, nextCommand: shellCommand(words), view.context))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One user's mapped properties, warnings, groups, requests and raw SCIM data.", aliases: ["get"])
        @OptionGroup var options: GlobalOptions
        @OptionGroup var view: ViewOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "User id or userName.") var user: String
        func run() async throws {
            let detail = try await options.withClient { try await $0.user(connection, user) }
            if options.json { return try options.printJSON(detail) }
            print(Views.resource(detail, view.context))
        }
    }
}

struct Groups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A connection's provisioned groups.", subcommands: [List.self, Show.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups (paged).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var view: ViewOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Flag(help: "Only groups with open warnings.") var withWarnings = false
        @Option(help: "SCIM filter, e.g. 'displayName sw \"Eng\"'.") var filter: String?
        @Option(help: "Page size.") var limit: Int = 50
        @Option(help: "Cursor from the previous page.") var cursor: String?
        func run() async throws {
            let params = GroupsList.Params(
                connection: connection, filter: filter, withWarnings: withWarnings ? true : nil, limit: limit, cursor: cursor)
            let page = try await options.withClient { try await $0.listGroups(params) }
            if options.json { return try options.printJSON(page) }
            // The next page of the same query: the filters are repeated.
            var words = ["scimctl", "groups", "list", connection]
            if withWarnings { words.append("--with-warnings") }
            if let filter { words += ["--filter", filter] }
            if limit != 50 { words += ["--limit", String(limit)] }
            print(Views.groups(page, nextCommand: shellCommand(words), view.context))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One group with its members (paged), warnings and raw SCIM data.", aliases: ["get"])
        @OptionGroup var options: GlobalOptions
        @OptionGroup var view: ViewOptions
        @Argument(help: "Connection id or name.", completion: ConnectionCompletion.kind) var connection: String
        @Argument(help: "Group id or displayName.") var group: String
        @Option(help: "Members per page.") var membersLimit: Int = 100
        @Option(help: "Cursor for the next page of members.") var membersCursor: String?
        func run() async throws {
            let params = GroupsGet.Params(connection: connection, id: group, membersLimit: membersLimit, membersCursor: membersCursor)
            let detail = try await options.withClient { try await $0.group(params) }
            if options.json { return try options.printJSON(detail) }
            print(Views.resource(detail, view.context))
        }
    }
}
