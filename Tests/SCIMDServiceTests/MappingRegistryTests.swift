import Foundation
import GRDB
import Logging
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import Testing

@testable import SCIMDService

/// Stored mappings are compiled on first use, not at startup.
@Suite struct MappingRegistryTests {
    let logger = Logger(label: "test")

    @Test func aStoredMappingIsCompiledWhenFirstNeeded() throws {
        let registry = MappingRegistry()
        let mapping = try #require(try ActiveMapping(version: 3, configuration: .default))
        let text = try MappingCodec.encode(mapping.configuration, roles: mapping.roles)
        registry.setStored(MappingVersionRecord(connectionId: "c", version: 3, configuration: text, createdAt: 0, comment: nil), logger: logger)
        #expect(registry.current("c").version == 3)
        #expect(registry.current("c").configuration == mapping.configuration)
        #expect(registry.current("unknown").version == 0)
    }

    @Test func aStoredMappingThatNoLongerCompilesFallsBackToTheDefaultAtItsVersion() {
        let registry = MappingRegistry()
        registry.setStored(MappingVersionRecord(connectionId: "c", version: 7, configuration: "{not json", createdAt: 0, comment: nil), logger: logger)
        let active = registry.current("c")
        #expect(active.version == 7)
        #expect(active.configuration == .default)
    }

    /// End to end: a daemon restarted over a store with a saved mapping serves it.
    @Test func aRestartedServiceUsesTheSavedMapping() async throws {
        let fixture = try ServiceFixture()
        _ = try await fixture.connection()
        let users = try await fixture.service.getMapping("Acme").users
        var properties = users["properties"]?.arrayValue ?? []
        properties.append(["name": "department", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "warnIfMissing": true])
        let saved = try await fixture.service.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)]))
        let restarted = try SCIMDService(store: fixture.store, logger: logger)
        let info = try await restarted.getMapping("Acme")
        #expect(info.version == saved.mapping.version)
        #expect(info.users["properties"]?.arrayValue?.contains { $0["name"] == "department" } == true)
    }
}
