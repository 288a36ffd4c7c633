import Foundation

/// What the kernel says about the scimd process and its database files, read when Prometheus
/// scrapes. Each value is nil where the system cannot tell (no `/proc`), and then left out.
public enum ProcessStatistics {
    /// The process's own figures.
    public struct Snapshot: Sendable, Equatable {
        /// Resident set size, in bytes (`/proc/self/statm`'s second field times the page size).
        public var residentBytes: Int?
        /// Entries in `/proc/self/fd`.
        public var openDescriptors: Int?
        /// The soft `RLIMIT_NOFILE`.
        public var maxDescriptors: Int?
        /// Start time in seconds since the Unix epoch (boot time plus `/proc/self/stat`'s start ticks).
        public var startTime: Double?
    }

    /// The process's figures now.
    public static func current() -> Snapshot {
        var snapshot = Snapshot()
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            snapshot.residentBytes = residentBytes(statm: statm, pageSize: Int(sysconf(Int32(_SC_PAGESIZE))))
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            // Less the descriptor that reading the directory itself held open.
            snapshot.openDescriptors = max(0, entries.count - 1)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { snapshot.maxDescriptors = Int(clamping: limit.rlim_cur) }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
            let ticks = startTicks(stat: stat), let up = Double(uptime.split(separator: " ").first ?? "")
        {
            let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
            let now = Date().timeIntervalSince1970
            // Boot time is now − uptime; the process started `ticks` after boot.
            snapshot.startTime = ((now - up + Double(ticks) / hertz) * 1000).rounded() / 1000
        }
        return snapshot
    }

    /// `/proc/self/statm` holds pages: size, resident, shared, text, lib, data, dt.
    public static func residentBytes(statm: String, pageSize: Int) -> Int? {
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let pages = Int(fields[1]) else { return nil }
        return pages * pageSize
    }

    /// Field 22 of `/proc/self/stat` (start time in clock ticks after boot). The command name
    /// (field 2) is in parentheses and may hold spaces, so fields are counted after its last `)`.
    public static func startTicks(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        // rest[0] is field 3 (state), so field 22 is rest[19].
        guard rest.count > 19 else { return nil }
        return Int(rest[19])
    }

    /// Sizes of the database file and its `-wal` in bytes (0 for a file that does not exist:
    /// the WAL is removed at a clean shutdown).
    public static func databaseFiles(_ path: String) -> (database: Int64, wal: Int64) {
        func size(_ file: String) -> Int64 {
            var info = stat()
            return stat(file, &info) == 0 ? Int64(info.st_size) : 0
        }
        return (size(path), size(path + "-wal"))
    }

    /// Bytes available to an unprivileged process on the file system holding `path`.
    public static func freeBytes(onFileSystemOf path: String) -> Int64? {
        var info = statvfs()
        let directory = (path as NSString).deletingLastPathComponent
        guard statvfs(directory.isEmpty ? "." : directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
