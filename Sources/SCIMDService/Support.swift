import Crypto
import Foundation
import SCIMDStore
import SCIMModel

/// Where "now" comes from, so tests can fix time. Milliseconds since the Unix epoch.
public struct Clock: Sendable {
    public var now: @Sendable () -> Milliseconds
    public init(now: @escaping @Sendable () -> Milliseconds) { self.now = now }
    /// The system's wall clock.
    public static let system = Clock { Milliseconds((Date().timeIntervalSince1970 * 1000).rounded()) }
}

/// RFC 3339 timestamps as scimd writes them: UTC, milliseconds ("2026-11-29T08:15:02.123Z").
public enum Timestamp {
    /// `ms` (Unix milliseconds) as `YYYY-MM-DDThh:mm:ss.fffZ`, exact to the millisecond.
    ///
    /// Written by hand, not with Foundation's `ISO8601FormatStyle`, for two reasons. Foundation
    /// formats a `Date`, a `Double` of seconds, and truncates its fraction: about half of all
    /// millisecond values came out one millisecond early (`…35.050` written as `…35.049`), so a
    /// client's `meta.lastModified gt "<a resource's own lastModified>"` matched that resource, and
    /// a time read back from scimd's output was not the stored one. And building the style and its
    /// time zone for every call was 1.7% of a lookup's CPU (two timestamps per rendered resource).
    /// Years outside 0000–9999 (no clock gives them) fall back to Foundation.
    public static func string(_ ms: Milliseconds) -> String {
        let ms = Int(ms)
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let milliseconds = ms - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = SCIMDateTime.civilFromDays(days)
        guard (0...9999).contains(year) else {
            return Date(timeIntervalSince1970: Double(ms) / 1000).formatted(
                Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
        }
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            func put(_ value: Int, digits: Int) {
                var value = value
                for position in stride(from: index + digits - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                index += digits
            }
            func put(_ byte: Unicode.Scalar) {
                buffer[index] = UInt8(ascii: byte)
                index += 1
            }
            put(year, digits: 4); put("-"); put(month, digits: 2); put("-"); put(day, digits: 2); put("T")
            put(secondOfDay / 3600, digits: 2); put(":"); put(secondOfDay % 3600 / 60, digits: 2); put(":")
            put(secondOfDay % 60, digits: 2); put("."); put(milliseconds, digits: 3); put("Z")
            return index
        }
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
