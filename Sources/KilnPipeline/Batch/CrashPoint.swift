// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import Synchronization

/// FOR TESTS ONLY: `KILN_TEST_FAULT_CRASH=POINT[:N]` makes the process kill itself with SIGKILL the N-th time
/// (default 1st) it reaches `POINT`, so the crash-safety test can stop a batch at exact moments. A SIGKILL
/// can't be caught, so what the next run finds is what a power cut would leave.
public enum CrashPoint: String, CaseIterable, Sendable {
    case afterSync = "after-sync"
    case afterBatchOpened = "after-batch-opened"
    case afterLease = "after-lease"
    case afterInference = "after-inference"
    case afterBlocks = "after-blocks"
    case afterJob = "after-job"
    case beforeCAR = "before-car"
    case afterCAR = "after-car"
    case afterSheet = "after-sheet"
    case afterManifest = "after-manifest"

    /// The environment variable that arms a crash point.
    public static let variable = "KILN_TEST_FAULT_CRASH"

    private static let armed: (point: CrashPoint, count: Int)? = {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return nil }
        let parts = text.split(separator: ":")
        guard let point = CrashPoint(rawValue: String(parts[0])) else { return nil }
        return (point, parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()

    private static let hits = Mutex<[CrashPoint: Int]>([:])

    /// Whether the variable names a crash point (the CLI warns loudly when it does).
    public static var isArmed: Bool { armed != nil }

    /// Kills the process when this point is armed and reached for the N-th time.
    public func reached() {
        guard let armed = Self.armed, armed.point == self else { return }
        let count = Self.hits.withLock { hits -> Int in
            hits[self, default: 0] += 1
            return hits[self]!
        }
        if count == armed.count { kill(getpid(), SIGKILL) }
    }
}
