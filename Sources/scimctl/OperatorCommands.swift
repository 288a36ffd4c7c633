import ArgumentParser
import Foundation
import SCIMDClient
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON

/// `--role viewer|admin`: parsed (and completed, and listed in help) as the protocol's own enum.
extension OperatorRole: ExpressibleByArgument {}

/// `scimctl operators …`: the `operators.*` RPCs (people who sign in to the web dashboard).
struct OperatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators",
        abstract: "People who sign in to the web dashboard: add, list, remove, reset passwords, change roles.",
        discussion: """
            A viewer sees what the dashboard shows; an admin may also change configuration there. scimd \
            generates each password and shows it once (add, reset-password); it keeps only an scrypt hash.
            """,
        subcommands: [List.self, Add.self, Remove.self, ResetPassword.self, SetRole.self],
        defaultSubcommand: List.self)

    /// Prints an operator with its new password and that it is shown only now.
    static func printPassword(_ result: OperatorWithPassword, verb: String) {
        print("\(verb) operator \(result.operator.name) (\(result.operator.role.rawValue)).")
        print("Password (shown once, store it now: scimd keeps only a hash):")
        print("  \(result.password)")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dashboard operators and their roles.")
        @OptionGroup var options: GlobalOptions
        func run() async throws {
            let list = try await options.withClient { try await $0.call(OperatorsList.self, Empty()) }
            if options.json { return try options.printJSON(list) }
            if list.operators.isEmpty { return print("No operators. Add one with `scimctl operators add NAME`.") }
            print(
                Table.render(
                    headers: ["name", "role", "created", "password set"],
                    rows: list.operators.map { [$0.name, $0.role.rawValue, $0.createdAt, $0.passwordChangedAt] }))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a dashboard operator. Prints the generated password (shown once).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The sign-in name: 1–64 ASCII letters, digits, '.', '_', '-' or '@' (unique ignoring case).")
        var name: String
        @Option(help: "viewer (looks) or admin (also changes configuration).") var role: OperatorRole = .viewer
        func run() async throws {
            let added = try await options.withClient { try await $0.call(OperatorsAdd.self, .init(name: name, role: role)) }
            if options.json { return try options.printJSON(added) }
            OperatorsCommand.printPassword(added, verb: "Added")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a dashboard operator; their sessions end at their next request.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The operator's name (case does not matter).") var name: String
        func run() async throws {
            let result = try await options.withClient { try await $0.call(OperatorsRemove.self, .init(name: name)) }
            if options.json { return try options.printJSON(result) }
            print("Removed operator \(name).")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Give an operator a new generated password (shown once); the old one stops working.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The operator's name (case does not matter).") var name: String
        func run() async throws {
            let reset = try await options.withClient { try await $0.call(OperatorsResetPassword.self, .init(name: name)) }
            if options.json { return try options.printJSON(reset) }
            OperatorsCommand.printPassword(reset, verb: "Reset the password of")
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role", abstract: "Change an operator's role; it applies from their next request.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The operator's name (case does not matter).") var name: String
        @Option(help: "viewer (looks) or admin (also changes configuration).") var role: OperatorRole
        func run() async throws {
            let info = try await options.withClient { try await $0.call(OperatorsSetRole.self, .init(name: name, role: role)) }
            if options.json { return try options.printJSON(info) }
            print("Operator \(info.name) is now \(info.role.rawValue).")
        }
    }
}
