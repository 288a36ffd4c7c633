import SCIMJSON

/// A params or result type with a hand-written conversion from JSON, used by ``RPCCodec`` before
/// Foundation's `JSONDecoder`. For the per-request hot path (`scim.handle`): the round trip through
/// `Data` and the generic decoder cost more than serving a lookup. Returns nil for anything it does
/// not accept exactly, and the Codable path then decodes it (or names the offending field).
protocol FastJSONDecodable {
    static func fastDecode(_ json: JSONValue) -> Self?
}

/// A params or result type with a hand-written conversion to JSON, equal to what its Codable
/// conformance encodes (absent optionals left out). Returns nil to fall back to `JSONEncoder`.
protocol FastJSONEncodable {
    var fastJSON: JSONValue? { get }
}

extension JSONValue {
    /// `[String: String]` from an object of strings; nil for anything else.
    fileprivate var stringDictionary: [String: String]? {
        guard let object = objectValue else { return nil }
        var result: [String: String] = [:]
        result.reserveCapacity(object.count)
        for (key, value) in object {
            guard case .string(let string) = value else { return nil }
            result[key] = string
        }
        return result
    }

    /// Whether the member is absent or null (what an Optional decodes as nil).
    fileprivate static func isAbsent(_ value: JSONValue?) -> Bool {
        value == nil || value == .null
    }
}

extension SCIMHandle.Params: FastJSONDecodable, FastJSONEncodable {
    static func fastDecode(_ json: JSONValue) -> Self? {
        guard let object = json.objectValue, let method = object["method"]?.stringValue, let path = object["path"]?.stringValue
        else { return nil }
        var params = Self(method: method, path: path)
        if let headers = object["headers"], headers != .null {
            guard let dictionary = headers.stringDictionary else { return nil }
            params.headers = dictionary
        }
        if let body = object["body"], body != .null {
            guard case .string(let string) = body else { return nil }
            params.body = string
        }
        if let connection = object["connection"], connection != .null {
            guard case .string(let string) = connection else { return nil }
            params.connection = string
        }
        return params
    }

    var fastJSON: JSONValue? {
        var object: JSONObject = ["method": .string(method), "path": .string(path)]
        if let headers { object["headers"] = .object(JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })) }
        if let body { object["body"] = .string(body) }
        if let connection { object["connection"] = .string(connection) }
        return .object(object)
    }
}

extension ResourceChange: FastJSONDecodable, FastJSONEncodable {
    static func fastDecode(_ json: JSONValue) -> Self? {
        guard let object = json.objectValue, let resourceType = object["resourceType"]?.stringValue,
            let id = object["id"]?.stringValue, let change = object["change"]?.stringValue,
            let connection = object["connection"]?.stringValue
        else { return nil }
        var result = Self(resourceType: resourceType, id: id, change: change, connection: connection)
        func optionalString(_ key: String) -> String?? {
            guard let value = object[key], value != .null else { return .some(nil) }
            guard case .string(let string) = value else { return nil }
            return .some(string)
        }
        func optionalStrings(_ key: String) -> [String]?? {
            guard let value = object[key], value != .null else { return .some(nil) }
            guard let array = value.arrayValue else { return nil }
            var strings: [String] = []
            for element in array {
                guard case .string(let string) = element else { return nil }
                strings.append(string)
            }
            return .some(strings)
        }
        guard let version = optionalString("version"), let member = optionalString("member"),
            let opened = optionalStrings("warningsOpened"), let resolved = optionalStrings("warningsResolved")
        else { return nil }
        result.version = version
        result.member = member
        result.warningsOpened = opened
        result.warningsResolved = resolved
        if let mapped = object["mapped"], mapped != .null { result.mapped = mapped }
        return result
    }

    var fastJSON: JSONValue? {
        var object: JSONObject = [
            "resourceType": .string(resourceType), "id": .string(id), "change": .string(change), "connection": .string(connection),
        ]
        if let version { object["version"] = .string(version) }
        if let member { object["member"] = .string(member) }
        if let mapped { object["mapped"] = mapped }
        if let warningsOpened { object["warningsOpened"] = .array(warningsOpened.map(JSONValue.string)) }
        if let warningsResolved { object["warningsResolved"] = .array(warningsResolved.map(JSONValue.string)) }
        return .object(object)
    }
}

extension SCIMHandle.Result: FastJSONDecodable, FastJSONEncodable {
    static func fastDecode(_ json: JSONValue) -> Self? {
        guard let object = json.objectValue, let status = object["status"]?.intValue,
            let headers = object["headers"]?.stringDictionary, let changeValues = object["changes"]?.arrayValue,
            JSONValue.isAbsent(object["actionRequired"])
        else { return nil }
        var body: String? = nil
        if let value = object["body"], value != .null {
            guard case .string(let string) = value else { return nil }
            body = string
        }
        var changes: [ResourceChange] = []
        changes.reserveCapacity(changeValues.count)
        for value in changeValues {
            guard let change = ResourceChange.fastDecode(value) else { return nil }
            changes.append(change)
        }
        return Self(status: status, headers: headers, body: body, changes: changes)
    }

    var fastJSON: JSONValue? {
        // A held change (confirm mode) is rare: its nested result goes through Codable.
        guard actionRequired == nil else { return nil }
        var object: JSONObject = [
            "status": .int(status),
            "headers": .object(JSONObject(headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if let body { object["body"] = .string(body) }
        var changeValues: [JSONValue] = []
        changeValues.reserveCapacity(changes.count)
        for change in changes {
            guard let value = change.fastJSON else { return nil }
            changeValues.append(value)
        }
        object["changes"] = .array(changeValues)
        return .object(object)
    }
}

/// `system.health` is what load balancers and watchdogs poll: its answer is built directly.
extension SystemHealth.Result: FastJSONEncodable {
    var fastJSON: JSONValue? {
        guard uptimeSeconds.isFinite else { return nil }
        var object: JSONObject = ["status": .string(status), "version": .string(version), "uptimeSeconds": .double(uptimeSeconds)]
        if let checks {
            object["checks"] = .array(
                checks.map { check in
                    var member: JSONObject = ["name": .string(check.name), "status": .string(check.status)]
                    if let detail = check.detail { member["detail"] = .string(detail) }
                    return .object(member)
                })
        }
        return .object(object)
    }
}
