import SCIMJSON
import SCIMMapping
import SCIMModel
import Testing

/// Parses a JSON object literal (test input); fails the test on bad JSON.
func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JSONObject {
    do {
        let value = try JSONValue(parsing: text)
        guard case .object(let o) = value else {
            Issue.record("not an object: \(text)", sourceLocation: sourceLocation)
            return JSONObject()
        }
        return o
    } catch {
        Issue.record("bad JSON \(error): \(text)", sourceLocation: sourceLocation)
        return JSONObject()
    }
}

/// Compiles a mapping that must be valid.
func compile(_ properties: [MappingProperty], _ type: SCIMResourceType = .user,
             sourceLocation: SourceLocation = #_sourceLocation) throws -> CompiledMapping {
    do {
        return try CompiledMapping(Mapping(properties: properties), resourceType: type)
    } catch {
        Issue.record("mapping should be valid: \(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Compiles a mapping that must be invalid and returns the error.
func compileError(_ properties: [MappingProperty], _ type: SCIMResourceType = .user,
                  sourceLocation: SourceLocation = #_sourceLocation) -> MappingError? {
    do {
        _ = try CompiledMapping(Mapping(properties: properties), resourceType: type)
        Issue.record("mapping should be invalid", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Evaluates a one-property mapping (`p` of `type` at path `v`, warnIfMissing) on `{"v": value}`.
func coerce(_ type: PropertyType, _ value: JSONValue) throws -> (value: JSONValue?, issue: PropertyIssue?) {
    let mapping = try compile([MappingProperty(name: "p", type: type, path: "v", warnIfMissing: true)])
    let result = mapping.evaluate(JSONObject([(key: "v", value: value)]))
    return (result.properties["p"], result.issues.first)
}

let enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// Realistic payloads, as the IdPs send them (from the shared IdP fixtures), plus the id/meta
// scimd adds when storing.

let oktaUser = """
    {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"marisol.quenby@example.com",
     "name":{"givenName":"Marisol","familyName":"Quenby"},
     "emails":[{"primary":true,"value":"marisol.quenby@example.com","type":"work"}],
     "displayName":"Marisol Quenby","locale":"en-US","externalId":"00u7rq2mzkQx5TbW80h7","groups":[],
     "active":true,"id":"7f1c","meta":{"resourceType":"User","created":"2024-05-01T10:00:00Z"}}
    """

let entraUser = """
    {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
     "externalId":"8d4b2e6f-1a3c-4f7e-b905-62c1d8a4e0f3","userName":"Test_User_5e81c0d4@example.com","active":true,
     "emails":[{"primary":true,"type":"work","value":"Test_User_a73f2b19@example.com"}],
     "meta":{"resourceType":"User"},
     "name":{"formatted":"Wilhelmina Achterberg","familyName":"Achterberg","givenName":"Wilhelmina"},
     "roles":[],"phoneNumbers":null,
     "addresses":[{"type":"work","streetAddress":"12 Quarry Lane","locality":"Millbrook","region":"OR","postalCode":"97035","formatted":null,"country":null}],
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Facilities","manager":null},
     "id":"a1b2"}
    """

/// Entra user with a work and a home email and no primary flag, no displayName, no active.
let entraUserNoPrimary = """
    {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
     "userName":"rosalind.okafor@example.com","externalId":"rokafor","nickName":"Rosie",
     "name":{"familyName":"Okafor","givenName":"Rosalind"},
     "emails":[{"type":"home","value":"r.okafor.home@example.net"},{"type":"work","value":"rosalind.okafor@example.com"}],
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"480212","department":"Harbour Logistics"},
     "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User":{"CustomAttribute":"480212"}}
    """
