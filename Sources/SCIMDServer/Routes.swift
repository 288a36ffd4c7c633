import SCIMDProtocol
import SCIMDService
import SCIMJSON
import Foundation
import Logging

extension RPCDispatcher {
    /// The dispatcher with every scimd method registered: one line per method, so a reader
    /// finds the handler of any method name in one hop.
    /// `health` answers `system.health` (by default a monitor that has not probed yet, which
    /// reports the store's own view of its writes).
    /// `metrics` counts and times every call and follows event-feed subscriptions.
    public static func scimd(
        service: SCIMDService, counters: TransportCounters, logger: Logger, health: HealthMonitor? = nil, accessLog: Bool = false,
        metrics: SCIMDMetrics? = nil
    ) -> RPCDispatcher {
        var d = RPCDispatcher(logger: logger, accessLog: accessLog, metrics: metrics)
        let monitor = health ?? HealthMonitor(service: service)
        d.registerSynchronous(SystemHealth.self) { _ in
            let checks = monitor.checks()
            return .init(
                status: checks.allSatisfy { $0.status == "ok" } ? "ok" : "degraded", version: service.configuration.version,
                uptimeSeconds: service.uptimeSeconds(), checks: checks)
        }
        d.registerSynchronous(SystemVersion.self) { _ in try service.version() }
        d.register(SystemBackup.self) { try await service.backup($0) }
        d.register(SystemStats.self) { _ in
            let own = await service.counters()
            let residency = service.memoryResidency()
            return .init(
                uptimeSeconds: service.uptimeSeconds(), openSocketConnections: counters.openConnections,
                acceptedSocketConnections: counters.acceptedConnections, requestsServed: counters.requestsServed,
                scimConnections: own.scimConnections, scimRequests: own.scimRequests,
                refusedConnections: counters.refusedConnections, residentConnections: residency.residentConnections,
                residentBytes: residency.residentBytes, memoryLimitBytes: residency.limitBytes)
        }
        d.register(ConnectionsCreate.self) { try await service.createConnection($0) }
        d.register(ConnectionsList.self) { _ in .init(connections: try await service.listConnections()) }
        d.register(ConnectionsGet.self) { try await service.getConnection($0.connection) }
        d.register(ConnectionsUpdate.self) { try await service.updateConnection($0) }
        d.register(ConnectionsDelete.self) { try await service.deleteConnection($0.connection) }
        d.register(ConnectionsRotateToken.self) { try await service.rotateToken($0) }
        // A GET an index serves is answered on the event loop that read it; anything else (and a
        // GET that would scan or wait for a load) in a task. The look at `method` spares a create
        // the decoding of its params twice.
        d.registerTryingSynchronously(
            SCIMHandle.self, when: { params in params?["method"]?.stringValue.map { $0.uppercased() == "GET" } ?? false },
            attempt: { service.handleSCIMImmediately($0) }, otherwise: { await service.handleSCIM($0) })
        d.register(RequestsList.self) { try await service.listRequests($0) }
        d.register(RequestsGet.self) { try await service.getRequest($0.id) }
        d.register(MappingGet.self) { try await service.getMapping($0.connection) }
        d.register(MappingSet.self) { try await service.setMapping($0) }
        d.register(MappingPreview.self) { try await service.previewMapping($0) }
        d.register(MappingHistory.self) { .init(versions: try await service.mappingHistory($0.connection)) }
        d.register(MappingRollback.self) { try await service.rollbackMapping($0) }
        d.register(MappingSuggest.self) { try await service.suggestMapping($0) }
        d.register(WarningsSummary.self) { .init(connections: try await service.warningsSummary($0.connection)) }
        d.register(WarningsList.self) { try await service.listWarnings($0) }
        d.register(UsersList.self) { try await service.listUsers($0) }
        d.register(UsersGet.self) { try await service.getUser($0) }
        d.register(GroupsList.self) { try await service.listGroups($0) }
        d.register(GroupsGet.self) { try await service.getGroup($0) }
        d.register(EventsList.self) { try await service.listEvents($0) }
        d.register(WebhooksAdd.self) { try await service.addWebhook($0) }
        d.register(WebhooksList.self) { try await service.listWebhooks($0) }
        d.register(WebhooksRemove.self) { try await service.removeWebhook($0) }
        d.register(WebhooksPause.self) { try await service.setWebhookPaused($0, paused: true) }
        d.register(WebhooksResume.self) { try await service.setWebhookPaused($0, paused: false) }
        d.register(WebhooksRotateSecret.self) { try await service.rotateWebhookSecret($0) }
        d.register(WebhooksDeliveries.self) { try await service.webhookDeliveries($0) }
        d.register(WebhooksRedeliver.self) { try await service.redeliverWebhookEvent($0) }
        d.register(OperatorsAdd.self) { try await service.addOperator($0) }
        d.register(OperatorsList.self) { _ in .init(operators: try await service.listOperators()) }
        d.register(OperatorsRemove.self) {
            try await service.removeOperator($0.name)
            return .init(removed: true)
        }
        d.register(OperatorsResetPassword.self) { try await service.resetOperatorPassword($0.name) }
        d.register(OperatorsSetRole.self) { try await service.setOperatorRole($0.name, role: $0.role) }
        d.register(SSOResolve.self) { try await service.resolveSSO($0) }
        d.register(UsersLink.self) { try await service.linkUser($0) }
        d.register(UsersUnlink.self) { try await service.unlinkUser($0) }
        d.register(SCIMCommit.self) { try await service.commitSCIM($0) }
        d.register(SCIMReject.self) { try await service.rejectSCIM($0) }
        d.registerStreaming(EventsSubscribe.self) { selection in
            let (connectionId, after) = try await service.prepareSubscription(selection)
            let subscription = UUID().uuidString.lowercased()
            let types = selection.types
            let stream = NotificationStream { send in
                let tracked = metrics?.subscriptionStarted(after: after)
                defer { if let tracked { metrics?.subscriptionEnded(tracked) } }
                var progress: (@Sendable (Int64) -> Void)? = nil
                if let metrics, let tracked {
                    progress = { readUpTo in metrics.subscriptionProgressed(tracked, readUpTo: readUpTo) }
                }
                try await service.streamEvents(
                    connectionId: connectionId, types: types, after: after,
                    // Encoded from the same types rpc.discover documents under x-notifications.
                    send: { event in
                        let params = EventsEventNotification.Params(subscription: subscription, event: event)
                        try await send(EventsEventNotification.name, try JSONParser().parse(bytes: try RPCCodec.encode(params)))
                    },
                    dropped: { resumeAfter in
                        let params = EventsDroppedNotification.Params(
                            subscription: subscription, reason: "subscriber fell too far behind the change feed",
                            resumeAfter: Int(resumeAfter))
                        try await send(EventsDroppedNotification.name, try JSONParser().parse(bytes: try RPCCodec.encode(params)))
                    },
                    progress: progress)
            }
            return (.init(subscription: subscription, after: Int(after)), stream)
        }
        // rpc.discover describes exactly what is registered above.
        // Built at the first `rpc.discover`, not before the daemon's first answer (about 30 ms).
        let methods = d.methods + [RPCDiscover.self]
        let version = service.configuration.version
        let document = ComputedOnce { OpenRPCDocument.make(methods: methods, version: version) }
        d.register(RPCDiscover.self) { _ in OpenRPCDocumentValue(document.value) }
        return d
    }
}
