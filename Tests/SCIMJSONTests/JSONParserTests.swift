import Foundation
import SCIMJSON
import Testing

/// Parses `text`, or returns the error.
func parse(_ text: String, maximumDepth: Int = 256) -> Result<JSONValue, JSONParseError> {
    Result { () throws(JSONParseError) in try JSONParser(maximumDepth: maximumDepth).parse(text) }
}

/// Parses raw bytes (for input that is not valid UTF-8), or returns the error.
func parse(bytes: [UInt8]) -> Result<JSONValue, JSONParseError> {
    Result { () throws(JSONParseError) in try JSONParser().parse(bytes: bytes) }
}

extension Result {
    /// The error, when this is a failure.
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }

    /// The value, when this is a success.
    var success: Success? {
        if case .success(let v) = self { return v }
        return nil
    }
}

/// Numbers: integers stay exact `Int`s across the whole 64-bit range; anything else (a
/// fraction, an exponent, an integer outside 64 bits) is a `Double`; non-finite is an error.
@Suite struct JSONNumberTests {
    @Test func integersAreExactAcrossTheWhole64BitRange() throws {
        // 2^53 + 1 is the first integer a Double cannot hold: it must not go through one.
        #expect(parse("9007199254740993").success.map { if case .int(9_007_199_254_740_993) = $0 { true } else { false } } == true)
        #expect(parse("9223372036854775807").success.map { if case .int(Int.max) = $0 { true } else { false } } == true)
        #expect(parse("-9223372036854775808").success.map { if case .int(Int.min) = $0 { true } else { false } } == true)
        #expect(parse("[9223372036854775807,-9223372036854775808,0,-1,42]").success == [.int(.max), .int(.min), 0, -1, 42])
    }

    @Test func integersJustOutside64BitsBecomeDoubles() throws {
        for (text, value) in [("9223372036854775808", 9_223_372_036_854_775_808.0), ("-9223372036854775809", -9_223_372_036_854_775_809.0)] {
            let parsed = try #require(parse(text).success, "\(text)")
            guard case .double(let d) = parsed else {
                Issue.record("\(text) parsed as \(parsed), not as a double")
                continue
            }
            #expect(d == value)
        }
        // A huge integer is a (finite) double too; too huge for a double is an error.
        #expect(parse(String(repeating: "9", count: 300)).success?.doubleValue == 1e300)
        #expect(parse(String(repeating: "9", count: 400)).failure?.reason == "number out of range")
    }

    @Test func exponentsAndFractionsAreDoubles() {
        let cases: [(String, Double)] = [
            ("1e2", 100), ("1E2", 100), ("1e+2", 100), ("1e-2", 0.01), ("-1.5e3", -1500), ("0.1", 0.1), ("1.0", 1),
            ("0e0", 0), ("123.456", 123.456), ("1e-400", 0), ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("5e-324", 5e-324),
        ]
        for (text, expected) in cases {
            guard case .double(let d)? = parse(text).success else {
                Issue.record("\(text): \(parse(text))")
                continue
            }
            #expect(d == expected, "\(text)")
        }
    }

    @Test func negativeZero() {
        // "-0" is an integer: Int has no negative zero, so it is 0.
        #expect(parse("-0").success.map { if case .int(0) = $0 { true } else { false } } == true)
        // "-0.0" keeps its sign as a Double, and equals zero.
        guard case .double(let d)? = parse("-0.0").success else {
            Issue.record("-0.0 is not a double")
            return
        }
        #expect(d == 0 && d.sign == .minus)
        #expect(JSONValue.double(d) == .int(0))
    }

    @Test func outOfRangeNumbersAreErrors() {
        for text in ["1e400", "-1e400", "1e99999999999"] {
            let error = parse(text).failure
            #expect(error?.reason == "number out of range", "\(text)")
            #expect(error?.offset == 0, "\(text)")
        }
    }

    @Test(arguments: ["01", "-01", "1.", ".5", "+1", "1e", "1e+", "1E-", "-", "--1", "0x10", "NaN", "Infinity", "-Infinity", "1.5e", "1..2", "1e2.5", "١"])
    func malformedNumbersAreRejected(_ text: String) {
        #expect(parse(text).failure != nil, "\(text) was accepted: \(String(describing: parse(text).success))")
    }

    @Test func theSerializerEscapesQuotesBackslashesAndControlCharactersAndNothingElse() {
        #expect(JSONSerializer.string(.string(#"say "hi" \ bye"#)) == #""say \"hi\" \\ bye""#)
        #expect(JSONSerializer.string(.string("a\nb\rc\td\u{01}e\u{1F}f\u{7F}é")) == "\"a\\nb\\rc\\td\\u0001e\\u001ff\u{7F}é\"")
        // Every ASCII character, alone and inside a run, parses back to itself.
        for byte in UInt8(0)..<0x80 {
            let text = "ab" + String(UnicodeScalar(byte)) + "cd" + String(UnicodeScalar(byte))
            let written = JSONSerializer.string(.string(text))
            #expect(parse(written).success == .string(text), "\(byte): \(written)")
        }
        // A body inside a string (a JSON-RPC answer's SCIM body) comes back whole.
        let body = JSONSerializer.string(.object(["userName": "ada", "emails": [["value": "a@x", "type": "work"]]]))
        #expect(parse(JSONSerializer.string(.string(body))).success == .string(body))
    }

    @Test func theSerializerWritesIntegersExactlyAndDoublesSoTheyParseBack() {
        #expect(JSONSerializer.string(.int(.max)) == "9223372036854775807")
        #expect(JSONSerializer.string(.int(.min)) == "-9223372036854775808")
        #expect(JSONSerializer.string(.int(9_007_199_254_740_993)) == "9007199254740993")
        // Integral doubles below 10^15 are written as integers; others in Swift's shortest form.
        #expect(JSONSerializer.string(.double(1)) == "1")
        #expect(JSONSerializer.string(.double(-0.0)) == "0")
        #expect(JSONSerializer.string(.double(0.1)) == "0.1")
        #expect(JSONSerializer.string(.double(1e15)) == "1000000000000000.0")
        #expect(JSONSerializer.string(.double(1e16)) == "1e+16")
        for d in [0.1, -2.5, 1e15, 1e300, -1e-300, 5e-324, .greatestFiniteMagnitude, 9_223_372_036_854_775_808.0, 123_456_789.125] {
            let text = JSONSerializer.string(.double(d))
            #expect(parse(text).success?.doubleValue == d, "\(d) → \(text)")
        }
    }
}

/// Duplicate member names are an error (RFC 8259 says they SHOULD be unique; accepting them
/// would make "as the IdP sent it" ambiguous), named with the byte offset of the second one.
@Suite struct JSONDuplicateKeyTests {
    @Test func aDuplicateInASmallObjectIsRejectedAtItsOffset() {
        let error = parse(#"{"a":1,"b":2,"a":3}"#).failure
        #expect(error?.reason == #"duplicate member name "a""#)
        #expect(error?.offset == 13)
    }

    @Test func aDuplicateInALargeObjectIsRejectedToo() {
        // 16 members and more are checked with a set instead of a scan: both paths must refuse.
        var members = (0..<40).map { #""k\#($0)":\#($0)"# }
        #expect(parse("{" + members.joined(separator: ",") + "}").success?.objectValue?.count == 40)
        members.append(#""k17":0"#)
        let text = "{" + members.joined(separator: ",") + "}"
        let error = parse(text).failure
        #expect(error?.reason == #"duplicate member name "k17""#)
        #expect(error?.offset == text.utf8.count - #""k17":0}"#.utf8.count)
    }

    @Test func duplicatesAreFoundAfterUnescaping() {
        #expect(parse(#"{"a":1,"\u0061":2}"#).failure?.reason == #"duplicate member name "a""#)
        #expect(parse(#"{"é":1,"\u00e9":2}"#).failure?.reason == #"duplicate member name "é""#)
    }

    @Test func namesDifferingInCaseOrNestingAreDistinct() {
        let value = parse(#"{"a":1,"A":2,"b":{"a":3}}"#).success
        #expect(value?.objectValue?.keys == ["a", "A", "b"])
        #expect(value?["A"] == 2)
        #expect(parse(#"[{"a":1},{"a":2}]"#).success?.arrayValue?.count == 2)
    }

    /// RFC 8259 §8.3 compares member names code unit by code unit, so "é" (U+00E9) and "é"
    /// (e + U+0301) are different names. Swift's `String ==` compares canonical equivalence,
    /// so the parser (and `JSONObject`'s lookups) take them for one name.
    @Test func namesDifferingOnlyInNormalizationAreDistinct() {
        withKnownIssue("String == is canonical equivalence, not code-unit equality") {
            let value = try parse("{\"\u{E9}\":1,\"e\u{301}\":2}").get()
            #expect(value.objectValue?.count == 2)
        }
    }
}

/// String escapes, surrogate pairs, and control characters.
@Suite struct JSONStringTests {
    /// Text from a `String` is parsed without checking its UTF-8 again; bytes are checked. Both
    /// must give the same strings, multi-byte sequences included, in values, names and the
    /// partial parse alike.
    @Test func stringsFromTextAndFromBytesAreTheSame() throws {
        let text = #"{"名前":"Zoë Ångström","emoji":"😀 ok","mixed":["ascii","日本語",{"é":"€"}],"esc\u00e9":"a\"b"}"#
        let fromText = try JSONParser().parse(text)
        let fromBytes = try JSONParser().parse(bytes: Array(text.utf8))
        #expect(fromText == fromBytes)
        #expect(fromText["名前"]?.stringValue == "Zoë Ångström")
        #expect(fromText["mixed"]?.arrayValue?[1].stringValue == "日本語")
        #expect(fromText["escé"]?.stringValue == "a\"b")
        let partial = try JSONParser().parseObject(text, keepingMembers: { $0 == "emoji" || $0 == "名前" })
        #expect(partial == ["名前": "Zoë Ångström", "emoji": "😀 ok"])
    }

    @Test func everyShortEscapeDecodes() {
        #expect(parse(#""\"\\\/\b\f\n\r\t""#).success == .string("\"\\/\u{08}\u{0C}\n\r\t"))
    }

    @Test func unicodeEscapesDecodeInEitherCase() {
        #expect(parse(#""\u00e9\u00E9\u20AC\u0041""#).success == .string("éé€A"))
        #expect(parse(#""caf\u00e9 \u2028 end""#).success == .string("café \u{2028} end"))
        // U+0000 is legal JSON; the doors of the daemon refuse it, not the parser.
        #expect(parse(#""a\u0000b""#).success?.stringValue?.unicodeScalars.map(\.value) == [0x61, 0, 0x62])
    }

    @Test func surrogatePairsDecodeToOneScalar() {
        #expect(parse(#""\uD83D\uDE00""#).success == .string("😀"))
        #expect(parse(#""\ud83d\ude00""#).success == .string("😀"))
        #expect(parse(#""\uD800\uDC00""#).success?.stringValue?.unicodeScalars.map(\.value) == [0x10000])
        #expect(parse(#""\uDBFF\uDFFF""#).success?.stringValue?.unicodeScalars.map(\.value) == [0x10FFFF])
        #expect(parse(#""x\uD83D\uDE00y😀""#).success == .string("x😀y😀"))
    }

    @Test(arguments: [
        #""\uD83D""#,  // a high surrogate at the end of the string
        #""\uD83Dx""#,  // followed by a character
        #""\uD83D\n""#,  // followed by another escape
        #""\uD83D\uD83D""#,  // followed by a second high surrogate
        #""\uD83D\u0041""#,  // followed by a non-surrogate escape
        #""\uDE00""#,  // a low surrogate alone
        #""\uDE00\uD83D""#,  // a pair in the wrong order
    ])
    func loneSurrogatesAreRejected(_ text: String) {
        #expect(parse(text).failure?.reason == "unpaired surrogate in \\u escape", "\(text)")
    }

    @Test(arguments: [
        (#""\u12""#, "truncated \\u escape"), (#""\u12G4""#, "invalid hex digit in \\u escape"),
        (#""\x""#, "invalid escape '\\x'"), (#""\'""#, "invalid escape '\\''"), (#""abc"#, "unterminated string"),
        (#""ab\"#, "unterminated string"), ("\"a\u{01}b\"", "unescaped control character in string"),
        ("\"a\tb\"", "unescaped control character in string"), ("\"a\nb\"", "unescaped control character in string"),
        ("\"\\n\u{1F}\"", "unescaped control character in string"),
    ])
    func badStringsAreRejected(_ text: String, _ reason: String) {
        #expect(parse(text).failure?.reason == reason, "\(text.debugDescription): \(String(describing: parse(text)))")
    }

    @Test func theSerializerEscapesWhatItMustAndNothingElse() {
        #expect(JSONSerializer.string(.string("\"\\/\n\r\t\u{08}\u{0C}\u{00}\u{1F}")) == #""\"\\/\n\r\t\u0008\u000c\u0000\u001f""#)
        // DEL, U+2028/2029, non-ASCII and astral characters are written as they are, in UTF-8.
        #expect(JSONSerializer.string(.string("\u{7F}\u{2028}\u{2029}é😀")) == "\"\u{7F}\u{2028}\u{2029}é😀\"")
        // Every control character round-trips, and the text stays on one line (newline framing).
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        let text = JSONSerializer.string(["k\n": .string(controls)])
        #expect(!text.contains("\n") && !text.contains("\r"))
        #expect(parse(text).success == ["k\n": .string(controls)])
    }
}

/// Input that is not UTF-8 is a parse error, never a string with replacement characters.
@Suite struct JSONUTF8Tests {
    @Test(arguments: [
        [0x22, 0xFF, 0x22],  // a byte never valid in UTF-8
        [0x22, 0xC0, 0xAF, 0x22],  // an overlong "/"
        [0x22, 0xE0, 0x80, 0xAF, 0x22],  // an overlong three-byte form
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // a surrogate (U+D800) encoded directly
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xE2, 0x82, 0x22],  // a truncated "€"
        [0x22, 0x80, 0x22],  // a lone continuation byte
        [0x22, 0x5C, 0x6E, 0xFF, 0x22],  // after an escape (the slow path)
        [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D],  // in a member name
    ] as [[UInt8]])
    func invalidUTF8InAStringIsRejected(_ bytes: [UInt8]) {
        #expect(parse(bytes: bytes).failure?.reason == "invalid UTF-8 in string", "\(bytes)")
    }

    @Test func invalidBytesOutsideStringsAreRejected() {
        #expect(parse(bytes: [0xFF]).failure?.reason == "unexpected character '\\xff'")
        #expect(parse(bytes: [0x5B, 0x31, 0x2C, 0xC3, 0xA9, 0x5D]).failure?.offset == 3)
        #expect(parse(bytes: Array("1".utf8) + [0xFF]).failure?.reason == "unexpected data after the JSON value")
        // A byte-order mark is not JSON whitespace.
        #expect(parse(bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)).failure != nil)
    }

    @Test func validMultiByteUTF8IsKeptExactly() {
        let text = "\"aé€😀\u{10FFFF}\""
        #expect(parse(bytes: Array(text.utf8)).success == .string("aé€😀\u{10FFFF}"))
        #expect(JSONSerializer.bytes(parse(bytes: Array(text.utf8)).success!) == Array(text.utf8))
    }
}

/// Nesting is limited, so hostile input is an error, never a stack overflow.
@Suite struct JSONDepthTests {
    func nested(_ depth: Int, open: String = "[", close: String = "]", inner: String = "1") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    @Test func theDefaultLimitIs256Levels() {
        #expect(parse(nested(256)).success != nil)
        let error = parse(nested(257)).failure
        #expect(error?.reason == "nesting deeper than 256 levels")
        #expect(error?.offset == 256, "at the container that is one too deep")
        #expect(parse(nested(256, open: #"{"a":"#, close: "}")).success != nil)
        #expect(parse(nested(257, open: #"{"a":"#, close: "}")).failure?.reason == "nesting deeper than 256 levels")
    }

    @Test func aCustomLimitCountsArraysAndObjectsAlike() {
        #expect(parse(#"{"a":[1]}"#, maximumDepth: 2).success != nil)
        #expect(parse(#"{"a":[{}]}"#, maximumDepth: 2).failure?.reason == "nesting deeper than 2 levels")
        #expect(parse(#"[[],[1],{"a":1}]"#, maximumDepth: 2).success != nil, "siblings do not add up")
        #expect(parse("1", maximumDepth: 0).success == 1, "a scalar has no depth")
        #expect(parse("[]", maximumDepth: 0).failure != nil)
    }

    @Test func hostileDepthIsAnErrorNotACrash() {
        #expect(parse(String(repeating: "[", count: 100_000)).failure?.reason == "nesting deeper than 256 levels")
        #expect(parse(String(repeating: #"{"a":"#, count: 100_000)).failure?.reason == "nesting deeper than 256 levels")
    }
}

/// Object members keep the order they arrived in, through parse and serialize.
@Suite struct JSONMemberOrderTests {
    @Test func orderSurvivesParseAndSerialize() {
        let text = #"{"zeta":1,"alpha":{"y":true,"b":null,"m":[{"2":2,"1":1}]},"mid":"x","_":-1.5}"#
        let value = parse(text).success
        #expect(value?.objectValue?.keys == ["zeta", "alpha", "mid", "_"])
        #expect(value?["alpha"]?.objectValue?.keys == ["y", "b", "m"])
        #expect(value.map(JSONSerializer.string) == text)
    }

    @Test func aLargeObjectKeepsItsOrder() {
        // A fixed permutation of 200 names (multiplying by 7 modulo 200 visits each once).
        let names = (0..<200).map { "p\(($0 * 7) % 200)" }
        let text = "{" + names.map { #""\#($0)":0"# }.joined(separator: ",") + "}"
        let value = parse(text).success
        #expect(value?.objectValue?.keys == names)
        #expect(value.map(JSONSerializer.string) == text)
    }

    @Test func editsKeepTheOrderOfTheRest() {
        guard var object = parse(#"{"a":1,"b":2,"c":3}"#).success?.objectValue else {
            Issue.record("not an object")
            return
        }
        object["b"] = 20  // replaced in place
        object["d"] = 4  // appended
        object["a"] = JSONValue?.none  // removed
        #expect(JSONSerializer.string(.object(object)) == #"{"b":20,"c":3,"d":4}"#)
        // Equality ignores order, as JSON's does.
        #expect(parse(#"{"x":1,"y":2}"#).success == parse(#"{"y":2,"x":1}"#).success)
        #expect(parse(#"{"x":1,"y":2}"#).success != parse(#"{"x":1,"y":3}"#).success)
        #expect(parse(#"{"x":1}"#).success != parse(#"{"x":1,"y":2}"#).success)
    }
}

/// Whole texts: what surrounds a value, literals, and round trips.
@Suite struct JSONRoundTripTests {
    @Test(arguments: ["", " ", "tru", "nul", "falsey", "true false", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}", "[1 2]", "\"a\" x", "{\"a\":1}}", "]", "[", "{"])
    func malformedTextsAreRejected(_ text: String) {
        #expect(parse(text).failure != nil, "\(text.debugDescription) was accepted")
    }

    @Test func errorsSayWhere() {
        #expect(parse("[1,]").failure == JSONParseError(offset: 3, reason: "unexpected character ']'"))
        #expect(parse(#"{"a" 1}"#).failure == JSONParseError(offset: 5, reason: "expected ':' after member name"))
        #expect(parse("[1").failure == JSONParseError(offset: 2, reason: "unexpected end of input in array"))
        #expect(parse(" true x").failure == JSONParseError(offset: 6, reason: "unexpected data after the JSON value"))
        #expect(parse("").failure?.reason == "unexpected end of input")
    }

    @Test func whitespaceAroundAndBetweenIsAllowed() {
        #expect(parse(" \t\r\n{ \"a\" : [ 1 , true , null ] }\n ").success == ["a": [1, true, nil]])
    }

    @Test func compactTextRoundTripsByteForByte() {
        let texts = [
            #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","active":true,"meta":null}"#,
            #"[0,-1,9223372036854775807,-9223372036854775808,0.5,-2.25,1e+300,"",[],{}]"#,
            #"{"emails":[{"value":"a@x","primary":true},{"value":"b@x","type":"work"}],"n":{"given":"Ada","family":"L"}}"#,
            #""\"quoted\" \\ back\\slash \u0001 ünï 😀""#,
        ]
        for text in texts {
            #expect(parse(text).success.map(JSONSerializer.string) == text)
        }
    }

    @Test func serializedValuesParseBackEqual() {
        var random = SplitMix(state: 20_260_101)
        for round in 0..<300 {
            let value = randomValue(&random, depth: 0)
            let text = JSONSerializer.string(value)
            guard let back = parse(text).success else {
                Issue.record("round \(round): \(text) does not parse: \(String(describing: parse(text).failure))")
                continue
            }
            #expect(back == value, "round \(round): \(text)")
            // Once through, the text is stable.
            #expect(JSONSerializer.string(back) == text, "round \(round)")
            #expect(parse(JSONSerializer.prettyString(value)).success == value, "round \(round): pretty")
        }
    }

    /// `writeString` copies runs of plain bytes in bulk; its output equals the byte-by-byte
    /// definition for strings that begin, end and alternate with escapes, and after other text.
    @Test func stringsAreEscapedExactlyAsDefinedByteByByte() {
        func reference(_ s: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for c in s.utf8 {
                switch c {
                case 0x22: out += Array(#"\""#.utf8)
                case 0x5C: out += Array(#"\\"#.utf8)
                case 0x0A: out += Array(#"\n"#.utf8)
                case 0x0D: out += Array(#"\r"#.utf8)
                case 0x09: out += Array(#"\t"#.utf8)
                case 0..<0x20: out += Array(#"\u00"#.utf8) + Array((String(c >> 4, radix: 16) + String(c & 0xF, radix: 16)).utf8)
                default: out.append(c)
                }
            }
            return out + [0x22]
        }
        var random = SplitMix(state: 42)
        var cases = ["", "\"", "plain", "\n\n", "a\"b\\c\u{1}d\te\r", "ünï 😀\u{1F}"]
        for _ in 0..<500 { cases.append(randomString(&random) + randomString(&random)) }
        for text in cases {
            var out: [UInt8] = Array("prefix".utf8)
            JSONSerializer.writeString(text, into: &out)
            #expect(out == Array("prefix".utf8) + reference(text), "\(text.debugDescription)")
        }
    }

    /// A random value of every kind: exact integers at the edges, finite doubles, strings with
    /// escapes and astral characters, nested arrays and objects with unique names.
    func randomValue(_ random: inout SplitMix, depth: Int) -> JSONValue {
        let kinds = depth >= 4 ? 5 : 7
        switch Int(random.next() % UInt64(kinds)) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2:
            let edges: [Int] = [.max, .min, 0, -1, 1 << 53 + 1, -(1 << 53) - 1]
            return .int(random.next() % 3 == 0 ? edges[Int(random.next() % UInt64(edges.count))] : Int(bitPattern: UInt(random.next())))
        case 3:
            let d = Double(bitPattern: random.next())
            return .double(d.isFinite ? d : 0.5)
        case 4: return .string(randomString(&random))
        case 5: return .array((0..<Int(random.next() % 5)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var object = JSONObject()
            for i in 0..<Int(random.next() % 5) { object[randomString(&random) + "\(i)"] = randomValue(&random, depth: depth + 1) }
            return .object(object)
        }
    }

    func randomString(_ random: inout SplitMix) -> String {
        let alphabet: [Unicode.Scalar] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "\u{2028}", "😀", "\u{10FFFF}"]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int(random.next() % 12) { scalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
        return String(scalars)
    }
}

/// SplitMix64: a seeded generator, so a failing round can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `parseObject(_:keepingMembers:)`: the kept members exactly as a full parse gives them, the
/// skipped values stepped over whatever they hold.
@Suite struct PartialObjectParseTests {
    static let texts = [
        #"{}"#,
        #"{"a": 1}"#,
        #" { "a" : "x\"}{][" , "b":[1,2,{"c":"d\\"}],"C": {"a": [[], {}, "]"]}, "d": -1.5e3, "e": true, "f": null, "g": false } "#,
        #"{"skip": {"deep": [[[["\u00e9\ud83d\ude00"]]]]}, "keep": "caf\u00e9", "n": 12345678901234, "x": [true,false,null]}"#,
        #"{"emails":[{"type":"work","value":"a@example.com"}],"name":{"givenName":"A"},"userName":"a"}"#,
    ]

    @Test(arguments: texts)
    func keptMembersAreWhatAFullParseGives(text: String) throws {
        guard case .object(let whole) = try JSONParser().parse(text) else {
            Issue.record("not an object")
            return
        }
        let choices: [(String) -> Bool] = [{ _ in true }, { _ in false }, { $0.count == 1 }, { $0.lowercased() == "c" || $0 == "keep" || $0 == "emails" }]
        for keep in choices {
            let part = try JSONParser().parseObject(text, keepingMembers: keep)
            var expected = JSONObject()
            for (key, value) in whole where keep(key) { expected[key] = value }
            #expect(part == expected, "\(text)")
        }
    }

    @Test(arguments: [
        "", "[]", "\"x\"", "1", "{", #"{"a"}"#, #"{"a": }"#, #"{"a": [1, 2}"#, #"{"a": "unterminated}"#, #"{"a": 1,}"#,
        #"{"a": 1} x"#, #"{"a": 1 "b": 2}"#, #"{"a": ]}"#,
    ])
    func malformedTextIsRefused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser().parseObject(text, keepingMembers: { _ in false }) }
        #expect(throws: JSONParseError.self) { try JSONParser().parseObject(text, keepingMembers: { _ in true }) }
    }

    /// `parseObject(_:keepingMembersIn:)` keeps exactly the members whose names
    /// `caseInsensitiveEquals` one of the names: ASCII compared in place, any case; escaped
    /// names decoded first; non-ASCII names and keys compared as Strings (the Kelvin sign `K`
    /// lowercases to an ASCII "k").
    @Test func namedMembersAreThoseCaseInsensitiveEqualsKeeps() throws {
        let text = #"{"Emails":[{"value":"a"}],"userName":"u","EMAILSX":1,"na\u006De":{"x":1},"\u212Aey":2,"Straße":3,"ID":"7"}"#
        guard case .object(let whole) = try JSONParser().parse(text) else {
            Issue.record("not an object")
            return
        }
        let nameLists: [[String]] = [[], ["emails"], ["EMAILS", "name"], ["key"], ["straße", "id"], ["STRASSE"], ["emails", "Straße", "kEy", "nope"]]
        for names in nameLists {
            let part = try JSONParser().parseObject(text, keepingMembersIn: JSONMemberNames(names))
            var expected = JSONObject()
            for (key, value) in whole where names.contains(where: { $0.caseInsensitiveEquals(key) }) { expected[key] = value }
            #expect(part == expected, "\(names)")
            // A thread of a parallel scan parses with a copy: the same names keep the same members.
            let copy = JSONMemberNames(names).copied()
            #expect(copy.names == names)
            #expect(try JSONParser().parseObject(text, keepingMembersIn: copy) == expected, "\(names)")
        }
        let kelvin = try JSONParser().parseObject(text, keepingMembersIn: JSONMemberNames(["key"]))
        #expect(kelvin.keys == ["\u{212A}ey"])
    }

    /// A partial parse finds the ends of strings and keys eight bytes at a time: quotes,
    /// backslashes and control characters at every offset within a word (and across two) are
    /// found as a byte-by-byte scan finds them.
    @Test func stringEndsAreFoundAtEveryOffsetOfAWord() throws {
        let specials = [#"\""#, #"\\"#, #"\/"#, #"\u00e9"#, "é", "😀", ""]
        let decoded = ["\"", "\\", "/", "é", "é", "😀", ""]
        for padding in 0..<19 {
            let pad = String(repeating: "x", count: padding)
            for (special, decodedSpecial) in zip(specials, decoded) {
                let skipped = #"{"skip":""# + pad + special + pad + #"","o":{"k"# + pad + #"":[""# + special + #"",1]},"#
                let text = skipped + #""keep\#(pad)":"\#(pad)\#(special)","z":true}"#
                guard case .object(let whole) = try JSONParser().parse(text) else {
                    Issue.record("not an object: \(text)")
                    continue
                }
                let key = "keep" + pad
                // The whole parse decodes the string (`parseString` finds its end the same way)...
                #expect(whole[key] == .string(pad + decodedSpecial), "\(text)")
                #expect(throws: JSONParseError.self) { try JSONParser().parse("\"" + pad + decodedSpecial + "\u{01}\"") }
                // ...and the partial one keeps just that member.
                let part = try JSONParser().parseObject(text, keepingMembersIn: JSONMemberNames([key]))
                #expect(part == [key: whole[key]!], "\(text)")
                // A string that never ends, or a key with a raw control character, is refused
                // wherever the word boundary falls.
                #expect(throws: JSONParseError.self) {
                    try JSONParser().parseObject(#"{"skip":""# + pad + special, keepingMembersIn: JSONMemberNames(["keep"]))
                }
                #expect(throws: JSONParseError.self) {
                    try JSONParser().parseObject("{\"k\(pad)\u{01}\":1}", keepingMembersIn: JSONMemberNames(["keep"]))
                }
            }
        }
    }

    @Test func aKeptMemberIsCheckedLikeAFullParse() {
        #expect(throws: JSONParseError.self) { try JSONParser().parseObject(#"{"a": 01}"#, keepingMembers: { _ in true }) }
        #expect(throws: JSONParseError.self) { try JSONParser().parseObject(#"{"a": 1, "a": 2}"#, keepingMembers: { _ in true }) }
    }
}

/// `caseInsensitiveEquals`: ASCII folded byte by byte, anything else by Unicode lowercasing.
@Suite struct CaseInsensitiveEqualsTests {
    @Test(arguments: [
        ("userName", "USERNAME", true), ("userName", "userNames", false), ("", "", true), ("a", "", false),
        ("emails", "EMAILS", true), ("@", "`", false), ("[", "{", false), ("Z", "z", true), ("_", "\u{7F}", false),
        ("Ärger", "ärger", true), ("ÄRGER", "ärger", true), ("café", "CAFÉ", true), ("caf\u{E9}", "caf\u{E8}", false),
        ("\u{212A}", "k", true), ("x\u{212A}", "xK", true), ("straße", "STRASSE", false), ("ünïcødé ✓", "ÜNÏCØDÉ ✓", true),
    ])
    func foldsCase(a: String, b: String, equal: Bool) {
        #expect(a.caseInsensitiveEquals(b) == equal)
        #expect(b.caseInsensitiveEquals(a) == equal)
        #expect(a.caseInsensitiveEquals(b) == (a.lowercased() == b.lowercased()))
    }
}

/// `trimmingWhitespace()` and `isBlank` agree with Foundation's `.whitespaces` trimming, which
/// they replace on the request path.
@Suite struct WhitespaceTrimmingTests {
    @Test(arguments: [
        "", " ", "\t", "abc", "  abc  ", "\tabc\t", " a b ", "\u{00A0}x\u{3000}", "\u{2003}\u{2003}", "\nx\n", "x\u{2028}",
        "\u{200B}x", " Bearer  tok ", "é ", " 😀 ", "\r\n", "\u{1680}x\u{202F}",
    ])
    func agreesWithFoundation(_ text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
        #expect(text.isBlank == text.trimmingCharacters(in: .whitespaces).isEmpty, "\(text.debugDescription)")
        let sub = Substring(text)
        #expect(sub.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
    }
}
