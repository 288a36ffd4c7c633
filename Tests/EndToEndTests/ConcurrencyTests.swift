import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// Many clients on many socket connections at once, against the real daemon.
@Suite(.serialized) struct ConcurrencyTests {
    static let patch = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":"#

    @Test func fiftyConcurrentMemberAddsAllLand() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Race") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        let (groupId, userIds) = try await daemon.client { client -> (String, [String]) in
            let g = try await client.handleSCIM(method: "POST", path: "/Groups", headers: auth, body: #"{"displayName":"All"}"#)
            var ids: [String] = []
            for i in 0..<50 {
                let u = try await client.handleSCIM(method: "POST", path: "/Users", headers: auth, body: #"{"userName":"r\#(i)@example.com"}"#)
                ids.append(try JSONParser().parse(u.body ?? "{}")["id"]?.stringValue ?? "")
            }
            return (try JSONParser().parse(g.body ?? "{}")["id"]?.stringValue ?? "", ids)
        }
        let socket = daemon.socket
        let statuses = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
            for id in userIds {
                group.addTask {
                    try await SCIMDClient.withConnection(socketPath: socket) { client in
                        try await client.handleSCIM(
                            method: "PATCH", path: "/Groups/\(groupId)", headers: auth,
                            body: Self.patch + #"[{"op":"add","path":"members","value":[{"value":"\#(id)"}]}]}"#).status
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 204 }, "a Group PATCH answers 204 No Content: \(statuses)")
        let group = try await daemon.client { try await $0.handleSCIM(method: "GET", path: "/Groups/\(groupId)", headers: auth) }
        let members = Set((try JSONParser().parse(group.body ?? "{}")["members"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue })
        #expect(members == Set(userIds))
    }

    @Test func concurrentIfMatchWritesHaveExactlyOneWinner() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "ETag") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        let created = try await daemon.client {
            try await $0.handleSCIM(method: "POST", path: "/Users", headers: auth, body: #"{"userName":"contended@example.com"}"#)
        }
        let id = try JSONParser().parse(created.body ?? "{}")["id"]?.stringValue ?? ""
        let etag = try #require(created.headers["ETag"])
        let socket = daemon.socket
        let statuses = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
            for i in 0..<20 {
                group.addTask {
                    try await SCIMDClient.withConnection(socketPath: socket) { client in
                        var headers = auth
                        headers["If-Match"] = etag
                        if i % 2 == 0 {
                            return try await client.handleSCIM(
                                method: "PUT", path: "/Users/\(id)", headers: headers,
                                body: #"{"userName":"contended@example.com","title":"put\#(i)"}"#).status
                        }
                        return try await client.handleSCIM(
                            method: "PATCH", path: "/Users/\(id)", headers: headers,
                            body: Self.patch + #"[{"op":"replace","path":"title","value":"patch\#(i)"}]}"#).status
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 412 }.count == 19, "\(statuses)")
    }

    @Test func aMappingEditDuringHeavyIngestLeavesEveryResourceOnTheNewVersion() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let token = try await daemon.client { try await $0.createConnection(name: "Remap") }.token
        let auth = ["Authorization": "Bearer \(token)"]
        let socket = daemon.socket
        let current = try await daemon.client { try await $0.mapping("Remap") }
        var properties = current.users["properties"]?.arrayValue ?? []
        properties.append(["name": "nick", "type": "string", "path": "nickName"])
        let setLine = JSONSerializer.string([
            "jsonrpc": "2.0", "id": 1, "method": "mapping.set",
            "params": ["connection": "Remap", "users": ["properties": .array(properties)]],
        ])
        // Each writer creates its first half, then waits until the mapping.set line has been
        // sent, then creates the rest: the second halves race the re-map of the first halves.
        let firstHalvesDone = Countdown(4)
        let editSent = Gate()
        let editor = Task.detached { () throws -> JSONValue in
            await firstHalvesDone.wait()
            let raw = try RawSocket(path: socket, receiveTimeout: 120)
            raw.send(setLine + "\n")
            await editSent.open()
            guard let line = raw.readLine() else { throw HarnessError("no answer to mapping.set") }
            return try JSONParser().parse(line)
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        try await SCIMDClient.withConnection(socketPath: socket) { client in
                            for i in 0..<150 {
                                if i == 75 {
                                    await firstHalvesDone.arrive()
                                    await editSent.wait()
                                }
                                let r = try await client.handleSCIM(
                                    method: "POST", path: "/Users", headers: auth, body: #"{"userName":"w\#(writer)-\#(i)@example.com","nickName":"n\#(i)"}"#)
                                #expect(r.status == 201)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            // A writer failed before its half: release the editor so it does not wait forever.
            await firstHalvesDone.release()
            _ = try? await editor.value
            throw error
        }
        let answer = try await editor.value
        let newVersion = answer["result"]?["mapping"]?["version"]?.intValue
        #expect(newVersion == 2)
        let rows = try await daemon.client { client -> [ResourceDetail] in
            var out: [ResourceDetail] = []
            var cursor: String? = nil
            repeat {
                let page = try await client.listUsers(.init(connection: "Remap", limit: 1000, cursor: cursor))
                for row in page.users { out.append(try await client.user("Remap", row.id)) }
                cursor = page.nextCursor
            } while cursor != nil
            return out
        }
        #expect(rows.count == 600)
        #expect(rows.allSatisfy { $0.mappingVersion == 2 }, "\(rows.filter { $0.mappingVersion != 2 }.count) rows on an old version")
        #expect(rows.allSatisfy { $0.mapped["nick"] != nil })
    }
}

/// Opens once; every waiter, before or after, then proceeds.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}

/// Opens once `count` parties have arrived.
actor Countdown {
    private var remaining: Int
    private let gate = Gate()

    init(_ count: Int) { remaining = count }

    func arrive() async {
        remaining -= 1
        if remaining == 0 { await gate.open() }
    }

    func wait() async { await gate.wait() }

    /// Opens without waiting for the rest (a party failed and will never arrive).
    func release() async { await gate.open() }
}
