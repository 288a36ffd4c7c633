import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import SCIMDProtocol
import SCIMDStore
import SCIMJSON
import SCIMMapping
import SCIMModel

// Re-mapping a connection (`mapping.set`, `mapping.rollback`, `mapping.preview`): every stored
// resource evaluated under a new mapping, from memory and on every core, and only the rows whose
// mapped values, warnings or mapping version change written, in transactions of a batch each.
//
// A resource is evaluated from the replica's snapshot, outside any transaction (parsing the JSON
// and evaluating the mapping are most of a re-map's CPU). Its transaction then reads the row
// again and uses that evaluation only if the row is still exactly the one evaluated; a row
// changed meanwhile (a SCIM write, `users.link`, a group's role re-map) is evaluated again, there,
// from what the transaction sees. So the result is what the old one-transaction-per-batch loop
// gave, and a concurrent write is never overwritten with a stale evaluation.

/// One resource evaluated under a mapping: what its row would become.
///
/// A class, and immutable: an evaluation is handed from the parallel slices to the batch, to
/// the transaction and to the summary, and as a struct each hand-over copied a whole
/// `ResourceRecord` and `MappingResult` (a dozen strings and arrays retained and released):
/// 8.6% of a re-map's evaluation under perf (100k users, a mapping that changes nothing).
final class RemapEvaluation: Sendable {
    /// The row evaluated, as it was committed when read.
    let record: ResourceRecord
    /// `userName` (Users) or `displayName` (Groups), from the resource's JSON.
    let name: String?
    /// The mapping's result for the resource.
    let new: MappingResult
    /// From the row's stored result (its mapped properties and open warnings) to `new`.
    let diff: MappingDiff
    /// The row already holds `new`: the same mapped values and the same warnings, details
    /// included. A re-map does not write it (``SCIMDService/writeRemap(_:records:evaluations:connectionId:type:mapping:now:)``).
    let holdsResult: Bool

    init(record: ResourceRecord, name: String?, new: MappingResult, diff: MappingDiff, holdsResult: Bool) {
        self.record = record
        self.name = name
        self.new = new
        self.diff = diff
        self.holdsResult = holdsResult
    }
}

extension SCIMDService {
    /// Resources per transaction of a re-map: other writers' transactions interleave between them.
    static let remapBatchSize = 2_000

    /// Passes over the connection after the first that look for rows a write still mapping with
    /// the previous version committed meanwhile (see `remap`).
    static let remapCatchUpPasses = 3

    /// Re-evaluates every stored resource of a connection under `mapping`; with `write`, stores
    /// mapped properties and warnings (and the `…updated` and `warning.*` events). A row already
    /// mapped by a newer version is left alone (a later `mapping.set` owns it). Throws the
    /// database's error; batches committed before it stay (each is a whole transaction, and the
    /// next `mapping.set` or a write of the resource maps what was left).
    func remap(connectionId: String, with mapping: ActiveMapping, write: Bool) async throws -> RemapSummary {
        let started = ContinuousClock.now
        var summary = MappingDiffSummary()
        var examples: [RemapExample] = []
        let now = clock.now()
        let snapshot = try await store.resources(connectionId)
        // Whether every resource was looked at under `mapping`: each type's passes ended with
        // nothing left to catch up (not with the pass limit).
        var complete = true
        for type in SCIMResourceType.allCases {
            let table = snapshot.table(type.rawValue)
            var pending: [ReplicaResource] = []
            pending.reserveCapacity(table.count)
            table.forEach {
                pending.append($0)
                return true
            }
            var pass = 0
            // What the pending rows are evaluated against (their warnings, memberships): the
            // snapshot they were taken from.
            var source = snapshot
            while !pending.isEmpty {
                // In primary-key order: `resource` is a WITHOUT ROWID table stored by (connection,
                // type, id), so a batch of neighbouring ids rewrites a few hundred neighbouring
                // pages, where a batch in creation order (random UUIDs) dirtied a page per row and
                // every commit wrote most of the table again (a re-map of 100k users took 14.9 s in
                // creation order, 5.9 s in id order).
                pending.sort { $0.record.id < $1.record.id }
                // Batch k+1 is evaluated while batch k is written: the evaluation uses the cores,
                // the transaction mostly SQLite's writer thread and the disk.
                let batches = stride(from: 0, to: pending.count, by: Self.remapBatchSize).map {
                    Array(pending[$0..<min(pending.count, $0 + Self.remapBatchSize)])
                }
                let resources = source
                var prepared: RemapBatch? = nil
                for (index, batch) in batches.enumerated() {
                    let ready: RemapBatch
                    if let prepared {
                        ready = prepared
                    } else {
                        ready = try await Self.prepare(batch, in: resources, type: type, mapping: mapping, write: write)
                    }
                    async let following =
                        index + 1 < batches.count
                        ? Self.prepare(batches[index + 1], in: resources, type: type, mapping: mapping, write: write) : nil
                    let evaluated =
                        write
                        ? try await commit(ready, connectionId: connectionId, type: type, mapping: mapping, now: now)
                        : ready.evaluations.compactMap { $0 }
                    prepared = try await following
                    for evaluation in evaluated {
                        // A row of a later pass counts once: only if the first pass did not see it.
                        if pass > 0 && table.resource(id: evaluation.record.id) != nil { continue }
                        summary.add(evaluation.diff)
                        if !evaluation.diff.isEmpty && examples.count < 5 { examples.append(Self.example(evaluation, type: type)) }
                    }
                }
                // `mapping` was installed before the snapshot was taken, so every write that
                // began after it maps with it; a write that began before, with the previous
                // version, may have committed after the snapshot. Catch those up from memory:
                // the rows that are not the very object the pass looked at (a row this re-map
                // left as it was keeps its object, and its older `mappingVersion`) and that a
                // write mapped with an older version.
                guard write else { break }
                guard pass < Self.remapCatchUpPasses else {
                    complete = false
                    break
                }
                pass += 1
                let looked = source.table(type.rawValue)
                source = try await store.resources(connectionId)
                pending = []
                source.table(type.rawValue).forEach { resource in
                    if (resource.record.mappingVersion ?? Int.min) < mapping.version && looked.resource(id: resource.record.id) !== resource {
                        pending.append(resource)
                    }
                    return true
                }
            }
        }
        if write && complete {
            // From here on every row counts as mapped with this version (`remappedAt`). A re-map
            // that failed or was cut short leaves it unset, and the rows it did not write keep
            // saying the older version they were last mapped with.
            try await store.write { db in try db.markRemapped(connectionId: connectionId, version: mapping.version, at: now) }
        }
        let elapsed = ContinuousClock.now - started
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        if write {
            logger.info(
                "re-mapped connection",
                metadata: ["connection": "\(connectionId)", "resources": "\(summary.resources)", "ms": "\(Int(ms))"])
        }
        return RemapSummary(
            resources: summary.resources, resourcesChanged: summary.resourcesChanged, gained: summary.gained,
            lost: summary.lost, changed: summary.changed, warningsOpened: summary.issuesOpened,
            warningsResolved: summary.issuesResolved, examples: examples, elapsedMilliseconds: ms)
    }

    /// A batch of a re-map ready for its transaction: each row as read (nil: a newer mapping
    /// version owns it, leave it) and its evaluation (nil: evaluate it in the transaction).
    struct RemapBatch: Sendable {
        var records: [ResourceRecord?]
        var evaluations: [RemapEvaluation?]
    }

    /// Evaluates a batch from memory, on every core; a result that depends on memberships is left
    /// to the transaction when writing, since a membership can change without touching the row,
    /// so the row's check in the transaction would not see it.
    static func prepare(
        _ batch: [ReplicaResource], in snapshot: ConnectionResources, type: SCIMResourceType, mapping: ActiveMapping, write: Bool
    ) async throws -> RemapBatch {
        if write && (type == .user ? mapping.dependsOnGroups : mapping.groupsReadMembers) {
            return RemapBatch(records: batch.map(\.record), evaluations: Array(repeating: nil, count: batch.count))
        }
        let evaluations = try await ReplicaScans.run { evaluateInParallel(batch, in: snapshot, type: type, mapping: mapping) }
        return RemapBatch(records: evaluations.map { $0?.record }, evaluations: evaluations)
    }

    /// Writes a prepared batch in one transaction (``writeRemap(_:records:evaluations:connectionId:type:mapping:now:)``),
    /// except the rows evaluated from memory as already holding their result: nothing is
    /// written for them, so there is no stale evaluation to guard against, and they need no
    /// look at the row in the transaction. (A write that changed such a row meanwhile mapped
    /// it with `mapping`, or with an older version that the catch-up pass finds.) A batch
    /// that changes nothing opens no transaction.
    private func commit(
        _ batch: RemapBatch, connectionId: String, type: SCIMResourceType, mapping: ActiveMapping, now: Milliseconds
    ) async throws -> [RemapEvaluation] {
        var held: [RemapEvaluation] = []
        var records: [ResourceRecord?] = []
        var evaluations: [RemapEvaluation?] = []
        for (record, evaluation) in zip(batch.records, batch.evaluations) {
            if let evaluation, evaluation.holdsResult {
                held.append(evaluation)
            } else {
                records.append(record)
                evaluations.append(evaluation)
            }
        }
        guard records.contains(where: { $0 != nil }) else { return held }
        let toWrite = records, evaluated = evaluations
        return try await store.write { db in
            try Self.writeRemap(
                db, records: toWrite, evaluations: evaluated, connectionId: connectionId, type: type, mapping: mapping, now: now)
        } + held
    }

    /// The batch evaluated in one slice per core; nil for a row a newer mapping version owns.
    static func evaluateInParallel(
        _ batch: [ReplicaResource], in snapshot: ConnectionResources, type: SCIMResourceType, mapping: ActiveMapping
    ) -> [RemapEvaluation?] {
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, batch.count / 256))
        let results = NIOLockedValueBox([[RemapEvaluation?]](repeating: [], count: slices))
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let range = (batch.count * slice / slices)..<(batch.count * (slice + 1) / slices)
            let mapping = slices > 1 ? mapping.compiledAgain() : mapping
            let evaluated = range.map { evaluation(of: batch[$0], in: snapshot, type: type, mapping: mapping) }
            results.withLockedValue { $0[slice] = evaluated }
        }
        return results.withLockedValue { $0 }.flatMap { $0 }
    }

    /// A resource of the replica evaluated under `mapping`, against its stored result; nil when a
    /// newer mapping version owns the row.
    static func evaluation(
        of resource: ReplicaResource, in snapshot: ConnectionResources, type: SCIMResourceType, mapping: ActiveMapping
    ) -> RemapEvaluation? {
        let record = resource.record
        if let version = record.mappingVersion, version > mapping.version { return nil }
        let properties = record.mapped.flatMap { try? JSONParser().parse($0).objectValue } ?? JSONObject()
        let issues =
            record.warningCount > 0
            ? snapshot.table(record.resourceType).warnings.warnings(of: record.id).map {
                PropertyIssue(property: $0.property, kind: PropertyIssue.Kind(rawValue: $0.kind) ?? .missing, detail: $0.detail)
            } : []
        let groups = type == .user && mapping.dependsOnGroups ? snapshot.memberOf(userId: record.id) : []
        let members = type == .group && mapping.groupsReadMembers ? snapshot.memberValues(groupId: record.id) : []
        return evaluation(
            of: record, raw: resource.object(keepingMembersIn: mapping.inputMembers(for: type)),
            stored: MappingResult(properties: properties, issues: issues), type: type,
            mapping: mapping, groups: groups, members: members)
    }

    /// A row as the transaction sees it evaluated under `mapping`; nil when a newer mapping
    /// version owns it. `groupsByUser`: the batch's users' groups, when the mapping reads them.
    static func evaluation(
        _ db: StoreReader, of record: ResourceRecord, type: SCIMResourceType, mapping: ActiveMapping, groupsByUser: [String: [MemberOf]]
    ) throws -> RemapEvaluation? {
        if let version = record.mappingVersion, version > mapping.version { return nil }
        let members =
            type == .group && mapping.groupsReadMembers ? try groupMembers(db, connectionId: record.connectionId, groupId: record.id) : []
        return evaluation(
            of: record, raw: try JSONParser().parse(record.raw).objectValue ?? JSONObject(), stored: try storedResult(db, record),
            type: type, mapping: mapping, groups: groupsByUser[record.id] ?? [], members: members)
    }

    static func evaluation(
        of record: ResourceRecord, raw: JSONObject, stored: MappingResult, type: SCIMResourceType, mapping: ActiveMapping,
        groups: [MemberOf], members: [JSONValue]
    ) -> RemapEvaluation {
        let new = mapping.evaluate(raw: raw, id: record.id, type: type, groups: groups, members: members)
        let diff = MappingDiff.diff(old: stored, new: new)
        return RemapEvaluation(
            record: record, name: raw[caseInsensitive: type == .user ? "userName" : "displayName"]?.stringValue, new: new,
            diff: diff, holdsResult: diff.isEmpty && Self.sameDetails(stored.issues, new.issues))
    }

    /// Whether two lists of issues (of the same properties and kinds: the diff is empty) also say
    /// the same in each `detail` (a type mismatch names the value it found).
    static func sameDetails(_ stored: [PropertyIssue], _ new: [PropertyIssue]) -> Bool {
        guard stored.count == new.count else { return false }
        var details: [String: String?] = [:]
        for issue in stored { details[issue.property] = issue.detail }
        return new.allSatisfy { details[$0.property] == .some($0.detail) }
    }

    /// Writes one batch of a re-map in the caller's transaction: each row that is still the one
    /// evaluated (`records[i]`, evaluated as `evaluations[i]`, nil for "evaluate here") takes its
    /// evaluation; any other is evaluated again from the row as it is now. Returns what was
    /// written, or left as it was because nothing changed.
    static func writeRemap(
        _ db: StoreTransaction, records: [ResourceRecord?], evaluations: [RemapEvaluation?], connectionId: String, type: SCIMResourceType,
        mapping: ActiveMapping, now: Milliseconds
    ) throws -> [RemapEvaluation] {
        // Roles need each user's groups: one query for the whole batch, not one per user.
        let groupsByUser =
            type == .user && mapping.dependsOnGroups
            ? try db.memberships(connectionId: connectionId, userIds: records.compactMap { $0?.id }) : [:]
        var written: [RemapEvaluation] = []
        written.reserveCapacity(records.count)
        for (index, evaluated) in records.enumerated() {
            guard let evaluated else { continue }
            guard var record = try db.resource(connectionId: connectionId, type: type.rawValue, id: evaluated.id) else { continue }
            let evaluation: RemapEvaluation
            if let made = evaluations[index], made.record == record {
                evaluation = made
            } else if let again = try Self.evaluation(db, of: record, type: type, mapping: mapping, groupsByUser: groupsByUser) {
                evaluation = again
            } else {
                continue
            }
            written.append(evaluation)
            // A row that already holds the result is not written, whatever version last wrote
            // it: the version's `remappedAt` says it was looked at (see `remap`). Before, every
            // row was rewritten for its `mappingVersion` alone, so a re-map that changed a few
            // users cost as much as one that changed them all.
            guard !evaluation.holdsResult else { continue }
            let warnings = try MappingWriter.apply(evaluation.new, version: mapping.version, to: &record, requestId: nil, now: now, db: db)
            // Only the mapping's columns: the row was just read in this transaction, and SQLite
            // leaves the indexes of the columns not set alone.
            try record.updateMappingColumns(db)
            // A re-map changes the application's view, not the SCIM data: an `…updated` event
            // only when mapped values changed, and the warning events.
            if !evaluation.diff.changes.isEmpty {
                var data: JSONObject = ["mapped": .object(evaluation.new.properties), "mappingVersion": .int(mapping.version)]
                // Named like every other user/group event.
                if let name = evaluation.name { data[type == .user ? "userName" : "displayName"] = .string(name) }
                try EventLog.append(
                    db, at: now, connectionId: connectionId, type: type == .user ? .userUpdated : .groupUpdated, resourceType: type.rawValue,
                    resourceId: record.id, data: data)
            }
            for (kind, properties) in [(EventType.warningOpened, warnings.opened), (.warningResolved, warnings.resolved)] {
                for property in properties {
                    try EventLog.append(
                        db, at: now, connectionId: connectionId, type: kind, resourceType: type.rawValue, resourceId: record.id,
                        data: ["property": .string(property)])
                }
            }
        }
        return written
    }

    /// How `mapping.set` and `mapping.preview` show one changed resource.
    static func example(_ evaluation: RemapEvaluation, type: SCIMResourceType) -> RemapExample {
        var changes = JSONObject()
        for c in evaluation.diff.changes { changes[c.property] = ["old": c.old ?? .null, "new": c.new ?? .null] }
        return RemapExample(
            resourceType: type.rawValue, id: evaluation.record.id, name: evaluation.name, changes: .object(changes),
            warningsOpened: evaluation.diff.openedIssues.map(\.property), warningsResolved: evaluation.diff.resolvedIssues.map(\.property))
    }
}
