import SCIMJSON

/// One change-feed event.
public struct EventInfo: Codable, Sendable, Equatable {
    /// Monotonically increasing; resume with `after: sequence`.
    public var sequence: Int
    public var at: String
    /// `user.created|updated|deactivated|reactivated|deleted`, `group.created|updated|deleted`,
    /// `group.member_added|member_removed`, `warning.opened|resolved`, `mapping.changed`,
    /// `connection.created|updated|deleted|token_rotated`.
    public var type: String
    public var connection: String
    public var resourceType: String?
    public var resourceId: String?
    /// The resource's mapped view and the change's details (`mapped`, `userName`, `member`,
    /// `property`, `version`, …). Never secrets.
    public var data: JSONValue
    public init(sequence: Int, at: String, type: String, connection: String, resourceType: String?, resourceId: String?, data: JSONValue) {
        self.sequence = sequence
        self.at = at
        self.type = type
        self.connection = connection
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.data = data
    }
}

/// Which events a consumer wants.
public struct EventSelection: Codable, Sendable, Equatable {
    /// Only events after this sequence number (default 0: from the oldest retained).
    public var after: Int?
    /// Only this connection (id or name).
    public var connection: String?
    /// Only these types; an entry ending in `.*` selects a family (`user.*`).
    public var types: [String]?
    public init(after: Int? = nil, connection: String? = nil, types: [String]? = nil) {
        self.after = after
        self.connection = connection
        self.types = types
    }
}

/// `events.list`: the durable change feed, oldest first, from a sequence cursor.
/// Errors: `not_found` (connection), `invalid_params`.
public enum EventsList: RPCMethod {
    public static let name = "events.list"
    public static let summary = "Read the change feed after a sequence number (a consumer resumes exactly where it stopped)."
    public struct Params: Codable, Sendable, Equatable {
        public var after: Int?
        public var connection: String?
        public var types: [String]?
        /// 1…1000, default 100.
        public var limit: Int?
        public init(after: Int? = nil, connection: String? = nil, types: [String]? = nil, limit: Int? = nil) {
            self.after = after
            self.connection = connection
            self.types = types
            self.limit = limit
        }
    }
    public struct Result: Codable, Sendable, Equatable {
        public var events: [EventInfo]
        /// Pass as `after` to continue (the last sequence returned, or `after` when none was).
        public var nextAfter: Int
        /// The newest sequence number in the feed now.
        public var latestSequence: Int
        public init(events: [EventInfo], nextAfter: Int, latestSequence: Int) {
            self.events = events
            self.nextAfter = nextAfter
            self.latestSequence = latestSequence
        }
    }
}

/// `events.subscribe`: after answering, the daemon pushes `events.event` notifications on the same
/// socket connection — first the backlog after `after`, then live. A subscriber that falls too
/// far behind gets one `events.dropped` notification (`{"reason", "resumeAfter"}`) and no more;
/// it resumes with `events.list`. Errors: `not_found` (connection), `invalid_params`.
public enum EventsSubscribe: RPCMethod {
    public static let name = "events.subscribe"
    public static let summary = "Stream change-feed events as events.event notifications on this socket connection."
    public typealias Params = EventSelection
    public struct Result: Codable, Sendable, Equatable {
        /// Identifies this subscription's notifications (`params.subscription`).
        public var subscription: String
        /// Events after this sequence will be pushed.
        public var after: Int
        public init(subscription: String, after: Int) {
            self.subscription = subscription
            self.after = after
        }
    }
    /// Method name of the pushed notifications; params `{"subscription", "event": EventInfo}`.
    public static let eventNotification = "events.event"
    /// Method name of the final notification sent to a dropped subscriber; params `{"subscription", "reason", "resumeAfter"}`.
    public static let droppedNotification = "events.dropped"
}

/// `events.event`: one change-feed event pushed to an `events.subscribe` subscriber.
public enum EventsEventNotification: RPCNotification {
    public static let name = EventsSubscribe.eventNotification
    public static let summary = "One change-feed event, pushed to a subscriber (backlog first, then live)."
    public struct Params: Codable, Sendable, Equatable, JSONSchemaDocumented {
        /// The `subscription` `events.subscribe` answered with.
        public var subscription: String
        public var event: EventInfo
        public init(subscription: String, event: EventInfo) {
            self.subscription = subscription
            self.event = event
        }
        public static var fieldDocs: [String: FieldDoc] {
            [
                "subscription": FieldDoc("The subscription id events.subscribe answered with."),
                "event": FieldDoc("The event, as events.list returns it."),
            ]
        }
    }
}

/// `events.dropped`: the last notification a subscriber that fell too far behind gets.
public enum EventsDroppedNotification: RPCNotification {
    public static let name = EventsSubscribe.droppedNotification
    public static let summary = "Sent once to a subscriber that fell too far behind; nothing follows. Resume with events.list."
    public struct Params: Codable, Sendable, Equatable, JSONSchemaDocumented {
        public var subscription: String
        /// Why the subscription ended, for people.
        public var reason: String
        /// Pass as `after` to `events.list` to read on without a gap.
        public var resumeAfter: Int
        public init(subscription: String, reason: String, resumeAfter: Int) {
            self.subscription = subscription
            self.reason = reason
            self.resumeAfter = resumeAfter
        }
        public static var fieldDocs: [String: FieldDoc] {
            [
                "subscription": FieldDoc("The subscription id events.subscribe answered with."),
                "reason": FieldDoc("Why the subscription ended, for people."),
                "resumeAfter": FieldDoc("Pass as `after` to events.list to read on without a gap."),
            ]
        }
    }
}

/// The notifications the daemon pushes, as `rpc.discover` lists them under `x-notifications`.
public let allNotifications: [any RPCNotification.Type] = [EventsEventNotification.self, EventsDroppedNotification.self]

// MARK: - OpenRPC documentation

extension EventInfo: JSONSchemaDocumented {
    /// Every event type the feed carries.
    public static let types = [
        "user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted", "group.created", "group.updated", "group.deleted", "group.member_added", "group.member_removed",
        "warning.opened", "warning.resolved", "mapping.changed", "connection.created", "connection.updated", "connection.deleted",
        "connection.token_rotated",
    ]

    /// The members `data` holds, by event type. Never secrets.
    static let dataSchema: JSONValue = [
        "type": "object",
        "properties": [
            "userName": ["type": "string", "description": "user.*: the user's userName."],
            "displayName": ["type": "string", "description": "group.*: the group's displayName."],
            "version": ["type": ["string", "integer"], "description": "user.*, group.*: the resource's meta.version (a string); mapping.changed: the new mapping version (an integer)."],
            "member": ["type": "string", "description": "group.member_added, group.member_removed: the member's id."],
            "mapped": ["type": "object", "description": "user.*, group.*: the resource's mapped properties after the change."],
            "property": ["type": "string", "description": "warning.opened, warning.resolved: the mapped property."],
            "comment": ["type": ["string", "null"], "description": "mapping.changed: the change's comment."],
            "changedBy": [
                "type": "string",
                "description": "mapping.changed: who made the change (operator:NAME for a dashboard operator); absent for changes made over the socket.",
            ],
            "appUserId": ["type": ["string", "null"], "description": "user.updated by users.link / users.unlink: the application's id, null when unlinked."],
            "name": ["type": "string", "description": "connection.*: the connection's name."],
            "disabled": ["type": "boolean", "description": "connection.*: whether it is disabled."],
            "customerId": ["type": "string", "description": "connection.*: its customerId, when set."],
            "idp": ["type": "string", "description": "connection.*: its identity provider label, when set."],
            "overlapSeconds": ["type": "integer", "description": "connection.token_rotated: how long the previous token keeps working."],
        ],
    ]

    public static var fieldDocs: [String: FieldDoc] {
        [
            "sequence": FieldDoc("Monotonically increasing; resume with after: sequence."),
            "at": FieldDoc("When it happened (RFC 3339, UTC, milliseconds)."),
            "type": FieldDoc("What happened.", enum: types),
            "connection": FieldDoc("The connection's id."),
            "resourceType": FieldDoc("For user.*, group.* and warning.*: the kind of resource.", enum: ["User", "Group"]),
            "resourceId": FieldDoc("For user.*, group.* and warning.*: the resource's id."),
            "data": FieldDoc("The change's details; which members appear depends on type.", schema: dataSchema),
        ]
    }
}

extension EventSelection: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "after": FieldDoc("Only events after this sequence number (default 0: from the oldest retained)."),
            "connection": FieldDoc("Only this connection (id or name)."),
            "types": FieldDoc("Only these event types; an entry ending in .* selects a family (user.*)."),
        ]
    }
}

/// The event the `events.*` examples show.
private let exampleEvent: JSONValue = [
    "sequence": 3, "at": "2026-11-30T09:05:00.000Z", "type": "user.created", "connection": "0e9f5f0e-8f4c-4a6e-9a51-2f1d3c4b5a69",
    "resourceType": "User", "resourceId": "2819c223-7f76-453a-919d-413861904646",
    "data": ["userName": "ada@example.com", "version": "W/\"1\"", "mapped": ["userName": "ada@example.com", "active": true]],
]

extension EventsList {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var example: RPCExample? {
        RPCExample("users", "User events from the start of the feed, one at a time.", params: ["after": 0, "types": ["user.*"], "limit": 1],
            result: ["events": [exampleEvent], "nextAfter": 3, "latestSequence": 9])
    }
}
extension EventsList.Params: JSONSchemaDocumented {
    public static var fieldDocs: [String: FieldDoc] {
        [
            "after": FieldDoc("Only events after this sequence number (default 0: from the oldest retained)."),
            "connection": FieldDoc("Only this connection (id or name)."),
            "types": FieldDoc("Only these event types; an entry ending in .* selects a family (user.*)."),
            "limit": FieldDoc("Page size, 1…1000 (default 100)."),
        ]
    }
}

extension EventsSubscribe {
    public static var errors: [RPCErrorKind]? { [.notFound] }
    public static var methodDescription: String? {
        "After answering, the daemon pushes events.event notifications on the same socket connection (backlog after `after` first, then live); a subscriber that falls too far behind gets one events.dropped and no more. See x-notifications."
    }
    public static var example: RPCExample? {
        RPCExample("acme-users", "Follow the user events of one connection.", params: ["connection": "Acme", "types": ["user.*"]],
            result: ["subscription": "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "after": 0])
    }
}
