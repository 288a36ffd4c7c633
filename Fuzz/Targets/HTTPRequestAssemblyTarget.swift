import NIOCore
import NIOEmbedded
import NIOHTTP1
import SCIMDFraming

/// HTTP request assembly as the SCIM HTTP listener does it: raw bytes into NIO's HTTP/1.1 server
/// pipeline (`configureHTTPServerPipeline` with pipelining assistance and error handling, as the
/// listener configures it), each decoded part into ``HTTPRequestAssembler``, and its actions
/// answered as the listener answers them (a response per served or refused request, `100
/// Continue`, closing).
///
/// Properties, for every byte string and every split of it into chunks (see ``ChunkedInput``):
/// - a served body is exactly the bytes NIO decoded for that request, and never over the limit;
/// - a request is refused (413) exactly when its declared `Content-Length` or the body received
///   so far exceeds the limit; after a refusal the connection closes at the body's end, or once
///   more than ``HTTPRequestAssembler/discardBudget`` bytes were dropped, and serves nothing more;
/// - `100 Continue` is asked for exactly for an acceptable HTTP/1.1 request that expects it;
/// - what is served, refused and closed does not depend on how the bytes were split (up to a
///   refusal, after which the connection ends: see ``outcome(_:)``).
enum HTTPRequestAssemblyTarget {
    static let limits = [0, 1, 10, 100, 4096]

    /// What the listener does, in order: the observable outcome of a connection. `close` is the
    /// connection's end, whichever part of the pipeline ended it.
    enum Event: Equatable {
        case serve(HTTPRequestHead, [UInt8]?)
        case refuse(HTTPRequestHead)
        case sendContinue
        case close
    }

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        let chunked = ChunkedInput(input)
        let limit = limits[chunked.limitSelector % limits.count]
        let split = outcome(try events(of: chunked.chunks, limit: limit))
        let whole = outcome(try events(of: [chunked.payload[...]], limit: limit))
        if split != whole {
            throw FuzzFailure("assembly depends on the split \(chunked.chunks.map(\.count)): \(split) vs \(whole) in one write")
        }
    }

    /// The events up to and including a refusal. A 413 is answered with `Connection: close`, so
    /// the connection ends after it; whether the assembler's drain ends first (its budget, the
    /// body's end) or the close after the answer depends on how the bytes arrive, and NIO stops
    /// delivering a request's parts once its response is complete.
    static func outcome(_ events: [Event]) -> [Event] {
        guard let refusal = events.firstIndex(where: { if case .refuse = $0 { return true } else { return false } }) else {
            return events
        }
        return Array(events[...refusal])
    }

    /// What the connection serves for `chunks`, checking the assembler's contract on the way.
    static func events(of chunks: [ArraySlice<UInt8>], limit: Int) throws(FuzzFailure) -> [Event] {
        let channel = EmbeddedChannel()
        var assembler = HTTPRequestAssembler(maxBodyBytes: limit)
        var events: [Event] = []
        // The request being received: its head, the body bytes NIO delivered, and whether it was refused.
        var head: HTTPRequestHead? = nil
        var delivered: [UInt8] = []
        var refused = false
        var dropped = 0
        var closed = false

        // Set at a pipeline error: NIO's error handler has answered 400, and the listener, whose
        // loop over the inbound parts ends by throwing, writes nothing more.
        var failed = false

        /// Whether the listener still writes: not after a pipeline error, which NIO may raise
        /// while parts decoded before it are still to be read (and its error handler has then
        /// already answered 400: a second response would break NIO's pipelining invariants).
        func answering() -> Bool {
            do {
                try channel.throwIfErrorCaught()
            } catch {
                failed = true
            }
            return !failed && channel.isActive
        }

        func respond(_ status: HTTPResponseStatus, version: HTTPVersion) {
            guard answering() else { return }
            let response = HTTPResponseHead(version: version, status: status, headers: ["content-length": "0"])
            channel.write(HTTPServerResponsePart.head(response), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        }

        func receive(_ part: HTTPServerRequestPart) throws {
            let action = assembler.receive(part)
            switch part {
            case .head(let newHead):
                head = newHead
                delivered = []
                dropped = 0
                refused = false
                let declared = newHead.headers.first(name: "content-length").flatMap { Int($0) }
                let expects = newHead.headers["expect"].contains { $0.lowercased() == "100-continue" }
                if let declared, declared > limit {
                    guard action == .refuseTooLarge(newHead) else {
                        throw FuzzFailure("Content-Length \(declared) over the limit \(limit) gave \(action), not a refusal")
                    }
                } else if expects && newHead.version.major == 1 && newHead.version.minor >= 1 {
                    guard action == .sendContinue(newHead.version) else {
                        throw FuzzFailure("an acceptable request expecting 100-continue gave \(action)")
                    }
                } else if action != .none {
                    throw FuzzFailure("an acceptable head gave \(action)")
                }
            case .body(let chunk):
                guard let current = head else { throw FuzzFailure("NIO delivered a body part before a head") }
                if refused {
                    dropped += chunk.readableBytes
                    let expected: HTTPRequestAssembler.Action = dropped > assembler.discardBudget ? .close : .none
                    guard action == expected else {
                        throw FuzzFailure("after \(dropped) bytes dropped (budget \(assembler.discardBudget)): \(action), expected \(expected)")
                    }
                } else {
                    delivered += chunk.readableBytesView
                    let expected: HTTPRequestAssembler.Action = delivered.count > limit ? .refuseTooLarge(current) : .none
                    guard action == expected else {
                        throw FuzzFailure("after \(delivered.count) body bytes (limit \(limit)): \(action), expected \(expected)")
                    }
                }
            case .end:
                guard let current = head else { throw FuzzFailure("NIO delivered an end before a head") }
                let expected: HTTPRequestAssembler.Action =
                    refused ? .close : .serve(current, delivered.isEmpty ? nil : ByteBuffer(bytes: delivered))
                guard action == expected else { throw FuzzFailure("at the end of a request: \(action), expected \(expected)") }
                head = nil
            }
            switch action {
            case .none:
                break
            case .sendContinue(let version):
                events.append(.sendContinue)
                guard answering() else { break }
                channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: .continue)), promise: nil)
                channel.flush()
            case .serve(let served, let body):
                if let body, body.readableBytes > limit {
                    throw FuzzFailure("served a body of \(body.readableBytes) bytes over the limit \(limit)")
                }
                events.append(.serve(served, body.map { Array($0.readableBytesView) }))
                respond(.ok, version: served.version)
            case .refuseTooLarge(let refusedHead):
                refused = true
                dropped = 0
                events.append(.refuse(refusedHead))
                respond(.payloadTooLarge, version: refusedHead.version)
            case .close:
                events.append(.close)
                closed = true
            }
        }

        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
            // An accepted connection is active; the pipeline sees `channelActive` as on a real socket.
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
            for chunk in chunks where !closed && channel.isActive {
                // An error in the pipeline (a malformed request: NIO's error handler answers 400)
                // ends the connection after the parts decoded before it, as the listener's loop
                // over the channel's inbound parts ends by throwing.
                do {
                    try channel.writeInbound(ByteBuffer(bytes: chunk))
                } catch {
                    failed = true
                }
                while !closed, let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                    try receive(part)
                }
                // NIO holds back an error that comes while a request awaits its response, and
                // raises it once the response is written.
                do {
                    try channel.throwIfErrorCaught()
                } catch {
                    failed = true
                }
                if failed { break }
            }
            // However it ends — the assembler's `close`, a pipeline error, or NIO's error handler
            // closing the channel after its 400 — the connection ends once, at this point.
            if !closed && (failed || !channel.isActive) { events.append(.close) }
            _ = try? channel.finish()
        } catch let failure as FuzzFailure {
            throw failure
        } catch {
            throw FuzzFailure("the HTTP channel failed: \(error)")
        }
        return events
    }
}
