// Kiln — Apache-2.0. See LICENSE.

/// How a coordinator's `kiln batch` run ended: when, the batch it finished (nil when there was nothing to do), how
/// many tokens it published and its exit status. The store keeps the last run and the last clean one (exit 0), not
/// a history: `kiln status` and the alerts ask "how long since a batch went through", which these answer.
public struct RunRecord: Sendable, Equatable, Codable {
    /// Seconds since 1970 when the run ended.
    public var finished: Double
    public var batch: Int?
    public var published: Int
    /// 0 clean, 1 failures or problems, 3 tokens without quorum (retried next run).
    public var exitCode: Int

    public init(finished: Double, batch: Int?, published: Int, exitCode: Int) {
        self.finished = finished
        self.batch = batch
        self.published = published
        self.exitCode = exitCode
    }
}

/// The last run and the last clean run.
public struct RunHistory: Sendable, Equatable {
    public var last: RunRecord?
    public var lastClean: RunRecord?
    public init(last: RunRecord?, lastClean: RunRecord?) {
        self.last = last
        self.lastClean = lastClean
    }
}
