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
    let fromEnvironment = EnvironmentOptions.arguments(
        for: EnvironmentOptions.options(fromHelpDump: SCIMD._dumpHelp()), environment: ProcessInfo.processInfo.environment)
    await SCIMD.main(fromEnvironment + CommandLine.arguments.dropFirst())
}
await runCommand()
