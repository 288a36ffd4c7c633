import PropertyBased
import SCIMJSON
import Testing
@testable import SCIMModel

/// Operations that succeed on `storedUser` and on anything they produce from it.
let validOperations: [String] = [
    #"{"op":"replace","path":"active","value":"False"}"#,
    #"{"op":"replace","value":{"active":true}}"#,
    #"{"op":"add","path":"nickName","value":"Nick"}"#,
    #"{"op":"remove","path":"nickName"}"#,
    #"{"op":"replace","path":"name.givenName","value":"Holly"}"#,
    #"{"op":"add","path":"emails","value":[{"value":"other@x","type":"other"}]}"#,
    #"{"op":"add","path":"emails","value":[{"value":"p@x","type":"other","primary":true}]}"#,
    #"{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x"}"#,
    #"{"op":"add","path":"emails[type eq \"work\"].primary","value":"true"}"#,
    #"{"op":"remove","path":"emails[type eq \"home\"]"}"#,
    #"{"op":"add","path":"phoneNumbers[type eq \"work\"].value","value":"+1"}"#,
    #"{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"D"}"#,
    #"{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}"#,
    #"{"op":"replace","value":{"title":"T","name.familyName":"F","urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User":{"c":"1"}}}"#,
    #"{"op":"add","path":"roles","value":[{"value":"r1"},{"value":"r2"}]}"#,
    #"{"op":"remove","path":"roles[value eq \"r1\"]"}"#,
    #"{"op":"remove","path":"roles","value":[{"value":"r2"}]}"#,
    #"{"op":"replace","path":"addresses[type eq \"work\"]","value":{"type":"work","locality":"Burbank"}}"#,
]

/// Operations that always fail, with the error type they must give.
let failingOperations: [(String, SCIMError.SCIMType)] = [
    (#"{"op":"replace","path":"id","value":"x"}"#, .mutability),
    (#"{"op":"remove","value":{"displayName":"x"}}"#, .noTarget),
    (#"{"op":"replace","path":"active","value":"sometimes"}"#, .invalidValue),
    (#"{"op":"replace","path":"emails[value co \"@nowhere\"].value","value":"x"}"#, .noTarget),
    (#"{"op":"remove","path":"userName"}"#, .invalidValue),
]

@Suite struct PatchPropertyTests {
    @Test func requestWhoseLastOperationFailsChangesNothing() async {
        await propertyCheck(
            count: 200, input: Gen.int(in: 0...(validOperations.count - 1)).array(of: 0...8), Gen.int(in: 0...(failingOperations.count - 1))
        ) { indices, failing in
            let input = storedUser
            let (bad, type) = failingOperations[failing]
            let operations = "[" + (indices.map { validOperations[$0] } + [bad]).joined(separator: ",") + "]"
            let error = patchError(input, operations)
            #expect(error?.scimType == type, "\(operations)")
            // The last operation is named, except for a missing required attribute, which is
            // detected on the result.
            if !bad.contains("userName") { #expect(error?.detail.hasPrefix("operation \(indices.count + 1) ") == true) }
            #expect(input == storedUser)
        }
    }

    @Test func applyingOneByOneEqualsApplyingTogether() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...(validOperations.count - 1)).array(of: 1...10)) { indices in
            let together = try? applyPatch(storedUser, "[" + indices.map { validOperations[$0] }.joined(separator: ",") + "]")
            var stepwise: JSONObject? = storedUser
            for i in indices {
                stepwise = stepwise.flatMap { try? applyPatch($0, "[" + validOperations[i] + "]") }
            }
            #expect(together != nil)
            #expect(together == stepwise, "\(indices)")
        }
    }

    @Test func resultIsAlwaysNormalizedAndHasOnePrimaryEmail() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...(validOperations.count - 1)).array(of: 1...10)) { indices in
            guard let result = try? applyPatch(storedUser, "[" + indices.map { validOperations[$0] }.joined(separator: ",") + "]") else {
                Issue.record("valid operations failed: \(indices)")
                return
            }
            #expect((try? SCIMResource.normalizeAttributes(result, resourceType: .user)) == result)
            let primaries = result["emails"]?.arrayValue?.filter { $0["primary"] == true }.count ?? 0
            #expect(primaries <= 1, "\(indices): \(result["emails"] ?? .null)")
        }
    }
}
