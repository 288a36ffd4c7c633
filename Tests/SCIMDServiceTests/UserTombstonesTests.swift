import Testing

@testable import SCIMDStore

/// The keys of deleted users the replica holds for `sso.resolve` (``UserTombstones``).
@Suite struct UserTombstonesTests {
    func tombstone(_ id: String, type: String = "User", nameKey: String, externalId: String?) -> TombstoneRecord {
        TombstoneRecord(connectionId: "c", resourceType: type, id: id, nameKey: nameKey, externalId: externalId, appUserId: nil, deletedAt: 1)
    }

    /// A user re-created under the same userName and deleted again leaves two rows sharing a key:
    /// memory (rows in commit order) and a fresh load (rows in table order) must hold the same
    /// keys and the same size estimate, whatever the order.
    @Test func theSameKeysInAnyOrderGiveTheSameSetsAndEstimate() {
        let rows = [
            tombstone("u1", nameKey: "ann@example.com", externalId: "00u-first-okta-id-of-ann"),
            tombstone("u2", nameKey: "ann@example.com", externalId: "00u-second-okta-id-of-ann-longer"),
            tombstone("u3", nameKey: "bob", externalId: nil),
        ]
        var forward = UserTombstones(), backward = UserTombstones()
        for row in rows { forward.insert(row) }
        for row in rows.reversed() { backward.insert(row) }
        #expect(forward == backward)
        #expect(forward.nameKeys == ["ann@example.com", "bob"])
        #expect(forward.externalIds == ["00u-first-okta-id-of-ann", "00u-second-okta-id-of-ann-longer"])
        #expect(forward.contains(.nameKey, "bob") && !forward.contains(.externalId, "bob"))
        // Inserting a row again changes nothing (a replayed commit over a load that holds it).
        var again = forward
        again.insert(rows[1])
        #expect(again == forward)
    }

    /// A deleted group is no deleted user.
    @Test func groupTombstonesAreNotUserKeys() {
        var tombstones = UserTombstones()
        tombstones.insert(tombstone("g1", type: "Group", nameKey: "engineering", externalId: "grp-1"))
        #expect(tombstones == UserTombstones())
        #expect(!tombstones.contains(.nameKey, "engineering"))
    }
}
