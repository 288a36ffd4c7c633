import Foundation
import NIOCore
import SCIMDServer
import NIOPosix

// Swift concurrency runs on SwiftNIO's event-loop threads instead of a pool of its own, so a
// request no longer hops from the socket's event loop to a concurrency thread and back for its
// answer (two thread switches per request, most of a small request's latency). Nothing the daemon
// runs as a task blocks a thread: SQLite work runs on GRDB's and the group-commit writer's dispatch
// queues. This must run on the main thread before any task starts, hence top-level code.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

/// AsyncParsableCommand's async entry point: inside an async function the async `main` overload is
/// chosen (at top level the synchronous one would be, and it cannot run an async command).
/// Every option can also come from a `SCIMD_*` environment variable (`SCIMD_LOG_LEVEL=debug`); the
/// command line wins (see `EnvironmentOptions`).
func runCommand() async {
    let environment = ProcessInfo.processInfo.environment
    let options = EnvironmentOptions.options(fromHelpDump: SCIMD._dumpHelp())
    let fromEnvironment = EnvironmentOptions.arguments(for: options, environment: environment, commandLine: Array(CommandLine.arguments.dropFirst()))
    // Said before anything else, so a bad value's error ("invalid for '--http-idle-timeout'") can be
    // traced to the variable, and a typo does not go unnoticed.
    if !fromEnvironment.isEmpty {
        FileHandle.standardError.write(Data("scimd: options from SCIMD_* environment variables: \(fromEnvironment.joined(separator: " "))\n".utf8))
    }
    for name in EnvironmentOptions.unknownVariables(for: options, environment: environment) {
        FileHandle.standardError.write(Data("scimd: ignoring \(name): scimd has no such option (see scimd --help)\n".utf8))
    }
    await SCIMD.main(fromEnvironment + CommandLine.arguments.dropFirst())
}
await runCommand()
