import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SCIMDService
import ServiceLifecycle

/// Delivers the change feed to every webhook endpoint (`webhooks.add`): one worker per endpoint,
/// each sending that endpoint's events one at a time in feed order, so a slow or failing
/// receiver delays only itself.
///
/// Workers are child tasks of ``run()``'s task group. The group's own loop starts a worker for
/// every endpoint that has none, at start and after every commit that appended events or changed
/// a webhook (``SCIMDService/commitWakeUps()``); a worker ends when its endpoint is removed. A
/// worker sleeps between wake-ups, or until its head delivery's next attempt is due (re-reading
/// its state at least every 5 s meanwhile, so a pause or removal is noticed). All state — cursor,
/// attempts, next attempt time — is in the database, written with each attempt's outcome
/// (``SCIMDService/recordWebhookAttempt(_:result:policy:)``), so a restart resumes where it was.
///
/// HTTP: async-http-client, redirects not followed (a 3xx is a failed attempt: the registered URL
/// is the one that was vetted), no decompression, one timeout for the whole attempt (connecting,
/// sending, the answer's head and body).
public struct WebhookDeliveryService: Service {
    let service: SCIMDService
    let policy: WebhookPolicy
    let logger: Logger

    public init(service: SCIMDService, policy: WebhookPolicy, logger: Logger) {
        self.service = service
        self.policy = policy
        self.logger = logger
    }

    public func run() async throws {
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: .init(connect: Self.timeAmount(policy.attemptTimeout)),
                decompression: .disabled))
        do {
            try await cancelWhenGracefulShutdown { try await supervise(client) }
        } catch is CancellationError {
            // Shutting down.
        } catch {
            logger.error("webhook deliveries stopped", metadata: ["error": "\(error)"])
        }
        try await client.shutdown()
    }

    /// Starts a worker for each endpoint without one, now and after every wake-up, until cancelled.
    func supervise(_ client: HTTPClient) async throws {
        let (wakeId, wakeUps) = service.commitWakeUps()
        defer { service.endCommitWakeUps(wakeId) }
        let running = NIOLockedValueBox<Set<String>>([])
        await withDiscardingTaskGroup { group in
            var iterator = wakeUps.makeAsyncIterator()
            while !Task.isCancelled {
                let ids: [String]
                do {
                    ids = try await service.webhookIds()
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("webhooks: cannot read the endpoints; trying again at the next commit", metadata: ["error": "\(error)"])
                    ids = []
                }
                for id in ids where running.withLockedValue({ $0.insert(id).inserted }) {
                    group.addTask {
                        defer { running.withLockedValue { _ = $0.remove(id) } }
                        await work(id, client: client)
                    }
                }
                // Ends when cancelled (the stream finishes for a cancelled waiter).
                if await iterator.next() == nil { break }
            }
            group.cancelAll()
        }
    }

    /// One endpoint's deliveries, in order, until it is removed or the service stops.
    func work(_ id: String, client: HTTPClient) async {
        let (wakeId, wakeUps) = service.commitWakeUps()
        defer { service.endCommitWakeUps(wakeId) }
        var iterator = wakeUps.makeAsyncIterator()
        var failures = 0
        while !Task.isCancelled {
            let next: WebhookWork
            do {
                next = try await service.nextWebhookWork(id)
                failures = 0
            } catch {
                if Task.isCancelled { return }
                // The database refused (a full disk, say): try again, backing off, without losing the place.
                failures += 1
                logger.warning("webhooks: cannot read the next delivery", metadata: ["webhook": "\(id)", "error": "\(error)"])
                do { try await Task.sleep(for: .seconds(min(60, 1 << min(failures, 6)))) } catch { return }
                continue
            }
            switch next {
            case .removed:
                return
            case .idle:
                guard await iterator.next() != nil else { return }
            case .wait(let delay):
                do { try await Task.sleep(for: min(delay, .seconds(5))) } catch { return }
            case .deliver(let request):
                let result = await attempt(request, client: client)
                // Stopping mid-attempt: record nothing; the next start sends it again (at least once).
                if Task.isCancelled { return }
                do {
                    try await service.recordWebhookAttempt(request, result: result, policy: policy)
                } catch {
                    if Task.isCancelled { return }
                    logger.warning(
                        "webhooks: cannot record a delivery's outcome; it will be attempted again",
                        metadata: ["webhook": "\(id)", "sequence": "\(request.sequence)", "error": "\(error)"])
                    do { try await Task.sleep(for: .seconds(1)) } catch { return }
                }
            }
        }
    }

    /// One signed POST of `request`, bounded by the policy's attempt timeout as a whole.
    func attempt(_ request: WebhookDeliveryRequest, client: HTTPClient) async -> WebhookAttemptResult {
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        let timestamp = Int64(Date().timeIntervalSince1970)
        for (name, value) in Self.headers(request, timestamp: timestamp, version: service.configuration.version) {
            http.headers.add(name: name, value: value)
        }
        http.body = .bytes(ByteBuffer(bytes: request.body))
        let signed = http
        let timeout = policy.attemptTimeout
        do {
            return try await withThrowingTaskGroup(of: WebhookAttemptResult.self) { group in
                group.addTask {
                    let response = try await client.execute(signed, timeout: Self.timeAmount(timeout))
                    // Read the answer to its end (so the connection can be reused), keeping none of it.
                    var read = 0
                    for try await part in response.body {
                        read += part.readableBytes
                        if read > 1 << 20 { break }
                    }
                    let code = Int(response.status.code)
                    if (200..<300).contains(code) { return .delivered(status: code) }
                    return .failed(status: code, reason: "HTTP \(code) \(response.status.reasonPhrase)")
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return .failed(status: nil, reason: "timed out after \(timeout)")
                }
                let first = try await group.next() ?? .failed(status: nil, reason: "no result")
                group.cancelAll()
                return first
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            return .failed(status: nil, reason: "timed out after \(timeout)")
        } catch {
            return .failed(status: nil, reason: "\(error)")
        }
    }

    /// The request's headers: `Content-Type`, `User-Agent`, and scimd's own (see the README's
    /// "Webhooks" section): `scimd-Signature`, `scimd-Event-Id` (the event's sequence: the
    /// receiver's deduplication key), `scimd-Event-Type`, `scimd-Webhook-Id`, `scimd-Delivery` (a
    /// new UUID per HTTP attempt, for logs) and `scimd-Attempt` (1 for the first).
    public static func headers(_ request: WebhookDeliveryRequest, timestamp: Int64, version: String) -> [(String, String)] {
        [
            ("Content-Type", "application/json"),
            ("User-Agent", "scimd/\(version)"),
            ("scimd-Signature", WebhookSignature.header(secrets: request.secrets, timestamp: timestamp, body: request.body)),
            ("scimd-Event-Id", "\(request.sequence)"),
            ("scimd-Event-Type", request.eventType),
            ("scimd-Webhook-Id", request.webhookId),
            ("scimd-Delivery", UUID().uuidString.lowercased()),
            ("scimd-Attempt", "\(request.attempt)"),
        ]
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
