import SCIMDProtocol
import SCIMJSON
import Testing

/// ``RPCMethod/normalizedParams(_:accepted:)``: the names a method accepts come from the schema
/// walk of its `Params`; old names are renamed; anything else is `invalid_params` naming it.
@Suite struct ParamNamesTests {
    @Test func acceptedNamesAreTheMembersParamsDecodesPlusTheDeprecatedOnes() {
        #expect(UsersList.acceptedParamNames == ["connection", "filter", "search", "withWarnings", "active", "limit", "cursor"])
        #expect(ConnectionsGet.acceptedParamNames == ["connection", "id"])
        #expect(UsersLink.acceptedParamNames == ["connection", "id", "appUserId", "user"])
        #expect(SystemVersion.acceptedParamNames.isEmpty)
    }

    @Test func anUnknownNameIsRefusedNamingIt() {
        #expect(throws: RPCError.invalidParams(
            "unknown param 'withWarning' for users.list (accepted: active, connection, cursor, filter, limit, search, withWarnings)",
            field: "withWarning")
        ) {
            try UsersList.normalizedParams(["connection": "Acme", "withWarning": true], accepted: UsersList.acceptedParamNames)
        }
        #expect(throws: RPCError.self) { try SystemVersion.normalizedParams(["x": 1], accepted: []) }
    }

    @Test func aDeprecatedNameIsRenamedAndBothAtOnceAreRefused() throws {
        let accepted = UsersLink.acceptedParamNames
        let renamed = try UsersLink.normalizedParams(["connection": "Acme", "user": "ada", "appUserId": "a1"], accepted: accepted)
        #expect(renamed == ["connection": "Acme", "id": "ada", "appUserId": "a1"])
        let current: JSONValue = ["connection": "Acme", "id": "ada", "appUserId": "a1"]
        #expect(try UsersLink.normalizedParams(current, accepted: accepted) == current)
        #expect(throws: RPCError.invalidParams("give 'id' or its deprecated name 'user', not both", field: "user")) {
            try UsersLink.normalizedParams(["connection": "Acme", "id": "ada", "user": "bob", "appUserId": "a1"], accepted: accepted)
        }
    }

    @Test func absentOrNonObjectParamsPassThroughForTheDecoderToJudge() throws {
        #expect(try UsersList.normalizedParams(nil, accepted: UsersList.acceptedParamNames) == nil)
        #expect(try UsersList.normalizedParams(["a"], accepted: UsersList.acceptedParamNames) == ["a"])
    }
}
