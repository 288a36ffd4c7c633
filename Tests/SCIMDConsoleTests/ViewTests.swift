import Foundation
import SCIMDConsole
import SCIMDProtocol
import SCIMJSON
import Testing

/// Golden output of the dashboard views: fixed clock, fixed width, no colour.
@Suite struct ViewTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21T14:13:20Z
    static let plain = ConsoleContext(now: now, width: 120, utc: false, style: Style(enabled: false))

    static func ago(_ seconds: Double) -> String {
        now.addingTimeInterval(-seconds).formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    static let connections = [
        ConnectionInfo(
            id: "c1", name: "Acme", customerId: "cus_1", idp: "Okta", disabled: false, createdAt: ago(86_400 * 3),
            updatedAt: ago(86_400), users: 12, activeUsers: 10, groups: 3, openWarnings: 2, resourcesWithWarnings: 1,
            requests24h: 40, errors24h: 1, lastRequestAt: ago(180), lastRequestStatus: 409),
        ConnectionInfo(
            id: "c2", name: "Globex", customerId: nil, idp: "Entra ID", disabled: true, createdAt: ago(3600), updatedAt: ago(3600)),
    ]

    @Test func dashboardGolden() {
        let expected = """
            CONNECTION         CUSTOMER  IDP       USERS ACTIVE/ALL  GROUPS  WARNINGS  ERRORS 24H  LAST REQUEST
            Acme               cus_1     Okta                 10/12       3         2           1  3 min ago (409)
            Globex (disabled)            Entra ID               0/0       0         0           0  never
            """
        #expect(Views.dashboard(Self.connections, Self.plain) == expected)
    }

    @Test func dashboardFitsANarrowTerminalWithEllipses() {
        var narrow = Self.plain
        narrow.width = 60
        let out = Views.dashboard(Self.connections, narrow)
        for line in out.split(separator: "\n") { #expect(line.count <= 60, "\(line)") }
        #expect(out.contains("…"))
    }

    @Test func colourOnlyWhenEnabled() {
        var coloured = Self.plain
        coloured.style = Style(enabled: true)
        let out = Views.dashboard(Self.connections, coloured)
        #expect(out.contains("\u{1B}[33m2\u{1B}[0m"))  // warnings stand out
        #expect(out.contains("\u{1B}[31m1\u{1B}[0m"))  // errors stand out
        #expect(!Views.dashboard(Self.connections, Self.plain).contains("\u{1B}"))
        // Escapes do not count towards column widths: the header line is the same either way.
        #expect(out.split(separator: "\n")[0] == Views.dashboard(Self.connections, Self.plain).split(separator: "\n")[0])
    }

    @Test func emptyDashboardSaysWhatToDo() {
        #expect(Views.dashboard([], Self.plain).contains("scimctl connections create"))
    }

    @Test func usersGoldenWithNextPageHint() {
        let page = UsersList.Result(
            users: [
                UserRow(id: "u1", userName: "ada@example.com", externalId: "x1", active: true, displayName: "Ada", warningCount: 1, updatedAt: Self.ago(30), appUserId: "app-9"),
                UserRow(id: "u2", userName: "bob@example.com", externalId: nil, active: false, displayName: nil, warningCount: 0, updatedAt: Self.ago(7200)),
            ], nextCursor: "123:u2")
        let expected = """
            USERNAME         DISPLAY NAME  ACTIVE  WARNINGS  EXTERNAL ID  APP USER  UPDATED   ID
            ada@example.com  Ada           yes            1  x1           app-9     30 s ago  u1
            bob@example.com                no             0                         2 h ago   u2
            More: scimctl users list Acme --cursor 123:u2
            """
        #expect(Views.users(page, nextCommand: "scimctl users list Acme", Self.plain) == expected)
    }

    @Test func utcShowsAbsoluteTimes() {
        var utc = Self.plain
        utc.utc = true
        let page = UsersList.Result(
            users: [UserRow(id: "u1", userName: "a", externalId: nil, active: true, displayName: nil, warningCount: 0, updatedAt: "2026-09-21T14:00:00.000Z")],
            nextCursor: nil)
        #expect(Views.users(page, nextCommand: "x", utc).contains("2026-09-21T14:00:00.000Z"))
    }

    @Test func userDetailSections() {
        let detail = ResourceDetail(
            resourceType: "User", id: "u1", name: "mgr@example.com",
            raw: #"{"userName":"mgr@example.com","group":"Managers"}"#, scim: ["id": "u1"], mapped: ["userName": "mgr@example.com"],
            mappingVersion: 2, related: [ResourceRef(id: "g1", resourceType: "Group", name: "Admins", active: nil)], relatedCount: 1,
            nextRelatedCursor: nil,
            warnings: [
                WarningInfo(
                    property: "group", kind: "missing", detail: "no value", firstSeenAt: Self.ago(600), lastSeenAt: Self.ago(600),
                    exampleRequest: ExampleRequest(id: 7, method: "POST", path: "/Users", at: Self.ago(600), status: 201, body: #"{"group":"Managers"}"#))
            ],
            recentRequests: [], createdAt: Self.ago(600), updatedAt: Self.ago(600))
        let expected = """
            User mgr@example.com  id u1
            created 10 min ago, updated 10 min ago

            Mapped properties (mapping version 2)
            PROPERTY  VALUE
            userName  mgr@example.com

            Open warnings (1)
              group: missing since 10 min ago — no value
                example request #7: POST /Users → 201, 10 min ago
                  {
                    "group": "Managers"
                  }

            Groups (1)
              Admins  g1

            Recent requests
              (none)

            Raw SCIM data (as stored)
            {
              "userName": "mgr@example.com",
              "group": "Managers"
            }
            """
        #expect(Views.resource(detail, Self.plain) == expected)
    }
}
