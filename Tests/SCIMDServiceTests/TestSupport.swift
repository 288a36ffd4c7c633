import Foundation
import Logging
import SCIMDProtocol
import SCIMDService
import SCIMDStore
import SCIMJSON

/// A service over a fresh database in a temporary directory, removed on deinit.
final class ServiceFixture: Sendable {
    let directory: URL
    let store: Store
    let service: SCIMDService

    init(configuration: ServiceConfiguration = .forTests, clock: Clock = .system, memoryLimit: Int? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try Store(path: directory.appendingPathComponent("scimd.sqlite").path, memoryLimit: memoryLimit)
        service = try SCIMDService(store: store, configuration: configuration, clock: clock, logger: Logger(label: "test"))
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Creates a connection and returns it with its token.
    func connection(_ name: String = "Acme") async throws -> ConnectionWithToken {
        try await service.createConnection(.init(name: name))
    }

    /// One SCIM request with a bearer token; the body JSON-encoded when given as JSON.
    func scim(_ method: String, _ path: String, token: String?, body: JSONValue? = nil, headers: [String: String] = [:])
        async -> (status: Int, body: JSONValue?, result: SCIMHandle.Result)
    {
        var h = headers
        if let token { h["Authorization"] = "Bearer \(token)" }
        let result = await service.handleSCIM(
            .init(method: method, path: path, headers: h, body: body.map(JSONSerializer.string)))
        return (result.status, result.body.flatMap { try? JSONParser().parse($0) }, result)
    }
}

/// The fixture scenarios shipped with the tests.
enum Fixtures {
    static var directory: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/idp")
    }

    static func scenarioFiles() -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

/// A service over a database file that a test closes and opens again: a restart, as far as the
/// database can tell. Reusing the open `Store` in a second `SCIMDService` would only show what
/// the open store serves; reopening the file shows what was committed to it.
final class ReopenableService: @unchecked Sendable {
    // @unchecked: `opened` changes only in `reopen()`, called by the one test that owns this
    // object between its own awaits.
    let directory: URL
    var path: String { directory.appendingPathComponent("scimd.sqlite").path }
    private var opened: (store: Store, service: SCIMDService)?
    var store: Store { opened!.store }
    var service: SCIMDService { opened!.service }
    /// `--memory-limit` for the stores it opens (``reopen(memoryLimit:)`` changes it).
    private var memoryLimit: Int?

    init(memoryLimit: Int? = nil) throws {
        self.memoryLimit = memoryLimit
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-reopen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try open()
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    private func open() throws {
        let store = try Store(path: path, memoryLimit: memoryLimit)
        opened = (store, try SCIMDService(store: store, configuration: .forTests, logger: Logger(label: "test")))
    }

    /// Creates a connection and returns it with its token.
    func connection(_ name: String = "Acme") async throws -> ConnectionWithToken {
        try await service.createConnection(.init(name: name))
    }

    /// One SCIM request with a bearer token, the body JSON-encoded.
    func scim(_ method: String, _ path: String, token: String?, body: JSONValue? = nil) async -> (status: Int, body: JSONValue?) {
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let result = await service.handleSCIM(.init(method: method, path: path, headers: headers, body: body.map(JSONSerializer.string)))
        return (result.status, result.body.flatMap { try? JSONParser().parse($0) })
    }

    /// Releases the service and its store, then opens the database file anew. The new `Store`
    /// takes the file's `flock`, so this throws `StoreError.inUse` when something still holds the
    /// old store after 2 s: a restart that did not really close the database fails here. (The
    /// writer thread may hold the last reference to the old store for a moment after the last
    /// write's caller resumed, hence the short wait.)
    func reopen(memoryLimit: Int?? = nil) throws {
        if let memoryLimit { self.memoryLimit = memoryLimit }
        opened = nil
        for _ in 0..<200 {
            do {
                try open()
                return
            } catch StoreError.inUse {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        try open()
    }
}

extension ServiceConfiguration {
    /// The defaults, with cheap password hashes: scrypt at 2^15 takes about a second unoptimized
    /// (debug, thread sanitizer), and the operator tests make dozens.
    static var forTests: ServiceConfiguration {
        var configuration = ServiceConfiguration()
        configuration.passwordHashLogRounds = 10
        return configuration
    }
}
