import Foundation
import SCIMDClient
import SCIMDProtocol
import SCIMJSON
import Testing

/// SplitMix64: a tiny seeded generator, so a failing run can be replayed with its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Kills the real daemon with SIGKILL at random moments during a stream of writes and checks,
/// after each restart, that every acknowledged change is there, nothing is half-applied, and
/// counters, warnings and the event feed agree with the stored resources.
///
/// CI runs `SCIMD_CRASH_KILLS` rounds (default 10); the full run is `SCIMD_CRASH_KILLS=60`
/// (README, "Reliability"). `SCIMD_CRASH_SEED` replays a run.
@Suite(.serialized) struct CrashSafetyTests {
    /// What the writer knows: acknowledged state, plus the one operation in flight when scimd died.
    struct Model {
        var users: [String: String] = [:]  // userName → id
        var titles: [String: String] = [:]  // id → last acknowledged title
        var members: Set<String> = []  // acknowledged group members
        var inFlight: Operation?
        /// Operations acknowledged so far, over all rounds.
        var acknowledged = 0
    }

    enum Operation {
        case create(userName: String)
        case title(id: String, title: String)
        case add(id: String)
        case remove(id: String)
        case mapping(warnEmail: Bool)
    }

    @Test func acknowledgedWritesSurviveSIGKILL() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = UInt64(environment["SCIMD_CRASH_SEED"] ?? "") ?? 42
        let rounds = Int(environment["SCIMD_CRASH_KILLS"] ?? "") ?? 10
        var random = SeededGenerator(state: seed)
        let daemon = try Daemon()
        try daemon.start()
        let created = try await daemon.client { try await $0.createConnection(name: "Crash") }
        let auth = ["Authorization": "Bearer \(created.token)"]
        let group = try await daemon.client {
            try await $0.handleSCIM(method: "POST", path: "/Groups", headers: auth, body: #"{"displayName":"Crew"}"#)
        }
        let groupId = try JSONParser().parse(group.body ?? "{}")["id"]?.stringValue ?? ""
        var model = Model()
        var serial = 0

        for round in 0..<rounds {
            let killAfter = Double(Int.random(in: 20...250, using: &random)) / 1000
            // Operations are chosen up front from the seed, so a run is reproducible.
            var plan: [Operation] = []
            for _ in 0..<400 {
                serial += 1
                let ids = Array(model.users.values).sorted()
                let pick = ids.isEmpty ? 0 : Int.random(in: 0..<10, using: &random)
                switch pick {
                case 0..<4: plan.append(.create(userName: "crash\(serial)@example.com"))
                case 4..<6: plan.append(.title(id: ids.randomElement(using: &random)!, title: "t\(serial)"))
                case 6..<8: plan.append(.add(id: ids.randomElement(using: &random)!))
                case 8: plan.append(.remove(id: ids.randomElement(using: &random)!))
                default: plan.append(.mapping(warnEmail: Bool.random(using: &random)))
                }
            }
            let pid = daemon.process!.processIdentifier
            // The kill comes `killAfter` after the round's first acknowledged operation, so every
            // round makes progress however slow the machine (or the thread sanitizer) is.
            let firstAcknowledged = DispatchSemaphore(value: 0)
            let killer = Thread {
                _ = firstAcknowledged.wait(timeout: .now() + 60)
                Thread.sleep(forTimeInterval: killAfter)
                kill(pid, SIGKILL)
            }
            killer.start()
            let before = model.acknowledged
            model = await Self.drive(
                plan, socket: daemon.socket, auth: auth, groupId: groupId, model: model, context: "round \(round), seed \(seed)",
                onFirstAcknowledgement: { firstAcknowledged.signal() })
            daemon.process!.waitUntilExit()
            #expect(daemon.process!.terminationReason == .uncaughtSignal, "round \(round): scimd was killed")
            #expect(model.acknowledged > before, "round \(round), seed \(seed): no operation was acknowledged")
            try daemon.start()
            model = try await Self.verify(daemon: daemon, auth: auth, groupId: groupId, model: model, round: round, seed: seed)
        }
    }

    /// Sends the plan until scimd dies; returns the acknowledged state and the operation in flight.
    /// The connection closing (scimd killed) is the only error expected; any other, and any answer
    /// other than the operation's success status, is recorded as a failure.
    static func drive(
        _ plan: [Operation], socket: String, auth: [String: String], groupId: String, model: Model, context: String,
        onFirstAcknowledgement: @escaping @Sendable () -> Void
    ) async -> Model {
        var model = model
        model.inFlight = nil
        var signalled = false
        // Records an answer that is not the expected success; true when it is the success.
        func succeeded(_ r: SCIMHandle.Result, _ expected: Int, _ op: Operation) -> Bool {
            guard r.status == expected else {
                Issue.record("\(context): \(op) answered \(r.status), expected \(expected): \(r.body ?? "")")
                return false
            }
            return true
        }
        do {
            try await SCIMDClient.withConnection(socketPath: socket) { client in
                for op in plan {
                    model.inFlight = op
                    switch op {
                    case .create(let userName):
                        let r = try await client.handleSCIM(method: "POST", path: "/Users", headers: auth, body: #"{"userName":"\#(userName)"}"#)
                        if succeeded(r, 201, op) {
                            let id = try #require(try JSONParser().parse(r.body ?? "{}")["id"]?.stringValue, "\(context): no id in \(r.body ?? "")")
                            model.users[userName] = id
                        }
                    case .title(let id, let title):
                        let r = try await client.handleSCIM(
                            method: "PATCH", path: "/Users/\(id)", headers: auth,
                            body: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"\#(title)"}]}"#)
                        if succeeded(r, 200, op) { model.titles[id] = title }
                    case .add(let id):
                        let r = try await client.handleSCIM(
                            method: "PATCH", path: "/Groups/\(groupId)", headers: auth,
                            body: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"\#(id)"}]}]}"#)
                        if succeeded(r, 204, op) { model.members.insert(id) }
                    case .remove(let id):
                        let r = try await client.handleSCIM(
                            method: "PATCH", path: "/Groups/\(groupId)", headers: auth,
                            body: #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"\#(id)\"]"}]}"#)
                        if succeeded(r, 204, op) { model.members.remove(id) }
                    case .mapping(let warnEmail):
                        let info = try await client.mapping("Crash")
                        let properties = (info.users["properties"]?.arrayValue ?? []).map { p -> JSONValue in
                            guard p["name"] == "email", var o = p.objectValue else { return p }
                            o["warnIfMissing"] = .bool(warnEmail)
                            return .object(o)
                        }
                        _ = try await client.setMapping(.init(connection: "Crash", users: ["properties": .array(properties)]))
                    }
                    model.inFlight = nil
                    model.acknowledged += 1
                    if !signalled {
                        signalled = true
                        onFirstAcknowledgement()
                    }
                }
            }
        } catch SCIMDClientError.connectionClosed {
            // scimd was killed: expected, the operation in flight is settled by `verify`.
        } catch {
            Issue.record("\(context): unexpected error while driving writes: \(error)")
        }
        if !signalled { onFirstAcknowledgement() }
        return model
    }

    /// Checks the restarted daemon against the model; adopts the in-flight operation's outcome.
    static func verify(daemon: Daemon, auth: [String: String], groupId: String, model: Model, round: Int, seed: UInt64) async throws -> Model {
        var model = model
        let context = "round \(round), seed \(seed)"
        return try await daemon.client { client in
            // Every acknowledged user is there; an unacknowledged create is all there or absent.
            let list = try await client.handleSCIM(method: "GET", path: "/Users?count=1000000", headers: auth)
            let listed = try JSONParser().parse(list.body ?? "{}")
            var stored: [String: JSONValue] = [:]
            for user in listed["Resources"]?.arrayValue ?? [] {
                if let name = user["userName"]?.stringValue { stored[name] = user }
            }
            #expect(list.status == 200, "\(context): \(list.body ?? "")")
            #expect(listed["totalResults"]?.intValue == stored.count, "\(context): the list is one page of all users")
            for (name, id) in model.users {
                #expect(stored[name]?["id"]?.stringValue == id, "\(context): acknowledged user \(name) missing")
            }
            if case .create(let name)? = model.inFlight, let user = stored[name] {
                model.users[name] = user["id"]?.stringValue
            }
            #expect(Set(stored.keys) == Set(model.users.keys), "\(context): users that were never created appeared")
            // Titles: the acknowledged value, or the one in flight (all or nothing).
            for (name, user) in stored {
                let id = user["id"]?.stringValue ?? ""
                let title = user["title"]?.stringValue
                if case .title(let fid, let ftitle)? = model.inFlight, fid == id, title == ftitle {
                    model.titles[id] = ftitle
                    continue
                }
                #expect(title == model.titles[id], "\(context): \(name) has title \(title ?? "nil"), acknowledged \(model.titles[id] ?? "nil")")
            }
            // Membership: acknowledged adds and removes, and the in-flight one either way.
            let g = try JSONParser().parse(try await client.handleSCIM(method: "GET", path: "/Groups/\(groupId)", headers: auth).body ?? "{}")
            let members = Set((g["members"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue })
            var expected = model.members
            switch model.inFlight {
            case .add(let id)?: if members.contains(id) { expected.insert(id) }
            case .remove(let id)?: if !members.contains(id) { expected.remove(id) }
            default: break
            }
            #expect(members == expected, "\(context): group members differ")
            model.members = expected
            // Users' derived groups agree with the group.
            for (_, user) in stored {
                let id = user["id"]?.stringValue ?? ""
                let inGroup = (user["groups"]?.arrayValue ?? []).contains { $0["value"]?.stringValue == groupId }
                #expect(inGroup == members.contains(id), "\(context): User.groups of \(id) disagrees with the group")
            }
            // Counters, warnings and the event feed agree with the stored resources.
            let info = try await client.connection("Crash")
            #expect(info.users == stored.count, "\(context): user counter")
            var rows: [UserRow] = []
            var cursor: String? = nil
            repeat {
                let page = try await client.listUsers(.init(connection: "Crash", limit: 1000, cursor: cursor))
                rows += page.users
                cursor = page.nextCursor
            } while cursor != nil
            #expect(info.openWarnings == rows.reduce(0) { $0 + $1.warningCount }, "\(context): warning counter")
            var createdEvents = Set<String>()
            var after = 0
            while true {
                let page = try await client.listEvents(.init(after: after, connection: "Crash", types: ["user.created"], limit: 1000))
                createdEvents.formUnion(page.events.compactMap(\.resourceId))
                if page.events.isEmpty { break }
                after = page.nextAfter
            }
            for (name, user) in stored {
                #expect(createdEvents.contains(user["id"]?.stringValue ?? ""), "\(context): no user.created event for \(name)")
            }
            model.inFlight = nil
            return model
        }
    }
}
