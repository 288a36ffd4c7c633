/// The fuzz targets: each one is a property of scimd's code that must hold for every input.
///
/// One library holds them all, so that libFuzzer (`scimd-fuzz`, built by `scripts/fuzz` with
/// `-sanitize=fuzzer`) and the ordinary test suite (`FuzzRegressionTests`, which replays the
/// committed corpus in `Fuzz/corpus/TARGET/`) run exactly the same checks. A check either returns
/// (the input was accepted or cleanly refused) or throws ``FuzzFailure`` naming the broken
/// property; a crash (a trap, an assertion, a sanitizer report) is a failure too.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The SCIM filter parser and printer (RFC 7644 §3.4.2.2): parse, print, parse back equal.
    case filterParser = "FilterParser"
    /// The attribute-path parser (RFC 7644 §3.10): parse, print, parse back equal; look up.
    case attributePath = "AttributePath"
    /// PATCH parsing and application (RFC 7644 §3.5.2): a patched user still normalizes.
    case patchEngine = "PatchEngine"
    /// One framed JSON-RPC line: the JSON round trip, the request envelope, and every method's
    /// params decoded (and re-encoded) through ``RPCCodec``.
    case jsonRPCMessage = "JSONRPCMessage"
    /// Differential: the hand-written fast path of ``RPCCodec`` against Foundation's Codable
    /// decoding and encoding of the same value.
    case rpcParams = "RPCParams"
    /// Newline framing (``LineFrameDecoder``) under arbitrary chunk splits.
    case lineFraming = "LineFraming"
    /// HTTP request assembly: NIO's HTTP/1.1 server pipeline, then ``HTTPRequestAssembler``.
    case httpRequestAssembly = "HTTPRequestAssembly"
    /// Mapping evaluation with the default and a fuzzed mapping: mapped values satisfy their types.
    case mappingEvaluation = "MappingEvaluation"

    /// Runs the target's check on one input.
    /// - Throws: ``FuzzFailure`` when a property the target checks does not hold.
    public func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        switch self {
        case .filterParser: try FilterParserTarget.check(input)
        case .attributePath: try AttributePathTarget.check(input)
        case .patchEngine: try PatchEngineTarget.check(input)
        case .jsonRPCMessage: try JSONRPCMessageTarget.check(input)
        case .rpcParams: try RPCParamsTarget.check(input)
        case .lineFraming: try LineFramingTarget.check(input)
        case .httpRequestAssembly: try HTTPRequestAssemblyTarget.check(input)
        case .mappingEvaluation: try MappingEvaluationTarget.check(input)
        }
    }

    /// Runs the target's check on `input` (see ``check(_:)-(UnsafeRawBufferPointer)``).
    public func check(_ input: [UInt8]) throws(FuzzFailure) {
        let outcome: Result<Void, FuzzFailure> = input.withUnsafeBytes { bytes in
            do throws(FuzzFailure) {
                try check(bytes)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try outcome.get()
    }
}

/// A property a fuzz target checks did not hold for an input.
public struct FuzzFailure: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the values involved.
    public var message: String

    /// A failure described by `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
