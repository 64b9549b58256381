import BigInt
import Foundation
import KilnCore
import KilnCrypto
import KilnInference
import KilnPipeline
import KilnStore
import KilnTesting
import KilnYAML
import Logging
import Synchronization
import Testing

/// The batch pipeline in-process, without launching the `kiln` binary: four operator nodes in this process on
/// loopback (the fourth dishonest), the recorded events, a temporary store and output folder. The process-level
/// crash and CLI tests live in `kilnTests`.
struct BatchRunnerTests {
    static let contract = ForgeKnightsSite.contract
    static let registry = ForgeKnightsSite.registry

    /// Events collected from a run's progress callback.
    final class Events: Sendable {
        private let storage = Mutex<[BatchEvent]>([])
        func add(_ event: BatchEvent) { storage.withLock { $0.append(event) } }
        var all: [BatchEvent] { storage.withLock { $0 } }
    }

    @Test func aBatchPublishesEveryTokenOnceAndAnUnchangedRunDoesNothing() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var logger = Logger(label: "test.nodes")
        logger.logLevel = .critical
        let nodes = try await LocalNodes.start(
            keys: ForgeKnightsSite.keys(4, faults: [2: .wrongOutput]),
            domain: .kiln(chainId: 31337, verifyingContract: Self.registry),
            logger: logger
        )
        defer { nodes.stop() }
        // The first mints of the recorded events: a few tokens keep this test quick on two loaded cores.
        let site = try ForgeKnightsSite(folder: folder, nodes: nodes.nodes, stakes: [35, 30, 20, 15], mints: 6)
        let configuration = try Configuration(path: site.configurationPath, environment: [:])

        let runner = try await BatchRunner.open(configuration)
        let events = Events()
        let summary = try await runner.syncAndRun(options: BatchOptions()) { events.add($0) }
        #expect(summary.exitCode == 0 && summary.problems.isEmpty, "\(summary.problems)")
        #expect(summary.published > 0 && summary.noQuorum == 0 && summary.failed == 0)
        let jobs = events.all.compactMap { if case .job(let report, _, _) = $0 { report } else { nil } }
        #expect(jobs.count == summary.published)
        #expect(
            jobs.allSatisfy { job in
                guard let quorum = job.quorum else { return false }
                return quorum.reached && quorum.rejected.count == 1 && quorum.description.contains("rejected: ")
            },
            "the dishonest second operator is asked (its 30 % is needed), refused and named in every quorum line"
        )
        guard case .synced(let sync)? = events.all.first, case .finished? = events.all.last else {
            Issue.record("a run reports synced first and finished last")
            return
        }
        #expect(sync.queued == summary.published)

        // Every token is in the manifest once, and the CAR holds the batch.
        let manifest = try await runner.manifest()
        #expect(manifest.entries.count == summary.published)
        let car = try #require(summary.car)
        #expect(FileManager.default.fileExists(atPath: car))

        // Nothing changed: the next run publishes nothing and opens no batch.
        let again = try await BatchRunner.open(configuration).syncAndRun(options: BatchOptions()) { _ in }
        #expect(again.batch == nil && again.published == 0 && again.exitCode == 0)

        // Regenerating a token from its attested output gives the same bytes, so the same CIDs.
        let token = TokenKey(chainId: 31337, contract: Self.contract, id: 1)
        let before = try await configuration.publication(of: token)
        let regenerated = try await BatchRunner.open(configuration).regenerate(token, reuseAttested: true) { _ in }
        #expect(regenerated.summary.published == 1)
        let after = try #require(regenerated.publication)
        #expect(after.metadata == before.metadata && after.image == before.image && after.batch == before.batch + 1)
    }

    @Test func regeneratingATokenNoEventNamesIsAClearError() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let root = PythonBench.packageRoot.path
        try Data(
            "chainId: 31337\nverifyingContract: \"\(Self.registry.checksummed)\"\noperators:\n  - {address: \"\(Self.registry.checksummed)\", endpoint: \"http://127.0.0.1:9\", stake: \"1\"}\n"
                .utf8
        )
        .write(to: folder.appendingPathComponent("operators.yml"))
        let configuration = try Configuration(
            yaml: """
                contracts:
                  - {address: "\(Self.contract.checksummed)", template: \(root)/templates/forge-knights}
                operators: {file: operators.yml}
                """,
            source: folder.appendingPathComponent("kiln.yml").path
        )
        let token = TokenKey(chainId: 31337, contract: Self.contract, id: 7)
        do {
            _ = try await BatchRunner.open(configuration).regenerate(token, reuseAttested: false) { _ in }
            Issue.record("expected an error")
        } catch let error as PipelineError {
            #expect(error.code == .notFound)
            #expect(error.message.hasSuffix("has no state: no event of kiln.yml's contracts names it"))
        }
    }
}
