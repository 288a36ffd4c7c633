import NIOConcurrencyHelpers

/// One logged request as the counters see it: its row id, when it arrived and its status.
struct LoggedRequest: Sendable, Equatable {
    var id: Int64
    var at: Milliseconds
    var status: Int
}

/// Requests and errors per minute or per hour, as a sorted array of 12-byte buckets (the unit's
/// number since 1970, two 32-bit counts), only for the units that had requests.
///
/// A dictionary keyed by the unit's start in milliseconds, as before, held 24 bytes a slot (an
/// 8-byte key, two `Int`s) in a table of a power of two slots at most 3/4 full: a connection with
/// requests every minute kept 2,048 slots of minute counts, about 49 KB, so 49 MB for 1,000 such
/// connections. This holds the same in 12 bytes a bucket (17–24 KB for a day of minutes, as the
/// array's capacity grows). Entries arrive in commit order, so a count lands in the last bucket
/// or a new one at the end; an earlier unit (a clock stepping back) is inserted where it belongs.
struct CountBuckets: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        /// The unit's number since 1970 (`start / unit`): minutes fit in 32 bits until the year 6053.
        var unit: Int32
        var requests: UInt32
        var errors: UInt32
    }

    /// The unit's length in ms (a minute or an hour).
    let length: Milliseconds
    private(set) var buckets: [Bucket] = []

    init(length: Milliseconds) { self.length = length }

    var count: Int { buckets.count }

    /// The unit number of a time (floor, also before 1970), clamped to what 32 bits hold.
    private func unit(of time: Milliseconds) -> Int32 {
        let start = RequestCounts.start(of: time, unit: length)
        return Int32(clamping: start / length)
    }

    /// The first bucket whose unit is at or after `unit` (binary search).
    private func firstIndex(atOrAfter unit: Int32) -> Int {
        var (low, high) = (0, buckets.count)
        while low < high {
            let middle = (low + high) / 2
            if buckets[middle].unit < unit { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Adds requests and errors to the unit that holds `time` (ms). Counts saturate at 2³² − 1.
    mutating func add(at time: Milliseconds, requests: Int, errors: Int) {
        let unit = unit(of: time)
        let index: Int
        if let last = buckets.last, last.unit <= unit {
            if last.unit < unit { buckets.append(Bucket(unit: unit, requests: 0, errors: 0)) }
            index = buckets.count - 1
        } else {
            index = firstIndex(atOrAfter: unit)
            if index == buckets.count || buckets[index].unit != unit {
                buckets.insert(Bucket(unit: unit, requests: 0, errors: 0), at: index)
            }
        }
        buckets[index].requests = UInt32(clamping: Int(buckets[index].requests) + requests)
        buckets[index].errors = UInt32(clamping: Int(buckets[index].errors) + errors)
    }

    /// The sums of the units from the one that holds `time` (ms) on.
    func total(from time: Milliseconds) -> (requests: Int, errors: Int) {
        var total = (requests: 0, errors: 0)
        for bucket in buckets[firstIndex(atOrAfter: unit(of: time))...] {
            total.requests += Int(bucket.requests)
            total.errors += Int(bucket.errors)
        }
        return total
    }

    /// The counts of the unit that holds `time` (ms).
    func counts(at time: Milliseconds) -> (requests: Int, errors: Int) {
        let unit = unit(of: time)
        let index = firstIndex(atOrAfter: unit)
        guard index < buckets.count, buckets[index].unit == unit else { return (0, 0) }
        return (Int(buckets[index].requests), Int(buckets[index].errors))
    }

    /// Forgets the units before the one that holds `time` (ms).
    mutating func removeAll(before time: Milliseconds) {
        let first = firstIndex(atOrAfter: unit(of: time))
        if first > 0 { buckets.removeFirst(first) }
    }
}

/// What the request log of a connection holds, counted: per minute over the last day and per
/// hour over the last week, and its latest entry. The counts `connections.get`, `connections.list`
/// and the dashboard's chart show (``Store/requestCounts(_:now:)``).
public struct RequestCounts: Sendable, Equatable {
    /// Logged requests and errors (status ≥ 400) per minute.
    var byMinute = CountBuckets(length: Self.minute)
    /// The same per hour.
    var byHour = CountBuckets(length: Self.hour)
    /// The row id of the latest counted entry: an entry with this id or a lower one is in the counts.
    var lastId: Int64 = 0
    /// When the latest entry arrived (ms), and its status; nil when the log holds none.
    public internal(set) var lastAt: Milliseconds?
    public internal(set) var lastStatus: Int?

    static let minute: Milliseconds = 60_000
    static let hour: Milliseconds = 3_600_000
    /// How far back the minute and hour counts go (the chart shows 168 hours).
    static let minutesKept: Milliseconds = 24 * 60
    public static let hoursKept: Milliseconds = 168

    /// Requests and errors logged since `since` (ms), by the minute: the minute that holds
    /// `since` counts whole.
    public func since(_ since: Milliseconds) -> (requests: Int, errors: Int) {
        byMinute.total(from: since)
    }

    /// Requests and errors of the hour that starts at `hourStart` (ms).
    public func hour(_ hourStart: Milliseconds) -> (requests: Int, errors: Int) {
        byHour.counts(at: hourStart)
    }

    /// Counts `requests` requests, `errors` of them errors, that arrived in the minute holding
    /// `minute` (ms): what a load read from the log, grouped by minute.
    mutating func add(minute: Milliseconds, requests: Int, errors: Int) {
        byMinute.add(at: minute, requests: requests, errors: errors)
        byHour.add(at: minute, requests: requests, errors: errors)
    }

    /// Counts an entry committed after those already counted (an id at or below ``lastId`` was
    /// counted already: a load read it).
    mutating func add(_ entry: LoggedRequest) {
        guard entry.id > lastId else { return }
        add(minute: entry.at, requests: 1, errors: entry.status >= 400 ? 1 : 0)
        lastId = entry.id
        lastAt = entry.at
        lastStatus = entry.status
        // Forget what no read asks for any more (older than a day or a week before the newest
        // entry), now and then rather than on every entry.
        if byMinute.count > Int(Self.minutesKept) + 60 || byHour.count > Int(Self.hoursKept) + 24 { trim(newest: entry.at) }
    }

    mutating func trim(newest: Milliseconds) {
        byMinute.removeAll(before: Self.start(of: newest, unit: Self.minute) - Self.minutesKept * Self.minute)
        byHour.removeAll(before: Self.start(of: newest, unit: Self.hour) - Self.hoursKept * Self.hour)
    }

    /// The start of the minute or hour that holds `time` (floor, also before 1970).
    static func start(of time: Milliseconds, unit: Milliseconds) -> Milliseconds {
        let remainder = time % unit
        return remainder < 0 ? time - remainder - unit : time - remainder
    }
}

/// The request-log counters of every connection a read asked about, kept in step with commits.
///
/// A connection's counts are loaded from SQLite the first time they are read (one pass over the
/// rows of the last week), then follow each committed log entry (``GroupCommitWriter`` hands over
/// the entries a group committed, as it hands resource rows to ``ResourceReplica``). Counting
/// `SELECT COUNT(*)` on every read cost a dashboard page 60 ms with 100k logged requests (every
/// page shows them, and `connections.list` counts every connection).
///
/// Only what the log still holds counts, as before: a prune (``StoreTransaction/pruneRequestLog(connectionId:keep:olderThan:)``)
/// drops the connection's counts, and the next read loads them again.
///
/// A load and the commits that land while it reads do not race: the load is registered before
/// its read begins, the entries committed meanwhile wait in it, and those its snapshot did not
/// hold (a higher row id than the highest it read) are counted when it is installed. A prune
/// committed meanwhile voids the load (the caller still gets what it read).
final class RequestCounters: Sendable {
    private enum Entry {
        case loading(pending: [LoggedRequest], voided: Bool)
        case loaded(RequestCounts)
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    /// The counts of `connectionId`, when loaded.
    func loaded(_ connectionId: String) -> RequestCounts? {
        entries.withLockedValue { entries in
            if case .loaded(let counts)? = entries[connectionId] { return counts }
            return nil
        }
    }

    /// Registers a load of `connectionId` about to read the log; false when one is already under
    /// way (the caller reads for itself and installs nothing) or the counts are loaded.
    func beginLoad(_ connectionId: String) -> Bool {
        entries.withLockedValue { entries in
            guard entries[connectionId] == nil else { return false }
            entries[connectionId] = .loading(pending: [], voided: false)
            return true
        }
    }

    /// Installs what a load read (`counts`, whose ``RequestCounts/lastId`` is the highest row id
    /// its snapshot held) with the entries committed since, unless a prune voided it. Returns the
    /// counts as installed (or as read, when voided).
    func finishLoad(_ connectionId: String, _ read: RequestCounts) -> RequestCounts {
        entries.withLockedValue { entries in
            guard case .loading(let pending, let voided)? = entries[connectionId] else { return read }
            if voided {
                entries[connectionId] = nil
                return read
            }
            var counts = read
            for entry in pending { counts.add(entry) }
            entries[connectionId] = .loaded(counts)
            return counts
        }
    }

    /// Forgets a load that failed, so that the next read tries again.
    func abandonLoad(_ connectionId: String) {
        entries.withLockedValue { entries in
            if case .loading? = entries[connectionId] { entries[connectionId] = nil }
        }
    }

    /// Applies what a group committed, in order: log entries are counted, a prune or the
    /// connection's deletion drops its counts.
    func apply(_ changes: [ReplicaChange]) {
        entries.withLockedValue { entries in
            for change in changes {
                switch change {
                case .logRequest(let connectionId, let entry):
                    switch entries[connectionId] {
                    // Each taken out of the dictionary first, so that it is not copied to change it.
                    case .loaded(var counts)?:
                        entries[connectionId] = nil
                        counts.add(entry)
                        entries[connectionId] = .loaded(counts)
                    case .loading(var pending, let voided)?:
                        entries[connectionId] = nil
                        pending.append(entry)
                        entries[connectionId] = .loading(pending: pending, voided: voided)
                    case nil:
                        break  // not loaded: a later load reads it from the log
                    }
                case .pruneRequestLog(let connectionId), .deleteConnection(let connectionId):
                    switch entries[connectionId] {
                    case .loaded?: entries[connectionId] = nil
                    case .loading(_, _)?: entries[connectionId] = .loading(pending: [], voided: true)
                    case nil: break
                    }
                default:
                    break
                }
            }
        }
    }
}
