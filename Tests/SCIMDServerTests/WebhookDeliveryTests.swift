import Crypto
import Foundation
import GRDB
import HTTPTestClient
import Logging
import SCIMDProtocol
import SCIMDServer
import SCIMDService
@testable import SCIMDStore
import SCIMJSON
import Testing

/// The webhook delivery engine in this process against a local receiver: order, signatures,
/// retries after 500s and timeouts, failure after the retry period, pause/resume, redelivery,
/// secret rotation, feed gaps, and every rejection of `webhooks.*` params. No assertion is timed:
/// each waits for an outcome under a generous hang guard. A daemon restart mid-retry is in
/// EndToEndTests (WebhookEndToEndTests).
@Suite(.serialized) struct WebhookDeliveryTests {
    struct Fixture {
        let service: SCIMDService
        let store: Store
        let receiver: WebhookReceiver

        /// A connection change: one `connection.updated` event each; returns the feed's newest sequence.
        @discardableResult
        func touch(_ connection: String, times: Int = 1) async throws -> Int {
            for i in 0..<times {
                _ = try await service.updateConnection(.init(connection: connection, customerId: "c\(i)-\(UUID().uuidString.prefix(6))"))
            }
            return try await service.listEvents(.init(limit: 1)).latestSequence
        }

        func webhook(_ id: String) async throws -> WebhookInfo {
            try #require(try await service.listWebhooks(.init()).webhooks.first { $0.id == id })
        }

        /// Waits (hang guard 90 s) until the webhook's state satisfies `condition`.
        @discardableResult
        func waitFor(_ id: String, _ what: String, until condition: (WebhookInfo) -> Bool) async throws -> WebhookInfo {
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let info = try await webhook(id)
                if condition(info) { return info }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw HTTPTestClientError("webhook \(id) never reached: \(what) within 90 s; it is \(try await webhook(id))")
        }
    }

    /// Fast retries for tests: 50 ms, doubling up to 200 ms; 2 s per attempt; an hour to succeed.
    static let fastPolicy = WebhookPolicy(
        retryPeriod: .seconds(3600), attemptTimeout: .seconds(2), initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200))

    func withEngine(policy: WebhookPolicy = fastPolicy, _ body: (Fixture) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scimd-wh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.path + "/db.sqlite")
        let service = try SCIMDService(store: store, logger: Logger(label: "t"))
        let receiver = try await WebhookReceiver.start()
        let engine = WebhookDeliveryService(service: service, policy: policy, logger: Logger(label: "webhooks"))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await engine.run() }
                defer { group.cancelAll() }
                try await body(Fixture(service: service, store: store, receiver: receiver))
            }
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    /// Verifies `scimd-Signature` the way a receiver would, with the README's verifier (below),
    /// which shares no code with scimd's signing.
    static func signatureIsValid(_ request: WebhookReceiver.Request, secret: String, body: [UInt8]? = nil) -> Bool {
        guard let header = request.header("scimd-Signature") else { return false }
        return verifySCIMDSignature(secret: secret, header: header, body: Data(body ?? request.body))
    }

    /// The verifier below is the README's, character for character.
    @Test func theREADMEsSwiftVerifierIsTheOneTestedHere() throws {
        let here = URL(fileURLWithPath: #filePath)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: here, encoding: .utf8)
        let begin = try #require(source.range(of: "// README verifier begins\n"))
        let end = try #require(source.range(of: "// README verifier ends", range: begin.upperBound..<source.endIndex))
        let verifier = String(source[begin.upperBound..<end.lowerBound])
        #expect(verifier.count > 500)
        #expect(readme.contains("```swift\n" + verifier + "```\n"))
        // And it refuses what it must: a stale timestamp, a header without t, a short v1.
        let body = Data(#"{"sequence":1}"#.utf8)
        let header = "t=1700000000,v1=b250500ab2a7d1741beb3c915cf6a2a29755c05009b05379faf29503c9e8fc3a"
        #expect(verifySCIMDSignature(secret: "whsec_a", header: header, body: body, now: Date(timeIntervalSince1970: 1_700_000_100)))
        #expect(!verifySCIMDSignature(secret: "whsec_a", header: header, body: body, now: Date(timeIntervalSince1970: 1_700_001_000)))
        #expect(!verifySCIMDSignature(secret: "whsec_a", header: "v1=b250", body: body))
        #expect(!verifySCIMDSignature(secret: "whsec_a", header: "t=1700000000,v1=b250", body: body, now: Date(timeIntervalSince1970: 1_700_000_000)))
    }

    static func sequence(_ request: WebhookReceiver.Request) -> Int? {
        (try? JSONParser().parse(bytes: request.body))?["sequence"]?.intValue
    }

    // MARK: delivery

    @Test func deliversEveryEventInFeedOrderSignedWithTheSecret() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let latest = try await f.touch(connection, times: 4)
            let feed = try await f.service.listEvents(.init(after: added.webhook.cursor)).events
            #expect(feed.count == 5)
            let received = try await f.receiver.wait { $0.count >= 5 }
            #expect(received.map(Self.sequence) == feed.map(\.sequence))
            for (request, event) in zip(received, feed) {
                #expect(request.method == "POST")
                #expect(request.header("Content-Type") == "application/json")
                #expect(request.header("scimd-Event-Id") == "\(event.sequence)")
                #expect(request.header("scimd-Event-Type") == event.type)
                #expect(request.header("scimd-Webhook-Id") == added.webhook.id)
                #expect(request.header("scimd-Attempt") == "1")
                #expect(request.header("scimd-Delivery")?.count == 36)
                #expect(Self.signatureIsValid(request, secret: added.secret))
                #expect(!Self.signatureIsValid(request, secret: added.secret + "x"))
                #expect(!Self.signatureIsValid(request, secret: added.secret, body: request.body + [0x20]))
                let body = try JSONParser().parse(bytes: request.body)
                #expect(body["webhook"]?.stringValue == added.webhook.id)
                #expect(body["event"]?["sequence"]?.intValue == event.sequence)
                #expect(body["event"]?["type"]?.stringValue == event.type)
                #expect(body["event"]?["connection"]?.stringValue == connection)
            }
            let info = try await f.waitFor(added.webhook.id, "cursor at the feed's end") { $0.cursor == latest }
            #expect(info.delivered == 5 && info.failed == 0 && info.state == "delivering")
            let log = try await f.service.webhookDeliveries(.init(id: added.webhook.id))
            #expect(log.deliveries.map(\.sequence) == feed.map(\.sequence).reversed())
            #expect(log.deliveries.allSatisfy { $0.outcome == "delivered" && $0.attempts == 1 && $0.status == 200 })
        }
    }

    @Test func aConnectionsWebhookGetsOnlyItsEventsOfTheSelectedTypes() async throws {
        try await withEngine { f in
            let acme = try await f.service.createConnection(.init(name: "acme")).connection.id
            let other = try await f.service.createConnection(.init(name: "other")).connection.id
            let added = try await f.service.addWebhook(.init(url: f.receiver.url(), connection: "acme", types: ["connection.token_rotated"]))
            #expect(added.webhook.connection == acme && added.webhook.connectionName == "acme")
            try await f.touch(acme)
            try await f.touch(other)
            _ = try await f.service.rotateToken(.init(connection: other))
            _ = try await f.service.rotateToken(.init(connection: acme))
            let latest = try await f.touch(other)
            let received = try await f.receiver.wait { $0.count >= 1 }
            // Everything after it in the feed was scanned: the cursor passes the events it does not select.
            try await f.waitFor(added.webhook.id, "cursor past every event") { $0.cursor == latest }
            #expect(f.receiver.requests.count == 1)
            #expect(received.first?.header("scimd-Event-Type") == "connection.token_rotated")
            let body = try JSONParser().parse(bytes: try #require(received.first).body)
            #expect(body["event"]?["connection"]?.stringValue == acme)
        }
    }

    @Test func retriesAfter500AndAfterATimeoutThenDeliversInOrder() async throws {
        try await withEngine { f in
            f.receiver.script([.status(500), .hang, .status(503)])
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let latest = try await f.touch(connection)
            let received = try await f.receiver.wait { $0.count >= 5 }
            let first = latest - 1
            // Four attempts at the first event (500, no answer, 503, 200), then the second event.
            #expect(received.map(Self.sequence) == [first, first, first, first, latest])
            #expect(received.map { $0.header("scimd-Attempt") } == ["1", "2", "3", "4", "1"])
            #expect(Set(received.prefix(4).map { $0.header("scimd-Delivery") }).count == 4)
            #expect(received.allSatisfy { Self.signatureIsValid($0, secret: added.secret) })
            try await f.waitFor(added.webhook.id, "cursor at the end") { $0.cursor == latest }
            let log = try await f.service.webhookDeliveries(.init(id: added.webhook.id)).deliveries
            #expect(log.map(\.sequence) == [latest, first])
            #expect(log.last?.attempts == 4 && log.last?.outcome == "delivered" && log.last?.status == 200)
        }
    }

    @Test func listShowsTheRetryStateWhileAnEventIsRetried() async throws {
        try await withEngine { f in
            f.receiver.script([], then: .status(500))
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            _ = try await f.service.createConnection(.init(name: "acme"))
            let info = try await f.waitFor(added.webhook.id, "two failed attempts") { ($0.retry?.attempts ?? 0) >= 2 }
            #expect(info.state == "retrying")
            #expect(info.retry?.lastStatus == 500)
            #expect(info.retry?.lastError.contains("500") == true)
            #expect(info.retry?.sequence == added.webhook.cursor + 1)
            #expect(info.cursor == added.webhook.cursor)
        }
    }

    @Test func afterTheRetryPeriodTheDeliveryIsFailedAndTheEndpointMovesOn() async throws {
        let policy = WebhookPolicy(
            retryPeriod: .zero, attemptTimeout: .seconds(2), initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(50))
        try await withEngine(policy: policy) { f in
            f.receiver.script([.status(500)])
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let latest = try await f.touch(connection)
            let received = try await f.receiver.wait { $0.count >= 2 }
            #expect(received.map(Self.sequence) == [latest - 1, latest])
            let info = try await f.waitFor(added.webhook.id, "cursor at the end") { $0.cursor == latest }
            #expect(info.failed == 1 && info.delivered == 1)
            let log = try await f.service.webhookDeliveries(.init(id: added.webhook.id)).deliveries
            #expect(log.map(\.outcome) == ["delivered", "failed"])
            #expect(log.last?.status == 500 && log.last?.error?.contains("500") == true)
        }
    }

    // MARK: operator actions

    @Test func aPausedEndpointGetsNothingUntilResumedThenEverythingInOrder() async throws {
        try await withEngine { f in
            let witnessReceiver = try await WebhookReceiver.start()
            do {
                try await pausedThenResumed(f, witnessReceiver: witnessReceiver)
            } catch {
                await witnessReceiver.stop()
                throw error
            }
            await witnessReceiver.stop()
        }
    }

    func pausedThenResumed(_ f: Fixture, witnessReceiver: WebhookReceiver) async throws {
        do {
            let paused = try await f.service.addWebhook(.init(url: f.receiver.url()))
            _ = try await f.service.addWebhook(.init(url: witnessReceiver.url()))
            let info = try await f.service.setWebhookPaused(.init(id: paused.webhook.id), paused: true)
            #expect(info.paused && info.state == "paused")
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let latest = try await f.touch(connection, times: 2)
            // The witness has all three: the paused endpoint's worker was woken by the same commits.
            try await witnessReceiver.wait { $0.count >= 3 }
            #expect(f.receiver.requests.isEmpty)
            #expect(try await f.webhook(paused.webhook.id).cursor == paused.webhook.cursor)
            let resumed = try await f.service.setWebhookPaused(.init(id: paused.webhook.id, connection: nil), paused: false)
            #expect(!resumed.paused)
            let received = try await f.receiver.wait { $0.count >= 3 }
            #expect(received.map(Self.sequence) == [latest - 2, latest - 1, latest])
        }
    }

    @Test func redeliverSendsOneEventAgainWithTheSameEventId() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let latest = try await f.touch(connection)
            try await f.waitFor(added.webhook.id, "caught up") { $0.cursor == latest }
            let info = try await f.service.redeliverWebhookEvent(.init(id: added.webhook.id, sequence: latest - 1))
            #expect(info.cursor == latest)
            let received = try await f.receiver.wait { $0.count >= 3 }
            #expect(received.map(Self.sequence) == [latest - 1, latest, latest - 1])
            #expect(received[2].header("scimd-Event-Id") == "\(latest - 1)")
            #expect(received[2].body == received[0].body)
            #expect(Self.signatureIsValid(received[2], secret: added.secret))
            try await f.waitFor(added.webhook.id, "queue empty") { $0.queuedRedeliveries == 0 && $0.delivered == 3 }
            let log = try await f.service.webhookDeliveries(.init(id: added.webhook.id)).deliveries
            #expect(log.first?.redelivery == true && log.first?.sequence == latest - 1 && log.first?.outcome == "delivered")
            #expect(try await f.webhook(added.webhook.id).cursor == latest)
        }
    }

    @Test func duringARotationOverlapBothSecretsSign() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            try await f.receiver.wait { $0.count >= 1 }
            let rotated = try await f.service.rotateWebhookSecret(.init(id: added.webhook.id, overlapSeconds: 3600))
            #expect(rotated.secret != added.secret && rotated.secret.hasPrefix("whsec_"))
            #expect(rotated.webhook.previousSecretExpiresAt != nil)
            try await f.touch(connection)
            let overlapping = try await f.receiver.wait { $0.count >= 2 }[1]
            let entries = try #require(overlapping.header("scimd-Signature")).split(separator: ",").filter { $0.hasPrefix("v1=") }
            #expect(entries.count == 2)
            #expect(Self.signatureIsValid(overlapping, secret: rotated.secret))
            #expect(Self.signatureIsValid(overlapping, secret: added.secret))
            // Without overlap, the old secret stops signing at once.
            let again = try await f.service.rotateWebhookSecret(.init(id: added.webhook.id, overlapSeconds: 0))
            #expect(again.webhook.previousSecretExpiresAt == nil)
            try await f.touch(connection)
            let after = try await f.receiver.wait { $0.count >= 3 }[2]
            #expect(after.header("scimd-Signature")?.split(separator: ",").filter { $0.hasPrefix("v1=") }.count == 1)
            #expect(Self.signatureIsValid(after, secret: again.secret))
            #expect(!Self.signatureIsValid(after, secret: rotated.secret))
            #expect(!Self.signatureIsValid(after, secret: added.secret))
        }
    }

    @Test func eventsPrunedBeforeDeliveryAreLoggedAsSkippedAndCounted() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            _ = try await f.service.setWebhookPaused(.init(id: added.webhook.id), paused: true)
            let connection = try await f.service.createConnection(.init(name: "acme")).connection.id
            let pruned = try await f.touch(connection, times: 2)
            // Retention removes them while the endpoint is paused.
            try await f.store.writeDatabase { db in try db.execute(sql: "DELETE FROM event WHERE sequence <= ?", arguments: [pruned]) }
            let latest = try await f.touch(connection)
            _ = try await f.service.setWebhookPaused(.init(id: added.webhook.id), paused: false)
            let received = try await f.receiver.wait { $0.count >= 1 }
            #expect(received.map(Self.sequence) == [latest])
            let info = try await f.waitFor(added.webhook.id, "caught up") { $0.cursor == latest }
            #expect(info.missedEvents == pruned - added.webhook.cursor)
            #expect(info.skipped == 1)
            let log = try await f.service.webhookDeliveries(.init(id: added.webhook.id)).deliveries
            #expect(log.map(\.outcome) == ["delivered", "skipped"])
            #expect(log.last?.sequence == added.webhook.cursor + 1)
            #expect(log.last?.error?.contains("pruned") == true)
        }
    }

    @Test func removingAnEndpointStopsItsDeliveriesAndDropsItsLog() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            _ = try await f.service.createConnection(.init(name: "acme"))
            try await f.receiver.wait { $0.count >= 1 }
            #expect(try await f.service.removeWebhook(.init(id: added.webhook.id)).removed)
            #expect(try await f.service.listWebhooks(.init()).webhooks.isEmpty)
            await #expect(throws: RPCError.self) { try await f.service.webhookDeliveries(.init(id: added.webhook.id)) }
            await #expect(throws: RPCError.self) { try await f.service.removeWebhook(.init(id: added.webhook.id)) }
        }
    }

    @Test func deletingAConnectionRemovesItsEndpoints() async throws {
        try await withEngine { f in
            _ = try await f.service.createConnection(.init(name: "acme"))
            _ = try await f.service.addWebhook(.init(url: f.receiver.url(), connection: "acme"))
            let all = try await f.service.addWebhook(.init(url: f.receiver.url("all")))
            _ = try await f.service.deleteConnection("acme")
            #expect(try await f.service.listWebhooks(.init()).webhooks.map(\.id) == [all.webhook.id])
        }
    }

    @Test func theSecretIsNeverListed() async throws {
        try await withEngine { f in
            let added = try await f.service.addWebhook(.init(url: f.receiver.url()))
            let rotated = try await f.service.rotateWebhookSecret(.init(id: added.webhook.id))
            let listed = String(decoding: try RPCCodec.encode(try await f.service.listWebhooks(.init())), as: UTF8.self)
            #expect(!listed.contains(added.secret) && !listed.contains(rotated.secret))
            #expect(!listed.contains("whsec_"))
        }
    }

    // MARK: rejections

    @Test(arguments: [
        ("", "must not be empty"),
        ("ftp://example.com/hook", "http or https"),
        ("mailto:ops@example.com", "http or https"),
        ("example.com/hook", "not a URL"),
        ("https:///hook", "no host"),
        ("https://user:secret@example.com/hook", "user name or password"),
        ("https://user@example.com/hook", "user name or password"),
        ("https://example.com/hook#part", "fragment"),
        ("https://example.com/a hook", "spaces or control characters"),
        ("https://example.com/\u{7}", "spaces or control characters"),
        ("https://example.com/" + String(repeating: "a", count: 2048), "at most 2048"),
    ])
    func addRefusesABadURLNamingWhy(url: String, why: String) async throws {
        try await withEngine { f in
            do {
                _ = try await f.service.addWebhook(.init(url: url))
                Issue.record("accepted \(url)")
            } catch let error as RPCError {
                #expect(error.kind == "invalid_params")
                #expect(error.data?.field == "url")
                #expect(error.message.contains(why), "\(error.message)")
            }
            #expect(try await f.service.listWebhooks(.init()).webhooks.isEmpty)
        }
    }

    @Test func addAcceptsHTTPAndHTTPSWithPortsPathsAndQueries() async throws {
        try await withEngine { f in
            for url in ["http://127.0.0.1:8080/hook", "https://hooks.example.com/scimd?tenant=42", "HTTPS://Example.COM"] {
                let added = try await f.service.addWebhook(.init(url: url))
                #expect(added.webhook.url == url)
            }
        }
    }

    @Test func otherParamsAreRefusedWithTheirField() async throws {
        try await withEngine { f in
            func refusal(_ body: () async throws -> Void) async -> RPCError? {
                do {
                    try await body()
                    return nil
                } catch { return error as? RPCError }
            }
            let url = f.receiver.url()
            var e = await refusal { _ = try await f.service.addWebhook(.init(url: url, types: ["user created"])) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "types.0")
            e = await refusal { _ = try await f.service.addWebhook(.init(url: url, types: ["user.created", "*"])) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "types.1")
            e = await refusal { _ = try await f.service.addWebhook(.init(url: url, connection: "nope")) }
            #expect(e?.kind == "not_found")
            e = await refusal { _ = try await f.service.listWebhooks(.init(connection: "nope")) }
            #expect(e?.kind == "not_found")
            let added = try await f.service.addWebhook(.init(url: url, types: ["connection.*"]))
            let id = added.webhook.id
            e = await refusal { _ = try await f.service.setWebhookPaused(.init(id: "wh_nope"), paused: true) }
            #expect(e?.kind == "not_found")
            _ = try await f.service.createConnection(.init(name: "acme"))
            // A webhook for every connection is not acme's.
            e = await refusal { _ = try await f.service.setWebhookPaused(.init(id: id, connection: "acme"), paused: true) }
            #expect(e?.kind == "not_found")
            e = await refusal { _ = try await f.service.rotateWebhookSecret(.init(id: id, overlapSeconds: -1)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "overlapSeconds")
            e = await refusal { _ = try await f.service.rotateWebhookSecret(.init(id: id, overlapSeconds: 2_592_001)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "overlapSeconds")
            e = await refusal { _ = try await f.service.webhookDeliveries(.init(id: id, limit: 0)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "limit")
            e = await refusal { _ = try await f.service.webhookDeliveries(.init(id: id, limit: 501)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "limit")
            e = await refusal { _ = try await f.service.webhookDeliveries(.init(id: id, before: 0)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "before")
            e = await refusal { _ = try await f.service.redeliverWebhookEvent(.init(id: id, sequence: 0)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "sequence")
            e = await refusal { _ = try await f.service.redeliverWebhookEvent(.init(id: id, sequence: 999_999)) }
            #expect(e?.kind == "not_found")
            // Not delivered yet (the endpoint is paused before it is written): it comes in order anyway.
            _ = try await f.service.setWebhookPaused(.init(id: id), paused: true)
            let latest = try await f.touch("acme")
            e = await refusal { _ = try await f.service.redeliverWebhookEvent(.init(id: id, sequence: latest)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "sequence")
            // A type the endpoint does not select.
            let users = try await f.service.addWebhook(.init(url: url, types: ["user.*"]))
            e = await refusal { _ = try await f.service.redeliverWebhookEvent(.init(id: users.webhook.id, sequence: latest)) }
            #expect(e?.kind == "invalid_params" && e?.data?.field == "sequence")
        }
    }

    // MARK: policy

    @Test func backoffDoublesWithJitterInItsUpperHalfUpToTheCeiling() {
        let policy = WebhookPolicy(initialBackoff: .seconds(1), maximumBackoff: .seconds(60))
        #expect(policy.backoff(afterAttempt: 1, random: 1) == 1_000)
        #expect(policy.backoff(afterAttempt: 1, random: 0) == 500)
        #expect(policy.backoff(afterAttempt: 2, random: 1) == 2_000)
        #expect(policy.backoff(afterAttempt: 4, random: 0.5) == 6_000)
        #expect(policy.backoff(afterAttempt: 30, random: 1) == 60_000)
        #expect(policy.backoff(afterAttempt: 10_000, random: 0) == 30_000)
    }

    @Test func theSignatureHeaderIsTheDocumentedFormat() {
        let body = Array(#"{"sequence":1}"#.utf8)
        let header = WebhookSignature.header(secrets: ["whsec_a", "whsec_b"], timestamp: 1_700_000_000, body: body)
        // Computed independently: printf '1700000000.{"sequence":1}' | openssl dgst -sha256 -hmac whsec_a (and whsec_b).
        #expect(
            header == "t=1700000000,v1=b250500ab2a7d1741beb3c915cf6a2a29755c05009b05379faf29503c9e8fc3a,"
                + "v1=f8508c4afe2aa1bd9a8af4d0dfad35ba471131d07f8a7a2c4944e982673f4125")
    }
}

// README verifier begins
import Crypto
import Foundation

/// True when `header` (scimd-Signature) has a valid v1 signature of `body` under `secret`, made
/// within `tolerance` seconds of now.
func verifySCIMDSignature(secret: String, header: String, body: Data, tolerance: TimeInterval = 300, now: Date = Date()) -> Bool {
    let fields = header.split(separator: ",").compactMap { part -> (Substring, Substring)? in
        guard let eq = part.firstIndex(of: "=") else { return nil }
        return (part[..<eq], part[part.index(after: eq)...])
    }
    let timestamps = fields.filter { $0.0 == "t" }.map(\.1)
    guard timestamps.count == 1, let t = TimeInterval(timestamps[0]), abs(now.timeIntervalSince1970 - t) <= tolerance else {
        return false
    }
    let key = SymmetricKey(data: Data(secret.utf8))
    let signed = Data("\(timestamps[0]).".utf8) + body
    return fields.filter { $0.0 == "v1" }.contains { _, hex in
        guard hex.count == 64, let mac = Data(hexString: hex) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key)  // constant time
    }
}

extension Data {
    init?<S: StringProtocol>(hexString: S) {
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2, limitedBy: hexString.endIndex) ?? hexString.endIndex
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
// README verifier ends
