import ArgumentParser
import Foundation
import GRDB
import HTTPTestClient
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import NIOConcurrencyHelpers

/// Benchmarks the real daemon over its real socket: starts `scimd` (release build) on a temporary
/// socket and database, drives it through SCIMDClient, prints a table. Numbers, not pass/fail.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scimd-bench",
        abstract: "Measure scimd: RPC round trip, ingest, lookups, list filters, group PATCH, re-mapping, cold start.")

    @Option(help: "The scimd binary to measure (a release build).") var scimd: String = ".build/release/scimd"
    @Flag(help: "Larger data sets: 100k users in one connection, then 1M users across 1,000 connections (slow).") var full = false
    @Option(help: "Base URL of a peer SCIM server to compare with over HTTP (scripts/bench starts python-scim's scim2-server).")
    var peer: String?
    @Option(help: "Bearer token of the peer.") var peerToken: String = "peer-token"
    @Option(help: "Seed of the data generator.") var seed: UInt64 = 1
    @Flag(help: "Smoke mode for CI: tiny sizes, proves the harness works; numbers mean nothing.") var smoke = false
    @Option(help: "Users in the bench connection (default: 10,000; 100,000 with --full; 300 with --smoke).") var users: Int?

    @Option(help: "Run the suite this many times (fresh daemon and database each) and print each number's median.")
    var runs: Int = 1

    @Option(help: .hidden) var echoServer: String?

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let users { guard users >= 2_000 || smoke else { throw ValidationError("--users must be at least 2,000") } }
    }

    func run() async throws {
        // The baseline of the sequential `system.health` row runs as a process of its own, as scimd
        // does: in the bench's process its thread and the client's shared one process's scheduling.
        if let echoServer {
            let server = try LineEchoServer(path: echoServer)
            defer { server.stop() }
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        var results: [[[String]]] = []
        for run in 1...runs {
            if runs > 1 { print("run \(run) of \(runs)") }
            results.append(try await suite(run: run))
        }
        let machine = "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB"
        let swift = Self.swiftVersion() ?? "Swift (version unknown)"
        print("\nscimd-bench (\(smoke ? "smoke" : full ? "full" : "quick"), seed \(seed), \(machine), \(swift)\(runs > 1 ? ", median of \(runs) runs" : ""))")
        if smoke { print("(smoke: tiny sizes, to prove the harness works; the numbers mean nothing)") }
        print(Self.table(Self.medians(results)))
    }

    /// Row by row, each number in the result column replaced by its median over the runs (the
    /// text around the numbers comes from the first run).
    static func medians(_ runs: [[[String]]]) -> [[String]] {
        guard var merged = runs.first else { return [] }
        let number = /[0-9][0-9.]*/
        for (r, row) in merged.enumerated() {
            let perRun = runs.compactMap { $0.indices.contains(r) ? $0[r][1].matches(of: number).compactMap { Double($0.output) } : nil }
            var index = 0
            merged[r][1] = row[1].replacing(number) { match -> String in
                defer { index += 1 }
                let values = perRun.compactMap { $0.indices.contains(index) ? $0[index] : nil }.sorted()
                guard !values.isEmpty else { return String(match.output) }
                let median = values[values.count / 2]
                // As many decimals as the run printed ("1.52 KB" stays two).
                let decimals = match.output.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
                return decimals > 0 ? String(format: "%.\(decimals)f", median) : String(Int(median))
            }
        }
        return merged
    }

    static func swiftVersion() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return output.firstMatch(of: /Swift version [0-9.]+/).map { String($0.output) }
    }

    /// One run of every measurement on a fresh daemon and database; the rows of the table.
    func suite(run: Int) async throws -> [[String]] {
        let users = self.users ?? (smoke ? 300 : (full ? 100_000 : 10_000))
        let directory = "/tmp/scimd-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var daemon = try Daemon(binary: scimd, directory: directory)
        // A measurement that throws must not leave its daemon running (the last one started).
        defer { daemon.stop() }
        let dashboardPort = try freeLoopbackPort()
        try daemon.start(dashboard: "127.0.0.1:\(dashboardPort)")
        var rows: [[String]] = []
        func row(_ name: String, _ value: String, _ target: String = "") {
            rows.append([name, value, target])
            print("  \(name): \(value)")
        }
        let socket = daemon.socket

        // 1. RPC round trip. The daemon's rows use a raw client (bytes out, newlines counted), so
        // they measure scimd rather than the client; the SCIMDClient rows show what a Swift caller
        // sees. The sequential round trip is judged against a bare NIO echo server, same client,
        // same run: on this machine wake-ups, not work, make up most of a round trip.
        let healthLine = Array(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#.utf8) + [0x0A]
        let echo = try EchoProcess(path: directory + "/echo.sock")
        let healthCount = smoke ? 200 : 5_000
        let turns = try RawLineClient.alternating(paths: [echo.path, socket], line: healthLine, count: healthCount)
        // The same with the client, the echo server and scimd on one CPU (see `CPUPinning`): what
        // each server's work per call costs, without the virtual CPUs' wake-ups.
        let (pinnedTurns, pinned) = try CPUPinning.onOneCPU(0, pids: [echo.pid, daemon.pid]) {
            try RawLineClient.alternating(paths: [echo.path, socket], line: healthLine, count: healthCount)
        }
        echo.stop()
        for (label, turns) in [("", turns), (pinned ? ", all on one CPU" : ", one CPU (taskset failed: unpinned)", pinnedTurns)] {
            let (echoed, health) = (turns[0], turns[1])
            row(
                "system.health sequential p50 / p99\(label): scimd / NIO echo server",
                "\(health.p50) / \(health.p99) µs; \(echoed.p50) / \(echoed.p99) µs (×\(String(format: "%.2f", Double(health.p50) / Double(max(echoed.p50, 1)))))",
                "≤ ×1.15 the echo server")
        }
        for connections in [1, 8] {
            let total = smoke ? 2_000 : 200_000
            let cpuBefore = daemon.cpuSeconds()
            let rate = try RawLineClient.pipelined(path: socket, line: healthLine, total: total, connections: connections)
            let cpu = (daemon.cpuSeconds() - cpuBefore) / Double(total) * 1e6
            row(
                "system.health pipelined, \(connections) conn.: rate, daemon CPU per request",
                "\(Int(rate)) req/s, \(String(format: "%.1f", cpu)) µs", "≥ 100,000 req/s; ≤ 10 µs")
        }
        let viaClient = try await SCIMDClient.withConnection(socketPath: socket) { client in
            try await Measure.sequential(healthCount) { _ in _ = try await client.health() }
        }
        let viaClientRate = try await Measure.throughput(total: smoke ? 400 : 40_000, connections: 1, inFlight: 32, socket: socket) { client, _ in
            _ = try await client.health()
        }
        row(
            "system.health through SCIMDClient: sequential p50 / p99, 32 in flight",
            "\(viaClient.p50) / \(viaClient.p99) µs, \(Int(viaClientRate)) req/s")

        // 2. Ingest.
        let created = try await SCIMDClient.withConnection(socketPath: socket) { try await $0.createConnection(name: "bench") }
        let auth = ["Authorization": "Bearer \(created.token)"]
        var generator = UserGenerator(seed: seed)
        let sequentialCount = smoke ? 100 : 1_000
        let bodies = (0..<users).map { _ in generator.next() }
        // With the raw client, as the health and lookup rows: the time of scimd and its commit,
        // not of `SCIMDClient` (about 50 µs more per call here, the health rows show).
        let sequential = try RawLineClient.sequentialSCIM(path: socket, count: sequentialCount, status: 201) { i in
            ("POST", "/scim/v2/Users", auth, bodies[i])
        }
        row("POST /Users sequential p50 / p99", "\(sequential.p50) / \(sequential.p99) µs (\(Int(1e6 / Double(max(sequential.p50, 1)))) req/s)", "p50 ≤ 400 µs")
        // Pipelined lines on one connection are handled in order, so 8 connections give the daemon
        // 8 writes at a time to commit together; a batch gives it all its elements at once.
        let pipelinedCount = min(smoke ? 100 : 2_000, (users - sequentialCount) / 2)
        let pipelined = Array(bodies[sequentialCount..<(sequentialCount + pipelinedCount)])
        let ingest = try await Measure.throughput(total: pipelined.count, connections: 8, inFlight: 8, socket: socket) { client, i in
            let r = try await client.handleSCIM(method: "POST", path: "/scim/v2/Users", headers: auth, body: pipelined[i])
            guard r.status == 201 else { throw BenchError("create failed: \(r.status) \(r.body ?? "")") }
        }
        row("POST /Users, 8 conn. × 8 pipelined", "\(Int(ingest)) creates/s (durable)", "≥ 10,000/s")
        let batchSize = 64
        let batched = Array(bodies[(sequentialCount + pipelinedCount)...])
        let batches = stride(from: 0, to: batched.count, by: batchSize).map { Array(batched[$0..<min($0 + batchSize, batched.count)]) }
        let batchRate = try await Measure.throughput(total: batches.count, connections: 8, inFlight: 1, socket: socket) { client, i in
            let results = try await client.callBatch(
                SCIMHandle.self, batches[i].map { .init(method: "POST", path: "/scim/v2/Users", headers: auth, body: $0) })
            for result in results {
                guard case .success(let r) = result, r.status == 201 else { throw BenchError("create failed: \(result)") }
            }
        } * Double(batched.count) / Double(max(batches.count, 1))
        row("POST /Users, 8 conn. × batches of \(batchSize)", "\(Int(batchRate)) creates/s (durable)", "≥ 10,000/s")

        // 3. Indexed lookups, in the connection the users went to.
        let names = bodies.compactMap { try? JSONParser().parse($0)["userName"]?.stringValue }
        let externalIds = bodies.compactMap { try? JSONParser().parse($0)["externalId"]?.stringValue }
        // End to end with the raw client (the same as the health row's, so the two compare), and
        // the time inside the daemon as its request log records it (`durationMicroseconds`: from
        // scim.handle's start to its response, without the JSON-RPC envelope and the socket).
        func lookups(_ label: String, connection: String, auth: [String: String], names: [String], externalIds: [String]) async throws {
            for (attribute, values) in [("userName", names), ("externalId", externalIds)] {
                let count = smoke ? 100 : 2_000
                var client = try RawLineClient(path: daemon.socket)
                defer { client.close() }
                func lookupLine(_ i: Int) -> [UInt8] {
                    let value = values[(i * 7_919) % values.count]
                    let params: JSONValue = [
                        "method": "GET", "path": .string("/scim/v2/Users?filter=\(attribute)%20eq%20%22\(value)%22"),
                        "headers": .object(JSONObject(auth.map { ($0.key, JSONValue.string($0.value)) })),
                    ]
                    return JSONSerializer.bytes(["jsonrpc": "2.0", "id": .int(i), "method": "scim.handle", "params": params]) + [0x0A]
                }
                /// One timed lookup, in µs; throws when it found nobody.
                func lookup(_ i: Int) throws -> Int {
                    let line = lookupLine(i)
                    let start = DispatchTime.now().uptimeNanoseconds
                    let answer = try client.call(line)
                    let elapsed = Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000)
                    guard answer.firstRange(of: Array(#"\"totalResults\":1"#.utf8)) != nil else {
                        throw BenchError("lookup failed: \(String(decoding: answer, as: UTF8.self))")
                    }
                    return elapsed
                }
                var samples = try (0..<count).map(lookup)
                samples.sort()
                // The request log is written in the background: give it a moment, then read the
                // newest GETs (these lookups).
                try await Task.sleep(for: .milliseconds(500))
                let logged = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                    try await client.listRequests(.init(connection: connection, method: "GET", limit: min(count, 1000)))
                }
                let inside = logged.requests.map(\.durationMicroseconds).sorted()
                row(
                    "\(attribute) eq lookup, \(label): p50 / p99 end to end; p50 inside scimd",
                    "\(samples[samples.count / 2]) / \(samples[samples.count * 99 / 100]) µs; \(inside.isEmpty ? 0 : inside[inside.count / 2]) µs",
                    "≤ health p50 + 30 µs; ≤ 20 µs")
                // On one CPU, taking turns with `system.health` on the same socket in warmed-up
                // blocks: what a lookup costs over the trivial call when wake-ups cost the same
                // (see `CPUPinning`). The writer thread that stores each GET's request-log row
                // shares that CPU too.
                let (pinnedTurns, pinned) = try CPUPinning.onOneCPU(0, pids: [daemon.pid]) { () throws -> [Measure.Latencies] in
                    var (health, looked) = ([Int](), [Int]())
                    for round in 0..<5 {
                        for _ in 0..<(round == 0 ? 500 : 100) { try client.roundTrip(healthLine) }
                        for _ in 0..<(count / 5) {
                            let start = DispatchTime.now().uptimeNanoseconds
                            try client.roundTrip(healthLine)
                            health.append(Int((DispatchTime.now().uptimeNanoseconds - start) / 1_000))
                        }
                        for i in 0..<(round == 0 ? 500 : 100) { _ = try lookup(count + i) }
                        for i in 0..<(count / 5) { looked.append(try lookup(round * count + i)) }
                    }
                    return [Measure.Latencies(samples: health), Measure.Latencies(samples: looked)]
                }
                let (pinnedHealth, pinnedLookup) = (pinnedTurns[0], pinnedTurns[1])
                row(
                    "\(attribute) eq lookup, \(label)\(pinned ? ", on one CPU" : ", one CPU (taskset failed: unpinned)"): p50 / p99; system.health p50, same socket, taking turns",
                    "\(pinnedLookup.p50) / \(pinnedLookup.p99) µs; \(pinnedHealth.p50) µs (\(String(format: "%+d", pinnedLookup.p50 - pinnedHealth.p50)) µs)",
                    "≤ health p50 + 30 µs")
            }
        }
        try await lookups("\(users.formatted()) users", connection: "bench", auth: auth, names: names, externalIds: externalIds)

        // 4. A filter no index serves.
        let scan = try await SCIMDClient.withConnection(socketPath: socket) { client in
            try await Measure.sequential(smoke ? 3 : 10) { _ in
                _ = try await client.handleSCIM(
                    method: "GET",
                    path: "/scim/v2/Users?filter=emails%5Btype%20eq%20%22work%22%20and%20value%20ew%20%22%40example.com%22%5D&count=100",
                    headers: auth)
            }
        }
        row("non-indexed filter, \(users) users, one page", "\(scan.p50 / 1000) ms", "≤ 50 ms (at 100k)")

        // 5. Group PATCH against group size.
        for size in smoke ? [100] : [100, 1_000, 10_000] {
            let ids = try await SCIMDClient.withConnection(socketPath: socket) { client -> [String] in
                let page = try await client.listUsers(.init(connection: "bench", limit: 1000))
                return page.users.map(\.id)
            }
            let members = (0..<size).map { #"{"value":"\#(ids[$0 % ids.count])-\#($0)"}"# }.joined(separator: ",")
            let g = try await SCIMDClient.withConnection(socketPath: socket) { client in
                try await client.handleSCIM(
                    method: "POST", path: "/scim/v2/Groups", headers: auth, body: #"{"displayName":"g\#(size)","members":[\#(members)]}"#)
            }
            let gid = try JSONParser().parse(g.body ?? "{}")["id"]?.stringValue ?? ""
            let patch = try RawLineClient.sequentialSCIM(path: socket, count: smoke ? 10 : 100, status: 204) { i in
                let op = i % 2 == 0 ? "add" : "remove"
                let body = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"\#(op)","path":"members","value":[{"value":"\#(ids[0])"}]}]}"#
                return ("PATCH", "/scim/v2/Groups/\(gid)", auth, body)
            }
            row("group PATCH ±1 member, group of \(size), p50", "\(patch.p50) µs", "≤ 400 µs, flat in size")
        }

        // 6. Re-mapping.
        let remap = try await SCIMDClient.withConnection(socketPath: socket) { client in
            let info = try await client.mapping("bench")
            var properties = info.users["properties"]?.arrayValue ?? []
            properties.append(["name": "department", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "warnIfMissing": true])
            return try await client.setMapping(.init(connection: "bench", users: ["properties": .array(properties)])).remap
        }
        row(
            "mapping.set re-map, \(remap.resources) resources",
            "\(Int(Double(remap.resources) / max(remap.elapsedMilliseconds, 0.001) * 1000)) resources/s", "≥ 200,000/s")
        // The common fix-up: a change most resources do not feel (here, none: nobody sends
        // `nickName`). Every resource is evaluated; only the changed ones are written.
        let quietRemap = try await SCIMDClient.withConnection(socketPath: socket) { client in
            let info = try await client.mapping("bench")
            var properties = info.users["properties"]?.arrayValue ?? []
            properties.append(["name": "nickName", "type": "string", "path": "nickName"])
            return try await client.setMapping(.init(connection: "bench", users: ["properties": .array(properties)])).remap
        }
        row(
            "mapping.set re-map changing \(quietRemap.resourcesChanged) of \(quietRemap.resources) resources",
            "\(Int(Double(quietRemap.resources) / max(quietRemap.elapsedMilliseconds, 0.001) * 1000)) resources/s", "≥ 200,000/s")

        // 6b. Dashboard pages: server time (the Server-Timing header scimd sets), signed in as a
        // viewer, with every user of the connection carrying an open warning: a property nobody
        // sends (`costCenter`), with warnIfMissing, is added first (the worst case for the warning pages).
        let warnedRemap = try await SCIMDClient.withConnection(socketPath: socket) { client in
            let info = try await client.mapping("bench")
            var properties = info.users["properties"]?.arrayValue ?? []
            properties.append(["name": "costCenter", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "warnIfMissing": true])
            return try await client.setMapping(.init(connection: "bench", users: ["properties": .array(properties)])).remap
        }
        row(
            "mapping.set re-map opening a warning on every user, \(warnedRemap.resources) resources",
            "\(Int(Double(warnedRemap.resources) / max(warnedRemap.elapsedMilliseconds, 0.001) * 1000)) resources/s", "≥ 200,000/s")
        try await DashboardWorkload.measure(
            port: dashboardPort, socket: socket, connection: "bench", sampleUserName: names[names.count / 2], repeats: smoke ? 3 : 20
        ) { page, latencies in
            row("dashboard \(page), \(users.formatted()) users, all warned: server time p50 / p99", "\(latencies.p50) / \(latencies.p99) ms", "≤ 100 ms")
        }

        // 7. Cold start and memory.
        let rssAfterIngest = daemon.residentMegabytes()
        daemon.stop()
        var stored = users
        if full {
            // 1M users across 1,000 connections: 999 more connections (through the daemon, for their
            // tokens), then 900 of the bench connection's users copied into each in SQL while the
            // daemon is stopped. Ingesting 900k users through the socket would take most of an hour.
            try daemon.start()
            let extra = 999
            let perConnection = (1_000_000 - users + extra - 1) / extra
            let tokens = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                var tokens: [String: String] = [:]
                for n in 1...extra { tokens["bench-\(n)"] = try await client.createConnection(name: "bench-\(n)").token }
                return tokens
            }
            daemon.stop()
            let database = try DatabaseQueue(path: daemon.database)
            // The keys of the users that went to `bench-500`, read back rather than assumed: users
            // created in the same millisecond tie in `ORDER BY createdAt`, so which of them made the
            // cut was not always the first generated (a lookup of the 901st then found nobody).
            let copied = try await database.write { db -> [(name: String, externalId: String)] in
                let source = try String.fetchOne(db, sql: "SELECT id FROM connection WHERE name = 'bench'") ?? ""
                for n in 1...extra {
                    let target = try String.fetchOne(db, sql: "SELECT id FROM connection WHERE name = ?", arguments: ["bench-\(n)"]) ?? ""
                    try db.execute(
                        sql: """
                            INSERT INTO resource (connectionId, resourceType, id, nameKey, externalId, displayName, active, createdAt,
                                updatedAt, version, raw, mapped, mappingVersion, warningCount)
                            SELECT ?, resourceType, id, nameKey, externalId, displayName, active, createdAt, updatedAt, version, raw,
                                mapped, mappingVersion, 0
                            FROM resource WHERE connectionId = ? AND resourceType = 'User' ORDER BY createdAt LIMIT ?
                            """, arguments: [target, source, perConnection])
                }
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT nameKey, externalId FROM resource
                        WHERE connectionId = (SELECT id FROM connection WHERE name = 'bench-500') AND resourceType = 'User'
                        """
                ).map { (name: $0["nameKey"], externalId: $0["externalId"]) }
            }
            // Leave the database as a cleanly stopped daemon would: the WAL checkpointed into the
            // file, so the cold start does not pay for reading the copy's write-ahead log.
            try await database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try database.close()
            stored = users + extra * perConnection
            let coldStart = try daemon.start()
            row("cold start to first answer, \(stored.formatted()) users", "\(Int(coldStart * 1000)) ms", "≤ 200 ms")
            let rssAtStart = daemon.residentMegabytes()
            let kilobytesAtStart = daemon.residentKilobytes()
            row("RSS at start, \(stored.formatted()) users", "\(rssAtStart) MB", "≤ 200 MB")
            // The background load (`startLoadingResources`), timed from the first answer until
            // `system.stats` counts every connection resident; nothing else asks meanwhile.
            let loadStarted = ContinuousClock.now
            let connections = extra + 1
            let resident = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                while ContinuousClock.now - loadStarted < .seconds(600) {
                    let stats = try await client.stats()
                    if (stats.residentConnections ?? 0) >= connections { return true }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return false
            }
            let loadTime = ContinuousClock.now - loadStarted
            let loadSeconds = Double(loadTime.components.seconds) + Double(loadTime.components.attoseconds) / 1e18
            row(
                "full load into memory after the first answer, \(stored.formatted()) users in 1,000 connections",
                resident ? String(format: "%.1f s", loadSeconds) : "not done in 600 s", "≤ 15 s")
            let rssResident = daemon.residentMegabytes()
            row("RSS with all \(stored.formatted()) users resident", "\(rssResident) MB", "≤ 1.5 GB")
            let perUser = Double(max(0, daemon.residentKilobytes() - kilobytesAtStart)) / Double(max(1, stored))
            row("RSS per resident user at \(stored.formatted())", String(format: "%.2f KB", perUser), "≤ 1.5 KB")
            try await lookups("\(stored.formatted()) users in 1,000 connections", connection: "bench", auth: auth, names: names, externalIds: externalIds)
            let other = ["Authorization": "Bearer \(tokens["bench-500"] ?? "")"]
            try await lookups(
                "another connection of the \(stored.formatted())", connection: "bench-500", auth: other, names: copied.map(\.name),
                externalIds: copied.map(\.externalId))
            row("RSS after the lookups, \(stored.formatted()) users", "\(daemon.residentMegabytes()) MB", "")
            daemon.stop()
        } else {
            let coldStart = try daemon.start()
            row("cold start to first answer, \(users.formatted()) users", "\(Int(coldStart * 1000)) ms", "≤ 200 ms")
            let rssAtStart = daemon.residentMegabytes()
            let kilobytesAtStart = daemon.residentKilobytes()
            // The daemon answers before its resources are in memory; the first read of the
            // connection waits for the background load to finish (or does it itself).
            let loadStarted = ContinuousClock.now
            try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                let r = try await client.handleSCIM(
                    method: "GET", path: "/scim/v2/Users?filter=userName%20eq%20%22\(names[0])%22", headers: auth)
                guard r.status == 200 else { throw BenchError("first lookup after restart failed: \(r.status)") }
            }
            let loaded = ContinuousClock.now - loadStarted
            let loadMilliseconds = Int(loaded.components.seconds * 1000 + loaded.components.attoseconds / 1_000_000_000_000_000)
            row("first lookup after restart (waits for the load into memory), \(users.formatted()) users", "\(loadMilliseconds) ms", "")
            let rssResident = daemon.residentMegabytes()
            row("RSS after ingest / at restart / all resident", "\(rssAfterIngest) / \(rssAtStart) / \(rssResident) MB", "")
            let perUser = Double(max(0, daemon.residentKilobytes() - kilobytesAtStart)) / Double(max(1, users))
            row("RSS per resident user (all resident − at restart)", String(format: "%.2f KB", perUser), "≤ 1.5 KB (1.5 GB at 1M)")

            // 7b. Both sides of --memory-limit: a second connection holding a copy of the bench
            // connection's users, and a limit that fits one of the two. Reads alternating between
            // them reload each time (the worst case); reads of one stay in memory.
            let estimate = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                _ = try await client.createConnection(name: "bench-b")
                return try await client.stats().residentBytes ?? 0
            }
            row("estimated resident bytes (system.stats) / RSS growth, \(users.formatted()) users", String(format: "%.1f / %d MB", Double(estimate) / 1_048_576, rssResident - rssAtStart), "")
            daemon.stop()
            let database = try DatabaseQueue(path: daemon.database)
            try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO resource (connectionId, resourceType, id, nameKey, externalId, displayName, active, createdAt,
                            updatedAt, version, raw, mapped, mappingVersion, warningCount)
                        SELECT (SELECT id FROM connection WHERE name = 'bench-b'), resourceType, id, nameKey, externalId, displayName,
                            active, createdAt, updatedAt, version, raw, mapped, mappingVersion, 0
                        FROM resource WHERE connectionId = (SELECT id FROM connection WHERE name = 'bench') AND resourceType = 'User'
                        """)
            }
            try await database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try database.close()
            let limit = estimate * 3 / 2
            try daemon.start(extra: ["--memory-limit", "\(limit)"])
            let alternating = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                try await Measure.sequential(smoke ? 4 : 10) { i in
                    let r = try await client.handleSCIM(
                        method: "GET", path: "/scim/v2/Users?filter=userName%20eq%20%22\(names[i])%22", connection: i % 2 == 0 ? "bench-b" : "bench")
                    guard r.status == 200 else { throw BenchError("lookup under --memory-limit failed: \(r.status)") }
                }
            }
            let resident = try await SCIMDClient.withConnection(socketPath: daemon.socket) { client in
                try await Measure.sequential(smoke ? 50 : 2_000) { i in
                    _ = try await client.handleSCIM(
                        method: "GET", path: "/scim/v2/Users?filter=userName%20eq%20%22\(names[i % names.count])%22", connection: "bench")
                }
            }
            let limited = try await SCIMDClient.withConnection(socketPath: daemon.socket) { try await $0.stats() }
            row(
                "--memory-limit \(String(format: "%.1f", Double(limit) / 1_048_576)) MB, 2 × \(users.formatted()) users: lookup that reloads its connection, p50",
                "\(alternating.p50 / 1000) ms", "")
            row("… lookup of the connection in memory, p50 / p99", "\(resident.p50) / \(resident.p99) µs", "")
            row(
                "… RSS, connections in memory (unlimited, 1 connection: \(rssResident) MB)",
                "\(daemon.residentMegabytes()) MB, \(limited.residentConnections ?? 0) of 2", "")
            daemon.stop()
        }

        // 8. Side by side with a peer SCIM server over HTTP.
        if let peer {
            let port = try freeLoopbackPort()
            var httpDaemon = try Daemon(binary: scimd, directory: directory + "/http")
            try FileManager.default.createDirectory(atPath: directory + "/http", withIntermediateDirectories: true)
            try httpDaemon.start(http: "127.0.0.1:\(port)")
            defer { httpDaemon.stop() }
            let token = try await SCIMDClient.withConnection(socketPath: httpDaemon.socket) { try await $0.createConnection(name: "http").token }
            let count = smoke ? 100 : 2_000
            // The peer lives across runs: each run sends it users of its own.
            var peerGenerator = UserGenerator(seed: seed &+ UInt64(run), tag: "run\(run)-")
            let sideBodies = (0..<count).map { _ in peerGenerator.next() }
            let ours = try HTTPWorkload.run(host: "127.0.0.1", port: port, basePath: "/scim/v2", token: token, bodies: sideBodies)
            guard let peerURL = URL(string: peer), let peerHost = peerURL.host, let peerPort = peerURL.port else {
                throw BenchError("--peer must look like http://127.0.0.1:PORT")
            }
            let theirs = try HTTPWorkload.run(host: peerHost, port: peerPort, basePath: peerURL.path, token: peerToken, bodies: sideBodies)
            row("HTTP POST /Users, 4 conn.: scimd / scim2-server",
                "\(Int(ours.createsPerSecond)) / \(Int(theirs.createsPerSecond)) req/s (×\(String(format: "%.1f", ours.createsPerSecond / theirs.createsPerSecond)))",
                "≥ ×10")
            row("HTTP userName eq, 4 conn.: scimd / scim2-server",
                "\(Int(ours.lookupsPerSecond)) / \(Int(theirs.lookupsPerSecond)) req/s (×\(String(format: "%.1f", ours.lookupsPerSecond / theirs.lookupsPerSecond)))",
                "≥ ×20")  // issue #14's target for lookups; creates ≥ ×10
            row("HTTP userName eq p50: scimd / scim2-server", "\(ours.lookupP50) / \(theirs.lookupP50) µs")
        } else {
            row("HTTP side by side with scim2-server", "skipped: no --peer (scripts/bench starts one unless SCIMD_BENCH_NO_PEER=1)", "")
        }

        return rows
    }

    static func table(_ rows: [[String]]) -> String {
        let headers = ["measurement", "result", "target"]
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        return ([line(headers), "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"] + rows.map(line))
            .joined(separator: "\n")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Latency percentiles (µs) and throughput.
enum Measure {
    struct Latencies {
        var p50: Int
        var p99: Int

        /// The median and 99th percentile of `samples` (µs, any order; at least one).
        init(samples: [Int]) {
            let sorted = samples.sorted()
            p50 = sorted[sorted.count / 2]
            p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        }
    }

    static func sequential(_ count: Int, _ body: (Int) async throws -> Void) async throws -> Latencies {
        var samples: [Int] = []
        samples.reserveCapacity(count)
        let clock = ContinuousClock()
        for i in 0..<count {
            let start = clock.now
            try await body(i)
            let d = clock.now - start
            samples.append(Int(d.components.seconds) * 1_000_000 + Int(d.components.attoseconds / 1_000_000_000_000))
        }
        return Latencies(samples: samples)
    }

    /// Requests per second for `total` calls spread over `connections`, each with `inFlight` at once.
    static func throughput(
        total: Int, connections: Int, inFlight: Int, socket: String, _ body: @escaping @Sendable (SCIMDClient, Int) async throws -> Void
    ) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                group.addTask {
                    try await SCIMDClient.withConnection(socketPath: socket) { client in
                        try await withThrowingTaskGroup(of: Void.self) { lanes in
                            for lane in 0..<inFlight {
                                lanes.addTask {
                                    var i = c * inFlight + lane
                                    while i < total {
                                        try await body(client, i)
                                        i += connections * inFlight
                                    }
                                }
                            }
                            try await lanes.waitForAll()
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let d = clock.now - start
        return Double(total) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }
}

/// Realistic IdP users (Okta/Entra shapes), deterministic from a seed.
struct UserGenerator {
    var state: UInt64
    var serial = 0
    /// Put in every userName, so that two generators' users never collide.
    var tag: String
    init(seed: UInt64, tag: String = "") {
        state = seed
        self.tag = tag
    }

    mutating func random(_ n: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(n))
    }

    static let given = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Linus"]
    static let family = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"]
    static let departments = ["Engineering", "Sales", "Support", "Finance", "People"]

    mutating func next() -> String {
        serial += 1
        let g = Self.given[random(Self.given.count)], f = Self.family[random(Self.family.count)]
        let userName = "\(g.lowercased()).\(f.lowercased()).\(tag)\(serial)@example.com"
        let department = Self.departments[random(Self.departments.count)]
        return """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],\
            "userName":"\(userName)","externalId":"00u\(serial)x\(random(1_000_000))","active":true,\
            "name":{"givenName":"\(g)","familyName":"\(f)","formatted":"\(g) \(f)"},"displayName":"\(g) \(f)",\
            "emails":[{"value":"\(userName)","type":"work","primary":true}],"title":"Member of staff",\
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"\(department)","employeeNumber":"\(serial)"}}
            """
    }
}

/// The daemon under measurement.
struct Daemon {
    let binary: String
    let socket: String
    let database: String
    var process: Process?

    init(binary: String, directory: String) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchError("no scimd at \(binary): build it with `swift build -c release --product scimd`")
        }
        self.binary = binary
        socket = directory + "/s.sock"
        database = directory + "/db.sqlite"
    }

    /// Starts scimd; returns seconds from spawn to the first answered health check.
    @discardableResult
    mutating func start(http: String? = nil, dashboard: String? = nil, extra: [String] = []) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--socket", socket, "--database", database, "--log-level", "error"] + (http.map { ["--http", $0] } ?? [])
            + (dashboard.map { ["--dashboard", $0] } ?? []) + extra
        let started = Date()
        try p.run()
        process = p
        while Date().timeIntervalSince(started) < 30 {
            if Self.answers(socket) { return Date().timeIntervalSince(started) }
            usleep(1_000)
        }
        throw BenchError("scimd did not start")
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }

    /// The daemon's process id (0 when it is not running).
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// CPU time (user + system) the daemon has used so far, in seconds (`/proc/PID/stat`).
    func cpuSeconds() -> Double {
        guard let pid = process?.processIdentifier,
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.split(separator: ")").last
        else { return 0 }
        // Fields after the name: state is the 1st, utime the 12th, stime the 13th (proc(5)).
        let fields = afterName.split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func residentMegabytes() -> Int {
        let kilobytes = residentKilobytes()
        return kilobytes < 0 ? -1 : kilobytes / 1024
    }

    /// VmRSS in KiB (`/proc/PID/status`); -1 when the daemon is not running.
    func residentKilobytes() -> Int {
        guard let pid = process?.processIdentifier,
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// One raw health request over the socket: whether it was answered.
    static func answers(_ path: String) -> Bool {
        guard var client = try? RawLineClient(path: path) else { return false }
        defer { client.close() }
        return (try? client.call(Array(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#.utf8) + [0x0A])) != nil
    }
}

/// The same SCIM workload over HTTP/1.1 against any server: creates spread over 4 keep-alive
/// connections, then `userName eq` lookups of the created users. Blocking sockets, one thread per
/// connection (the test suite's minimal HTTP client), so scimd and the peer are driven alike.
enum HTTPWorkload {
    struct Result {
        var createsPerSecond: Double
        var lookupsPerSecond: Double
        var lookupP50: Int
    }

    static let connections = 4

    static func run(host: String, port: Int, basePath: String, token: String, bodies: [String]) throws -> Result {
        let base = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        let headers = [("Host", "\(host):\(port)"), ("Authorization", "Bearer \(token)"), ("Content-Type", "application/scim+json")]
        let names = bodies.compactMap { try? JSONParser().parse($0)["userName"]?.stringValue }
        let failures = Failures()
        let createStart = Date()
        Lanes.run(connections) { lane in
            do {
                let client = try Connection(host: host, port: port)
                for i in stride(from: lane, to: bodies.count, by: connections) {
                    let r = try client.exchange(HTTPTestRequest(.POST, base + "/Users", headers: headers, body: bodies[i]))
                    guard r.status == 201 else { throw BenchError("HTTP create on port \(port) failed: \(r.status) \(r.body.prefix(300))") }
                }
            } catch { failures.record(error) }
        }
        let createSeconds = Date().timeIntervalSince(createStart)
        try failures.check()
        let latencies = Latencies()
        let lookupStart = Date()
        Lanes.run(connections) { lane in
            do {
                let client = try Connection(host: host, port: port)
                for i in stride(from: lane, to: names.count, by: connections) {
                    let started = DispatchTime.now().uptimeNanoseconds
                    let target = base + "/Users?filter=userName%20eq%20%22\(names[(i * 7_919) % names.count])%22"
                    let r = try client.exchange(HTTPTestRequest(.GET, target, headers: headers))
                    guard r.status == 200, r.body.contains("\"totalResults\":1") || r.body.contains("\"totalResults\": 1") else {
                        throw BenchError("HTTP lookup on port \(port) failed: \(r.status) \(r.body.prefix(300))")
                    }
                    latencies.add(Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000))
                }
            } catch { failures.record(error) }
        }
        let lookupSeconds = Date().timeIntervalSince(lookupStart)
        try failures.check()
        return Result(
            createsPerSecond: Double(bodies.count) / createSeconds, lookupsPerSecond: Double(names.count) / lookupSeconds,
            lookupP50: latencies.median)
    }

    /// A keep-alive connection that reconnects when the server closes after a response
    /// (an HTTP/1.0 server, or `Connection: close`), as any HTTP client would.
    /// One lane's keep-alive connection, reconnecting after a response that closes it. Used only
    /// on its lane's thread: the wire connection runs NIO's codec on the calling thread, so an
    /// exchange costs no hop to another thread and back (``HTTPTestClient`` made two per exchange,
    /// and its threads competed with both servers for the two cores).
    final class Connection {
        let host: String, port: Int
        var client: HTTPWireConnection
        var reconnect = false
        init(host: String, port: Int) throws {
            (self.host, self.port) = (host, port)
            client = try HTTPWireConnection(host: host, port: port)
        }
        func exchange(_ request: HTTPTestRequest) throws -> HTTPTestResponse {
            if reconnect { client = try HTTPWireConnection(host: host, port: port) }
            let response = try client.exchange(request)
            reconnect = response.version == .http1_0 || response[header: "connection"]?.lowercased() == "close"
            return response
        }
    }

    /// The first error any lane hit. A class guarded by a lock: lanes run on GCD threads.
    final class Failures: Sendable {
        private let first = NIOLockedValueBox<(any Error)?>(nil)
        func record(_ error: any Error) { first.withLockedValue { if $0 == nil { $0 = error } } }
        func check() throws { if let error = first.withLockedValue({ $0 }) { throw error } }
    }

    final class Latencies: Sendable {
        private let samples = NIOLockedValueBox<[Int]>([])
        func add(_ microseconds: Int) { samples.withLockedValue { $0.append(microseconds) } }
        var median: Int { samples.withLockedValue { $0.isEmpty ? 0 : $0.sorted()[$0.count / 2] } }
    }
}

/// The dashboard's pages timed by scimd itself (`Server-Timing: app;dur=…`, milliseconds): sign in
/// as a viewer created for the purpose, then fetch each page `repeats` times over one keep-alive
/// connection. The network and the client are left out; the numbers are the page's own work.
enum DashboardWorkload {
    struct Latencies {
        var p50: String
        var p99: String
    }

    static func measure(
        port: Int, socket: String, connection: String, sampleUserName: String, repeats: Int,
        report: (String, Latencies) -> Void
    ) async throws {
        let password = try await SCIMDClient.withConnection(socketPath: socket) { client in
            try await client.call(OperatorsAdd.self, .init(name: "bench-viewer", role: .viewer)).password
        }
        let (connectionId, userId) = try await SCIMDClient.withConnection(socketPath: socket) { client in
            let id = try await client.connection(connection).id
            let user = try await client.listUsers(.init(connection: connection, filter: "userName eq \"\(sampleUserName)\"", limit: 1))
            return (id, user.users.first?.id ?? "")
        }
        let http = try HTTPTestClient(host: "127.0.0.1", port: port)
        func cookie(_ name: String, in response: HTTPTestResponse) -> String? {
            response.headers["Set-Cookie"].lazy.compactMap { value -> String? in
                let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                return pair.count == 2 && pair[0] == name ? String(pair[1]) : nil
            }.first
        }
        let form = try http.exchange(HTTPTestRequest(.GET, "/signin"))
        guard let signinCookie = cookie("scimd_signin", in: form),
            let tokenRange = form.body.range(of: "name=\"_csrf\" value=\""),
            let tokenEnd = form.body[tokenRange.upperBound...].firstIndex(of: "\"")
        else { throw BenchError("the dashboard's sign-in page has no form token") }
        let token = String(form.body[tokenRange.upperBound..<tokenEnd])
        let signedIn = try http.exchange(
            HTTPTestRequest(
                .POST, "/signin",
                headers: [("Cookie", "scimd_signin=\(signinCookie)"), ("Content-Type", "application/x-www-form-urlencoded")],
                body: "_csrf=\(token)&name=bench-viewer&password=\(password)&next=%2Fconnections"))
        guard signedIn.status == 303, let session = cookie("scimd_session", in: signedIn) else {
            throw BenchError("dashboard sign-in failed: \(signedIn.status)")
        }
        let base = "/connections/\(connectionId)"
        let prefix = String(sampleUserName.prefix(6)).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let pages: [(String, String)] = [
            ("connections page", "/connections"), ("users, first page", "\(base)/users"),
            ("users, with warnings", "\(base)/users?status=warnings"), ("users, search", "\(base)/users?q=\(prefix)"),
            ("Users with Warnings", "\(base)/warnings"), ("a user", "\(base)/users/\(userId)"), ("mapping editor", "\(base)/mapping"),
            ("requests", "\(base)/requests"),
        ]
        for (name, target) in pages {
            var samples: [Double] = []
            for _ in 0..<repeats {
                let response = try http.exchange(HTTPTestRequest(.GET, target, headers: [("Cookie", "scimd_session=\(session)")]))
                guard response.status == 200, let timing = response.headers["Server-Timing"].first,
                    let duration = timing.split(separator: "=").last.flatMap({ Double($0) })
                else { throw BenchError("dashboard \(target): \(response.status)") }
                samples.append(duration)
            }
            samples.sort()
            func format(_ value: Double) -> String { String(format: value < 10 ? "%.1f" : "%.0f", value) }
            report(name, Latencies(p50: format(samples[samples.count / 2]), p99: format(samples[min(samples.count - 1, samples.count * 99 / 100)])))
        }
    }
}
