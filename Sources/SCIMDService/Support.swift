import Crypto
import Foundation
import SCIMDStore

/// Where "now" comes from, so tests can fix time. Milliseconds since the Unix epoch.
public struct Clock: Sendable {
    public var now: @Sendable () -> Milliseconds
    public init(now: @escaping @Sendable () -> Milliseconds) { self.now = now }
    /// The system's wall clock.
    public static let system = Clock { Milliseconds((Date().timeIntervalSince1970 * 1000).rounded()) }
}

/// RFC 3339 timestamps as scimd writes them: UTC, milliseconds ("2026-11-29T08:15:02.123Z").
public enum Timestamp {
    public static func string(_ ms: Milliseconds) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        return date.formatted(
            Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    /// Parses an RFC 3339 time (with or without fractional seconds, any offset) to milliseconds.
    public static func parse(_ text: String) -> Milliseconds? {
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return Milliseconds((d.timeIntervalSince1970 * 1000).rounded())
        }
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) {
            return Milliseconds((d.timeIntervalSince1970 * 1000).rounded())
        }
        return nil
    }
}

/// Bearer tokens: 256 random bits, URL-safe base64 with a recognizable prefix, stored only as SHA-256.
enum BearerToken {
    static let prefix = "scimd_"

    /// A new token and its hash.
    static func generate() -> (token: String, hash: Data) {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let token = prefix + encoded
        return (token, hash(token))
    }

    /// SHA-256 of the token's UTF-8 bytes.
    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    /// Compares two digests in time independent of where they differ.
    static func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

/// Folds a uniqueness key the way SCIM compares `userName` (caseExact=false, RFC 7643 §4.1.1):
/// Unicode canonical composition, then lowercase, so "Ä" typed two ways and "ä" collide.
/// ASCII text (nearly every `userName`) takes a path without Foundation: composition leaves it
/// as it is and lowercasing it is ASCII's, and the Foundation path was 2% of a lookup's CPU.
public func foldedKey(_ value: String) -> String {
    var hasUppercase = false
    for byte in value.utf8 {
        if byte >= 0x80 { return value.precomposedStringWithCanonicalMapping.lowercased() }
        if byte >= 0x41 && byte <= 0x5A { hasUppercase = true }
    }
    return hasUppercase ? value.lowercasedASCII : value
}
