import SCIMJSON
import SCIMMapping
import Testing

/// One coercion case: input value → expected output (nil = typeMismatch).
struct CoercionCase: Sendable, CustomTestStringConvertible {
    var type: PropertyType
    var input: JSONValue
    var expected: JSONValue?
    var testDescription: String { "\(type) \(input) → \(expected.map { "\($0)" } ?? "mismatch")" }

    init(_ type: PropertyType, _ input: JSONValue, _ expected: JSONValue?) {
        self.type = type
        self.input = input
        self.expected = expected
    }
}

func isInt(_ value: JSONValue?) -> Bool {
    if case .int = value { return true }
    return false
}

let colorType = PropertyType.enumeration(options: ["Red", "Green", "Light Blue"])

@Suite("Coercion")
struct CoercionTests {
    static let successes: [CoercionCase] = [
        // string
        .init(.string, "x", "x"),
        .init(.string, " padded ", " padded "),
        .init(.string, 42, "42"),
        .init(.string, 4.5, "4.5"),
        .init(.string, true, "true"),
        .init(.string, false, "false"),
        // integer
        .init(.integer, 42, 42),
        .init(.integer, -7, -7),
        .init(.integer, "42", 42),
        .init(.integer, " 42 ", 42),
        .init(.integer, 42.0, 42),
        .init(.integer, "42.0", 42),
        .init(.integer, "-3", -3),
        // number
        .init(.number, 4.2, 4.2),
        .init(.number, 3, 3),
        .init(.number, "4.2", 4.2),
        .init(.number, "3", 3),
        .init(.number, "-1.5e3", -1500.0),
        // boolean
        .init(.boolean, true, true),
        .init(.boolean, false, false),
        .init(.boolean, "True", true),
        .init(.boolean, "true", true),
        .init(.boolean, "FALSE", false),
        .init(.boolean, "False", false),
        .init(.boolean, "1", true),
        .init(.boolean, "0", false),
        .init(.boolean, 1, true),
        .init(.boolean, 0, false),
        // date
        .init(.date, "2024-02-29", "2024-02-29"),
        .init(.date, " 2024-01-02 ", "2024-01-02"),
        .init(.date, "2024-03-01T23:30:00-05:00", "2024-03-01"),  // date as written, not shifted to UTC
        .init(.date, "2024-03-01T00:30:00+01:00", "2024-03-01"),
        .init(.date, "2000-02-29T12:00:00Z", "2000-02-29"),
        // dateTime
        .init(.dateTime, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02T04:04:05+01:00", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02T04:04:05+0100", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02T04:04:05+01", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02T04:04:05.120+01:00", "2024-01-02T03:04:05.12Z"),
        .init(.dateTime, "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456789Z"),
        .init(.dateTime, "2024-01-02T03:04:05.1234567891Z", "2024-01-02T03:04:05.123456789Z"),
        .init(.dateTime, "2024-01-02T03:04:05.000Z", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"),
        .init(.dateTime, "2024-01-02 03:04:05", "2024-01-02T03:04:05Z"),  // no zone: UTC
        .init(.dateTime, "2024-01-02T03:04Z", "2024-01-02T03:04:00Z"),
        .init(.dateTime, "2024-01-02", "2024-01-02T00:00:00Z"),
        .init(.dateTime, "2024-01-01T23:30:00-01:00", "2024-01-02T00:30:00Z"),
        .init(.dateTime, "2024-12-31T23:00:00-02:00", "2025-01-01T01:00:00Z"),
        .init(.dateTime, "2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00Z"),
        .init(.dateTime, "2023-03-01T00:30:00+01:00", "2023-02-28T23:30:00Z"),
        .init(.dateTime, "2024-01-02T03:04:05+05:30", "2024-01-01T21:34:05Z"),
        .init(.dateTime, " 2024-01-02T03:04:05Z ", "2024-01-02T03:04:05Z"),
        // enum
        .init(colorType, "Red", "Red"),
        .init(colorType, "red", "Red"),
        .init(colorType, " GREEN ", "Green"),
        .init(colorType, "light blue", "Light Blue"),
        .init(.enumeration(options: ["1", "2"]), 2, "2"),
        .init(.enumeration(options: ["Été", "Hiver"]), "été", "Été"),
        .init(.enumeration(options: ["Été", "Hiver"]), "ÉTÉ", "Été"),
        // list
        .init(.list(.integer), ["1", 2, 3.0], [1, 2, 3]),
        .init(.list(.boolean), "true", [true]),
        .init(.list(colorType), ["RED", "green"], ["Red", "Green"]),
    ]

    static let failures: [CoercionCase] = [
        .init(.string, ["a": 1], nil),
        .init(.integer, 4.2, nil),
        .init(.integer, "4.2", nil),
        .init(.integer, "abc", nil),
        .init(.integer, "0x10", nil),
        .init(.integer, true, nil),
        .init(.integer, "1e400", nil),
        .init(.integer, ["a": 1], nil),
        .init(.number, "nan", nil),
        .init(.number, "inf", nil),
        .init(.number, "infinity", nil),
        .init(.number, "0x1p3", nil),
        .init(.number, "1e400", nil),
        .init(.number, "abc", nil),
        .init(.number, "1.2.3", nil),
        .init(.number, true, nil),
        .init(.boolean, "yes", nil),
        .init(.boolean, "maybe", nil),
        .init(.boolean, 2, nil),
        .init(.boolean, 1.5, nil),
        .init(.date, "2024-02-30", nil),
        .init(.date, "2023-02-29", nil),
        .init(.date, "1900-02-29", nil),
        .init(.date, "01/02/2024", nil),
        .init(.date, "2024-1-2", nil),
        .init(.date, "2024-01-02T25:00:00Z", nil),
        .init(.date, "0000-01-01", nil),
        .init(.date, 20240102, nil),
        .init(.dateTime, "2024-13-01T00:00:00Z", nil),
        .init(.dateTime, "2024-01-02T03:04:60Z", nil),
        .init(.dateTime, "2024-01-02T24:00:00Z", nil),
        .init(.dateTime, "2024-01-02T03:60:00Z", nil),
        .init(.dateTime, "2024-01-02T03:04:05+24:00", nil),
        .init(.dateTime, "2024-01-02T03:04:05.Z", nil),
        .init(.dateTime, "2024-01-02T03:04:05 PST", nil),
        .init(.dateTime, "2024-01-02T03:04:05Zjunk", nil),
        .init(.dateTime, "yesterday", nil),
        .init(.dateTime, 1704164645, nil),
        .init(.dateTime, "0001-01-01T00:30:00+01:00", nil),  // year 0 in UTC
        .init(.dateTime, "9999-12-31T23:30:00-01:00", nil),  // year 10000 in UTC
        .init(colorType, "blue-ish", nil),
        .init(colorType, "Redd", nil),
        .init(colorType, true, nil),
        .init(.list(.integer), ["1", "x"], [1]),  // partial: good kept, bad reported
    ]

    @Test(arguments: successes)
    func coerces(_ c: CoercionCase) throws {
        let (value, issue) = try coerce(c.type, c.input)
        #expect(issue == nil)
        let expected = try #require(c.expected)
        #expect(value == expected)
        // Same kind of JSON value, not just numerically equal (42 must not become 42.0).
        #expect(value?.typeName == expected.typeName)
        if case .int = expected { #expect(isInt(value), "expected an exact integer, got \(String(describing: value))") }
    }

    @Test(arguments: failures)
    func rejects(_ c: CoercionCase) throws {
        let (value, issue) = try coerce(c.type, c.input)
        #expect(value == c.expected)
        let mismatch = try #require(issue)
        #expect(mismatch.kind == .typeMismatch)
        #expect(mismatch.property == "p")
        #expect(mismatch.path == "v")
        #expect(mismatch.detail?.hasPrefix("value") == true)
    }

    @Test func mismatchDetails() throws {
        #expect(try coerce(.integer, 4.2).issue?.detail == "value 4.2 at v is not a whole number")
        #expect(try coerce(.boolean, "yes").issue?.detail == #"value "yes" at v is not a boolean (true/false/1/0)"#)
        #expect(try coerce(.date, "2024-02-30").issue?.detail == #"value "2024-02-30" at v is not a date (YYYY-MM-DD)"#)
        #expect(try coerce(.string, ["a": 1]).issue?.detail == #"value {"a":1} at v is an object, not a string"#)
        #expect(try coerce(colorType, "blue-ish").issue?.detail
            == #"value "blue-ish" at v is not one of the enum options (Red, Green, Light Blue)"#)
    }

    @Test func doubleStaysDouble() throws {
        let (value, _) = try coerce(.number, 4.25)
        guard case .double(let d) = value else {
            Issue.record("expected a double, got \(String(describing: value))")
            return
        }
        #expect(d == 4.25)
    }
}
