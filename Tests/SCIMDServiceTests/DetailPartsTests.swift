import Foundation
import SCIMDProtocol
import SCIMModel
import Testing

@testable import SCIMDService
@testable import SCIMDStore

/// `users.get`/`groups.get` read the resource, its groups or member page, its warnings and the
/// re-mapped version from memory (``SCIMDService/detailParts(_:type:reference:membersLimit:membersCursor:baseURL:)``).
@Suite struct DetailPartsTests {
    /// Connection `c`: users ann (inactive) and bob, groups Sales (ann, bob and `gone`, an id no
    /// resource has) and Admins (ann); connection `d` has a group of the same id.
    func withResources(_ body: (ConnectionResources) async throws -> Void) async throws {
        let q = ServiceQueryTests()
        try await q.withStore { store in
            let rows = [
                q.resource("c", "User", "u1", name: "ann", createdAt: 1, active: false), q.resource("c", "User", "u2", name: "bob", createdAt: 2),
                q.resource("c", "Group", "g1", name: "Sales", createdAt: 3), q.resource("c", "Group", "g2", name: "Admins", createdAt: 4),
                q.resource("d", "Group", "g1", name: "Elsewhere", createdAt: 5),
            ]
            try await store.write { db in
                for row in rows { try row.insertRow(db) }
                try db.replaceMembers(
                    connectionId: "c", groupId: "g1",
                    members: ["u2", "gone", "u1"].enumerated().map { .init(connectionId: "c", groupId: "g1", memberId: $1, position: Int64($0), member: nil) })
                try db.replaceMembers(
                    connectionId: "c", groupId: "g2", members: [.init(connectionId: "c", groupId: "g2", memberId: "u1", position: 0, member: nil)])
                try db.replaceMembers(
                    connectionId: "d", groupId: "g1", members: [.init(connectionId: "d", groupId: "g1", memberId: "u1", position: 0, member: nil)])
                try WarningRecord(
                    connectionId: "c", resourceType: "User", resourceId: "u1", property: "email", kind: "missing", detail: nil, firstSeenAt: 1,
                    lastSeenAt: 1, requestId: nil
                ).insertRow(db)
                try WarningRecord(
                    connectionId: "c", resourceType: "User", resourceId: "u1", property: "department", kind: "missing", detail: nil,
                    firstSeenAt: 1, lastSeenAt: 1, requestId: nil
                ).insertRow(db)
                try db.markRemapped(connectionId: "c", version: 1, at: 9)
            }
            try await body(try await store.resources("c"))
        }
    }

    func parts(_ resources: ConnectionResources, _ type: SCIMResourceType, _ reference: String, limit: Int = 100, cursor: String? = nil)
        -> SCIMDService.DetailParts?
    {
        SCIMDService.detailParts(resources, type: type, reference: reference, membersLimit: limit, membersCursor: cursor, baseURL: "/scim/v2")
    }

    @Test func aUserComesWithItsGroupsWarningsAndRendering() async throws {
        try await withResources { resources in
            let ann = try #require(parts(resources, .user, "ANN"), "found by userName, case folded")
            #expect(ann.record.id == "u1")
            #expect(ann.related == [
                ResourceRef(id: "g2", resourceType: "Group", name: "Admins", active: nil),
                ResourceRef(id: "g1", resourceType: "Group", name: "Sales", active: nil),
            ], "ordered by the group's displayName")
            #expect(ann.relatedCount == 2 && ann.nextRelatedCursor == nil)
            #expect(ann.warnings.map(\.property) == ["department", "email"], "ordered by property")
            #expect(ann.scim["groups"]?.arrayValue?.count == 2 && ann.scim["id"] == "u1")
            #expect(ann.remappedVersion == 1)
            #expect(parts(resources, .user, "u2")?.warnings.isEmpty == true)
            #expect(parts(resources, .user, "g1") == nil, "a group's id is not a user's")
            #expect(parts(resources, .user, "nobody") == nil)
        }
    }

    @Test func aGroupsMembersArePagedByIdWithTheirNames() async throws {
        try await withResources { resources in
            let first = try #require(parts(resources, .group, "sales", limit: 2))
            #expect(first.relatedCount == 3)
            // Bytewise by id; a member no resource has comes with nothing but its id.
            #expect(first.related == [
                ResourceRef(id: "gone", resourceType: nil, name: nil, active: nil),
                ResourceRef(id: "u1", resourceType: "User", name: "ann", active: false),
            ])
            #expect(first.nextRelatedCursor == "u1")
            let second = try #require(parts(resources, .group, "g1", limit: 2, cursor: "u1"))
            #expect(second.related == [ResourceRef(id: "u2", resourceType: "User", name: "bob", active: true)])
            #expect(second.nextRelatedCursor == nil)
            #expect(parts(resources, .group, "g1", limit: 2, cursor: "u2")?.related.isEmpty == true)
            #expect(first.scim["members"]?.arrayValue?.count == 3, "the rendering has every member")
        }
    }
}
