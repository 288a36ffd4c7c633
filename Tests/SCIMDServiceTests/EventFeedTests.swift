import Foundation
import SCIMDProtocol
import SCIMDService
import SCIMDStore
import SCIMJSON
import Testing

@Suite struct EventFeedTests {
    @Test func everyChangeIsAnOrderedEvent() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let u = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "e@example.com"])
        let uid = u.body?["id"]?.stringValue ?? ""
        let g = await fixture.scim("POST", "/Groups", token: a.token, body: ["displayName": "G", "members": [["value": .string(uid)]]])
        let gid = g.body?["id"]?.stringValue ?? ""
        _ = await fixture.scim(
            "PATCH", "/Users/\(uid)", token: a.token,
            body: ["schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [["op": "replace", "value": ["active": false]]]])
        _ = await fixture.scim("DELETE", "/Users/\(uid)", token: a.token)
        let feed = try await fixture.service.listEvents(.init(limit: 100))
        let types = feed.events.map(\.type)
        // Exactly these, in this order: one request's events follow its primary change.
        #expect(types == [
            "connection.created", "user.created", "warning.opened", "group.created", "group.member_added", "user.deactivated",
            "user.deleted", "warning.resolved", "group.member_removed",
        ], "\(types)")
        let sequences = feed.events.map(\.sequence)
        #expect(sequences == sequences.sorted())
        #expect(Set(sequences).count == sequences.count)
        let created = try #require(feed.events.first { $0.type == "user.created" })
        #expect(created.resourceId == uid)
        #expect(created.data["userName"] == "e@example.com")
        #expect(created.data["mapped"]?["userName"] == "e@example.com")
        let added = try #require(feed.events.first { $0.type == "group.member_added" })
        #expect(added.resourceId == gid)
        #expect(added.data["member"] == .string(uid))
        // Deleting the user resolves its open warning (no email), so the feed's warnings balance.
        let resolved = try #require(feed.events.first { $0.type == "warning.resolved" })
        #expect(resolved.resourceId == uid)
        #expect(resolved.data["property"] == "email")
        #expect(!feed.events.contains { $0.data.description.contains(a.token) })
    }

    @Test func listResumesFromACursorAndFilters() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        let b = try await fixture.connection("B")
        for i in 0..<4 { _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("a\(i)"), "emails": [["value": "x@example.com"]]]) }
        _ = await fixture.scim("POST", "/Users", token: b.token, body: ["userName": "b0", "emails": [["value": "x@example.com"]]])
        let first = try await fixture.service.listEvents(.init(types: ["user.*"], limit: 2))
        #expect(first.events.count == 2)
        let rest = try await fixture.service.listEvents(.init(after: first.nextAfter, types: ["user.*"]))
        #expect(rest.events.count == 3)
        #expect(Set(first.events.map(\.sequence)).isDisjoint(with: rest.events.map(\.sequence)))
        let onlyB = try await fixture.service.listEvents(.init(connection: "B", types: ["user.created"]))
        #expect(onlyB.events.count == 1)
        #expect(onlyB.events.first?.data["userName"] == "b0")
        await #expect(throws: RPCError.self) { try await fixture.service.listEvents(.init(limit: 0)) }
        await #expect(throws: RPCError.self) { try await fixture.service.listEvents(.init(after: -1)) }
        await #expect(throws: RPCError.self) { try await fixture.service.listEvents(.init(connection: "nope")) }
    }

    /// A consumer following one connection reads to its end: after the connection is deleted, its
    /// id still selects its events, `connection.deleted` last (its name is gone with it).
    @Test func aDeletedConnectionsEventsStayReadableByItsId() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection("A")
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "a0"])
        let seen = try await fixture.service.listEvents(.init(connection: "A"))
        _ = try await fixture.service.deleteConnection("A")
        let rest = try await fixture.service.listEvents(.init(after: seen.nextAfter, connection: a.connection.id))
        #expect(rest.events.map(\.type) == ["connection.deleted"])
        let (subscribed, _) = try await fixture.service.prepareSubscription(EventSelection(after: seen.nextAfter, connection: a.connection.id))
        #expect(subscribed == a.connection.id)
        await #expect(throws: RPCError.self) { try await fixture.service.listEvents(.init(connection: "A")) }
        await #expect(throws: RPCError.self) { try await fixture.service.listEvents(.init(connection: "never-was")) }
    }

    /// A cursor past every sequence the feed ever gave (another scimd's, or one kept across a
    /// restore of an older backup) is refused rather than silently reading nothing until the
    /// numbers catch up; a cursor at the end of a feed retention has emptied is fine.
    @Test func aCursorPastTheFeedIsRefusedAndOneAtItsPrunedEndIsNot() async throws {
        let now = Box(Milliseconds(10_000_000))
        let fixture = try ServiceFixture(configuration: ServiceConfiguration(eventMaxAgeSeconds: 60), clock: Clock { now.value })
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "a0"])
        let end = try await fixture.service.listEvents(.init()).latestSequence
        do {
            _ = try await fixture.service.listEvents(.init(after: end + 1))
            Issue.record("a cursor past the feed was served")
        } catch let error as RPCError {
            #expect(error.kind == "invalid_params" && error.data?.field == "after")
            #expect(error.message.contains("past the newest event this feed ever held (\(end))"), "\(error.message)")
        }
        await #expect(throws: RPCError.self) { try await fixture.service.prepareSubscription(EventSelection(after: end + 1)) }
        // Retention prunes every event: the consumer's cursor at the old end is still valid.
        now.mutate { $0 += 120_000 }
        _ = await fixture.service.runMaintenance()
        let pruned = try await fixture.service.listEvents(.init(after: end))
        #expect(pruned.events.isEmpty)
        #expect(try await fixture.service.prepareSubscription(EventSelection(after: end)).after == Int64(end))
    }

    /// A type or family the feed never carries is refused, naming it, on both reads of the feed:
    /// a typo would otherwise select nothing and look like a quiet feed.
    @Test func anEventTypeTheFeedNeverCarriesIsRefused() async throws {
        let fixture = try ServiceFixture()
        for types in [["usr.*"], ["user.creatd"], ["user.created", "group.*", "warning"], ["*"], [""]] {
            do {
                _ = try await fixture.service.listEvents(.init(types: types))
                Issue.record("accepted \(types)")
            } catch let error as RPCError {
                #expect(error.data?.field == "types")
                #expect(error.message.contains("'\(types.last!)'"), "\(error.message)")
            }
            await #expect(throws: RPCError.self) { try await fixture.service.prepareSubscription(EventSelection(types: types)) }
        }
        // Every type and every family the feed carries is accepted.
        let all = EventInfo.types + ["user.*", "group.*", "warning.*", "mapping.*", "connection.*"]
        _ = try await fixture.service.listEvents(.init(types: all))
        _ = try await fixture.service.prepareSubscription(EventSelection(types: all))
    }

    @Test func theFeedSurvivesARestart() async throws {
        let fixture = try ReopenableService()
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "r@example.com"])
        let before = try await fixture.service.listEvents(.init())
        #expect(before.events.map(\.type) == ["connection.created", "user.created", "warning.opened"])
        try fixture.reopen()
        let after = try await fixture.service.listEvents(.init())
        #expect(after.events == before.events)
        let resumed = try await fixture.service.listEvents(.init(after: before.events[1].sequence))
        #expect(resumed.events.map(\.sequence) == before.events.dropFirst(2).map(\.sequence))
        // New events continue the sequence after the restart; none is reused.
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "s@example.com", "emails": [["value": "s@example.com"]]])
        let next = try await fixture.service.listEvents(.init(after: before.nextAfter))
        #expect(next.events.map(\.type) == ["user.created"])
        #expect(next.events.allSatisfy { $0.sequence > before.events.last!.sequence })
    }

    @Test func mappingChangesAreEvents() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "m@example.com"])
        let current = try await fixture.service.getMapping("Acme")
        var properties = current.users["properties"]?.arrayValue ?? []
        properties = properties.map { p in
            guard p["name"] == "email", var o = p.objectValue else { return p }
            o["warnIfMissing"] = false
            return .object(o)
        }
        _ = try await fixture.service.setMapping(.init(connection: "Acme", users: ["properties": .array(properties)]))
        let types = try await fixture.service.listEvents(.init()).events.map(\.type)
        #expect(types.suffix(2) == ["mapping.changed", "warning.resolved"])
    }

    @Test func aStreamGetsBacklogThenLiveEvents() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "s0", "emails": [["value": "x@example.com"]]])
        let received = Box([EventInfo]())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await fixture.service.streamEvents(
                    connectionId: nil, types: ["user.created"], after: 0,
                    send: { event in received.mutate { $0.append(event) } }, dropped: { _ in })
            }
            for i in 1...3 {
                _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("s\(i)"), "emails": [["value": "x@example.com"]]])
            }
            // Polled with a deadline: a stream that stops delivering fails the test instead of hanging it.
            // 60 s: under the thread sanitizer, with the whole suite running in parallel on 2 cores,
            // a stream's task can wait its turn for over 20 s; the deadline only turns a hang into a failure.
            let deadline = ContinuousClock.now + .seconds(60)
            while received.value.count < 4 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            group.cancelAll()
        }
        #expect(received.value.map { $0.data["userName"]?.stringValue ?? "" } == ["s0", "s1", "s2", "s3"])
    }

    @Test func aSubscriberFarBehindIsDropped() async throws {
        let fixture = try ServiceFixture()
        let a = try await fixture.connection()
        let dropped = Box<Int64?>(nil)
        let sent = Box(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await fixture.service.streamEvents(
                    connectionId: nil, types: nil, after: 0, maximumLag: 5,
                    send: { _ in
                        sent.mutate { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(50))  // a slow consumer
                    },
                    dropped: { resumeAfter in dropped.mutate { $0 = resumeAfter } })
            }
            // Write only once the subscription has begun (it sends the backlog's first event
            // after taking its start point): lag counts from there, so the writes below put it
            // 40 events behind. Started after them, it would have no lag and wait forever.
            let started = ContinuousClock.now + .seconds(60)  // see aStreamGetsBacklogThenLiveEvents
            while sent.value == 0 && ContinuousClock.now < started { try await Task.sleep(for: .milliseconds(5)) }
            try #require(sent.value > 0, "the subscription never sent its backlog")
            for i in 0..<20 { _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": .string("d\(i)")]) }
            // The stream ends once it drops the subscriber; a deadline turns "never" into a failure.
            group.addTask {
                try await Task.sleep(for: .seconds(90))
                throw StreamTimeout()
            }
            do {
                try await group.next()
            } catch is StreamTimeout {
                Issue.record("the lagging subscriber was not dropped within 90 s")
            }
            group.cancelAll()
        }
        // The connection's event and 20 users' (each with a warning: no email) make 41; the
        // subscriber is told to resume after the last event it was sent.
        let resumeAfter = try #require(dropped.value)
        let all = try await fixture.service.listEvents(.init(limit: 1000)).events.map(\.sequence)
        #expect(all.count == 41)
        #expect(all.contains(Int(resumeAfter)), "\(resumeAfter) is not an event of the feed")
        #expect(Int(resumeAfter) < all.last!, "dropped while far behind, not at the end")
        #expect(sent.value < all.count, "dropped instead of being sent everything")
    }
}

/// Thrown by a test's deadline task when a stream it waits on never ends.
struct StreamTimeout: Error {}

/// A lock-protected value shared with concurrent test code.
final class Box<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var _value: Value
    init(_ value: Value) { _value = value }
    var value: Value { lock.withLock { _value } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&_value) } }
}

@Suite struct RetentionTests {
    @Test func oldEventsAndRequestsArePrunedButWarningExamplesStay() async throws {
        let now = Box(Milliseconds(10_000_000))
        let configuration = ServiceConfiguration(
            requestLogMaxEntries: 2, requestLogMaxAgeSeconds: 3600, eventMaxAgeSeconds: 60)
        let fixture = try ServiceFixture(configuration: configuration, clock: Clock { now.value })
        let a = try await fixture.connection()
        _ = await fixture.scim("POST", "/Users", token: a.token, body: ["userName": "keep-example"])  // warns: no email
        now.mutate { $0 += 120_000 }
        for _ in 0..<4 { _ = await fixture.scim("GET", "/Users", token: a.token) }
        #expect(try await fixture.service.listRequests(.init(connection: "Acme", limit: 100)).requests.count == 5, "requests never prune")
        let report = await fixture.service.runMaintenance()
        #expect(report.connectionsPruned == 1 && report.failures == 0)
        let events = try await fixture.service.listEvents(.init())
        #expect(events.events.isEmpty, "events older than 60 s are gone: \(events.events.map(\.type))")
        let requests = try await fixture.service.listRequests(.init(connection: "Acme", limit: 100))
        #expect(requests.requests.count == 3, "2 newest kept + the warning's example request")
        #expect(requests.requests.contains { $0.method == "POST" })
        let warning = try await fixture.service.listWarnings(.init(connection: "Acme")).resources.first?.warnings.first
        #expect(warning?.exampleRequest?.method == "POST")
    }

    /// A pass prunes the logs of connections that logged requests since the previous pass; idle
    /// connections' logs age out only in a pass over every connection.
    @Test func maintenancePrunesBusyConnectionsAndEveryConnectionWhenAsked() async throws {
        let now = Box(Milliseconds(10_000_000))
        let configuration = ServiceConfiguration(requestLogMaxEntries: 2, requestLogMaxAgeSeconds: 60)
        let fixture = try ServiceFixture(configuration: configuration, clock: Clock { now.value })
        let a = try await fixture.connection("Acme")
        let b = try await fixture.connection("Globex")
        for _ in 0..<3 {
            _ = await fixture.scim("GET", "/Users", token: a.token)
            _ = await fixture.scim("GET", "/Users", token: b.token)
        }
        func logged(_ name: String) async throws -> Int {
            try await fixture.service.listRequests(.init(connection: name, limit: 100)).requests.count
        }
        #expect(await fixture.service.runMaintenance().connectionsPruned == 2)
        #expect(try await logged("Acme") == 2)
        #expect(try await logged("Globex") == 2)
        // Both logs age past 60 s; only Acme sees traffic before the next pass.
        now.mutate { $0 += 120_000 }
        _ = await fixture.scim("GET", "/Users", token: a.token)
        #expect(await fixture.service.runMaintenance().connectionsPruned == 1)
        #expect(try await logged("Acme") == 1, "the old entries aged out, the new one stays")
        #expect(try await logged("Globex") == 2, "an idle connection is not visited")
        #expect(await fixture.service.runMaintenance().connectionsPruned == 0, "nothing logged since")
        #expect(await fixture.service.runMaintenance(everyConnection: true).connectionsPruned == 2)
        #expect(try await logged("Globex") == 0)
    }
}
