import SCIMDProtocol
import Testing
@testable import SCIMDService

/// The typed event and change kinds against what `rpc.discover` documents.
@Suite struct EventTypeTests {
    /// `EventInfo.types` is what clients see (and what `events.*` checks `types` against): the
    /// service's enum must hold exactly those names, in the same order.
    @Test func everyDocumentedTypeIsAnEventTypeAndNothingElse() {
        #expect(EventType.allCases.map(\.rawValue) == EventInfo.types)
    }

    /// Each change a SCIM write makes names an event type; the pairs no write makes have none.
    @Test func resourceChangesNameTheirEventTypes() {
        for kind in ResourceChangeKind.allCases {
            let user = EventType(resourceType: "User", change: kind.rawValue)
            let group = EventType(resourceType: "Group", change: kind.rawValue)
            switch kind {
            case .memberAdded, .memberRemoved:
                #expect(user == nil)
                #expect(group?.rawValue == "group.\(kind.rawValue)")
            case .deactivated, .reactivated:
                #expect(user?.rawValue == "user.\(kind.rawValue)")
                #expect(group == nil)
            case .created, .updated, .deleted:
                #expect(user?.rawValue == "user.\(kind.rawValue)")
                #expect(group?.rawValue == "group.\(kind.rawValue)")
            }
        }
    }
}
