import Foundation
import SCIMJSON
import Testing

/// Lines pipelined in one write reach the daemon in one read and are handled as one batch
/// (`LineBatcher`): each is still handled after the one before it, and the answers come back in
/// order, a subscription's answer before its first notification.
@Suite(.serialized) struct RPCPipeliningEndToEndTests {
    @Test func pipelinedLinesAreAnsweredInOrderAndSeeTheLinesBefore() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let socket = try RawSocket(path: daemon.socket)
        var lines: [String] = []
        for i in 0..<200 { lines.append(#"{"jsonrpc":"2.0","id":\#(i),"method":"system.health"}"#) }
        // A write, then a read that must see it.
        lines.append(#"{"jsonrpc":"2.0","id":"create","method":"connections.create","params":{"name":"Piped"}}"#)
        lines.append(#"{"jsonrpc":"2.0","id":"get","method":"connections.get","params":{"connection":"Piped"}}"#)
        // Answers over the flush threshold (64 KiB) in one batch: rpc.discover is a large document.
        for i in 0..<8 { lines.append(#"{"jsonrpc":"2.0","id":"discover\#(i)","method":"rpc.discover"}"#) }
        // A notification (no answer), a blank line, then the last request.
        lines.append(#"{"jsonrpc":"2.0","method":"system.health"}"#)
        lines.append("  ")
        lines.append(#"{"jsonrpc":"2.0","id":"last","method":"system.health"}"#)
        socket.send(lines.joined(separator: "\n") + "\n")
        var ids: [JSONValue] = []
        var discoverBytes = 0
        while ids.count < 211, let line = socket.readLine() {
            let answer = try JSONParser().parse(line)
            #expect(answer["error"] == nil, "\(line.prefix(200))")
            if answer["id"]?.stringValue == "get" { #expect(answer["result"]?["name"] == "Piped") }
            if answer["id"]?.stringValue?.hasPrefix("discover") == true { discoverBytes += line.utf8.count }
            ids.append(answer["id"] ?? .null)
        }
        let expected: [JSONValue] =
            (0..<200).map { .int($0) } + ["create", "get"] + (0..<8).map { .string("discover\($0)") } + ["last"]
        #expect(ids == expected)
        #expect(discoverBytes > 64 * 1024, "the answers crossed the flush threshold")
    }

    @Test func aSubscriptionPipelinedWithOtherLinesIsAnsweredBeforeItsFirstEvent() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let socket = try RawSocket(path: daemon.socket)
        socket.send(
            [
                #"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"events.subscribe","params":{"types":["connection.created"]}}"#,
                #"{"jsonrpc":"2.0","id":3,"method":"connections.create","params":{"name":"Seen"}}"#,
                #"{"jsonrpc":"2.0","id":4,"method":"system.health"}"#,
            ].joined(separator: "\n") + "\n")
        var order: [String] = []
        while order.count < 5, let line = socket.readLine() {
            let message = try JSONParser().parse(line)
            if let id = message["id"]?.intValue {
                order.append("answer \(id)")
            } else {
                order.append("\(message["method"]?.stringValue ?? "?") \(message["params"]?["event"]?["type"]?.stringValue ?? "?")")
            }
        }
        #expect(Array(order.prefix(2)) == ["answer 1", "answer 2"])
        #expect(order.contains("events.event connection.created"))
        #expect(order.filter { $0.hasPrefix("answer") } == ["answer 1", "answer 2", "answer 3", "answer 4"])
    }

    /// A lookup is answered on the event loop (`SynchronousAnswerer`) only when none of the
    /// connection's earlier lines is still being answered: pipelined after a create, in the same
    /// write or the next, it waits for the create and finds the user.
    @Test func aLookupPipelinedAfterACreateFindsTheUser() async throws {
        let daemon = try Daemon()
        try daemon.start()
        let socket = try RawSocket(path: daemon.socket)
        socket.send(#"{"jsonrpc":"2.0","id":0,"method":"connections.create","params":{"name":"Order"}}"# + "\n")
        let created = try #require(socket.readLine())
        let token = try #require(try JSONParser().parse(created)["result"]?["token"]?.stringValue)
        func create(_ id: Int, _ name: String) -> String {
            let body = JSONSerializer.string(["userName": .string(name)])
            return JSONSerializer.string([
                "jsonrpc": "2.0", "id": .int(id), "method": "scim.handle",
                "params": ["method": "POST", "path": "/Users", "headers": ["Authorization": .string("Bearer \(token)")], "body": .string(body)],
            ]) + "\n"
        }
        func lookup(_ id: Int, _ name: String) -> String {
            JSONSerializer.string([
                "jsonrpc": "2.0", "id": .int(id), "method": "scim.handle",
                "params": [
                    "method": "GET", "path": .string("/Users?filter=userName%20eq%20%22\(name)%22"),
                    "headers": ["Authorization": .string("Bearer \(token)")],
                ],
            ]) + "\n"
        }
        var expected: [Int: Int] = [:]
        for round in 0..<20 {
            let base = round * 10 + 1
            // In one write.
            socket.send(create(base, "same-\(round)") + lookup(base + 1, "same-\(round)"))
            // In two writes, the second sent before the create's answer is read.
            socket.send(create(base + 2, "next-\(round)"))
            socket.send(lookup(base + 3, "next-\(round)") + #"{"jsonrpc":"2.0","id":\#(base + 4),"method":"system.health"}"# + "\n")
            expected[base] = 201
            expected[base + 2] = 201
        }
        var ids: [Int] = []
        while ids.count < 100, let line = socket.readLine() {
            let answer = try JSONParser().parse(line)
            let id = try #require(answer["id"]?.intValue)
            ids.append(id)
            if id % 10 == 2 || id % 10 == 4 {
                let body = try JSONParser().parse(answer["result"]?["body"]?.stringValue ?? "")
                #expect(body["totalResults"] == 1, "lookup \(id)")
            } else if let status = expected[id] {
                #expect(answer["result"]?["status"]?.intValue == status, "create \(id)")
            }
        }
        let order: [Int] = (0..<20).flatMap { (round: Int) -> [Int] in (1...5).map { round * 10 + $0 } }
        #expect(ids == order)
    }
}
