import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Logging

extension RPCDispatcher {
    /// The dispatcher with every scimd method registered: one line per method, so a reader
    /// finds the handler of any method name in one hop.
    public static func scimd(service: SCIMDService, counters: TransportCounters, logger: Logger) -> RPCDispatcher {
        var d = RPCDispatcher(logger: logger)
        d.register(SystemHealth.self) { _ in
            .init(status: "ok", version: service.configuration.version, uptimeSeconds: service.uptimeSeconds())
        }
        d.register(SystemVersion.self) { _ in try service.version() }
        d.register(SystemStats.self) { _ in
            let own = await service.counters()
            return .init(
                uptimeSeconds: service.uptimeSeconds(), openSocketConnections: counters.openConnections,
                acceptedSocketConnections: counters.acceptedConnections, requestsServed: counters.requestsServed,
                scimConnections: own.scimConnections, scimRequests: own.scimRequests)
        }
        d.register(ConnectionsCreate.self) { try await service.createConnection($0) }
        d.register(ConnectionsList.self) { _ in .init(connections: try await service.listConnections()) }
        d.register(ConnectionsGet.self) { try await service.getConnection($0.id) }
        d.register(ConnectionsUpdate.self) { try await service.updateConnection($0) }
        d.register(ConnectionsDelete.self) { try await service.deleteConnection($0.id) }
        d.register(ConnectionsRotateToken.self) { try await service.rotateToken($0) }
        d.register(SCIMHandle.self) { await service.handleSCIM($0) }
        d.register(RequestsList.self) { try await service.listRequests($0) }
        d.register(RequestsGet.self) { try await service.getRequest($0.id) }
        // rpc.discover describes exactly what is registered above.
        let document = OpenRPCDocument.make(methods: d.methods + [RPCDiscover.self], version: service.configuration.version)
        d.register(RPCDiscover.self) { _ in document }
        return d
    }
}
