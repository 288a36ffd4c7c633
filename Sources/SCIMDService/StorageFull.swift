import SCIMDProtocol
import SCIMDStore
import SCIMModel

/// How a full disk reaches clients. The store refuses the write (nothing of it is applied) and logs
/// the episode once; callers get an answer that says what happened and when to retry, never an
/// internal error.
enum StorageFull {
    /// Seconds a client is asked to wait before retrying (`Retry-After`, `retryAfterSeconds`):
    /// freeing disk space takes an operator, so IdPs should not hammer the daemon meanwhile.
    static let retryAfterSeconds = 60

    /// SCIM's answer: 507 Insufficient Storage (RFC 4918 §11.5, the status WebDAV defined for
    /// exactly this) with `Retry-After`; IdPs retry 5xx answers.
    static func scimResponse() -> SCIMResponse {
        var response = SCIMResponse(
            error: SCIMError(
                status: 507, scimType: nil,
                detail: "scimd's storage is full: nothing of this request was applied; retry later"))
        response.headers["Retry-After"] = String(retryAfterSeconds)
        return response
    }
}

extension StorageFullError: RPCErrorConvertible {
    /// `storage_full` (-32010) with `details.retryAfterSeconds`.
    public var rpcError: RPCError {
        .storageFull(
            "scimd's storage is full: nothing of this call was applied; retry once disk space is freed",
            retryAfterSeconds: StorageFull.retryAfterSeconds)
    }
}
