import SCIMDProtocol
import SCIMJSON
import Testing

/// The `operators.*` wire forms: roles as strings, documented and typed in the schema walk.
@Suite struct OperatorProtocolTests {
    static let info = OperatorInfo(
        id: "5d0c1a8e-3f7b-4c2e-9a61-0b8e7d4f2c13", name: "dana.ops", role: .admin, createdAt: "2026-11-30T09:00:00.000Z",
        passwordChangedAt: "2026-11-30T09:00:00.000Z")

    @Test func rolesTravelAsStrings() throws {
        #expect(String(decoding: try RPCCodec.encode(Self.info), as: UTF8.self)
            == #"{"id":"5d0c1a8e-3f7b-4c2e-9a61-0b8e7d4f2c13","name":"dana.ops","role":"admin","createdAt":"2026-11-30T09:00:00.000Z","passwordChangedAt":"2026-11-30T09:00:00.000Z"}"#)
        let decoded = try RPCCodec.decode(OperatorInfo.self, from: try JSONParser().parse(bytes: try RPCCodec.encode(Self.info)))
        #expect(decoded == Self.info)
        #expect(try RPCCodec.decode(OperatorsSetRole.Params.self, from: ["name": "x", "role": "viewer"]).role == .viewer)
        #expect(OperatorRole.allCases.map(\.rawValue) == ["viewer", "admin"])
        let withPassword = OperatorWithPassword(operator: Self.info, password: "Hq7vKcT9mWzR4xPbN2sE")
        let json = try JSONParser().parse(bytes: try RPCCodec.encode(withPassword))
        #expect(json.objectValue?.keys == ["operator", "password"])
        #expect(json["operator"]?["role"] == "admin")
    }

    @Test func theSchemaWalkTypesTheRoleAndTheParams() {
        let add = JSONSchemaGenerator.schema(for: OperatorsAdd.Params.self)
        #expect(add["properties"]?["role"]?["enum"] == ["viewer", "admin"])
        #expect(add["properties"]?["role"]?["description"]?.stringValue?.isEmpty == false)
        #expect(add["required"] == ["name"], "role is optional (viewer)")
        let setRole = JSONSchemaGenerator.schema(for: OperatorsSetRole.Params.self)
        #expect(Set(setRole["required"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["name", "role"])
        #expect(OperatorsAdd.acceptedParamNames == ["name", "role"])
        #expect(OperatorsRemove.acceptedParamNames == ["name"])
        #expect(OperatorsResetPassword.acceptedParamNames == ["name"])
        #expect(OperatorsList.acceptedParamNames.isEmpty)
        let info = JSONSchemaGenerator.schema(for: OperatorInfo.self)
        #expect(Set(info["properties"]?.objectValue?.keys ?? []) == ["id", "name", "role", "createdAt", "passwordChangedAt"])
        #expect(info["properties"]?["role"]?["enum"] == ["viewer", "admin"])
    }
}
