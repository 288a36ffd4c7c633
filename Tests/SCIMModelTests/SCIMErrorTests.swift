import SCIMJSON
import Testing
@testable import SCIMModel

@Suite struct SCIMErrorTests {
    @Test func bodyHasErrorSchemaStringStatusAndScimType() {
        let body = SCIMError.invalidFilter("bad filter").body
        #expect(body == json(#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}"#))
        // status is a JSON string, not a number (RFC 7644 §3.12 examples; Entra parses a string)
        #expect(body["status"] == .string("400"))
    }

    @Test func bodyOmitsScimTypeWhenNil() {
        let body = SCIMError.notFound("Resource 42 not found").body
        #expect(body["scimType"] == nil)
        #expect(body["status"] == .string("404"))
        #expect(body["detail"] == .string("Resource 42 not found"))
    }

    @Test(arguments: [
        (SCIMError.invalidFilter("x"), 400, "invalidFilter"), (SCIMError.invalidPath("x"), 400, "invalidPath"),
        (SCIMError.invalidValue("x"), 400, "invalidValue"), (SCIMError.invalidSyntax("x"), 400, "invalidSyntax"),
        (SCIMError.noTarget("x"), 400, "noTarget"), (SCIMError.mutability("x"), 400, "mutability"),
        (SCIMError.tooMany("x"), 400, "tooMany"), (SCIMError.uniqueness("x"), 409, "uniqueness"),
    ])
    func factories(error: SCIMError, status: Int, type: String) {
        #expect(error.status == status)
        #expect(error.scimType?.rawValue == type)
        #expect(error.body["status"] == .string(String(status)))
        #expect(error.body["scimType"] == .string(type))
    }

    @Test func statusOnlyFactories() {
        #expect(SCIMError.notFound("x").status == 404)
        #expect(SCIMError.preconditionFailed("x").status == 412)
        #expect(SCIMError.preconditionFailed("x").scimType == nil)
        #expect(SCIMError.unauthorized("x").status == 401)
    }

    @Test func descriptionNamesStatusTypeAndDetail() {
        #expect(SCIMError.mutability("id is readOnly").description == "400 mutability: id is readOnly")
        #expect(SCIMError.notFound("gone").description == "404: gone")
    }
}
