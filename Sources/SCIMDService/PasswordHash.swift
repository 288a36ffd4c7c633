import Crypto
import Foundation
import _CryptoExtras

/// A password hashed with scrypt, in a self-describing text form that names its parameters:
///
///     $scrypt$ln=15,r=8,p=1$<base64 salt>$<base64 derived key>
///
/// `ln` is log2 of scrypt's cost N (rounds), `r` its block size, `p` its parallelism. Because a
/// stored hash carries its own parameters, the defaults can be raised later: old hashes still
/// verify with the parameters they were made with.
///
/// Hashing and verifying cost one scrypt each (N = 2^15, r = 8: about 32 MiB of memory and tens of
/// milliseconds of CPU) and block the calling thread: call them off SwiftNIO's event loops (the
/// service runs them on its own queue, see `SCIMDService.authenticateOperator`).
public struct PasswordHash: Sendable, Equatable {
    /// The scheme name in the text form.
    public static let scheme = "scrypt"
    /// log2 of the cost N for new hashes (N = 32768).
    public static let defaultLogRounds = 15
    /// Block size r for new hashes.
    public static let defaultBlockSize = 8
    /// Parallelism p for new hashes.
    public static let defaultParallelism = 1
    /// Random salt bytes in new hashes.
    public static let saltByteCount = 16
    /// Derived key bytes in new hashes.
    public static let outputByteCount = 32

    /// log2 of scrypt's cost parameter N.
    public var logRounds: Int
    /// scrypt's block size r.
    public var blockSize: Int
    /// scrypt's parallelism p.
    public var parallelism: Int
    /// The salt.
    public var salt: [UInt8]
    /// The derived key: scrypt(password, salt) with the parameters above.
    public var derivedKey: [UInt8]

    /// Why a hash could not be made or read.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The text is not `$scrypt$ln=…,r=…,p=…$salt$key` with parameters in the accepted ranges.
        case malformed(String)
        /// The text names another scheme (`$argon2id$…`, …): this version of scimd cannot check it.
        case unknownScheme(String)
        /// scrypt itself failed (BoringSSL refused the parameters or ran out of memory).
        case derivationFailed
        /// An empty password is never hashed.
        case emptyPassword

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed password hash: \(why)"
            case .unknownScheme(let scheme): return "unknown password hash scheme '\(scheme)'"
            case .derivationFailed: return "scrypt failed"
            case .emptyPassword: return "an empty password cannot be hashed"
            }
        }
    }

    /// Hashes `password` with a new random salt, cost 2^`logRounds` and the default block size
    /// and parallelism. Blocks for one scrypt.
    /// Throws ``Failure/emptyPassword``, or ``Failure/derivationFailed`` if scrypt fails (it does
    /// not with the defaults).
    public static func make(password: String, logRounds: Int = defaultLogRounds) throws(Failure) -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<saltByteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try make(
            password: password, salt: salt, logRounds: logRounds, blockSize: defaultBlockSize, parallelism: defaultParallelism)
    }

    /// Hashes `password` with the given salt and parameters (tests, and future parameter changes).
    /// Blocks for one scrypt. Throws ``Failure/emptyPassword``, ``Failure/derivationFailed``, or
    /// ``Failure/malformed(_:)`` for parameters outside the accepted ranges.
    public static func make(
        password: String, salt: [UInt8], logRounds: Int, blockSize: Int, parallelism: Int
    ) throws(Failure) -> PasswordHash {
        guard !password.isEmpty else { throw .emptyPassword }
        try checkParameters(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism, salt: salt, keyLength: outputByteCount)
        let key = try derive(
            password: password, salt: salt, logRounds: logRounds, blockSize: blockSize, parallelism: parallelism,
            outputByteCount: outputByteCount)
        return PasswordHash(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism, salt: salt, derivedKey: key)
    }

    /// Reads the text form. Throws ``Failure/unknownScheme(_:)`` for another scheme and
    /// ``Failure/malformed(_:)`` for anything else that is not a well-formed scrypt hash, or whose
    /// parameters are out of range (ln 1…20, r 1…32, p 1…16, salt 8…64 bytes: a hash edited in the
    /// database must not make one verification take minutes or gigabytes), or whose key is not
    /// ``outputByteCount`` bytes (a shorter scrypt output is a prefix of the longer one, so a
    /// truncated key would still match).
    public init(parsing text: String) throws(Failure) {
        // "$scrypt$ln=15,r=8,p=1$salt$key" splits into "", "scrypt", params, salt, key.
        let parts = text.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts[0].isEmpty else { throw .malformed("it does not start with '$scheme$'") }
        guard parts[1] == Self.scheme else { throw .unknownScheme(parts[1]) }
        guard parts.count == 5 else { throw .malformed("expected $scrypt$params$salt$key") }
        var values: [String: Int] = [:]
        for pair in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, ["ln", "r", "p"].contains(kv[0]), values[String(kv[0])] == nil,
                kv[1].allSatisfy(\.isASCII), let value = Int(kv[1])
            else {
                throw .malformed("parameters must be ln=…,r=…,p=…")
            }
            values[String(kv[0])] = value
        }
        guard let ln = values["ln"], let r = values["r"], let p = values["p"] else {
            throw .malformed("parameters must be ln=…,r=…,p=…")
        }
        guard let salt = Self.base64Decode(parts[3]), let key = Self.base64Decode(parts[4]) else {
            throw .malformed("salt and key must be base64")
        }
        try Self.checkParameters(logRounds: ln, blockSize: r, parallelism: p, salt: salt, keyLength: key.count)
        self.init(logRounds: ln, blockSize: r, parallelism: p, salt: salt, derivedKey: key)
    }

    /// The parts of a hash, as they are; ``init(parsing:)`` and ``make(password:)`` check them.
    public init(logRounds: Int, blockSize: Int, parallelism: Int, salt: [UInt8], derivedKey: [UInt8]) {
        self.logRounds = logRounds
        self.blockSize = blockSize
        self.parallelism = parallelism
        self.salt = salt
        self.derivedKey = derivedKey
    }

    /// The text form: `$scrypt$ln=15,r=8,p=1$<base64 salt>$<base64 key>` (standard base64, padded).
    public var encoded: String {
        "$\(Self.scheme)$ln=\(logRounds),r=\(blockSize),p=\(parallelism)$\(Data(salt).base64EncodedString())$\(Data(derivedKey).base64EncodedString())"
    }

    /// Whether `password` is the one this hash was made from: scrypt with this hash's own
    /// parameters and salt, then a comparison in constant time. Blocks for one scrypt (also for an
    /// empty password, which never matches).
    public func verify(_ password: String) -> Bool {
        guard
            let key = try? Self.derive(
                password: password.isEmpty ? "\u{1}" : password, salt: salt, logRounds: logRounds, blockSize: blockSize,
                parallelism: parallelism, outputByteCount: derivedKey.count)
        else { return false }
        return Self.constantTimeEquals(key, derivedKey) && !password.isEmpty
    }

    /// Whether `password` matches the stored text form `encoded`; false (without running scrypt)
    /// when `encoded` cannot be read.
    public static func verify(_ password: String, against encoded: String) -> Bool {
        guard let hash = try? PasswordHash(parsing: encoded) else { return false }
        return hash.verify(password)
    }

    // MARK: generated passwords

    /// The characters of generated passwords: ASCII letters and digits without the look-alikes
    /// 0, O, 1, l and I (57 characters).
    public static let passwordAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")

    /// A new password of `length` characters (default 20, about 116 bits) drawn uniformly from
    /// ``passwordAlphabet`` with `SystemRandomNumberGenerator`.
    public static func generatePassword(length: Int = 20) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in passwordAlphabet[Int.random(in: 0..<passwordAlphabet.count, using: &generator)] })
    }

    // MARK: internals

    static func checkParameters(logRounds: Int, blockSize: Int, parallelism: Int, salt: [UInt8], keyLength: Int) throws(Failure) {
        guard (1...20).contains(logRounds) else { throw .malformed("ln must be 1…20") }
        guard (1...32).contains(blockSize) else { throw .malformed("r must be 1…32") }
        guard (1...16).contains(parallelism) else { throw .malformed("p must be 1…16") }
        guard (8...64).contains(salt.count) else { throw .malformed("the salt must be 8…64 bytes") }
        guard keyLength == outputByteCount else { throw .malformed("the key must be \(outputByteCount) bytes") }
    }

    static func derive(
        password: String, salt: [UInt8], logRounds: Int, blockSize: Int, parallelism: Int, outputByteCount: Int
    ) throws(Failure) -> [UInt8] {
        // BoringSSL wants a non-empty buffer; callers never pass an empty password.
        let bytes = Array(password.utf8)
        precondition(!bytes.isEmpty, "scrypt of an empty password")
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: bytes, salt: salt, outputByteCount: outputByteCount, rounds: 1 << logRounds, blockSize: blockSize,
                parallelism: parallelism)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw .derivationFailed
        }
    }

    /// Equal length and bytes, in time that depends only on the length.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// Standard base64, padding optional.
    static func base64Decode(_ text: String) -> [UInt8]? {
        guard !text.isEmpty else { return nil }
        var padded = text
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { Array($0) }
    }
}
