import SCIMJSON

/// Schema URNs and definitions (RFC 7643 §4, §8.7) and the discovery documents served at
/// `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` (RFC 7644 §4).
public enum SCIMSchemas {
    /// Core User schema (RFC 7643 §4.1).
    public static let userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
    /// Core Group schema (RFC 7643 §4.2).
    public static let groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
    /// Enterprise User extension (RFC 7643 §4.3).
    public static let enterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    /// Schema of the `/Schemas` documents (RFC 7643 §7).
    public static let schemaURN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
    /// Schema of the `/ResourceTypes` documents (RFC 7643 §6).
    public static let resourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    /// Schema of the `/ServiceProviderConfig` document (RFC 7643 §5).
    public static let serviceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    /// PATCH request message (RFC 7644 §3.5.2).
    public static let patchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    /// Query response message (RFC 7644 §3.4.2).
    public static let listResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    /// Error response message (RFC 7644 §3.12).
    public static let errorURN = "urn:ietf:params:scim:api:messages:2.0:Error"
    /// POST `/.search` request message (RFC 7644 §3.4.3).
    public static let searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    /// Bulk request message (RFC 7644 §3.7); scimd does not support bulk.
    public static let bulkRequestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
    /// Bulk response message (RFC 7644 §3.7).
    public static let bulkResponseURN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

    /// Schema URNs that name a whole schema even though they do not end in `<version>:<Name>`
    /// or look like `URN:attribute` (see ``AttributePath``).
    static let knownSchemaURNs: [String] = [
        userURN, groupURN, enterpriseUserURN, schemaURN, resourceTypeURN, serviceProviderConfigURN,
        patchOpURN, listResponseURN, errorURN, searchRequestURN, bulkRequestURN, bulkResponseURN,
        "urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0",
    ]

    // MARK: Attribute definitions

    /// The attribute definition `path` refers to: the sub-attribute's when the path has one,
    /// else the attribute's. Knows the RFC 7643 §3.1 common attributes (`id`, `externalId`,
    /// `meta`), `schemas`, the core User or Group attributes, and (for User) the enterprise
    /// extension, addressed with its URN prefix or as a whole by its URN. A core URN prefix
    /// is accepted. `nil` for anything else (unknown and custom extension attributes), which
    /// callers treat as a case-insensitive string without constraints.
    public static func definition(of path: AttributePath, resourceType: SCIMResourceType) -> AttributeDefinition? {
        guard let attribute = attributeDefinition(of: path, resourceType: resourceType) else { return nil }
        guard let sub = path.subAttribute else { return attribute }
        return attribute.subAttribute(named: sub)
    }

    /// The definition of the attribute part of `path`, ignoring its sub-attribute.
    static func attributeDefinition(of path: AttributePath, resourceType: SCIMResourceType) -> AttributeDefinition? {
        if let urn = path.schemaURN {
            if urn.caseInsensitiveEquals(resourceType.coreSchemaURN) {
                return topLevelDefinition(named: path.attribute, resourceType: resourceType)
            }
            if resourceType == .user, urn.caseInsensitiveEquals(enterpriseUserURN) {
                return lookup(path.attribute, in: enterpriseUserAttributes)
            }
            return nil
        }
        if resourceType == .user, path.attribute.caseInsensitiveEquals(enterpriseUserURN) {
            return enterpriseExtensionDefinition
        }
        return topLevelDefinition(named: path.attribute, resourceType: resourceType)
    }

    static func lookup(_ name: String, in attributes: [AttributeDefinition]) -> AttributeDefinition? {
        attributes.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// The attribute of ``topLevelAttributes(_:)`` named `name`, ignoring case: the same answer as
    /// ``lookup(_:in:)`` over that list, from a table keyed by the folded name. Every member of
    /// every resource written is looked up here; the scan of the 20-odd definitions, name by name,
    /// was a third of a create's schema normalization (perf, batched creates).
    public static func topLevelDefinition(named name: String, resourceType: SCIMResourceType) -> AttributeDefinition? {
        let table = resourceType == .user ? userTopLevelByFoldedName : groupTopLevelByFoldedName
        return table[foldedName(name)]
    }

    /// `name` lowercased, without building a new string when it already is (ASCII, no capitals).
    /// Lowercasing is what ``Swift/String/caseInsensitiveEquals(_:)`` falls back to for non-ASCII
    /// text, so a table keyed by folded names agrees with it.
    static func foldedName(_ name: String) -> String {
        for byte in name.utf8 where byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) { return name.lowercased() }
        return name
    }

    static func byFoldedName(_ attributes: [AttributeDefinition]) -> [String: AttributeDefinition] {
        Dictionary(attributes.map { (foldedName($0.name), $0) }, uniquingKeysWith: { first, _ in first })
    }

    static let userTopLevelByFoldedName = byFoldedName(userTopLevel)
    static let groupTopLevelByFoldedName = byFoldedName(groupTopLevel)

    /// Every attribute that can appear at the top level of a resource of this type:
    /// `schemas`, the common attributes and the core schema's.
    public static func topLevelAttributes(_ resourceType: SCIMResourceType) -> [AttributeDefinition] {
        switch resourceType {
        case .user: return userTopLevel
        case .group: return groupTopLevel
        }
    }

    /// The core schema's own attributes (as listed at `/Schemas`).
    public static func coreAttributes(_ resourceType: SCIMResourceType) -> [AttributeDefinition] {
        switch resourceType {
        case .user: return userAttributes
        case .group: return groupAttributes
        }
    }

    /// The schema extensions a resource type declares (RFC 7643 §6 `schemaExtensions`).
    public static func extensionURNs(_ resourceType: SCIMResourceType) -> [String] {
        resourceType == .user ? [enterpriseUserURN] : []
    }

    /// The definitions of a known extension's attributes, by URN (ignoring case).
    public static func extensionAttributes(_ urn: String, resourceType: SCIMResourceType) -> [AttributeDefinition]? {
        if resourceType == .user, urn.caseInsensitiveEquals(enterpriseUserURN) { return enterpriseUserAttributes }
        return nil
    }

    static let userTopLevel: [AttributeDefinition] = [schemasAttribute] + commonAttributes + userAttributes
    static let groupTopLevel: [AttributeDefinition] = [schemasAttribute] + commonAttributes + groupAttributes

    static let enterpriseExtensionDefinition = AttributeDefinition(
        name: enterpriseUserURN, type: .complex, description: "Enterprise User extension (RFC 7643 §4.3).",
        subAttributes: enterpriseUserAttributes)

    /// `schemas` (RFC 7643 §3): compared case-insensitively so `schemas eq "urn:…"` works however
    /// the client spelled the URN.
    static let schemasAttribute = AttributeDefinition(
        name: "schemas", type: .reference, multiValued: true,
        description: "The schema URIs that define the attributes present in the resource.",
        required: true, caseExact: false, referenceTypes: ["uri"], returned: .always)

    /// RFC 7643 §3.1 common attributes.
    static let commonAttributes: [AttributeDefinition] = [
        AttributeDefinition(
            name: "id", type: .string, description: "Unique, stable identifier of the resource, assigned by the service provider.",
            caseExact: true, mutability: .readOnly, returned: .always, uniqueness: .server),
        AttributeDefinition(
            name: "externalId", type: .string, description: "Identifier of the resource as defined by the provisioning client.",
            caseExact: true),
        AttributeDefinition(
            name: "meta", type: .complex, description: "Resource metadata maintained by the service provider.",
            mutability: .readOnly,
            subAttributes: [
                AttributeDefinition(name: "resourceType", type: .string, description: "Name of the resource type.", caseExact: true, mutability: .readOnly),
                AttributeDefinition(name: "created", type: .dateTime, description: "When the resource was added to the service provider.", mutability: .readOnly),
                AttributeDefinition(name: "lastModified", type: .dateTime, description: "When the resource was last updated.", mutability: .readOnly),
                AttributeDefinition(name: "location", type: .reference, description: "URI of the resource.", caseExact: true, referenceTypes: ["uri"], mutability: .readOnly),
                AttributeDefinition(name: "version", type: .string, description: "Version (ETag) of the resource.", caseExact: true, mutability: .readOnly),
            ]),
    ]

    /// `value`/`display`/`type`/`primary`, the sub-attributes RFC 7643 §2.4 gives multi-valued attributes.
    static func multiValuedSubAttributes(
        value: AttributeDefinition, typeValues: [String], typeDescription: String
    ) -> [AttributeDefinition] {
        [
            value,
            AttributeDefinition(name: "display", type: .string, description: "A human-readable name, primarily used for display purposes."),
            AttributeDefinition(name: "type", type: .string, description: typeDescription, canonicalValues: typeValues),
            AttributeDefinition(name: "primary", type: .boolean, description: "Whether this is the primary or preferred value; at most one value may be primary."),
        ]
    }

    static func string(_ name: String, _ description: String, required: Bool = false, caseExact: Bool = false) -> AttributeDefinition {
        AttributeDefinition(name: name, type: .string, description: description, required: required, caseExact: caseExact)
    }

    /// RFC 7643 §4.1 / §8.7.1 User attributes.
    static let userAttributes: [AttributeDefinition] = [
        AttributeDefinition(
            name: "userName", type: .string,
            description: "Unique identifier for the User, typically used to sign in. Each User must have a non-empty userName, unique across the service provider's Users. REQUIRED.",
            required: true, uniqueness: .server),
        AttributeDefinition(
            name: "name", type: .complex, description: "The components of the user's real name.",
            subAttributes: [
                string("formatted", "The full name, formatted for display, including titles and suffixes."),
                string("familyName", "The family name (last name in most Western languages)."),
                string("givenName", "The given name (first name in most Western languages)."),
                string("middleName", "The middle name(s)."),
                string("honorificPrefix", "Honorific prefix(es) or title, e.g. 'Ms.'."),
                string("honorificSuffix", "Honorific suffix(es), e.g. 'III'."),
            ]),
        string("displayName", "The name of the User, suitable for display to end-users."),
        string("nickName", "The casual way to address the user."),
        AttributeDefinition(name: "profileUrl", type: .reference, description: "A fully qualified URL of the User's online profile.", referenceTypes: ["external"]),
        string("title", "The user's title, such as 'Vice President'."),
        string("userType", "The relationship between the organization and the user, e.g. 'Employee' or 'Contractor'."),
        string("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language format)."),
        string("locale", "The user's default location for localizing items such as currency and dates (e.g. 'en-US')."),
        string("timezone", "The User's time zone in IANA Time Zone database format, e.g. 'America/Los_Angeles'."),
        AttributeDefinition(name: "active", type: .boolean, description: "The User's administrative status."),
        AttributeDefinition(
            name: "password", type: .string, description: "The User's cleartext password. Write-only: never returned, and scimd does not store it.",
            mutability: .writeOnly, returned: .never),
        AttributeDefinition(
            name: "emails", type: .complex, multiValued: true, description: "Email addresses for the user.",
            subAttributes: multiValuedSubAttributes(
                value: string("value", "Email address, canonicalized per RFC 5321."), typeValues: ["work", "home", "other"],
                typeDescription: "A label indicating the email's function, e.g. 'work' or 'home'.")),
        AttributeDefinition(
            name: "phoneNumbers", type: .complex, multiValued: true, description: "Phone numbers for the User.",
            subAttributes: multiValuedSubAttributes(
                value: string("value", "Phone number, canonicalized per RFC 3966."),
                typeValues: ["work", "home", "mobile", "fax", "pager", "other"],
                typeDescription: "A label indicating the phone number's function, e.g. 'work', 'home', 'mobile'.")),
        AttributeDefinition(
            name: "ims", type: .complex, multiValued: true, description: "Instant messaging addresses for the User.",
            subAttributes: multiValuedSubAttributes(
                value: string("value", "Instant messaging address."),
                typeValues: ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                typeDescription: "A label indicating the IM service, e.g. 'aim', 'gtalk', 'xmpp'.")),
        AttributeDefinition(
            name: "photos", type: .complex, multiValued: true, description: "URLs of photos of the User.",
            subAttributes: multiValuedSubAttributes(
                value: AttributeDefinition(name: "value", type: .reference, description: "URL of a photo of the User.", referenceTypes: ["external"]),
                typeValues: ["photo", "thumbnail"], typeDescription: "A label indicating the photo's function, 'photo' or 'thumbnail'.")),
        AttributeDefinition(
            name: "addresses", type: .complex, multiValued: true, description: "A physical mailing address for this User.",
            subAttributes: [
                string("formatted", "The full mailing address, formatted for display or use with a mailing label."),
                string("streetAddress", "The full street address component: house number, street name, P.O. box, etc."),
                string("locality", "The city or locality component."),
                string("region", "The state or region component."),
                string("postalCode", "The zip code or postal code component."),
                string("country", "The country name component (ISO 3166-1 alpha-2 code)."),
                AttributeDefinition(name: "type", type: .string, description: "A label indicating the address's function, e.g. 'work' or 'home'.", canonicalValues: ["work", "home", "other"]),
                AttributeDefinition(name: "primary", type: .boolean, description: "Whether this is the primary mailing address; at most one address may be primary."),
            ]),
        AttributeDefinition(
            name: "groups", type: .complex, multiValued: true,
            description: "The groups the user belongs to, directly or indirectly. Read-only: derived from Group membership.",
            mutability: .readOnly,
            subAttributes: [
                AttributeDefinition(name: "value", type: .string, description: "The identifier of the User's group.", mutability: .readOnly),
                AttributeDefinition(name: "$ref", type: .reference, description: "The URI of the corresponding Group resource.", referenceTypes: ["User", "Group"], mutability: .readOnly),
                AttributeDefinition(name: "display", type: .string, description: "A human-readable name, primarily used for display purposes.", mutability: .readOnly),
                AttributeDefinition(name: "type", type: .string, description: "How the membership came about, 'direct' or 'indirect'.", canonicalValues: ["direct", "indirect"], mutability: .readOnly),
            ]),
        AttributeDefinition(
            name: "entitlements", type: .complex, multiValued: true, description: "A list of entitlements for the User.",
            subAttributes: multiValuedSubAttributes(value: string("value", "The value of an entitlement."), typeValues: [], typeDescription: "A label indicating the entitlement's function.")),
        AttributeDefinition(
            name: "roles", type: .complex, multiValued: true, description: "A list of roles for the User.",
            subAttributes: multiValuedSubAttributes(value: string("value", "The value of a role."), typeValues: [], typeDescription: "A label indicating the role's function.")),
        AttributeDefinition(
            name: "x509Certificates", type: .complex, multiValued: true, description: "A list of certificates issued to the User.",
            subAttributes: multiValuedSubAttributes(
                value: AttributeDefinition(name: "value", type: .binary, description: "The value of an X.509 certificate (base64 DER)."),
                typeValues: [], typeDescription: "A label indicating the certificate's function.")),
    ]

    /// RFC 7643 §4.2 / §8.7.1 Group attributes. `displayName` is required here (the RFC's schema
    /// says optional) because scimd identifies groups by it and every identity provider sends it.
    static let groupAttributes: [AttributeDefinition] = [
        AttributeDefinition(name: "displayName", type: .string, description: "A human-readable name for the Group. REQUIRED.", required: true),
        AttributeDefinition(
            name: "members", type: .complex, multiValued: true, description: "A list of members of the Group.",
            subAttributes: [
                AttributeDefinition(name: "value", type: .string, description: "Identifier of the member of this Group.", mutability: .immutable),
                AttributeDefinition(name: "$ref", type: .reference, description: "The URI of the corresponding member resource.", referenceTypes: ["User", "Group"], mutability: .immutable),
                AttributeDefinition(name: "display", type: .string, description: "A human-readable name for the member, primarily used for display purposes."),
                AttributeDefinition(name: "type", type: .string, description: "The type of the member, 'User' or 'Group'.", canonicalValues: ["User", "Group"], mutability: .immutable),
            ]),
    ]

    /// RFC 7643 §4.3 Enterprise User extension attributes.
    static let enterpriseUserAttributes: [AttributeDefinition] = [
        string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person by the organization."),
        string("costCenter", "Identifies the name of a cost center."),
        string("organization", "Identifies the name of an organization."),
        string("division", "Identifies the name of a division."),
        string("department", "Identifies the name of a department."),
        AttributeDefinition(
            name: "manager", type: .complex, description: "The User's manager.",
            subAttributes: [
                AttributeDefinition(name: "value", type: .string, description: "The id of the SCIM resource representing the User's manager."),
                AttributeDefinition(name: "$ref", type: .reference, description: "The URI of the SCIM resource representing the User's manager.", referenceTypes: ["User"]),
                AttributeDefinition(name: "displayName", type: .string, description: "The displayName of the User's manager.", mutability: .readOnly),
            ]),
    ]

    // MARK: Discovery documents

    static func trimmedBase(_ baseURL: String) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// The RFC 7643 §7 / §8.7.1 schema representations of User, Enterprise User and Group, each
    /// with `meta.resourceType` `Schema` and `meta.location` `<baseURL>/Schemas/<urn>`.
    public static func schemaDocuments(baseURL: String) -> [JSONValue] {
        let base = trimmedBase(baseURL)
        func document(_ id: String, _ name: String, _ description: String, _ attributes: [AttributeDefinition]) -> JSONValue {
            [
                "schemas": [.string(schemaURN)], "id": .string(id), "name": .string(name), "description": .string(description),
                "attributes": .array(attributes.map(\.document)),
                "meta": ["resourceType": "Schema", "location": .string("\(base)/Schemas/\(id)")],
            ]
        }
        return [
            document(userURN, "User", "User Account", userAttributes),
            document(enterpriseUserURN, "EnterpriseUser", "Enterprise User", enterpriseUserAttributes),
            document(groupURN, "Group", "Group", groupAttributes),
        ]
    }

    /// The RFC 7643 §6 / §8.6 resource type representations of User (with the optional
    /// Enterprise User extension) and Group.
    public static func resourceTypeDocuments(baseURL: String) -> [JSONValue] {
        let base = trimmedBase(baseURL)
        return [
            [
                "schemas": [.string(resourceTypeURN)], "id": "User", "name": "User", "endpoint": "/Users",
                "description": "User Account", "schema": .string(userURN),
                "schemaExtensions": [["schema": .string(enterpriseUserURN), "required": false]],
                "meta": ["resourceType": "ResourceType", "location": .string("\(base)/ResourceTypes/User")],
            ],
            [
                "schemas": [.string(resourceTypeURN)], "id": "Group", "name": "Group", "endpoint": "/Groups",
                "description": "Group", "schema": .string(groupURN), "schemaExtensions": [],
                "meta": ["resourceType": "ResourceType", "location": .string("\(base)/ResourceTypes/Group")],
            ],
        ]
    }

    /// The RFC 7643 §5 service provider configuration: PATCH, filtering (up to `maxResults`),
    /// sorting and ETags supported; bulk and password change not supported; OAuth bearer token
    /// authentication. `maxOperations`/`maxPayloadSize` are reported in the (required) `bulk`
    /// member, which is how RFC 7643 §5 carries them, although bulk itself is unsupported.
    public static func serviceProviderConfig(baseURL: String, maxResults: Int, maxOperations: Int, maxPayloadSize: Int) -> JSONValue {
        let base = trimmedBase(baseURL)
        return [
            "schemas": [.string(serviceProviderConfigURN)],
            "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
            "patch": ["supported": true],
            "bulk": ["supported": false, "maxOperations": .int(maxOperations), "maxPayloadSize": .int(maxPayloadSize)],
            "filter": ["supported": true, "maxResults": .int(maxResults)],
            "changePassword": ["supported": false],
            "sort": ["supported": true],
            "etag": ["supported": true],
            "authenticationSchemes": [
                [
                    "type": "oauthbearertoken", "name": "OAuth Bearer Token",
                    "description": "Authentication with a bearer token in the Authorization header (RFC 6750).",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750", "primary": true,
                ]
            ],
            "meta": ["resourceType": "ServiceProviderConfig", "location": .string("\(base)/ServiceProviderConfig")],
        ]
    }
}
