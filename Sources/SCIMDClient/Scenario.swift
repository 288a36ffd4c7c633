import SCIMJSON

/// A scenario of IdP traffic in the fixtures format (see Tests/SCIMDServiceTests/Fixtures/README.md):
/// steps of SCIM requests with expectations, `${name}` substitution and `save`.
public struct Scenario: Sendable {
    public var name: String
    public var idp: String?
    public var about: String?
    public var steps: [JSONValue]

    /// Reads a scenario file's JSON, or a file of logged requests (what `scimctl requests show
    /// --json` prints: one request detail, an array of them, or `{"requests": [...]}`), whose
    /// requests become steps without expectations. Throws ``ScenarioError`` when it is neither.
    public init(json: JSONValue) throws(ScenarioError) {
        if json["steps"] == nil, let logged = Self.loggedRequests(json) {
            self.name = "logged requests"
            self.idp = nil
            self.about = nil
            self.steps = logged
            return
        }
        guard let steps = json["steps"]?.arrayValue else {
            throw ScenarioError(message: "expected a scenario ({\"steps\": [...]}) or logged requests (`scimctl requests show --json`)")
        }
        self.name = json["name"]?.stringValue ?? "scenario"
        self.idp = json["idp"]?.stringValue
        self.about = json["about"]?.stringValue
        self.steps = steps
    }
}

extension Scenario {
    /// Steps from logged request details (`{"summary": {"method", "path"}, "requestHeaders", "requestBody"}`).
    static func loggedRequests(_ json: JSONValue) -> [JSONValue]? {
        let items: [JSONValue]
        if let array = json.arrayValue {
            items = array
        } else if let array = json["requests"]?.arrayValue {
            items = array
        } else if json["summary"] != nil {
            items = [json]
        } else {
            return nil
        }
        var steps: [JSONValue] = []
        for item in items {
            let summary = item["summary"] ?? item
            guard let method = summary["method"]?.stringValue, let path = summary["path"]?.stringValue else { return nil }
            var request: JSONObject = ["method": .string(method), "path": .string(path)]
            var headers = JSONObject()
            for (name, value) in item["requestHeaders"]?.objectValue ?? [:] where name.lowercased() != "authorization" {
                headers[name] = value
            }
            request["headers"] = .object(headers)
            if let body = item["requestBody"]?.stringValue { request["rawBody"] = .string(body) }
            steps.append(["request": .object(request)])
        }
        return steps
    }
}

/// A scenario file that cannot be run.
public struct ScenarioError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// One SCIM request of a step, after substitution.
public struct ScenarioRequest: Sendable {
    public var method: String
    /// Path with the query percent-encoded as an HTTP client would send it.
    public var path: String
    public var headers: [String: String]
    public var body: String?
    /// "none" (send no token), "wrong" (send a wrong token) or nil (the connection's own).
    public var auth: String?
}

/// The outcome of one step.
public struct StepResult: Sendable {
    public var index: Int
    public var request: ScenarioRequest
    public var expectedStatus: [Int]
    /// The response status; 0 when the step was not sent (a placeholder it needs was never saved).
    public var status: Int
    /// nil when the step met its expectation; else the first mismatch ("body/emails/0/value: expected …, got …").
    public var failure: String?
    public var passed: Bool { failure == nil }
}

/// Runs scenarios against any transport.
public enum ScenarioRunner {
    /// Sends each step through `send` (which returns status and body text) and checks it.
    /// Steps run in order; a failing step does not stop the run (later steps may still be informative).
    public static func run(
        _ scenario: Scenario, send: (ScenarioRequest) async throws -> (status: Int, body: String?)
    ) async throws -> [StepResult] {
        var saved: [String: String] = [:]
        var results: [StepResult] = []
        // Names some step saves: a `${name}` of one still unset after substitution means the step
        // that saves it failed, and the request would go out with the placeholder in it.
        let savedNames = Set(scenario.steps.flatMap { $0["save"]?.objectValue?.keys ?? [] })
        for (index, rawStep) in scenario.steps.enumerated() {
            let step = substitute(rawStep, saved)
            guard let req = step["request"], let method = req["method"]?.stringValue, let path = req["path"]?.stringValue else {
                throw ScenarioError(message: "step \(index) has no request.method/request.path")
            }
            let unset = savedNames.filter { saved[$0] == nil && mentions(req, placeholder: "${\($0)}") }.sorted()
            if !unset.isEmpty {
                // Not sent (status 0): a request with `${marisol}` in its path only adds a 404 to the
                // log and a misleading failure to the report.
                let request = ScenarioRequest(method: method, path: path, headers: [:], body: nil, auth: step["auth"]?.stringValue)
                let names = unset.map { "${\($0)}" }.joined(separator: ", ")
                results.append(
                    StepResult(
                        index: index, request: request, expectedStatus: [], status: 0,
                        failure: "not sent: \(names) never saved (the step that saves it failed)"))
                continue
            }
            var headers: [String: String] = [:]
            for (k, v) in req["headers"]?.objectValue ?? [:] { headers[k] = v.stringValue ?? v.description }
            var body: String? = nil
            if let raw = req["rawBody"]?.stringValue {
                body = raw
            } else if let json = req["body"] {
                body = JSONSerializer.string(json)
            }
            let request = ScenarioRequest(
                method: method, path: encodeQuery(path), headers: headers, body: body, auth: step["auth"]?.stringValue)
            let expect = step["expect"]
            var expectedStatus: [Int] = []
            if let s = expect?["status"]?.intValue { expectedStatus = [s] }
            if let list = expect?["status"]?.arrayValue { expectedStatus = list.compactMap(\.intValue) }
            let (status, responseBody) = try await send(request)
            let parsed = responseBody.flatMap { try? JSONParser().parse($0) }
            var failure: String? = nil
            if !expectedStatus.isEmpty && !expectedStatus.contains(status) {
                failure = "status: expected \(expectedStatus.map(String.init).joined(separator: " or ")), got \(status)"
                    + (responseBody.map { " (body: \($0.prefix(300)))" } ?? "")
            } else if let expectedBody = expect?["body"] {
                failure = match(expectedBody, parsed, at: "body")
            }
            if failure == nil, let contains = expect?["bodyContains"]?.arrayValue {
                let pointer = expect?["bodyContainsAt"]?.stringValue ?? ""
                let array = parsed.flatMap { resolve(pointer: pointer, in: $0) }?.arrayValue ?? []
                for wanted in contains where !array.contains(where: { match(wanted, $0, at: "") == nil }) {
                    failure = "bodyContains: no element at \(pointer) matches \(wanted)"
                    break
                }
            }
            if failure == nil, let saves = step["save"]?.objectValue, let parsed {
                for (name, where_) in saves {
                    guard let key = where_.stringValue else { continue }
                    let value = key.hasPrefix("/") ? resolve(pointer: key, in: parsed) : parsed[key]
                    if let value { saved[name] = value.stringValue ?? value.description }
                }
            }
            results.append(
                StepResult(index: index, request: request, expectedStatus: expectedStatus, status: status, failure: failure))
        }
        return results
    }

    /// Whether a string anywhere in `value` contains `placeholder`.
    static func mentions(_ value: JSONValue, placeholder: String) -> Bool {
        switch value {
        case .string(let s): return s.contains(placeholder)
        case .array(let a): return a.contains { mentions($0, placeholder: placeholder) }
        case .object(let o): return o.contains { mentions($0.value, placeholder: placeholder) }
        default: return false
        }
    }

    /// Replaces `${name}` in every string of `value`.
    static func substitute(_ value: JSONValue, _ saved: [String: String]) -> JSONValue {
        switch value {
        case .string(var s):
            guard s.contains("${") else { return value }
            for (k, v) in saved { s = s.replacingOccurrences(of: "${\(k)}", with: v) }
            return .string(s)
        case .array(let a): return .array(a.map { substitute($0, saved) })
        case .object(let o):
            var out = JSONObject()
            for (k, v) in o { out[k] = substitute(v, saved) }
            return .object(out)
        default: return value
        }
    }

    /// Subset match (fixtures README): nil when `actual` satisfies `expected`, else the first mismatch.
    public static func match(_ expected: JSONValue, _ actual: JSONValue?, at path: String) -> String? {
        if expected == .string("$any") { return actual == nil ? "\(path): expected a value, found none" : nil }
        guard let actual else { return "\(path): expected \(expected), found nothing" }
        switch expected {
        case .object(let e):
            guard case .object(let a) = actual else { return "\(path): expected an object, got \(actual)" }
            for (key, value) in e {
                if value == .string("$absent") {
                    if a[key] != nil { return "\(path)/\(key): expected absent, got \(a[key]!)" }
                    continue
                }
                if let problem = match(value, a[key], at: "\(path)/\(key)") { return problem }
            }
            return nil
        case .array(let e):
            guard case .array(let a) = actual else { return "\(path): expected an array, got \(actual)" }
            guard e.count == a.count else { return "\(path): expected \(e.count) elements, got \(a.count): \(actual)" }
            for (i, (x, y)) in zip(e, a).enumerated() {
                if let problem = match(x, y, at: "\(path)/\(i)") { return problem }
            }
            return nil
        default:
            return expected == actual ? nil : "\(path): expected \(expected), got \(actual)"
        }
    }

    /// RFC 6901 JSON Pointer lookup.
    static func resolve(pointer: String, in value: JSONValue) -> JSONValue? {
        var current: JSONValue? = value
        for token in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let array = current?.arrayValue, let i = Int(key) {
                current = i < array.count ? array[i] : nil
            } else {
                current = current?[key]
            }
        }
        return current
    }

    /// Percent-encodes the query part of a readable fixture path (`?filter=userName eq "x"`).
    static func encodeQuery(_ path: String) -> String {
        guard let q = path.firstIndex(of: "?") else { return path }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~=&".utf8)
        var out = String(path[...q])
        for byte in path[path.index(after: q)...].utf8 {
            if allowed.contains(byte) {
                out.append(Character(UnicodeScalar(byte)))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
