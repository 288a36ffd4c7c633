import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// Every IdP fixture scenario, replayed through `scim.handle` over the real daemon's Unix socket:
/// the door a web tier uses. Each scenario gets its own daemon, its own SCIM connection and its
/// own socket connection, and every step's expectation is checked.
@Suite struct SocketScenarioEndToEndTests {
    /// The fixtures shipped with the tests.
    static var fixtureDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SCIMDServiceTests/Fixtures/idp")
    }

    /// The design's shared fixtures (`../shared/fixtures/idp` next to the repository), when present.
    static var sharedDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/fixtures/idp")
    }

    static func jsonFiles(_ directory: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The in-repository fixtures, plus any shared fixture that is not byte-identical to one of
    /// them (today the two folders hold the same files, so nothing runs twice).
    static func scenarioFiles() -> [String] {
        let local = jsonFiles(fixtureDirectory)
        let localContents = Set(local.compactMap { try? Data(contentsOf: $0) })
        let shared = jsonFiles(sharedDirectory).filter { url in
            guard let data = try? Data(contentsOf: url) else { return false }
            return !localContents.contains(data)
        }
        return local.map(\.path) + shared.map(\.path)
    }

    @Test func thereAreScenariosToReplay() {
        #expect(Self.scenarioFiles().count >= 12)
    }

    @Test(arguments: scenarioFiles())
    func scenarioPassesOverTheSocket(_ path: String) async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let scenario = try Scenario(json: try JSONParser().parse(bytes: Array(data)))
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: scenario.idp ?? "IdP") }.token
        // One socket connection for the whole scenario, as a web tier keeps one open.
        let results = try await daemon.client { client in
            try await ScenarioRunner.run(scenario) { request in
                var headers = request.headers
                switch request.auth {
                case "none": break
                case "wrong": headers["Authorization"] = "Bearer wrong-\(token)"
                default: headers["Authorization"] = "Bearer \(token)"
                }
                let result = try await client.handleSCIM(method: request.method, path: request.path, headers: headers, body: request.body)
                return (result.status, result.body)
            }
        }
        for result in results where !result.passed {
            Issue.record(
                "\(scenario.name) step \(result.index): \(result.request.method) \(result.request.path) expected \(result.expectedStatus) got \(result.status): \(result.failure ?? "")"
            )
        }
        #expect(results.count == scenario.steps.count)
        #expect(!results.isEmpty)
        #expect(daemon.stop() == 0, "scimd exits cleanly after the scenario")
    }
}
