import Foundation
import SCIMModel
import Testing

/// Resource ids are version 7 UUIDs (RFC 9562 §5.7): creation time first, so ids made one after
/// another sort one after another, and 74 random bits.
@Suite struct ResourceIdTests {
    /// A fixed sequence of "random" words, so the layout can be checked bit by bit.
    struct Counting: RandomNumberGenerator {
        var state: UInt64 = 0
        mutating func next() -> UInt64 {
            state &+= 0x0101_0101_0101_0101
            return state
        }
    }

    @Test func theLayoutIsVersion7() throws {
        var generator = Counting()
        // 2026-12-01T08:00:00.000Z = 1796112000000 ms = 0x01a2_309e_2400.
        let id = ResourceId.make(milliseconds: 1_796_112_000_000, using: &generator)
        #expect(id == id.lowercased())
        let uuid = try #require(UUID(uuidString: id))
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        #expect(Array(bytes[0..<6]) == [0x01, 0xa2, 0x30, 0x9e, 0x24, 0x00], "48 bits of Unix milliseconds, big-endian")
        #expect(bytes[6] >> 4 == 7, "version 7")
        #expect(bytes[8] >> 6 == 0b10, "the RFC 9562 variant")
        #expect(id.count == 36 && id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
    }

    @Test func idsMadeLaterSortLater() {
        var ids: [String] = []
        for millisecond in stride(from: Int64(1_700_000_000_000), to: 1_700_000_000_000 + 5_000, by: 37) {
            ids.append(ResourceId.make(milliseconds: millisecond))
        }
        #expect(ids == ids.sorted(), "the string order is the creation order (from one millisecond to the next)")
    }

    @Test func idsOfOneMillisecondDiffer() {
        let ids = (0..<10_000).map { _ in ResourceId.make(milliseconds: 1_700_000_000_000) }
        #expect(Set(ids).count == ids.count)
    }

    @Test func aTimeBeforeTheEpochIsClampedNotATrap() throws {
        let id = ResourceId.make(milliseconds: -5)
        #expect(id.hasPrefix("00000000-0000-7"))
    }
}
