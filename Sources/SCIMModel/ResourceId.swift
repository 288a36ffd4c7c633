/// Ids scimd assigns to the resources it creates (RFC 7643 §3.1: "a unique identifier … issued by
/// the service provider"): UUIDs of version 7 (RFC 9562 §5.7), lowercase, as
/// `0192f4c2-8d3e-7a41-9b2c-5e6f7a8b9c0d`.
///
/// Why version 7 rather than random (version 4): the 48 leading bits are the creation time in
/// Unix milliseconds, so ids made one after another sort one after another. `resource` is a
/// `WITHOUT ROWID` table stored by (connection, type, id); with random ids every create landed on
/// a different page of it, and a group commit of a few hundred creates rewrote a few hundred
/// scattered pages to the write-ahead log. In time order they land on the last pages. The 74
/// random bits keep ids unguessable in practice; an id says when its resource was created, which
/// `meta.created` says anyway.
public enum ResourceId {
    /// A new id for a resource created at `milliseconds` (Unix time).
    public static func make(milliseconds: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(milliseconds: milliseconds, using: &generator)
    }

    /// The same with a given source of randomness (tests).
    public static func make(milliseconds: Int64, using generator: inout some RandomNumberGenerator) -> String {
        let time = UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF
        let random = (UInt64.random(in: .min ... .max, using: &generator), UInt64.random(in: .min ... .max, using: &generator))
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: time >> (8 * UInt64(5 - index))) }
        for index in 6..<16 {
            let word = index < 8 ? random.0 : random.1
            bytes[index] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(index % 8)))
        }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // variant 10 (RFC 9562)
        // 8-4-4-4-12 lowercase hex digits. Written here rather than through Foundation's `UUID`:
        // importing Foundation into this module would change which `String.contains` the filter
        // evaluator calls (Foundation's searches by UTF-16 unit, so "a\r\nb" would contain "\r").
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
