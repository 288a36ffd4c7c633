import SCIMDProtocol
import SCIMJSON

/// One typed call per RPC method, with the client's default timeout (for another, use
/// ``SCIMDClient/call(_:_:timeout:)`` with the method's type). Each throws `RPCError` (with the
/// daemon's `kind`), ``SCIMDClientError``, or `CancellationError`.
///
/// The mapping methods pass `MappingInfo` and `MappingChange` through unchanged: when those become
/// typed values in `SCIMDProtocol`, these wrappers need no change of their own.
extension SCIMDClient {
    /// `system.health`.
    public func health() async throws -> SystemHealth.Result { try await call(SystemHealth.self, Empty()) }
    /// `system.version`.
    public func version() async throws -> SystemVersion.Result { try await call(SystemVersion.self, Empty()) }
    /// `system.backup`: a consistent copy of the database at `path` (absolute, as scimd sees it).
    public func backup(to path: String) async throws -> SystemBackup.Result { try await call(SystemBackup.self, .init(path: path)) }
    /// `system.stats`.
    public func stats() async throws -> SystemStats.Result { try await call(SystemStats.self, Empty()) }
    /// `rpc.discover`: the OpenRPC document.
    public func discover() async throws -> JSONValue { try await call(RPCDiscover.self, Empty()) }

    /// `connections.create`: returns the connection and its token (shown only this once).
    public func createConnection(name: String, customerId: String? = nil, idp: String? = nil) async throws -> ConnectionWithToken {
        try await call(ConnectionsCreate.self, .init(name: name, customerId: customerId, idp: idp))
    }
    /// `connections.list`.
    public func listConnections() async throws -> [ConnectionInfo] {
        try await call(ConnectionsList.self, Empty()).connections
    }
    /// `connections.get` by id or name.
    public func connection(_ idOrName: String) async throws -> ConnectionInfo {
        try await call(ConnectionsGet.self, .init(id: idOrName))
    }
    /// `connections.update`.
    public func updateConnection(_ params: ConnectionsUpdate.Params) async throws -> ConnectionInfo {
        try await call(ConnectionsUpdate.self, params)
    }
    /// `connections.delete`.
    public func deleteConnection(_ idOrName: String) async throws -> ConnectionsDelete.Result {
        try await call(ConnectionsDelete.self, .init(id: idOrName))
    }
    /// `connections.rotateToken`.
    public func rotateToken(_ idOrName: String, overlapSeconds: Int? = nil) async throws -> ConnectionWithToken {
        try await call(ConnectionsRotateToken.self, .init(id: idOrName, overlapSeconds: overlapSeconds))
    }

    /// `scim.handle`: one SCIM HTTP request through the daemon.
    public func handleSCIM(
        method: String, path: String, headers: [String: String] = [:], body: String? = nil, connection: String? = nil
    ) async throws -> SCIMHandle.Result {
        try await call(SCIMHandle.self, .init(method: method, path: path, headers: headers, body: body, connection: connection))
    }
    /// `requests.list`.
    public func listRequests(_ params: RequestsList.Params) async throws -> RequestsList.Result {
        try await call(RequestsList.self, params)
    }
    /// `requests.get`.
    public func request(id: Int) async throws -> RequestDetail {
        try await call(RequestsGet.self, .init(id: id))
    }

    /// `mapping.get`.
    public func mapping(_ connection: String) async throws -> MappingInfo {
        try await call(MappingGet.self, .init(connection: connection))
    }
    /// `mapping.set`.
    public func setMapping(_ change: MappingChange) async throws -> MappingSet.Result {
        try await call(MappingSet.self, change)
    }
    /// `mapping.preview`.
    public func previewMapping(_ change: MappingChange) async throws -> RemapSummary {
        try await call(MappingPreview.self, change)
    }
    /// `mapping.history`.
    public func mappingHistory(_ connection: String) async throws -> [MappingInfo] {
        try await call(MappingHistory.self, .init(connection: connection)).versions
    }
    /// `mapping.rollback`.
    public func rollbackMapping(_ connection: String, to version: Int) async throws -> MappingSet.Result {
        try await call(MappingRollback.self, .init(connection: connection, version: version))
    }
    /// `mapping.suggest`.
    public func suggestMapping(_ connection: String, property: String, resourceType: String? = nil) async throws -> MappingSuggest.Result {
        try await call(MappingSuggest.self, .init(connection: connection, property: property, resourceType: resourceType))
    }
    /// `warnings.summary`.
    public func warningsSummary(_ connection: String? = nil) async throws -> [WarningSummary] {
        try await call(WarningsSummary.self, .init(connection: connection)).connections
    }
    /// `warnings.list`.
    public func listWarnings(_ params: WarningsList.Params) async throws -> WarningsList.Result {
        try await call(WarningsList.self, params)
    }

    /// `users.list`.
    public func listUsers(_ params: UsersList.Params) async throws -> UsersList.Result {
        try await call(UsersList.self, params)
    }
    /// `users.get` by id or userName.
    public func user(_ connection: String, _ id: String) async throws -> ResourceDetail {
        try await call(UsersGet.self, .init(connection: connection, id: id))
    }
    /// `groups.list`.
    public func listGroups(_ params: GroupsList.Params) async throws -> GroupsList.Result {
        try await call(GroupsList.self, params)
    }
    /// `groups.get` by id or displayName.
    public func group(_ params: GroupsGet.Params) async throws -> ResourceDetail {
        try await call(GroupsGet.self, params)
    }

    /// `events.list`.
    public func listEvents(_ params: EventsList.Params) async throws -> EventsList.Result {
        try await call(EventsList.self, params)
    }

    /// `sso.resolve`.
    public func resolveSSO(_ params: SSOResolve.Params) async throws -> SSOResolve.Result {
        try await call(SSOResolve.self, params)
    }
    /// `users.link`.
    public func linkUser(_ connection: String, user: String, appUserId: String) async throws -> LinkResult {
        try await call(UsersLink.self, .init(connection: connection, user: user, appUserId: appUserId))
    }
    /// `users.unlink`.
    public func unlinkUser(_ connection: String, user: String) async throws -> LinkResult {
        try await call(UsersUnlink.self, .init(connection: connection, user: user))
    }
    /// `scim.commit`.
    public func commitSCIM(_ commitId: String, appUserId: String? = nil) async throws -> SCIMHandle.Result {
        try await call(SCIMCommit.self, .init(commitId: commitId, appUserId: appUserId))
    }
    /// `scim.reject`.
    public func rejectSCIM(_ commitId: String, reason: String) async throws -> SCIMHandle.Result {
        try await call(SCIMReject.self, .init(commitId: commitId, reason: reason))
    }
}
