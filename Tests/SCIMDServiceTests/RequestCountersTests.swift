import Foundation
import GRDB
import SCIMDProtocol
@testable import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

/// The request log's counters held in memory (``RequestCounters``): what `connections.get` and
/// the dashboard's chart show must equal what the log holds, counted afresh.
@Suite struct RequestCountersTests {
    static let hour: Milliseconds = 3_600_000

    @Test func countsByMinuteAndHourAndKeepTheLatest() {
        var counts = RequestCounts()
        let base: Milliseconds = 500 * Self.hour
        counts.add(LoggedRequest(id: 1, at: base + 10_000, status: 200))
        counts.add(LoggedRequest(id: 2, at: base + 70_000, status: 409))
        counts.add(LoggedRequest(id: 3, at: base + Self.hour + 5, status: 201))
        // An id already counted (a load read it) is not counted twice.
        counts.add(LoggedRequest(id: 2, at: base + 70_000, status: 409))
        #expect(counts.since(base) == (3, 1))
        #expect(counts.since(base + 60_000) == (2, 1), "from the minute that holds `since`")
        #expect(counts.since(base + 61_000) == (2, 1), "that minute counts whole")
        #expect(counts.since(base + 120_000) == (1, 0))
        #expect(counts.hour(base) == (2, 1))
        #expect(counts.hour(base + Self.hour) == (1, 0))
        #expect(counts.hour(base - Self.hour) == (0, 0))
        #expect(counts.lastAt == base + Self.hour + 5 && counts.lastStatus == 201)
        #expect(RequestCounts.start(of: -1, unit: 60_000) == -60_000, "floor before 1970 too")
    }

    @Test func oldMinutesAndHoursAreForgotten() {
        var counts = RequestCounts()
        // A request every minute for ten days: at most a day of minutes and a week of hours stay.
        for minute in 0..<(10 * 24 * 60) {
            counts.add(LoggedRequest(id: Int64(minute + 1), at: Milliseconds(minute) * 60_000, status: 200))
        }
        let newest = Milliseconds(10 * 24 * 60 - 1) * 60_000
        #expect(counts.byMinute.count <= 24 * 60 + 61)
        #expect(counts.byHour.count <= 168 + 25)
        #expect(counts.since(newest - 24 * Self.hour + 60_000) == (24 * 60, 0))
        #expect(counts.hour(RequestCounts.start(of: newest, unit: Self.hour) - 100 * Self.hour) == (60, 0))
    }

    @Test func bucketsStaySortedWhenAnEarlierMinuteArrivesAndAreTwelveBytesEach() {
        #expect(MemoryLayout<CountBuckets.Bucket>.stride == 12)
        var buckets = CountBuckets(length: 60_000)
        // In commit order, then a clock that stepped back two minutes, then one before them all.
        for (at, requests, errors) in [(600_000, 1, 0), (600_500, 2, 1), (720_000, 1, 1), (601_000, 1, 0), (480_000, 4, 0), (0, 1, 0)] {
            buckets.add(at: Milliseconds(at), requests: requests, errors: errors)
        }
        #expect(buckets.buckets.map(\.unit) == [0, 8, 10, 12])
        #expect(buckets.counts(at: 600_000) == (4, 1))
        #expect(buckets.counts(at: 659_999) == (4, 1), "any time in the minute")
        #expect(buckets.counts(at: 660_000) == (0, 0))
        #expect(buckets.total(from: 540_000) == (5, 2))
        #expect(buckets.total(from: 0) == (10, 2))
        #expect(buckets.total(from: 780_000) == (0, 0))
        buckets.removeAll(before: 600_000)
        #expect(buckets.buckets.map(\.unit) == [10, 12])
        // A count saturates rather than wrapping around.
        buckets.add(at: 720_000, requests: Int(UInt32.max), errors: 0)
        #expect(buckets.counts(at: 720_000).requests == Int(UInt32.max))
    }

    @Test func aLoadCountsWhatCommittedWhileItReadAndAPruneVoidsIt() {
        let counters = RequestCounters()
        #expect(counters.beginLoad("c"))
        #expect(!counters.beginLoad("c"), "one load at a time")
        // Committed while the load reads: id 5 was in its snapshot, 6 was not.
        counters.apply([.logRequest(connectionId: "c", LoggedRequest(id: 5, at: 1_000, status: 200))])
        counters.apply([.logRequest(connectionId: "c", LoggedRequest(id: 6, at: 2_000, status: 500))])
        var read = RequestCounts()
        read.add(LoggedRequest(id: 5, at: 1_000, status: 200))
        let installed = counters.finishLoad("c", read)
        #expect(installed.since(0) == (2, 1))
        #expect(counters.loaded("c") == installed)
        // Then commits are counted as they land, for this connection only.
        counters.apply([
            .logRequest(connectionId: "c", LoggedRequest(id: 7, at: 3_000, status: 200)),
            .logRequest(connectionId: "other", LoggedRequest(id: 8, at: 3_000, status: 200)),
        ])
        #expect(counters.loaded("c").map { $0.since(0) == (3, 1) } == true)
        #expect(counters.loaded("other") == nil, "not loaded: a later load reads it")
        // A prune drops the counts; a prune during a load voids it.
        counters.apply([.pruneRequestLog("c")])
        #expect(counters.loaded("c") == nil)
        #expect(counters.beginLoad("c"))
        counters.apply([.pruneRequestLog("c")])
        #expect(counters.finishLoad("c", read) == read, "the caller still gets what it read")
        #expect(counters.loaded("c") == nil, "but nothing is installed")
        // A failed load is forgotten; a deleted connection's counts too.
        #expect(counters.beginLoad("c"))
        counters.abandonLoad("c")
        #expect(counters.beginLoad("c"))
        _ = counters.finishLoad("c", read)
        counters.apply([.deleteConnection("c")])
        #expect(counters.loaded("c") == nil)
    }

    /// Through the service: reads, writes, refusals and prunes, the counts read after each step
    /// (from memory once loaded) equal the log counted afresh by SQL.
    @Test func theCountsInMemoryEqualTheLogCountedAfresh() async throws {
        let now = Box(Milliseconds(400 * Self.hour + 1_234))
        let configuration = ServiceConfiguration(requestLogMaxEntries: 5, requestLogMaxAgeSeconds: 7 * 24 * 3600)
        let fixture = try ServiceFixture(configuration: configuration, clock: Clock { now.value })
        let a = try await fixture.connection("Acme")
        let connectionId = a.connection.id
        func check(_ step: String) async throws {
            let info = try await fixture.service.getConnection("Acme")
            let chart = try await fixture.service.requestsPerHour("Acme")
            let fresh = try await fixture.store.read { db in
                try Row.fetchAll(db.db, sql: "SELECT at, status FROM requestLog WHERE connectionId = ? ORDER BY id", arguments: [connectionId])
                    .map { [$0[0] as Int64, $0[1] as Int64] }
            }
            let since = now.value - 24 * Self.hour
            let logged = fresh.map { (at: $0[0], status: Int($0[1])) }
            let day = logged.filter { RequestCounts.start(of: $0.at, unit: 60_000) >= RequestCounts.start(of: since, unit: 60_000) }
            #expect(info.requests24h == day.count, "\(step)")
            #expect(info.errors24h == day.filter { $0.status >= 400 }.count, "\(step)")
            #expect(info.lastRequestStatus == logged.last?.status, "\(step)")
            #expect(chart.map(\.requests).reduce(0, +) == logged.count, "\(step): every entry is in the week")
            #expect(chart.map(\.errors).reduce(0, +) == logged.filter { $0.status >= 400 }.count, "\(step)")
            let currentHour = RequestCounts.start(of: now.value, unit: Self.hour)
            #expect(chart.last?.requests == logged.filter { $0.at >= currentHour }.count, "\(step): the current hour")
        }
        try await check("empty")
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "u1"])
        try await check("a create")
        now.mutate { $0 += 2 * Self.hour }
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "U1"])  // 409
        for _ in 0..<3 { _ = await fixture.scim("GET", "/Users", token: a.token) }
        try await check("a refusal and reads, two hours on")
        now.mutate { $0 += 23 * Self.hour }
        _ = await fixture.scim("GET", "/Users/nope", token: a.token)  // 404
        try await check("a day on: the first entries left the 24 hours")
        _ = await fixture.service.runMaintenance()
        try await check("pruned to the newest 5")
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "u2"])
        try await check("after the prune")
        // What a restart would load equals what memory holds.
        let inMemory = try await fixture.store.requestCounts(connectionId, now: now.value)
        let since = now.value - 168 * Self.hour
        let loaded = try await fixture.store.read { db in try db.requestCounts(connectionId: connectionId, since: since) }
        #expect(inMemory.since(now.value - 24 * Self.hour) == loaded.since(now.value - 24 * Self.hour))
        #expect(inMemory.lastId == loaded.lastId && inMemory.lastAt == loaded.lastAt && inMemory.lastStatus == loaded.lastStatus)
        for hour in 0..<168 {
            let start = RequestCounts.start(of: now.value, unit: Self.hour) - Milliseconds(hour) * Self.hour
            #expect(inMemory.hour(start) == loaded.hour(start), "hour \(hour) back")
        }
    }
}
