import Foundation
import Synchronization
import Testing

/// Connections that arrive while scimd is shutting down must never crash it: an accepted
/// connection the listener never got to serve is closed, not trapped on.
@Suite(.serialized) struct ShutdownRaceTests {
    final class Flag: Sendable {
        private let atomic = Atomic(false)
        func set() { atomic.store(true, ordering: .releasing) }
        var isSet: Bool { atomic.load(ordering: .acquiring) }
    }

    @Test func connectionsArrivingDuringShutdownNeverCrashTheDaemon() throws {
        for round in 0..<12 {
            let daemon = try Daemon()
            try daemon.start()
            let done = Flag()
            let socket = daemon.socket
            // A client connecting and hanging up as fast as it can, across the SIGTERM.
            let connector = Thread {
                while !done.isSet { _ = try? RawSocket(path: socket, receiveTimeout: 1) }
            }
            connector.start()
            Thread.sleep(forTimeInterval: 0.02 * Double(round % 4))
            let status = daemon.stop()
            done.set()
            #expect(daemon.process?.terminationReason == .exit, "round \(round): scimd died of signal \(status)")
            #expect(status == 0, "round \(round): exit status \(status)")
        }
    }
}
