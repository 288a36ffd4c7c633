import SCIMDProtocol
import SCIMDService
import Testing

@testable import SCIMDDashboard

@Suite struct MappingEditTests {
    let mapping = MappingDefinition(properties: [
        MappingPropertyDefinition(name: "department", type: .named("string"), path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        MappingPropertyDefinition(name: "email", type: .named("string"), path: "emails[primary eq true].value", fallbackPaths: ["emails.value"], warnIfMissing: true),
    ])

    @Test func editsChangeOnlyWhatTheySay() throws {
        let added = try MappingEdit.addFallbackPath(property: "Department", path: "department").apply(to: mapping)
        #expect(added.properties[0].fallbackPaths == ["department"])
        #expect(added.properties[1] == mapping.properties[1])
        let removed = try MappingEdit.removeFallbackPath(property: "email", path: "emails.value").apply(to: mapping)
        #expect(removed.properties[1].fallbackPaths == nil)
        #expect(try MappingEdit.setWarnIfMissing(property: "department", true).apply(to: mapping).properties[0].warnIfMissing == true)
        #expect(try MappingEdit.removeProperty(property: "email").apply(to: mapping).properties.map(\.name) == ["department"])
        let withCost = try MappingEdit.addProperty(name: "costCenter", type: "string", path: "costCenter", warnIfMissing: true).apply(to: mapping)
        #expect(withCost.properties.last?.name == "costCenter" && withCost.properties.last?.warnIfMissing == true)
    }

    @Test func editsThatCannotMeanAnythingAreRefusedWithTheReason() {
        #expect(throws: MappingEdit.EditError("there is no property 'title' in this mapping")) {
            try MappingEdit.setWarnIfMissing(property: "title", true).apply(to: mapping)
        }
        #expect(throws: MappingEdit.EditError("'EMAILS.VALUE' is already one of email's paths")) {
            try MappingEdit.addFallbackPath(property: "email", path: "EMAILS.VALUE").apply(to: mapping)
        }
        #expect(throws: MappingEdit.EditError("'nope' is not a fallback path of email")) {
            try MappingEdit.removeFallbackPath(property: "email", path: "nope").apply(to: mapping)
        }
        #expect(throws: MappingEdit.EditError("there is already a property named 'EMAIL'")) {
            try MappingEdit.addProperty(name: "EMAIL", type: "string", path: "x", warnIfMissing: false).apply(to: mapping)
        }
        #expect(throws: MappingEdit.EditError("unknown mapping edit 'drop'")) { try MappingEdit(form: FormFields(encoded: "action=drop")) }
        #expect(throws: MappingEdit.EditError("the form is missing path")) {
            try MappingEdit(form: FormFields(encoded: "action=addFallbackPath&property=email&path=+"))
        }
    }

    @Test func formsDecodeLikeBrowsersEncodeThem() throws {
        let form = FormFields(encoded: "action=addFallbackPath&property=group&path=urn%3Aietf%3Aparams+x&empty=")
        #expect(try MappingEdit(form: form) == .addFallbackPath(property: "group", path: "urn:ietf:params x"))
        #expect(form["empty"] == "")
    }

    @Test func theDifferenceNamesEachChangedProperty() throws {
        let edited = try MappingEdit.addFallbackPath(property: "department", path: "department").apply(to: mapping)
        let difference = MappingDifference(from: mapping, to: try MappingEdit.removeProperty(property: "email").apply(to: edited))
        #expect(difference.removed == ["email"])
        #expect(difference.changed.map(\.property) == ["department"])
        #expect(difference.changed.first?.what == ["fallback path department added"])
        #expect(MappingDifference(from: mapping, to: mapping).isEmpty)
    }

    @Test func theDraftRoundTripsThroughItsHiddenField() throws {
        #expect(try MappingDefinition.fromDraft(mapping.jsonText()) == mapping)
        #expect(throws: MappingEdit.EditError.self) { try MappingDefinition.fromDraft(#"{"properties": 3}"#) }
    }
}

@Suite struct SessionStoreTests {
    @Test func sessionsEndWhenIdleOrOldAndTokensAreUnguessable() {
        let store = SessionStore(idleLifetime: .seconds(60), absoluteLifetime: .seconds(300))
        let start = ContinuousClock.now
        let (id, session) = store.start(operatorId: "op", now: start)
        #expect(id.count == 43 && session.csrfToken.count == 43 && id != session.csrfToken)
        #expect(store.session(id, now: start + .seconds(59)) != nil)
        #expect(store.session(id, now: start + .seconds(118)) != nil, "each use restarts the idle clock")
        #expect(store.session(id, now: start + .seconds(179)) == nil, "idle for more than a minute")
        let (old, _) = store.start(operatorId: "op", now: start)
        for minute in 1...5 { _ = store.session(old, now: start + .seconds(minute * 55)) }
        #expect(store.session(old, now: start + .seconds(301)) == nil, "older than the absolute lifetime")
        #expect(SessionStore.tokensEqual("abc", "abc") && !SessionStore.tokensEqual("abc", "abd") && !SessionStore.tokensEqual("abc", "ab"))
    }
}

@Suite struct RequestChartTests {
    @Test func barsScaleToTheBusiestHourAndErrorsShowInRed() {
        var hours = (0..<168).map { _ in RequestsInHour(hourStart: "", requests: 0, errors: 0) }
        hours[10] = RequestsInHour(hourStart: "", requests: 8, errors: 0)
        hours[167] = RequestsInHour(hourStart: "", requests: 4, errors: 2)
        let svg = RequestChart.svg(hours)
        #expect(svg.contains("aria-label=\"Requests per hour over the last 7 days: 12 in all, 2 with errors\""))
        #expect(svg.contains("<rect x=\"10\" y=\"0\" width=\"1\" height=\"32\" fill=\"#7c9cc9\"/>"))
        #expect(svg.contains("<rect x=\"167\" y=\"16\" width=\"1\" height=\"16\" fill=\"#7c9cc9\"/>"))
        #expect(svg.contains("<rect x=\"167\" y=\"24\" width=\"1\" height=\"8\" fill=\"#b3261e\"/>"))
        #expect(!RequestChart.svg(hours.map { _ in RequestsInHour(hourStart: "", requests: 0, errors: 0) }).contains("#7c9cc9"))
    }
}
