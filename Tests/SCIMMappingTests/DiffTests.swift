import SCIMJSON
import SCIMMapping
import Testing

@Suite("Diff")
struct DiffTests {
    let missingEmail = PropertyIssue(property: "email", kind: .missing, detail: "no value at emails.value", pathsTried: ["emails.value"])
    let badAge = PropertyIssue(property: "age", kind: .typeMismatch, detail: "value 4.2 at age is not a whole number", pathsTried: ["age"], path: "age")

    @Test func identicalResultsHaveNoDiff() {
        let r = MappingResult(properties: ["a": 1, "b": "x"], issues: [missingEmail])
        let d = MappingDiff.diff(old: r, new: r)
        #expect(d.isEmpty)
        #expect(d == MappingDiff())
    }

    @Test func gainedLostChanged() {
        let old = MappingResult(properties: ["keep": 1, "change": "a", "lose": true])
        let new = MappingResult(properties: ["gain": [1, 2], "change": "b", "keep": 1.0])
        let d = MappingDiff.diff(old: old, new: new)
        #expect(d.gained == ["gain"])
        #expect(d.lost == ["lose"])
        #expect(d.changed == ["change"])
        #expect(d.changes == [
            PropertyChange(property: "gain", kind: .gained, old: nil, new: [1, 2]),
            PropertyChange(property: "change", kind: .changed, old: "a", new: "b"),
            PropertyChange(property: "lose", kind: .lost, old: true, new: nil),
        ])
        #expect(d.openedIssues.isEmpty && d.resolvedIssues.isEmpty)
        #expect(!d.isEmpty)
    }

    @Test func issuesOpenedAndResolvedByPropertyAndKind() {
        var stillMissing = missingEmail
        stillMissing.pathsTried.append("userName")  // a fallback was added but did not help
        stillMissing.detail = "no value at emails.value, userName"
        let old = MappingResult(properties: [:], issues: [missingEmail])
        let new = MappingResult(properties: [:], issues: [stillMissing, badAge])
        let d = MappingDiff.diff(old: old, new: new)
        #expect(d.openedIssues == [badAge])
        #expect(d.resolvedIssues.isEmpty)
        let back = MappingDiff.diff(old: new, new: old)
        #expect(back.resolvedIssues == [badAge])
        #expect(back.openedIssues.isEmpty)
    }

    @Test func kindChangeIsResolvedPlusOpened() {
        let mismatch = PropertyIssue(property: "email", kind: .typeMismatch, pathsTried: ["emails.value"], path: "emails.value")
        let d = MappingDiff.diff(old: MappingResult(issues: [missingEmail]), new: MappingResult(issues: [mismatch]))
        #expect(d.resolvedIssues == [missingEmail])
        #expect(d.openedIssues == [mismatch])
    }

    @Test func diffOfRealEvaluations() throws {
        let oldMapping = try compile([
            MappingProperty(name: "dept", path: "department", warnIfMissing: true),
            MappingProperty(name: "title", path: "title"),
        ])
        let newMapping = try compile([
            MappingProperty(name: "dept", path: "department", fallbackPaths: ["\(enterpriseURN):department"], warnIfMissing: true),
            MappingProperty(name: "title", path: "title", default: "Staff"),
        ])
        let user = object(entraUser)
        let d = MappingDiff.diff(old: oldMapping.evaluate(user), new: newMapping.evaluate(user))
        #expect(d.gained == ["dept", "title"])
        #expect(d.resolvedIssues.map(\.property) == ["dept"])
        #expect(d.changes.first?.new == "Facilities")
    }

    @Test func summary() {
        var s = MappingDiffSummary()
        s.add(MappingDiff.diff(old: MappingResult(issues: [missingEmail]), new: MappingResult(properties: ["email": "x"])))
        s.add(MappingDiff.diff(old: MappingResult(properties: ["email": "y"]), new: MappingResult(properties: ["email": "y"])))
        s.add(MappingDiff.diff(old: MappingResult(properties: ["email": "y"]), new: MappingResult(properties: ["email": "z"], issues: [badAge])))
        #expect(s.resources == 3)
        #expect(s.resourcesChanged == 2)
        #expect(s.gained == ["email": 1])
        #expect(s.changed == ["email": 1])
        #expect(s.lost.isEmpty)
        #expect(s.issuesResolved == ["email": 1])
        #expect(s.issuesOpened == ["age": 1])
    }
}
