// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import Synchronization

/// A progress bar with rate and ETA on stderr, drawn only when stderr is a terminal, at most every 100 ms (and at
/// the end): a batch's jobs, a build's tokens.
final class ProgressBar: Sendable {
    private let state = Mutex<(started: ContinuousClock.Instant, lastDraw: ContinuousClock.Instant?)>((.now, nil))

    /// Counts rate and ETA from now.
    func restart() { state.withLock { $0.started = .now } }

    func draw(done: Int, total: Int) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        let now = ContinuousClock.now
        let started = state.withLock { state -> ContinuousClock.Instant? in
            if let last = state.lastDraw, now - last < .milliseconds(100), done < total { return nil }
            state.lastDraw = now
            return state.started
        }
        guard let started else { return }
        let seconds = (now - started).inSeconds
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(
            Data("\r\(bar) \(done)/\(total)  \(String(format: "%.1f", rate)) tok/s  ETA \(Int(eta.rounded())) s ".utf8)
        )
    }

    func clear() {
        guard isatty(STDERR_FILENO) == 1 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
