// Kiln — Apache-2.0. See LICENSE.

internal import GRDB

/// A row of the SQLite store's `workers` table, as GRDB reads and writes it (the columns are the fields).
struct WorkerRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "workers"

    var name: String
    var host: String
    var started: Double
    var seen: Double
    var state: String
    var jobs: Int

    init(_ worker: WorkerRecord) {
        (name, host, started, seen, state, jobs) =
            (worker.name, worker.host, worker.started, worker.seen, worker.state, worker.jobs)
    }

    var record: WorkerRecord {
        WorkerRecord(name: name, host: host, started: started, seen: seen, state: state, jobs: jobs)
    }
}

/// A row of the SQLite store's `ipfs_pushes` table, as GRDB reads and writes it (columns in snake case).
struct PushRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "ipfs_pushes"
    static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    var batch: Int
    var target: String
    var root: String
    var car: String
    var status: String
    var requestId: String?
    var attempts: Int
    var lastError: String?
    var updated: Double

    init(_ push: IPFSPush) {
        (batch, target, root, car, status) = (push.batch, push.target, push.root, push.car, push.status.rawValue)
        (requestId, attempts, lastError, updated) = (push.requestId, push.attempts, push.lastError, push.updated)
    }

    /// The push; a status this Kiln does not know (a newer one wrote it) reads as `pending`, to be sent again.
    var record: IPFSPush {
        IPFSPush(
            batch: batch,
            target: target,
            root: root,
            car: car,
            status: IPFSPush.Status(rawValue: status) ?? .pending,
            requestId: requestId,
            attempts: attempts,
            lastError: lastError,
            updated: updated
        )
    }
}
