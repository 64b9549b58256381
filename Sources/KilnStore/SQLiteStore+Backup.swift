// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import GRDB

/// Backups of a SQLite store with SQLite's online backup API: a consistent copy of the whole database as of one
/// moment, taken while batches run (they go on writing; the copy is of one snapshot, made in a single step).
extension SQLiteStore {
    /// What a store file holds, checked.
    public struct FileCheck: Sendable, Hashable {
        public var path: String
        /// Kiln schema migrations applied, in order.
        public var schema: [String]
        /// Problems found: `PRAGMA integrity_check`, `PRAGMA foreign_key_check`, a schema this kiln does not
        /// know or lacks. Empty when the file is a sound Kiln store.
        public var problems: [String]
        public var batches: Int
        public var publications: Int
        public var jobs: Int
    }

    /// Copies the whole store to `destination` (a new file; refused if it exists), atomically: the copy appears
    /// complete under its name or not at all. Safe while batches run.
    public func backup(to destination: String) async throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.invalidArgument, "'\(destination)' exists: back up to a new file")
        }
        let temporary = destination + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            let copy = try DatabaseQueue(path: temporary)
            try await pool.read { db in try copy.writeWithoutTransaction { target in try db.backup(to: target) } }
            try copy.close()
            guard rename(temporary, destination) == 0 else {
                throw StoreError(.unwritable, "Unable to move the backup into place at '\(destination)'")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if let error = error as? StoreError { throw error }
            throw StoreError(
                .database,
                "Unable to back up '\(path)' to '\(destination)': \(reason(error))",
                cause: error
            )
        }
    }

    /// Replaces the whole store with the backup at `source`, after checking it. The caller holds the store's
    /// batch lock (``tryLock()``), so no batch runs meanwhile.
    /// - Throws: ``StoreError`` naming what is wrong with the backup; the store is unchanged then.
    public func restore(from source: String) async throws(StoreError) {
        let check = try Self.check(file: source)
        guard check.problems.isEmpty else {
            throw StoreError(
                .invalidArgument,
                "'\(source)' is not a sound Kiln store, nothing was restored: \(check.problems.joined(separator: "; "))"
            )
        }
        do {
            let backup = try DatabaseQueue(path: source, configuration: Self.readOnly)
            defer { try? backup.close() }
            try await pool.barrierWriteWithoutTransaction { target in
                try backup.read { db in try db.backup(to: target) }
            }
        } catch {
            throw StoreError(.database, "Unable to restore '\(path)' from '\(source)': \(reason(error))", cause: error)
        }
    }

    /// Checks the store file at `file` without changing it: SQLite's integrity and foreign-key checks, and
    /// whether its schema is one this kiln knows, complete.
    public static func check(file: String) throws(StoreError) -> FileCheck {
        guard FileManager.default.fileExists(atPath: file) else {
            throw StoreError(.open, "'\(file)' does not exist")
        }
        do {
            let queue = try DatabaseQueue(path: file, configuration: readOnly)
            defer { try? queue.close() }
            return try queue.read { db in
                var problems: [String] = []
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                if integrity != ["ok"] { problems += integrity.prefix(10).map { "integrity: \($0)" } }
                let keys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
                if !keys.isEmpty { problems.append("\(keys.count) row(s) point at rows that do not exist") }
                let known = migrator.migrations
                let applied =
                    try db.tableExists("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
                let unknown = applied.filter { !known.contains($0) }
                let missing = known.filter { !applied.contains($0) }
                if !unknown.isEmpty { problems.append("schema \(unknown.joined(separator: ", ")) is a newer kiln's") }
                if !missing.isEmpty { problems.append("schema \(missing.joined(separator: ", ")) is not applied") }
                func count(_ table: String) throws -> Int {
                    try db.tableExists(table) ? Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 : 0
                }
                return FileCheck(
                    path: file,
                    schema: applied,
                    problems: problems,
                    batches: try count("batches"),
                    publications: try count("publications"),
                    jobs: try count("jobs")
                )
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(
                .open,
                "Unable to read '\(file)' as a SQLite store: \(reason(error, path: file))",
                cause: error
            )
        }
    }

    static var readOnly: Configuration {
        var configuration = Configuration()
        configuration.readonly = true
        return configuration
    }
}
