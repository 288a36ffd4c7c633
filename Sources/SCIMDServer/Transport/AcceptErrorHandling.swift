import Foundation
import Logging
import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Installs scimd's handling of failed accepts on a listening channel: pause accepting when
    /// descriptors run out, log once per episode, and never let the error end the listener. Call
    /// it from `serverChannelInitializer`.
    func addAcceptErrorHandling(logger: Logger, listener: String, backoff: TimeAmount = .seconds(1)) throws {
        try addHandler(AcceptErrorHandler(logger: logger, listener: listener, retryInterval: backoff))
    }
}

/// Keeps a failed accept (a connection reset before it was set up, no descriptors left) from
/// ending the listener, from being retried at once, and from flooding the log.
///
/// - **It swallows the error.** NIO reports it on the server channel, where reaching the end of
///   the pipeline would end the stream of accepted connections and with it the service and the daemon.
/// - **It pauses accepting** for `retryInterval` when descriptors or kernel memory run out, by
///   turning the listening channel's `autoRead` off and on again. Retrying at once cannot succeed,
///   and it did exactly that: a core busy and about 140,000 log lines a second under `ulimit -n
///   256` with 300 clients. NIO's own `AcceptBackoffHandler` (which the async `ServerBootstrap.bind`
///   adds after the server channel initializer's handlers) cannot stop it even when it sees the
///   error: it only holds back the pipeline's `read()` calls, but after a failed `accept` NIO's
///   server channel keeps its read pending and its socket registered for readability, so epoll
///   wakes it again at once and no `read()` is needed. Turning `autoRead` off unregisters the
///   socket; turning it on again registers it and accepts. (Measured with NIO 2.101.3: with NIO's
///   handler placed to see the errors, still 96% of a core and 159,319 failed accepts in four seconds.)
/// - **It logs an episode twice**: the first failure as a warning, and, once a connection is
///   accepted again, one more warning with the number of failed accepts; the retries in between
///   are logged at debug. Both are warnings so that a log showing an episode's start shows its end.
final class AcceptErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    let logger: Logger
    /// Names the listener in the log ("SCIM HTTP", "JSON-RPC").
    let listener: String
    /// How long accepting pauses after running out of descriptors.
    let retryInterval: TimeAmount
    /// Accepts that failed since the last one that worked.
    private(set) var failedAccepts = 0
    /// The end of the current pause; nil while accepting.
    private var resume: Scheduled<Void>?
    /// Accepting is paused (`autoRead` off) until the retry interval passes.
    var isPaused: Bool { resume != nil }

    init(logger: Logger, listener: String = "SCIM HTTP", retryInterval: TimeAmount = .seconds(1)) {
        self.logger = logger
        self.listener = listener
        self.retryInterval = retryInterval
    }

    /// Out of descriptors or kernel memory: retrying at once cannot succeed, so accepting pauses.
    /// Anything else (a connection aborted before it was accepted) concerns one connection only.
    static func isResourceExhaustion(_ error: any Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failedAccepts += 1
        let exhausted = Self.isResourceExhaustion(error)
        if failedAccepts == 1 {
            logger.warning(
                "\(listener) listener could not accept a connection\(exhausted ? "; retrying every \(retryInterval.forLog) until it can" : "")",
                metadata: ["error": "\(error)"])
        } else {
            logger.debug("\(listener) listener still cannot accept", metadata: ["error": "\(error)", "failedAccepts": "\(failedAccepts)"])
        }
        if exhausted { pauseAccepting(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failedAccepts > 0 {
            logger.warning(
                "\(listener) listener accepts connections again after \(failedAccepts) failed accept\(failedAccepts == 1 ? "" : "s")",
                metadata: ["failedAccepts": "\(failedAccepts)"])
            failedAccepts = 0
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }

    private func pauseAccepting(context: ChannelHandlerContext) {
        guard resume == nil, let options = context.channel.syncOptions else { return }
        do {
            try options.setOption(.autoRead, value: false)
        } catch {
            return  // closing: nothing to pause
        }
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: retryInterval) {
            self.resume = nil
            // Registers the socket for reads again: the next accept is tried at once.
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}

extension TimeAmount {
    /// "20 s", or "250 ms" when not whole seconds: for log lines and error messages.
    var forLog: String {
        nanoseconds % 1_000_000_000 == 0 ? "\(nanoseconds / 1_000_000_000) s" : "\(nanoseconds / 1_000_000) ms"
    }
}
