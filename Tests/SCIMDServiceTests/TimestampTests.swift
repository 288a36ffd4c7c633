import Foundation
import SCIMDService
import SCIMJSON
import SCIMModel
import Testing

/// The RFC 3339 text scimd writes for its own times (`meta.created`, `meta.lastModified`, the
/// request log, events).
@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_255_366_115_050, "2009-10-12T16:48:35.050Z"),  // Foundation wrote .049 (a Double truncated)
        (1_606_482_477_829, "2020-11-27T13:07:57.829Z"),  // … and .828
        (951_782_400_999, "2000-02-29T00:00:00.999Z"),  // a leap day
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1_500, "1969-12-31T23:59:58.500Z"),
        (-86_400_001, "1969-12-30T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func writesEveryMillisecondAsItIs(milliseconds: Int64, expected: String) {
        #expect(Timestamp.string(milliseconds) == expected)
    }

    /// What scimd writes reads back as the same instant, for any time a clock gives.
    @Test func readsBackAsTheSameMillisecond() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let milliseconds = Int64.random(in: -2_208_988_800_000...4_102_444_800_000, using: &generator)
            let text = Timestamp.string(milliseconds)
            #expect(Timestamp.parse(text) == milliseconds, "\(milliseconds) → \(text)")
            let instant = SCIMDateTime(text)
            #expect(instant.map { Int64($0.secondsSinceEpoch) * 1000 + Int64($0.nanoseconds / 1_000_000) } == milliseconds)
        }
    }

    /// A client that filters on a resource's own `meta.lastModified` gets what it asked for:
    /// `gt` leaves that resource out and `ge` keeps it, whatever the millisecond.
    @Test func aResourcesOwnLastModifiedFiltersExactly() async throws {
        let fixture = try ServiceFixture(clock: Clock { 1_255_366_115_050 })
        let connection = try await fixture.connection()
        let created = await fixture.scim(
            "POST", "/Users", token: connection.token, body: ["userName": "ada@example.com"])
        let lastModified = try #require(created.body?["meta"]?["lastModified"]?.stringValue)
        #expect(lastModified == "2009-10-12T16:48:35.050Z")
        func count(_ op: String) async -> Int? {
            let filter = "meta.lastModified \(op) \"\(lastModified)\""
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return await fixture.scim("GET", "/Users?filter=\(filter)", token: connection.token).body?["totalResults"]?.intValue
        }
        #expect(await count("gt") == 0)
        #expect(await count("ge") == 1)
        #expect(await count("eq") == 1)
    }
}
