import SCIMJSON
import Testing

@testable import SCIMDClient

/// ``ScenarioRunner`` against a scripted transport: no daemon needed.
@Suite struct ScenarioRunnerTests {
    /// A step that needs a value an earlier, failed step should have saved is not sent: it used
    /// to go out as `GET /Users/${marisol}` and report a misleading 404.
    @Test func aStepWhosePlaceholderWasNeverSavedIsNotSent() async throws {
        let scenario = try Scenario(json: [
            "steps": [
                ["request": ["method": "POST", "path": "/Users", "body": ["userName": "marisol"]], "expect": ["status": 201], "save": ["marisol": "id"]],
                ["request": ["method": "GET", "path": "/Users/${marisol}"], "expect": ["status": 200]],
                // A "${…}" no step saves is text like any other.
                ["request": ["method": "GET", "path": "/Users?filter=displayName%20eq%20%22${price}%22"], "expect": ["status": 200]],
            ]
        ])
        var sent: [String] = []
        // The create fails (409: the user is there already), so nothing is saved.
        let results = try await ScenarioRunner.run(scenario) { request in
            sent.append("\(request.method) \(request.path)")
            return request.method == "POST" ? (409, #"{"status":"409"}"#) : (200, "{}")
        }
        #expect(sent.count == 2 && !sent.contains { $0.contains("${marisol}") }, "\(sent)")
        #expect(results.map(\.status) == [409, 0, 200])
        #expect(results[1].failure == "not sent: ${marisol} never saved (the step that saves it failed)")
        #expect(results[2].passed)

        // Saved, it is substituted and sent.
        let saving = try await ScenarioRunner.run(scenario) { request in
            request.method == "POST" ? (201, #"{"id":"u-1"}"#) : (200, "{}")
        }
        #expect(saving.allSatisfy { $0.passed })
        #expect(saving[1].request.path == "/Users/u-1")
    }
}
