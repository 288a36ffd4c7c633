import Foundation
import SCIMDClient
import SCIMJSON
import Testing

/// Every scenario in Fixtures/idp runs through scim.handle on a fresh connection. A new file in
/// that folder is picked up with no code change.
@Suite struct FixtureScenarioTests {
    @Test func fixtureFolderIsNotEmpty() {
        #expect(Fixtures.scenarioFiles().count >= 12)
    }

    @Test(arguments: Fixtures.scenarioFiles().map(\.lastPathComponent))
    func scenarioPasses(_ file: String) async throws {
        let data = try Data(contentsOf: Fixtures.directory.appendingPathComponent(file))
        let scenario = try Scenario(json: try JSONParser().parse(bytes: Array(data)))
        let fixture = try ServiceFixture()
        let token = try await fixture.connection().token
        let results = try await ScenarioRunner.run(scenario) { request in
            var headers = request.headers
            switch request.auth {
            case "none": break
            case "wrong": headers["Authorization"] = "Bearer wrong-\(token)"
            default: headers["Authorization"] = "Bearer \(token)"
            }
            let result = await fixture.service.handleSCIM(
                .init(method: request.method, path: request.path, headers: headers, body: request.body))
            return (result.status, result.body)
        }
        for result in results where !result.passed {
            Issue.record(
                "\(scenario.name) step \(result.index): \(result.request.method) \(result.request.path) expected \(result.expectedStatus) got \(result.status): \(result.failure ?? "")"
            )
        }
        #expect(results.count == scenario.steps.count)
    }
}
