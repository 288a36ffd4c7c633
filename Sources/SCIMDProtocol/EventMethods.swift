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
