import Foundation
import SCIMJSON

/// Command-line options from the environment: every `--some-option` of a command can also be set
/// as `SCIMD_SOME_OPTION` (upper case, `-` as `_`), so a systemd unit's `EnvironmentFile=` (or a
/// container's environment) configures scimd without editing `ExecStart=`.
///
/// The environment gives defaults; the command line wins: the arguments this returns go *before*
/// the real ones, and a repeated option takes its last value. A flag is set by `1`, `true`, `yes`
/// or `on` (any case) and left alone by anything else.
public enum EnvironmentOptions {
    /// One option of the command: its long name and whether it takes a value.
    public struct Option: Sendable, Equatable {
        public var name: String
        public var isFlag: Bool
        public init(name: String, isFlag: Bool) {
            self.name = name
            self.isFlag = isFlag
        }
        /// `max-line-bytes` → `SCIMD_MAX_LINE_BYTES`.
        public func variable(prefix: String) -> String {
            prefix + name.uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    /// The options of a command, read from swift-argument-parser's JSON help dump
    /// (`ParsableCommand._dumpHelp()`): every named option and flag with a long name, except
    /// `help` and `version`. Empty when the dump cannot be read.
    public static func options(fromHelpDump dump: String) -> [Option] {
        guard let root = try? JSONParser().parse(dump), let arguments = root["command"]?["arguments"]?.arrayValue else { return [] }
        var options: [Option] = []
        for argument in arguments {
            guard let kind = argument["kind"]?.stringValue, kind == "option" || kind == "flag" else { continue }
            let names = argument["names"]?.arrayValue ?? []
            guard let long = names.first(where: { $0["kind"] == "long" })?["name"]?.stringValue,
                !["help", "version"].contains(long)
            else { continue }
            options.append(Option(name: long, isFlag: kind == "flag"))
        }
        return options
    }

    /// `PREFIX*` variables that name no option (`SCIMD_LOGLEVEL`): most likely typos, which would
    /// otherwise be ignored without a word. Sorted.
    public static func unknownVariables(for options: [Option], environment: [String: String], prefix: String = "SCIMD_") -> [String] {
        let known = Set(options.map { $0.variable(prefix: prefix) })
        return environment.keys.filter { $0.hasPrefix(prefix) && !known.contains($0) }.sorted()
    }

    /// The arguments the environment sets, in `options` order (`["--log-level", "debug", "--http-trust-forwarded"]`),
    /// leaving out the options `commandLine` gives itself (`--name` or `--name=value`): the command
    /// line wins, and what scimd reports as taken from the environment is what it really took.
    public static func arguments(
        for options: [Option], environment: [String: String], prefix: String = "SCIMD_", commandLine: [String] = []
    ) -> [String] {
        var arguments: [String] = []
        for option in options {
            guard let value = environment[option.variable(prefix: prefix)] else { continue }
            let flag = "--" + option.name
            if commandLine.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) { continue }
            if option.isFlag {
                if ["1", "true", "yes", "on"].contains(value.lowercased()) { arguments.append("--" + option.name) }
            } else {
                arguments += ["--" + option.name, value]
            }
        }
        return arguments
    }
}
