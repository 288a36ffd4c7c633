import SCIMJSON
import Testing
@testable import SCIMModel

/// Parses a JSON object literal written in a test; a typo fails the test loudly.
func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONObject {
    do {
        guard case .object(let o) = try JSONParser().parse(text) else {
            Issue.record("not a JSON object: \(text)", sourceLocation: sourceLocation)
            return JSONObject()
        }
        return o
    } catch {
        Issue.record("bad JSON in test: \(error)", sourceLocation: sourceLocation)
        return JSONObject()
    }
}

func json(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONValue {
    do { return try JSONParser().parse(text) } catch {
        Issue.record("bad JSON in test: \(error)", sourceLocation: sourceLocation)
        return .null
    }
}

/// Runs `body` and returns the `SCIMError` it threw, recording an issue when it did not throw.
func scimError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(SCIMError) -> T) -> SCIMError? {
    do {
        let value = try body()
        Issue.record("expected a SCIMError, got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
