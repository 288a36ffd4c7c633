import Foundation
import SCIMJSON
import SCIMMapping
import SCIMModel

/// Mapping evaluation (``CompiledMapping/evaluate(_:)``): a resource through the default
/// mappings and, when the input carries one, a fuzzed mapping configuration.
///
/// The input is a JSON object: `{"resource": {…}, "mapping": {"users": …, "groups": …}}`, or
/// `"mapping"` a single `{"properties": […]}` used for both resource types; an object without
/// `"resource"` is itself the resource. A mapping is decoded as `mapping.set` decodes it
/// (Codable) and compiled; one that does not compile is refused and that is fine.
///
/// Properties: evaluation does not crash; every mapped value satisfies its property's declared
/// type (checked here independently of the coercion code: shapes, calendar validity through
/// Foundation's ISO 8601 calendar, enum options as spelled); only declared properties are
/// mapped; a property with a default is always mapped; issues name declared properties; and a
/// value found in the resource is a fixed point — mapping it again with the same type gives it
/// back unchanged.
enum MappingEvaluationTarget {
    static let defaultMappings = try! CompiledMappingConfiguration(.default)

    static func check(_ input: UnsafeRawBufferPointer) throws(FuzzFailure) {
        guard let value = try? JSONParser(maximumDepth: 64).parse(bytes: input), let object = value.objectValue else { return }
        let resource = object["resource"]?.objectValue ?? object
        for type in SCIMResourceType.allCases {
            try evaluate(resource, with: defaultMappings.mapping(for: type))
        }
        guard let mappingJSON = object["mapping"], let custom = compile(mappingJSON) else { return }
        for type in SCIMResourceType.allCases {
            try evaluate(resource, with: custom.mapping(for: type))
        }
    }

    /// The configuration `json` describes, compiled; nil when it does not decode or compile.
    static func compile(_ json: JSONValue) -> CompiledMappingConfiguration? {
        let data = Data(JSONSerializer.bytes(json))
        let configuration: MappingConfiguration
        if let whole = try? JSONDecoder().decode(MappingConfiguration.self, from: data) {
            configuration = whole
        } else if let one = try? JSONDecoder().decode(Mapping.self, from: data) {
            configuration = MappingConfiguration(users: one, groups: one)
        } else {
            return nil
        }
        return try? CompiledMappingConfiguration(configuration)
    }

    static func evaluate(_ resource: JSONObject, with compiled: CompiledMapping) throws(FuzzFailure) {
        let result = compiled.evaluate(resource)
        let properties = compiled.mapping.properties
        // Every default, as the mapping gives it (no path yields anything in an empty object).
        let defaults = compiled.evaluate(JSONObject()).properties
        var seen: Set<String> = []
        for (name, value) in result.properties {
            guard let property = properties.first(where: { $0.name == name }) else {
                throw FuzzFailure("mapped \"\(name)\", which the mapping does not declare")
            }
            guard seen.insert(name).inserted else { throw FuzzFailure("mapped \"\(name)\" twice") }
            if let problem = violation(value, of: property.type) {
                throw FuzzFailure("property \"\(name)\" (\(property.type)) was mapped to \(value): \(problem)")
            }
            // A default is configured, not found, and may be a value that counts as none (`""`).
            if value != defaults[name] {
                try checkFixedPoint(value, of: property, resourceType: compiled.resourceType)
            }
        }
        for property in properties where property.default.map({ !$0.isNull }) ?? false {
            if result.properties[property.name] == nil {
                throw FuzzFailure("property \"\(property.name)\" has a default but was not mapped")
            }
        }
        for issue in result.issues where !properties.contains(where: { $0.name == issue.property }) {
            throw FuzzFailure("an issue names \"\(issue.property)\", which the mapping does not declare")
        }
    }

    /// Mapping a mapped value again, with the same type, must give it back unchanged.
    static func checkFixedPoint(_ value: JSONValue, of property: MappingProperty, resourceType: SCIMResourceType) throws(FuzzFailure) {
        let again = MappingProperty(name: "value", type: property.type, path: "value")
        guard let compiled = try? CompiledMapping(Mapping(properties: [again]), resourceType: resourceType) else {
            throw FuzzFailure("a one-property mapping of type \(property.type) does not compile")
        }
        let remapped = compiled.evaluate(["value": value]).properties["value"]
        // An empty list maps to nothing (no value present), which is not a change of value.
        if case .array(let elements) = value, elements.isEmpty, remapped == nil { return }
        guard let remapped, remapped == value, remapped.typeName == value.typeName else {
            throw FuzzFailure("\"\(property.name)\" (\(property.type)) mapped to \(value), which maps again to \(remapped.map { "\($0)" } ?? "nothing")")
        }
    }

    /// Why `value` does not satisfy `type`, or nil when it does.
    static func violation(_ value: JSONValue, of type: PropertyType) -> String? {
        switch (type, value) {
        case (.string, .string):
            return nil
        case (.integer, .int):
            return nil
        case (.number, .int):
            return nil
        case (.number, .double(let d)):
            return d.isFinite ? nil : "not a finite number"
        case (.boolean, .bool):
            return nil
        case (.date, .string(let s)):
            return isDate(s) ? nil : "not a valid YYYY-MM-DD date"
        case (.dateTime, .string(let s)):
            return isUTCDateTime(s) ? nil : "not a valid UTC YYYY-MM-DDThh:mm:ss[.f]Z date-time"
        case (.enumeration(let options), .string(let s)):
            return options.contains(s) ? nil : "not one of the options \(options)"
        case (.list(let element), .array(let elements)):
            for e in elements {
                if let problem = violation(e, of: element) { return "element \(e): \(problem)" }
            }
            return nil
        default:
            return "a JSON \(value.typeName)"
        }
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// Decimal digits at `range` of `bytes`, as a number; nil if any is not a digit.
    static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var n = 0
        for b in bytes[range] {
            guard (0x30...0x39).contains(b) else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }

    /// `YYYY-MM-DD`, a day that exists in the (proleptic Gregorian) ISO 8601 calendar, years 1–9999.
    static func isDate(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let year = number(b, 0..<4), let month = number(b, 5..<7), let day = number(b, 8..<10), year >= 1
        else { return false }
        return DateComponents(calendar: calendar, year: year, month: month, day: day).isValidDate
    }

    /// `YYYY-MM-DDThh:mm:ss[.f]Z` in UTC: a valid date, a valid time, 1–9 fraction digits without
    /// trailing zeros.
    static func isUTCDateTime(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 20, b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            b.last == UInt8(ascii: "Z"), isDate(String(decoding: b[0..<10], as: UTF8.self)),
            let hour = number(b, 11..<13), let minute = number(b, 14..<16), let second = number(b, 17..<19),
            hour < 24, minute < 60, second < 60
        else { return false }
        if b.count == 20 { return true }
        let fraction = b[19..<(b.count - 1)]
        guard fraction.first == UInt8(ascii: "."), (2...10).contains(fraction.count), fraction.last != UInt8(ascii: "0"),
            number(b, 20..<(b.count - 1)) != nil
        else { return false }
        return true
    }
}
