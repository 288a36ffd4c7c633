import Testing

@testable import SCIMDStore

/// ``ResourceTable/scan(_:_:)``: the resources at the positions asked for, in list order, each
/// once, whatever the range (the prefetch hints it gives ahead of itself change nothing).
@Suite struct ResourceTableScanTests {
    func table(_ count: Int) -> ResourceTable {
        var table = ResourceTable()
        for i in 0..<count {
            // Short and long texts: an inline `String` and one with storage of its own.
            let raw = i.isMultiple(of: 3) ? "{}" : #"{"userName":"user-\#(i)@example.com","title":"\#(String(repeating: "x", count: i))"}"#
            table.put(
                ResourceRecord(
                    connectionId: "c", resourceType: "User", id: "id-\(1000 + i)", nameKey: "user-\(i)", externalId: nil,
                    displayName: nil, active: true, createdAt: Milliseconds(i), updatedAt: Milliseconds(i), version: 1, raw: raw))
        }
        return table
    }

    func scanned(_ table: ResourceTable, _ positions: Range<Int>) -> [String] {
        var ids: [String] = []
        table.scan(positions) { ids.append($0.record.id) }
        return ids
    }

    @Test func visitsThePositionsAskedForInListOrder() {
        let table = table(100)
        let all = table.page(offset: 0, count: 100).map(\.record.id)
        #expect(all.count == 100)
        #expect(scanned(table, 0..<100) == all)
        // Ranges shorter than the prefetch distances, at either end and in the middle.
        for range in [0..<0, 0..<1, 0..<7, 0..<9, 40..<57, 84..<100, 99..<100, 50..<50] {
            #expect(scanned(table, range) == Array(all[range]), "\(range)")
        }
        // Slices that split the table, as the parallel filter scan does, cover it once.
        #expect(scanned(table, 0..<33) + scanned(table, 33..<66) + scanned(table, 66..<100) == all)
    }

    @Test func positionsOutsideTheTableAreClamped() {
        let table = table(10)
        let all = table.page(offset: 0, count: 10).map(\.record.id)
        #expect(scanned(table, 5..<50) == Array(all[5...]))
        #expect(scanned(table, 10..<20) == [])
        #expect(scanned(ResourceTable(), 0..<5) == [])
    }

    @Test func readsTheTextsItPrefetches() {
        // Every resource's text read in the body is its own, long or short.
        let table = table(40)
        var texts: [String] = []
        table.scan(0..<40) { texts.append($0.record.raw) }
        #expect(texts == table.page(offset: 0, count: 40).map(\.record.raw))
        #expect(texts.filter { $0 == "{}" }.count == 14)
    }
}
