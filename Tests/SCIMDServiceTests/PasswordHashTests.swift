import Foundation
@testable import SCIMDService
import Testing

/// ``PasswordHash``: scrypt in a self-describing string, verified with its own parameters, and
/// ``PasswordHash/generatePassword(length:)``. Most cases use cheap parameters (ln=4); the ones
/// about the defaults use the real cost.
@Suite struct PasswordHashTests {
    static let salt = Array("0123456789abcdef".utf8)

    @Test func aHashMadeWithTheDefaultsNamesThemAndVerifiesItsPassword() throws {
        let hash = try PasswordHash.make(password: "correct horse")
        #expect(hash.logRounds == 15 && hash.blockSize == 8 && hash.parallelism == 1)
        #expect(hash.salt.count == 16 && hash.derivedKey.count == 32)
        let text = hash.encoded
        #expect(text.hasPrefix("$scrypt$ln=15,r=8,p=1$"))
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        #expect(parts.count == 5)
        #expect(Data(base64Encoded: String(parts[3])).map(Array.init) == hash.salt)
        #expect(Data(base64Encoded: String(parts[4])).map(Array.init) == hash.derivedKey)
        #expect(!text.contains("correct horse"))
        // Round trip through the text form.
        let parsed = try PasswordHash(parsing: text)
        #expect(parsed == hash)
        #expect(PasswordHash.verify("correct horse", against: text))
        #expect(!PasswordHash.verify("correct horsE", against: text))
        // A new salt each time: the same password hashes differently.
        #expect(try PasswordHash.make(password: "correct horse").encoded != text)
    }

    /// A hash made by another scrypt implementation (Python's hashlib.scrypt, N=2^15, r=8, p=1,
    /// 32 bytes, salt "0123456789abcdef") verifies: the parameters mean what they say.
    @Test func aHashFromAnotherScryptImplementationVerifies() {
        let python = "$scrypt$ln=15,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$puHF8wsl4P5tR3JANsCleZiOQes+05KY2PoHbUEpMGQ="
        #expect(PasswordHash.verify("correct horse", against: python))
        #expect(!PasswordHash.verify("correct horse ", against: python))
    }

    @Test func theParametersComeFromTheStoredString() throws {
        let cheap = try PasswordHash.make(password: "pw", salt: Self.salt, logRounds: 4, blockSize: 2, parallelism: 3)
        #expect(cheap.encoded.hasPrefix("$scrypt$ln=4,r=2,p=3$"))
        #expect(PasswordHash.verify("pw", against: cheap.encoded))
        // The same password and salt under other parameters is another key.
        let other = try PasswordHash.make(password: "pw", salt: Self.salt, logRounds: 5, blockSize: 2, parallelism: 3)
        #expect(other.derivedKey != cheap.derivedKey)
        // Unpadded base64 is read too.
        var parts = cheap.encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        parts[3] = parts[3].replacingOccurrences(of: "=", with: "")
        parts[4] = parts[4].replacingOccurrences(of: "=", with: "")
        #expect(parts[3].count == 22 && parts[4].count == 43)
        #expect(PasswordHash.verify("pw", against: parts.joined(separator: "$")))
    }

    @Test func aWrongOrEmptyPasswordIsRefused() throws {
        let hash = try PasswordHash.make(password: "s3cret", salt: Self.salt, logRounds: 4, blockSize: 8, parallelism: 1)
        #expect(hash.verify("s3cret"))
        #expect(!hash.verify("s3cre"))
        #expect(!hash.verify("S3cret"))
        #expect(!hash.verify(""))
        #expect(throws: PasswordHash.Failure.emptyPassword) { try PasswordHash.make(password: "") }
    }

    @Test func aTamperedStringNeverVerifies() throws {
        let text = try PasswordHash.make(password: "pw", salt: Self.salt, logRounds: 4, blockSize: 8, parallelism: 1).encoded
        var parts = text.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        // Another key (first byte flipped), another salt, other parameters: well-formed, but wrong.
        var key = Array(Data(base64Encoded: parts[4])!)
        key[0] ^= 1
        var flipped = parts
        flipped[4] = Data(key).base64EncodedString()
        #expect(!PasswordHash.verify("pw", against: flipped.joined(separator: "$")))
        var salted = parts
        salted[3] = Data(Array("fedcba9876543210".utf8)).base64EncodedString()
        #expect(!PasswordHash.verify("pw", against: salted.joined(separator: "$")))
        #expect(!PasswordHash.verify("pw", against: text.replacingOccurrences(of: "ln=4", with: "ln=5")))
        // A shorter key that is a prefix of the real one (what scrypt with a shorter output gives)
        // is refused, not checked against a shorter output.
        parts[4] = Data(Array(Data(base64Encoded: parts[4])!).prefix(16)).base64EncodedString()
        #expect(throws: PasswordHash.Failure.malformed("the key must be 32 bytes")) { try PasswordHash(parsing: parts.joined(separator: "$")) }
        #expect(!PasswordHash.verify("pw", against: parts.joined(separator: "$")))
    }

    @Test func malformedStringsAreRefusedWithoutRunningScrypt() {
        let key = Data(repeating: 7, count: 32).base64EncodedString()
        let salt = Data(Self.salt).base64EncodedString()
        let malformed = [
            "", "scrypt", "$scrypt$", "$scrypt$ln=15,r=8,p=1$\(salt)", "$scrypt$ln=15,r=8,p=1$\(salt)$\(key)$extra",
            "scrypt$ln=15,r=8,p=1$\(salt)$\(key)", "$scrypt$ln=15,r=8$\(salt)$\(key)", "$scrypt$ln=15,r=8,p=1,x=2$\(salt)$\(key)",
            "$scrypt$ln=15,ln=15,r=8,p=1$\(salt)$\(key)", "$scrypt$ln=fifteen,r=8,p=1$\(salt)$\(key)",
            "$scrypt$ln=15,r=8,p=1$not base64!$\(key)", "$scrypt$ln=15,r=8,p=1$\(salt)$",
            // Out of range: would cost minutes or gigabytes (ln 40), or is too weak to be ours.
            "$scrypt$ln=40,r=8,p=1$\(salt)$\(key)", "$scrypt$ln=0,r=8,p=1$\(salt)$\(key)", "$scrypt$ln=15,r=1000,p=1$\(salt)$\(key)",
            "$scrypt$ln=15,r=8,p=99$\(salt)$\(key)", "$scrypt$ln=15,r=8,p=1$AAAA$\(key)", "$scrypt$ln=15,r=8,p=1$\(salt)$AAAA",
        ]
        for text in malformed {
            #expect(throws: PasswordHash.Failure.self, "\(text)") { try PasswordHash(parsing: text) }
            #expect(!PasswordHash.verify("pw", against: text), "\(text)")
        }
    }

    @Test func anUnknownSchemeIsNamed() {
        let argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g"
        #expect(throws: PasswordHash.Failure.unknownScheme("argon2id")) { try PasswordHash(parsing: argon) }
        #expect(!PasswordHash.verify("pw", against: argon))
        #expect(throws: PasswordHash.Failure.unknownScheme("SCRYPT")) {
            try PasswordHash(parsing: "$SCRYPT$ln=4,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg==$puHF8wsl4P5tR3JANsCleZiOQes+05KY2PoHbUEpMGQ=")
        }
    }

    @Test func generatedPasswordsAreTwentyUnambiguousRandomCharacters() {
        let passwords = (0..<200).map { _ in PasswordHash.generatePassword() }
        for password in passwords {
            #expect(password.count == 20)
            #expect(password.allSatisfy { PasswordHash.passwordAlphabet.contains($0) })
            #expect(!password.contains { "0O1lI".contains($0) })
        }
        #expect(Set(passwords).count == passwords.count)
        #expect(PasswordHash.passwordAlphabet.count == 57)
        #expect(!PasswordHash.passwordAlphabet.contains { "0O1lI".contains($0) })
        // Every character of the alphabet turns up (4,000 draws from 57: missing one by chance is ~1e-29).
        #expect(Set(passwords.joined()) == Set(PasswordHash.passwordAlphabet))
        #expect(PasswordHash.generatePassword(length: 32).count == 32)
    }

    /// The unknown-name check costs what a real one does: the dummy hash has the default parameters.
    @Test func theDummyHashCostsWhatARealOneDoes() throws {
        let dummy = try PasswordHash(parsing: PasswordHashing.dummyHash)
        #expect(dummy.logRounds == PasswordHash.defaultLogRounds)
        #expect(dummy.blockSize == PasswordHash.defaultBlockSize)
        #expect(dummy.parallelism == PasswordHash.defaultParallelism)
        #expect(dummy.salt.count == PasswordHash.saltByteCount && dummy.derivedKey.count == PasswordHash.outputByteCount)
    }
}
