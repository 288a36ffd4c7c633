import ArgumentParser
import Foundation
import SCIMDClient

/// Shell completion of connection names from the running daemon (`connections.list` over the
/// socket), for every argument and option that takes a connection.
///
/// It fails quietly: when scimd is not running, the socket is not ours to read, or it does not
/// answer within a second, the shell simply offers nothing. The socket is the one the command line
/// being completed names (`--socket PATH` or `--socket=PATH`), else `$SCIMD_SOCKET` and the defaults.
enum ConnectionCompletion {
    /// The `CompletionKind` to give a connection argument.
    static let kind = CompletionKind.custom { words, _, prefix in await names(words: words, prefix: prefix) }

    /// The names of the daemon's connections that start with `prefix`, sorted; empty on any failure.
    static func names(words: [String], prefix: String) async -> [String] {
        let socket = socketPath(in: words) ?? SCIMDClient.defaultSocketPath
        let names = await withTaskGroup(of: [String]?.self) { group -> [String] in
            group.addTask {
                (try? await SCIMDClient.withConnection(socketPath: socket) { try await $0.listConnections() })?.map(\.name)
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? []
        }
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The value of `--socket PATH` or `--socket=PATH` among the words of the command line.
    static func socketPath(in words: [String]) -> String? {
        for (index, word) in words.enumerated() {
            if word.hasPrefix("--socket=") { return String(word.dropFirst("--socket=".count)) }
            if word == "--socket", index + 1 < words.count { return words[index + 1] }
        }
        return nil
    }
}
