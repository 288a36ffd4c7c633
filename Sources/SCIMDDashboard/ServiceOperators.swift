import SCIMDProtocol
import SCIMDService

/// The daemon's operators are the service's (`scimctl operators add`, stored in SQLite, kept in
/// memory; passwords checked against their scrypt hashes off the event loops).
extension SCIMDService: OperatorDirectory {
    public func authenticate(name: String, password: String) async -> DashboardOperator? {
        await authenticateOperator(name: name, password: password).map(DashboardOperator.init)
    }

    public nonisolated func currentOperator(id: String) -> DashboardOperator? {
        operatorInfo(id: id).map(DashboardOperator.init)
    }
}

extension DashboardOperator {
    init(_ info: OperatorInfo) {
        self.init(id: info.id, name: info.name, role: info.role == .admin ? .admin : .viewer, credentialStamp: info.passwordChangedAt)
    }
}
