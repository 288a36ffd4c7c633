import NIOHTTP1
import Testing

@testable import SCIMDFuzzTargets

/// The harnesses themselves: a target that never reached the code it claims to fuzz, or whose
/// oracle accepted anything, would pass every run. These pin what each one observes.
@Suite struct HarnessTests {
    /// An input in the stream targets' layout (``ChunkedInput``).
    func chunked(limit: UInt8, sizes: [Int], _ payload: String) -> [UInt8] {
        [limit, UInt8(sizes.count)] + sizes.map { UInt8($0 - 1) } + Array(payload.utf8)
    }

    @Test func chunkedInputCutsThePayloadAtTheHeadersSizes() {
        let input = chunked(limit: 3, sizes: [2, 1], "abcdef").withUnsafeBytes { ChunkedInput($0) }
        #expect(input.limitSelector == 3)
        #expect(input.chunks.map { String(decoding: $0, as: UTF8.self) } == ["ab", "c", "def"])
    }

    @Test func theHTTPHarnessServesAssemblesAndRefusesThroughNIO() throws {
        let post = "POST /scim/v2/Users HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        let events = try HTTPRequestAssemblyTarget.events(of: [Array(post.utf8)[...]], limit: 100)
        guard events.count == 1, case .serve(let head, let body) = events[0] else {
            Issue.record("expected one served request, got \(events)")
            return
        }
        #expect(head.method == .POST && head.uri == "/scim/v2/Users")
        #expect(body == Array("hello".utf8))
        // Over the limit of 1: refused, drained to the body's end, closed.
        #expect(try HTTPRequestAssemblyTarget.events(of: [Array(post.utf8)[...]], limit: 1).map(\.kind) == ["refuse", "close"])
        // Two pipelined requests, split mid-head: both served.
        let get = "GET /scim/v2/Users HTTP/1.1\r\nHost: a\r\n\r\n"
        let two = Array((get + get).utf8)
        #expect(try HTTPRequestAssemblyTarget.events(of: [two[..<10], two[10...]], limit: 100).map(\.kind) == ["serve", "serve"])
        try FuzzTarget.httpRequestAssembly.check(chunked(limit: 3, sizes: [7, 30], post + get))
    }

    @Test func theFramingOracleSaysWhatTheDecoderPromises() {
        let frames = LineFramingTarget.contract(Array("a\r\nbb\n\nccc".utf8), limit: 3)
        #expect(frames == [.line(Array("a".utf8)), .line(Array("bb".utf8)), .line([]), .line(Array("ccc".utf8))])
        #expect(LineFramingTarget.contract(Array("a\nbbbb\nc\n".utf8), limit: 3) == [.line(Array("a".utf8)), .tooLong])
    }

    @Test func theMappingOracleRefusesValuesOutsideTheirType() {
        #expect(MappingEvaluationTarget.violation("2024-02-29", of: .date) == nil)
        #expect(MappingEvaluationTarget.violation("2023-02-29", of: .date) != nil)
        #expect(MappingEvaluationTarget.violation("2024-03-02T04:30:00.12Z", of: .dateTime) == nil)
        #expect(MappingEvaluationTarget.violation("2024-03-02T04:30:00.120Z", of: .dateTime) != nil)
        #expect(MappingEvaluationTarget.violation("2024-03-02T24:00:00Z", of: .dateTime) != nil)
        #expect(MappingEvaluationTarget.violation("Red", of: .enumeration(options: ["red"])) != nil)
        #expect(MappingEvaluationTarget.violation(.double(4.5), of: .integer) != nil)
        #expect(MappingEvaluationTarget.violation(["a", 1], of: .list(.string)) != nil)
    }
}

extension HTTPRequestAssemblyTarget.Event {
    /// The event's case name, for comparing sequences.
    var kind: String {
        switch self {
        case .serve: return "serve"
        case .refuse: return "refuse"
        case .sendContinue: return "sendContinue"
        case .close: return "close"
        }
    }
}
