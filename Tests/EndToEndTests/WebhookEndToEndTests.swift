import Foundation
import HTTPTestClient
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// Webhooks through the real daemon: deliveries survive a restart in the middle of a retry, and
/// `scimctl webhooks` drives every RPC. No assertion is timed: each waits for an outcome under a
/// generous hang guard.
@Suite(.serialized) struct WebhookEndToEndTests {
    static func sequence(_ request: WebhookReceiver.Request) -> Int? {
        (try? JSONParser().parse(bytes: request.body))?["sequence"]?.intValue
    }

    /// Waits (hang guard 90 s) until the daemon's only webhook satisfies `condition`.
    func waitForWebhook(_ daemon: Daemon, _ what: String, until condition: (WebhookInfo) -> Bool) async throws -> WebhookInfo {
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let info = try await daemon.client({ try await $0.call(WebhooksList.self, .init()) }).webhooks.first, condition(info) {
                return info
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HTTPTestClientError("the webhook never reached: \(what)\n\(daemon.log.suffix(4000))")
    }

    @Test func aRestartInTheMiddleOfARetryLosesNoEventAndKeepsItsAttempts() async throws {
        let receiver = try await WebhookReceiver.start()
        do {
            try await restartMidRetry(receiver)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    func restartMidRetry(_ receiver: WebhookReceiver) async throws {
        receiver.script([], then: .status(500))
        let daemon = try Daemon()
        try daemon.start(extra: ["--webhook-retry-period", "3600"])
        let added = try await daemon.client { c in
            let added = try await c.call(WebhooksAdd.self, .init(url: receiver.url()))
            _ = try await c.createConnection(name: "acme")
            _ = try await c.updateConnection(.init(connection: "acme", customerId: "one"))
            _ = try await c.updateConnection(.init(connection: "acme", customerId: "two"))
            return added
        }
        let first = added.webhook.cursor + 1
        // Two failed attempts at the first event are on disk: stop while it waits for the third.
        let retrying = try await waitForWebhook(daemon, "two recorded attempts") { ($0.retry?.attempts ?? 0) >= 2 }
        #expect(retrying.state == "retrying" && retrying.retry?.sequence == first && retrying.cursor == added.webhook.cursor)
        #expect(daemon.stop() == 0)
        #expect(receiver.requests.allSatisfy { Self.sequence($0) == first })

        // More changes while it is down.
        receiver.script([], then: .status(200))
        try daemon.start(extra: ["--webhook-retry-period", "3600"])
        let afterRestart = try await waitForWebhook(daemon, "the same retry state after the restart") { _ in true }
        #expect((afterRestart.retry?.attempts ?? 0) >= 2 || afterRestart.delivered > 0)
        let latest = try await daemon.client { c in
            _ = try await c.updateConnection(.init(connection: "acme", customerId: "three"))
            return try await c.listEvents(.init(limit: 1)).latestSequence
        }
        let received = try await receiver.wait { requests in requests.contains { Self.sequence($0) == latest && $0.reply == .status(200) } }
        // Every event after the cursor reached the receiver with a 2xx answer once, in feed order.
        let delivered = received.filter { $0.reply == .status(200) }.compactMap(Self.sequence)
        #expect(delivered == Array(first...latest))
        let log = try await daemon.client { try await $0.call(WebhooksDeliveries.self, .init(id: added.webhook.id)) }.deliveries
        let firstEntry = try #require(log.first { $0.sequence == first })
        #expect(firstEntry.outcome == "delivered")
        // The attempts recorded before the restart count: the retry went on, it did not start over.
        #expect(firstEntry.attempts >= 3)
        #expect(log.filter { $0.outcome == "delivered" }.count == latest - first + 1)
    }

    /// Runs the README's Python verifier (its Webhooks section's `python` block) on a request
    /// scimd really sent: it must accept it under `secret` and refuse it under another secret.
    static func verifyWithTheREADMEsPython(_ request: WebhookReceiver.Request, secret: String, in directory: URL) throws {
        var readmeURL = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { readmeURL.deleteLastPathComponent() }
        let readme = try String(contentsOf: readmeURL.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "### Webhooks"))
        let begin = try #require(readme.range(of: "```python\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "```\n", range: begin.upperBound..<readme.endIndex))
        let verifier = String(readme[begin.upperBound..<end.lowerBound])
        let bodyFile = directory.appendingPathComponent("body.bin")
        try Data(request.body).write(to: bodyFile)
        let header = try #require(request.header("scimd-Signature"))
        let script = verifier + """

            import sys
            body = open(sys.argv[1], "rb").read()
            print(verify_scimd_signature(sys.argv[2], sys.argv[3], body), verify_scimd_signature(sys.argv[2] + "x", sys.argv[3], body))
            """
        let scriptFile = directory.appendingPathComponent("verify.py")
        try script.write(to: scriptFile, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", scriptFile.path, bodyFile.path, secret, header]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(printed == "True False\n")
    }

    @Test func scimctlDrivesEveryWebhookCommand() async throws {
        let receiver = try await WebhookReceiver.start()
        do {
            try await scimctlCommands(receiver)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    func scimctlCommands(_ receiver: WebhookReceiver) async throws {
        let daemon = try Daemon()
        try daemon.start()
        let env = ["SCIMD_SOCKET": daemon.socket]
        _ = try await daemon.client { try await $0.createConnection(name: "acme") }

        let refused = try runTool("scimctl", ["webhooks", "add", "ftp://example.com/x"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("http or https") && refused.stderr.contains("invalid_params") && refused.stderr.contains("field: url"))
        let credentials = try runTool("scimctl", ["webhooks", "add", "https://u:p@example.com/"], environment: env)
        #expect(credentials.status == 1 && credentials.stderr.contains("user name or password"))
        let unknownConnection = try runTool("scimctl", ["webhooks", "add", receiver.url(), "--connection", "nope"], environment: env)
        #expect(unknownConnection.status == 3)

        let added = try runTool(
            "scimctl", ["webhooks", "add", receiver.url(), "--connection", "acme", "--types", "connection.*"], environment: env)
        #expect(added.status == 0)
        #expect(added.stdout.contains("whsec_") && added.stdout.contains("not shown again"))
        let json = try runTool("scimctl", ["webhooks", "list", "--json"], environment: env)
        let list = try JSONParser().parse(json.stdout)
        let id = try #require(list["webhooks"]?.arrayValue?.first?["id"]?.stringValue)
        #expect(list["webhooks"]?.arrayValue?.first?["connectionName"]?.stringValue == "acme")
        #expect(!json.stdout.contains("whsec_"))
        let table = try runTool("scimctl", ["webhooks", "list"], environment: env)
        #expect(table.status == 0 && table.stdout.contains(id) && table.stdout.contains(receiver.url()))

        _ = try await daemon.client { try await $0.updateConnection(.init(connection: "acme", customerId: "x")) }
        try await receiver.wait { $0.count >= 1 }
        let sequence = try #require(Self.sequence(receiver.requests[0]))
        let secret = try #require(added.stdout.split(separator: "\n").first { $0.contains("whsec_") }?.trimmingCharacters(in: .whitespaces))
        try Self.verifyWithTheREADMEsPython(receiver.requests[0], secret: secret, in: daemon.directory)
        var deliveries = try runTool("scimctl", ["webhooks", "deliveries", id, "--json"], environment: env)
        // The outcome is recorded just after the answer: wait for it.
        let deadline = ContinuousClock.now + .seconds(90)
        while !deliveries.stdout.contains("\"delivered\""), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            deliveries = try runTool("scimctl", ["webhooks", "deliveries", id, "--json"], environment: env)
        }
        #expect(try JSONParser().parse(deliveries.stdout)["deliveries"]?.arrayValue?.first?["sequence"]?.intValue == sequence)
        let text = try runTool("scimctl", ["webhooks", "deliveries", id], environment: env)
        #expect(text.status == 0 && text.stdout.contains("delivered"))

        let redeliver = try runTool("scimctl", ["webhooks", "redeliver", id, "--sequence", "\(sequence)"], environment: env)
        #expect(redeliver.status == 0 && redeliver.stdout.contains("Queued event \(sequence)"))
        try await receiver.wait { $0.count >= 2 }
        #expect(Self.sequence(receiver.requests[1]) == sequence)

        let pause = try runTool("scimctl", ["webhooks", "pause", id, "--connection", "acme"], environment: env)
        #expect(pause.status == 0 && pause.stdout.contains("Paused"))
        let resume = try runTool("scimctl", ["webhooks", "resume", id], environment: env)
        #expect(resume.status == 0 && resume.stdout.contains("Resumed"))
        let rotated = try runTool("scimctl", ["webhooks", "rotate-secret", id, "--overlap-seconds", "60"], environment: env)
        #expect(rotated.status == 0 && rotated.stdout.contains("whsec_") && rotated.stdout.contains("keeps signing"))
        let notFound = try runTool("scimctl", ["webhooks", "pause", "wh_nope"], environment: env)
        #expect(notFound.status == 3)
        let removed = try runTool("scimctl", ["webhooks", "remove", id], environment: env)
        #expect(removed.status == 0)
        let empty = try runTool("scimctl", ["webhooks", "list"], environment: env)
        #expect(empty.stdout.contains("No webhooks"))
    }
}
