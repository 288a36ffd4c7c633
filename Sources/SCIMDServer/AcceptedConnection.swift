import NIOCore

/// Wraps a connection the listener just accepted for async use, with deinit-based teardown.
///
/// Why not NIO's `init(wrappingChannelSynchronously:configuration:)`: a connection accepted in the
/// instant the listener closes (graceful shutdown) is dropped by the server bootstrap before the
/// accept loop ever sees it, and with that initializer's explicit teardown, dropping it traps
/// ("Deinited NIOAsyncWriter without calling finish()") and kills the daemon mid-shutdown
/// (`ShutdownRaceTests` reproduced it in about one SIGTERM in twelve under connection churn).
/// Deinit-based teardown closes such a connection instead. Every connection the accept loop does
/// receive is still served inside `executeThenClose`, so nothing else relies on deinit. NIO marks
/// this initializer deprecated in favour of explicit teardown; this drop is the case it still exists
/// for, hence the one deprecation warning it costs.
func acceptedConnection<Inbound: Sendable, Outbound: Sendable>(
    _ channel: any Channel, isOutboundHalfClosureEnabled: Bool = false,
    as type: NIOAsyncChannel<Inbound, Outbound>.Type = NIOAsyncChannel<Inbound, Outbound>.self
) throws -> NIOAsyncChannel<Inbound, Outbound> {
    try NIOAsyncChannel<Inbound, Outbound>(
        synchronouslyWrapping: channel, configuration: .init(isOutboundHalfClosureEnabled: isOutboundHalfClosureEnabled))
}
