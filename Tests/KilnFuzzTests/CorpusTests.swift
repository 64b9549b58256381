import Foundation
import KilnFuzz
import KilnTesting
import Testing

/// Every fuzz target over its committed corpus and its regression inputs (every input a campaign found to crash,
/// hang or allocate without bound, kept after the fix): `.ci/run` runs these on every build, without libFuzzer.
struct CorpusTests {
    static let fuzzFolder = PythonBench.packageRoot.appendingPathComponent("Fuzz")

    static func files(_ folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { folder.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusAndRegressionsRunClean(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let corpus = Self.files(Self.fuzzFolder.appendingPathComponent("corpus/\(name)"))
        #expect(corpus.count >= 3, "Fuzz/corpus/\(name) needs seed inputs")
        let regressions = Self.files(Self.fuzzFolder.appendingPathComponent("regressions/\(name)"))
        for file in corpus + regressions { target.run(Array(try Data(contentsOf: file))) }
    }

    @Test func everyCorpusFolderIsATargetAndEveryTargetHasOne() {
        let folders = Set(Self.files(Self.fuzzFolder.appendingPathComponent("corpus")).map(\.lastPathComponent))
        #expect(folders == Set(FuzzTarget.all.map(\.name)))
        let regressions = Set(
            Self.files(Self.fuzzFolder.appendingPathComponent("regressions")).map(\.lastPathComponent)
        )
        #expect(regressions.isSubset(of: folders), "a regressions folder for a target that does not exist")
    }

    /// `kiln-fuzz run` (the plain build's corpus runner) reads a folder, and names what it cannot use.
    @Test func theRunnerRunsAFolderAndRefusesUnknownTargets() async throws {
        let runner = KilnProcess.executable.deletingLastPathComponent().appendingPathComponent("kiln-fuzz")
        let folder = Self.fuzzFolder.appendingPathComponent("corpus/cid")
        let good = try await KilnProcess.run(["run", "cid", folder.path], program: runner)
        #expect(good.status == 0)
        #expect(good.stdout == "cid: \(Self.files(folder).count) inputs, no crash\n")
        let unknown = try await KilnProcess.run(["run", "gif", folder.path], program: runner)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no target 'gif'"))
        let listed = try await KilnProcess.run(["list"], program: runner)
        #expect(
            listed.stdout.split(separator: "\n").map { String($0.prefix { $0 != "\t" }) } == FuzzTarget.all.map(\.name)
        )
    }
}
