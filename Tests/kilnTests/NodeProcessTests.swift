// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import KilnInference
import KilnTesting
import Testing

/// What only a `kiln node serve` process shows: the CPU it spends (a job past its timeout is stopped, not left
/// running). The node's routes, status codes and bodies are tested in process (KilnInferenceTests).
struct NodeProcessTests {
    /// A job that outlives --job-timeout is stopped, not finished in the background: the node answers 504 having
    /// spent about the timeout's worth of CPU on it. (A 1024² job takes over 10 s of CPU in a debug build; CPU time,
    /// unlike wall time, does not grow when the other suites keep the machine busy.)
    @Test func aJobPastItsTimeoutIsStopped() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try await NodeProcess(
            key: "0x" + String(repeating: "0", count: 63) + "1",
            folder: folder,
            arguments: ["--chain-id", "31337", "--job-timeout", "1"]
        )
        defer { node.stop() }
        let before = try #require(node.cpuSeconds)
        var request = job(900, seed: 9)
        request.input = ["seed": 9, "width": 1024, "height": 1024]
        do throws(InferenceError) {
            _ = try await NodeClient().submit(request, to: .kiln(node.url), timeout: .seconds(120))
            Issue.record("a 1024² job finished within a 1 s job timeout")
        } catch {
            #expect(error.message.hasPrefix("HTTP 504"), "\(error.message)")
        }
        let spent = try #require(node.cpuSeconds) - before
        #expect(spent < 4, "the node stopped the job at its timeout (\(spent) s of CPU)")
        // The node is free again: a small job is answered.
        var small = job(901, seed: 1)
        small.input = ["seed": 1, "width": 16, "height": 16]
        _ = try await NodeClient().submit(small, to: .kiln(node.url), timeout: .seconds(60))
    }
}
