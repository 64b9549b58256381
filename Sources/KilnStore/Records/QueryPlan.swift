// Kiln — Apache-2.0. See LICENSE.

/// How the database would run one of the store's hot reads: the plan's lines as the database prints them, and the
/// tables that grow with the history it would read whole (none, for a read whose cost does not grow with it).
public struct QueryPlan: Sendable, Equatable {
    /// The query's name (`latestPublication`, `pageAfter`, …).
    public var name: String
    public var sql: String
    public var plan: [String]
    /// Tables among ``historyTables`` that the plan reads from end to end.
    public var fullScans: [String]

    public init(name: String, sql: String, plan: [String], fullScans: [String]) {
        self.name = name
        self.sql = sql
        self.plan = plan
        self.fullScans = fullScans
    }

    /// The tables that grow with every event, state, job and publication.
    public static let historyTables: Set<String> = [
        "publications", "jobs", "events", "token_state", "blocks", "published_tokens",
    ]
}
