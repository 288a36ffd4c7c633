import Foundation
import Logging
import SCIMDProtocol
import SCIMDServer
import SCIMDService
import SCIMDStore
import SCIMJSON
import Testing

/// The rules every registered method is held to in `rpc.discover` (the webhook methods and any
/// later ones included, since the list comes from the dispatcher): typed params and results
/// (no bare "any JSON value"; a free-form object says so with a description), a description on
/// every param, its errors, one example whose params the daemon accepts; unknown params refused;
/// deprecated names still accepted. (scripts/check-openrpc, run by OpenRPCEndToEndTests, adds the
/// meta-schema and calls every example on a real daemon.)
@Suite struct OpenRPCContractTests {
    /// A dispatcher with every scimd method registered, over a fresh database, with connection Acme.
    static func dispatcher() async throws -> (RPCDispatcher, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-openrpc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let service = try SCIMDService(store: try Store(path: directory.path + "/db.sqlite"), logger: Logger(label: "t"))
        _ = try await service.createConnection(.init(name: "Acme"))
        return (RPCDispatcher.scimd(service: service, counters: TransportCounters(), logger: Logger(label: "t")), directory)
    }

    static func call(_ d: RPCDispatcher, _ method: String, _ params: JSONValue) async throws -> JSONValue {
        let line = JSONSerializer.string(["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params])
        let bytes = try #require(await d.handle(line: Array(line.utf8)))
        return try JSONParser().parse(bytes: bytes)
    }

    /// Every place under `schema` (at `path`) that does not say what it holds: no `type`, `$ref`,
    /// `enum`, `const` or combinator; an object with no members described and no description; a
    /// `$ref` to a component that does not exist.
    static func untyped(_ schema: JSONValue, at path: String, components: JSONObject) -> [String] {
        guard let object = schema.objectValue else { return ["\(path): not a schema object"] }
        if let ref = object["$ref"]?.stringValue {
            let name = ref.replacingOccurrences(of: "#/components/schemas/", with: "")
            return components[name] == nil ? ["\(path): $ref to missing \(ref)"] : []
        }
        var found: [String] = []
        let says = ["type", "enum", "const", "anyOf", "oneOf", "allOf"].contains { object[$0] != nil }
        if !says { found.append("\(path): untyped (\(JSONSerializer.string(schema)))") }
        if object["type"] == "object", object["properties"] == nil, object["additionalProperties"] == nil,
            object["description"] == nil
        {
            found.append("\(path): a free-form object without a description")
        }
        for (name, member) in object["properties"]?.objectValue ?? [:] {
            found += untyped(member, at: "\(path).\(name)", components: components)
        }
        if let additional = object["additionalProperties"], additional.objectValue != nil {
            found += untyped(additional, at: "\(path).*", components: components)
        }
        if let items = object["items"] { found += untyped(items, at: "\(path)[]", components: components) }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            for (i, element) in (object[combinator]?.arrayValue ?? []).enumerated() {
                found += untyped(element, at: "\(path).\(combinator)[\(i)]", components: components)
            }
        }
        return found
    }

    @Test func everyRegisteredMethodIsTypedDescribedWithErrorsAndAnExample() async throws {
        let (d, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let document = try #require(try await Self.call(d, "rpc.discover", [:])["result"])
        let components = document["components"]?["schemas"]?.objectValue ?? [:]
        let methods = document["methods"]?.arrayValue ?? []
        #expect(Set(methods.compactMap { $0["name"]?.stringValue }) == Set(d.methods.map { $0.name }))
        #expect(methods.count == d.methods.count)
        var problems: [String] = []
        for method in methods {
            let name = method["name"]?.stringValue ?? "?"
            for param in method["params"]?.arrayValue ?? [] {
                let paramName = param["name"]?.stringValue ?? "?"
                if (param["description"]?.stringValue ?? "").isEmpty { problems.append("\(name): param \(paramName) has no description") }
                problems += Self.untyped(param["schema"] ?? .null, at: "\(name)(\(paramName))", components: components)
            }
            problems += Self.untyped(method["result"]?["schema"] ?? .null, at: "\(name) result", components: components)
            if (method["errors"]?.arrayValue ?? []).isEmpty { problems.append("\(name): no errors listed") }
            for error in method["errors"]?.arrayValue ?? [] {
                let kind = error["data"]?["kind"]?.stringValue ?? ""
                if RPCErrorKind(rawValue: kind)?.code.rawValue != error["code"]?.intValue { problems.append("\(name): error \(error) is inconsistent") }
            }
            if method["examples"]?.arrayValue?.count != 1 { problems.append("\(name): not exactly one example") }
        }
        for (name, schema) in components {
            problems += Self.untyped(schema, at: "components.\(name)", components: components)
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")

        // The notifications, and the types the issue named, are typed.
        let pushed = Set((document["x-notifications"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        #expect(pushed == ["events.event", "events.dropped"])
        #expect(components["MappingPropertyDefinition"]?["properties"]?["warnIfMissing"]?["type"] == "boolean")
        #expect(components["SSOStrategy"]?["properties"]?["kind"]?["enum"]?.arrayValue?.count == SSOStrategy.kinds.count)
        #expect(components["EventInfo"]?["properties"]?["type"]?["enum"]?.arrayValue?.contains("user.created") == true)
        #expect(components["SSOResolve.Result"]?["properties"]?["verdict"]?["enum"]?.arrayValue?.contains("ambiguous") == true)
        let mappingSet = try #require(methods.first { $0["name"] == "mapping.set" })
        let users = try #require(mappingSet["params"]?.arrayValue?.first { $0["name"] == "users" })
        #expect(users["schema"]?["$ref"] == "#/components/schemas/MappingDefinition")
    }

    /// Decodes `params` as `M.Params` the way the dispatcher does; the error if it cannot.
    static func decodeFailure<M: RPCMethod>(_ method: M.Type, _ params: JSONObject) -> String? {
        do {
            _ = try RPCCodec.decode(M.Params.self, from: try M.normalizedParams(.object(params), accepted: M.acceptedParamNames))
            return nil
        } catch {
            return "\(M.name): \(error)"
        }
    }

    @Test func everyExampleDecodesAsItsMethodsParams() async throws {
        let (d, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        var failures: [String] = []
        for method in d.methods {
            guard let example = method.example else {
                failures.append("\(method.name): no example")
                continue
            }
            if let failure = Self.decodeFailure(method, example.params) { failures.append(failure) }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func anUnknownParamIsInvalidParamsNamingIt() async throws {
        let (d, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bogus = try await Self.call(d, "users.list", ["connection": "Acme", "bogus": 1])
        #expect(bogus["error"]?["code"] == -32602)
        #expect(bogus["error"]?["data"]?["kind"] == "invalid_params")
        #expect(bogus["error"]?["data"]?["field"] == "bogus")
        #expect(bogus["error"]?["message"]?.stringValue?.contains("withWarnings") == true)
        // A typo in an optional param, and any param to a method that takes none.
        let typo = try await Self.call(d, "connections.create", ["name": "Globex", "customerID": "c-1"])
        #expect(typo["error"]?["data"]?["field"] == "customerID")
        #expect(try await Self.call(d, "connections.list", [:])["result"]?["connections"]?.arrayValue?.count == 1)
        let none = try await Self.call(d, "system.version", ["verbose": true])
        #expect(none["error"]?["data"]?["field"] == "verbose")
        // The known params still work, null for an optional one included.
        let ok = try await Self.call(d, "users.list", ["connection": "Acme", "filter": nil, "limit": 5])
        #expect(ok["result"]?["users"] == [])
    }

    @Test func deprecatedParamNamesStillWorkAndAreListedAsDeprecated() async throws {
        let (d, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try await Self.call(d, "connections.get", ["id": "Acme"])["result"]?["name"] == "Acme")
        #expect(try await Self.call(d, "connections.get", ["connection": "Acme"])["result"]?["name"] == "Acme")
        let rotated = try await Self.call(d, "connections.rotateToken", ["id": "Acme", "overlapSeconds": 60])
        #expect(rotated["result"]?["token"]?.stringValue != nil)
        let updated = try await Self.call(d, "connections.update", ["id": "Acme", "idp": "Okta"])
        #expect(updated["result"]?["idp"] == "Okta")
        // users.unlink's old `user` reaches the service (not_found), it is not refused as unknown.
        let unlink = try await Self.call(d, "users.unlink", ["connection": "Acme", "user": "nobody"])
        #expect(unlink["error"]?["data"]?["kind"] == "not_found")
        let both = try await Self.call(d, "connections.get", ["id": "Acme", "connection": "Acme"])
        #expect(both["error"]?["code"] == -32602)
        #expect(both["error"]?["data"]?["field"] == "id")

        let document = try #require(try await Self.call(d, "rpc.discover", [:])["result"])
        let get = try #require(document["methods"]?.arrayValue?.first { $0["name"] == "connections.get" })
        let old = try #require(get["params"]?.arrayValue?.first { $0["name"] == "id" })
        #expect(old["deprecated"] == true)
        #expect(old["required"] == false)
        let current = try #require(get["params"]?.arrayValue?.first { $0["name"] == "connection" })
        #expect(current["required"] == true)
        let link = try #require(document["methods"]?.arrayValue?.first { $0["name"] == "users.link" })
        #expect(link["params"]?.arrayValue?.contains { $0["name"] == "user" && $0["deprecated"] == true } == true)
    }
}
