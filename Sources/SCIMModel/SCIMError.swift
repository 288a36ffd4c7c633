import SCIMJSON

/// An error a SCIM service provider reports to the client (RFC 7644 §3.12).
///
/// Every failure in this module is one of these, so the HTTP layer can answer with the right
/// status and `scimType` without interpreting anything: identity providers log and react to
/// `scimType` (Entra retries some, Okta shows the `detail`), so it must be the RFC's keyword.
public struct SCIMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The RFC 7644 §3.12 Table 9 `scimType` keyword. Open (`RawRepresentable`) rather than an
    /// enum so that a keyword some future RFC or provider adds can still be carried.
    public struct SCIMType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The keyword as it appears in the error body.
        public var rawValue: String
        /// Wraps a keyword (use the static constants for the RFC's).
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The keyword.
        public var description: String { rawValue }

        /// The filter syntax was invalid or an operator was used on a type it does not apply to.
        public static let invalidFilter = SCIMType(rawValue: "invalidFilter")
        /// The filter matched more results than the service provider will return.
        public static let tooMany = SCIMType(rawValue: "tooMany")
        /// A value is already in use where it must be unique (409).
        public static let uniqueness = SCIMType(rawValue: "uniqueness")
        /// The attempted change is not compatible with the attribute's mutability (e.g. readOnly).
        public static let mutability = SCIMType(rawValue: "mutability")
        /// The request body was not parsable or violated the message schema.
        public static let invalidSyntax = SCIMType(rawValue: "invalidSyntax")
        /// The `path` attribute was invalid or malformed.
        public static let invalidPath = SCIMType(rawValue: "invalidPath")
        /// The `path` did not yield an attribute or value that could be operated on.
        public static let noTarget = SCIMType(rawValue: "noTarget")
        /// A required value was missing or a value was not compatible with the attribute type.
        public static let invalidValue = SCIMType(rawValue: "invalidValue")
        /// The specified SCIM protocol version is not supported.
        public static let invalidVers = SCIMType(rawValue: "invalidVers")
        /// The request cannot be completed because it would reveal sensitive data (e.g. in a URL).
        public static let sensitive = SCIMType(rawValue: "sensitive")
    }

    /// The HTTP status code.
    public var status: Int
    /// The RFC 7644 §3.12 keyword; `nil` for errors that have none (404, 412, 401, 500 …).
    public var scimType: SCIMType?
    /// A human-readable explanation, shown by identity providers in their logs.
    public var detail: String

    /// Creates an error; prefer the factories (``invalidFilter(_:)`` …), which pair status and type as RFC 7644 §3.12 does.
    public init(status: Int, scimType: SCIMType?, detail: String) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
    }

    /// 400 `invalidFilter`.
    public static func invalidFilter(_ detail: String) -> SCIMError { .init(status: 400, scimType: .invalidFilter, detail: detail) }
    /// 400 `invalidPath`.
    public static func invalidPath(_ detail: String) -> SCIMError { .init(status: 400, scimType: .invalidPath, detail: detail) }
    /// 400 `invalidValue`.
    public static func invalidValue(_ detail: String) -> SCIMError { .init(status: 400, scimType: .invalidValue, detail: detail) }
    /// 400 `invalidSyntax`.
    public static func invalidSyntax(_ detail: String) -> SCIMError { .init(status: 400, scimType: .invalidSyntax, detail: detail) }
    /// 400 `noTarget`.
    public static func noTarget(_ detail: String) -> SCIMError { .init(status: 400, scimType: .noTarget, detail: detail) }
    /// 400 `mutability`.
    public static func mutability(_ detail: String) -> SCIMError { .init(status: 400, scimType: .mutability, detail: detail) }
    /// 400 `tooMany`.
    public static func tooMany(_ detail: String) -> SCIMError { .init(status: 400, scimType: .tooMany, detail: detail) }
    /// 400 `invalidVers`.
    public static func invalidVers(_ detail: String) -> SCIMError { .init(status: 400, scimType: .invalidVers, detail: detail) }
    /// 400 `sensitive`.
    public static func sensitive(_ detail: String) -> SCIMError { .init(status: 400, scimType: .sensitive, detail: detail) }
    /// 409 `uniqueness`.
    public static func uniqueness(_ detail: String) -> SCIMError { .init(status: 409, scimType: .uniqueness, detail: detail) }
    /// 404 without `scimType` (RFC 7644 §3.12: "Specified resource ... does not exist").
    public static func notFound(_ detail: String) -> SCIMError { .init(status: 404, scimType: nil, detail: detail) }
    /// 412 without `scimType` (RFC 7644 §3.14: `If-Match` did not match the current ETag).
    public static func preconditionFailed(_ detail: String) -> SCIMError { .init(status: 412, scimType: nil, detail: detail) }
    /// 401 without `scimType` (authorization failure, RFC 7644 §3.12).
    public static func unauthorized(_ detail: String) -> SCIMError { .init(status: 401, scimType: nil, detail: detail) }
    /// 403 without `scimType` (operation not permitted for this client, RFC 7644 §3.12).
    public static func forbidden(_ detail: String) -> SCIMError { .init(status: 403, scimType: nil, detail: detail) }
    /// 409 without `scimType` (e.g. a version conflict, RFC 7644 §3.12).
    public static func conflict(_ detail: String) -> SCIMError { .init(status: 409, scimType: nil, detail: detail) }
    /// 413 without `scimType` (request body larger than the advertised maximum, RFC 7644 §3.12).
    public static func payloadTooLarge(_ detail: String) -> SCIMError { .init(status: 413, scimType: nil, detail: detail) }
    /// 500 without `scimType`.
    public static func internalError(_ detail: String) -> SCIMError { .init(status: 500, scimType: nil, detail: detail) }
    /// 501 without `scimType` (operation not supported, e.g. /Bulk, RFC 7644 §3.12).
    public static func notImplemented(_ detail: String) -> SCIMError { .init(status: 501, scimType: nil, detail: detail) }

    /// The RFC 7644 §3.12 error response body:
    /// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"…"}`.
    /// `status` is a JSON **string** as the RFC's examples show (identity providers such as Entra
    /// parse it as one); `scimType` is omitted when `nil`.
    public var body: JSONValue {
        var object: JSONObject = ["schemas": [.string(SCIMSchemas.errorURN)], "status": .string(String(status))]
        if let scimType { object["scimType"] = .string(scimType.rawValue) }
        object["detail"] = .string(detail)
        return .object(object)
    }

    /// `"<status> <scimType>: <detail>"`, for logs.
    public var description: String {
        if let scimType { return "\(status) \(scimType.rawValue): \(detail)" }
        return "\(status): \(detail)"
    }
}

/// The SCIM resource types scimd serves (RFC 7643 §4: `User` and `Group`). The raw value is the
/// resource type name used in `meta.resourceType` and at `/ResourceTypes`.
public enum SCIMResourceType: String, Sendable, Hashable, CaseIterable {
    case user = "User"
    case group = "Group"

    /// The core schema URN of this resource type (RFC 7643 §8.7.1).
    public var coreSchemaURN: String {
        switch self {
        case .user: return SCIMSchemas.userURN
        case .group: return SCIMSchemas.groupURN
        }
    }

    /// The endpoint path relative to the SCIM base URL (`/Users`, `/Groups`), RFC 7644 §3.2.
    public var endpoint: String {
        switch self {
        case .user: return "/Users"
        case .group: return "/Groups"
        }
    }
}
