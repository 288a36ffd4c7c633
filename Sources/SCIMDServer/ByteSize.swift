import SCIMJSON

/// A size given on the command line (`--memory-limit`): a whole or decimal number with an
/// optional binary unit, `K`, `M`, `G` or `T` (powers of 1024; `KB`/`KiB`, `MB`/`MiB`, … are read
/// the same, case-insensitively), or plain bytes: `1536M`, `1.5G`, `2GiB`, `1073741824`.
public enum ByteSize {
    /// The number of bytes `text` names. Throws ``ByteSize/Invalid`` with a sentence saying what
    /// was wrong (no number, an unknown unit, zero or less, more than 2^62 bytes).
    public static func parse(_ text: String) throws(Invalid) -> Int {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !digits.isEmpty, let number = Double(digits), number.isFinite else {
            throw Invalid("'\(text)' is not a size: give a number of bytes or a number with K, M, G or T (1536M, 1.5G)")
        }
        let unit = trimmed.dropFirst(digits.count).trimmingWhitespace().uppercased()
        let multipliers: [String: Double] = [
            "": 1, "B": 1, "K": 0x400, "KB": 0x400, "KIB": 0x400, "M": 0x10_0000, "MB": 0x10_0000, "MIB": 0x10_0000,
            "G": 0x4000_0000, "GB": 0x4000_0000, "GIB": 0x4000_0000, "T": 0x100_0000_0000, "TB": 0x100_0000_0000,
            "TIB": 0x100_0000_0000,
        ]
        guard let multiplier = multipliers[unit] else {
            throw Invalid("'\(text)' has an unknown unit '\(unit)': use K, M, G or T (powers of 1024)")
        }
        let bytes = number * multiplier
        guard bytes >= 1 else { throw Invalid("'\(text)' must be more than zero bytes") }
        guard bytes <= 0x4000_0000_0000_0000 else { throw Invalid("'\(text)' is more than any machine's memory") }
        return Int(bytes)
    }

    /// Why a size was refused, as a sentence for the command line.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
