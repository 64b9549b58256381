// Kiln — Apache-2.0. See LICENSE.

/// How many malloc arenas the commands that render and publish tokens (`kiln batch`, `regen`, `worker`, `demo`) ask
/// glibc for.
///
/// glibc gives a thread that meets a locked arena an arena of its own — up to eight per core — and keeps the memory
/// freed in an arena for that arena. A batch has many threads that allocate (Swift's cooperative pool, NIO's event
/// loops and thread pool, GRDB's queues), so a 10 000-token `kiln batch` reached 166 MiB of which about 30 MiB was
/// memory free in one arena while another grew; with one arena per core it peaks at 135 MiB in the same time
/// (docs/explanation/performance.md). `kiln serve` keeps glibc's default (fewer arenas cost it 10–20 % of its rate
/// under load). `MALLOC_ARENA_MAX`, when set, is glibc's own and wins.
public enum MallocArenas {
    /// The arenas to limit malloc to: one per core, at least two; nil when the environment sets
    /// `MALLOC_ARENA_MAX` (glibc reads it itself).
    public static func limit(environment: [String: String], cores: Int) -> Int? {
        guard environment["MALLOC_ARENA_MAX"] == nil else { return nil }
        return max(2, cores)
    }
}
