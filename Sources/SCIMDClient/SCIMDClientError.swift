import SCIMDProtocol

/// Errors of the client itself; errors the daemon answers with are thrown as `RPCError`
/// (its `kind` is stable: `not_found`, `invalid_params`, `unavailable`, …).
///
/// Which calls may have taken effect: a call that fails with ``daemonUnavailable(socket:reason:)``
/// or ``shutDown`` was never written to the socket; one that fails with ``connectionClosed`` or
/// ``timedOut(method:after:)`` was written and may or may not have been carried out by scimd.
/// The client never re-sends a call on its own (see <doc:ConnectionBehaviour>).
public enum SCIMDClientError: Error, CustomStringConvertible, Sendable {
    /// No connection to the daemon: nothing answers on the socket (not running, wrong path, no
    /// permission), or none came up within the call's timeout. The call was not sent.
    case daemonUnavailable(socket: String, reason: String)
    /// The connection closed after the call was sent and before its answer arrived (scimd
    /// stopped or restarted). The call was not re-sent; it may have taken effect.
    case connectionClosed
    /// The call was sent and no answer came within its timeout. It may still take effect.
    case timedOut(method: String, after: Duration)
    /// The client was shut down (``SCIMDClient/shutdown()``, or the end of
    /// ``SCIMDClient/withConnection(socketPath:configuration:_:)``) before the call completed.
    case shutDown
    /// The daemon sent something that is not a JSON-RPC 2.0 response.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .daemonUnavailable(let socket, let reason):
            return "cannot reach scimd at \(socket) (\(reason)). Is it running? Start it with `scimd --socket \(socket)`, "
                + "or point --socket / SCIMD_SOCKET at its socket."
        case .connectionClosed: return "scimd closed the connection before answering"
        case .timedOut(let method, let after): return "scimd did not answer \(method) within \(after)"
        case .shutDown: return "the scimd client was shut down"
        case .invalidResponse(let detail): return "scimd sent an invalid response: \(detail)"
        }
    }
}
