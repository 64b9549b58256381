// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// One parser reachable from outside, fed arbitrary bytes.
///
/// A target returns normally for every input, valid or not: an input Kiln refuses is an error it throws and
/// the target catches. What a target must never do is crash, hang or allocate without bound — and where a
/// parser has a property that must hold for every input it accepts (a round trip, a canonical form that is a
/// fixed point, an error that names its file), the target checks it and stops the process when it fails, so
/// libFuzzer records the input.
public struct FuzzTarget: Sendable {
    /// The name used on the command line and as the corpus folder (`Fuzz/corpus/<name>/`).
    public let name: String
    /// What it feeds and to what.
    public let summary: String
    /// Runs one input.
    public let run: @Sendable ([UInt8]) -> Void

    public init(name: String, summary: String, run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }

    /// Every target, in the order docs/explanation/reliability.md lists them.
    public static let all: [FuzzTarget] = [
        .png, .jpeg, .car, .cid, .unixfs, .json, .abiLog, .template, .kilnYML, .operatorsYML, .nodeRequest,
        .infernetRequest, .jsonRPC, .attestation,
    ]

    /// The target called `name`, if there is one.
    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// Stops the process with `message` when a property of an accepted input fails (libFuzzer saves the input).
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz property failed: \(message())") }
}

/// The repository's root, where `Fuzz/` lies (the targets that need files — a template's assets — read them
/// from there; `KILN_FUZZ_ROOT` overrides it for a binary moved elsewhere).
let repositoryRoot: String = {
    if let root = ProcessInfo.processInfo.environment["KILN_FUZZ_ROOT"] { return root }
    // #filePath is Sources/KilnFuzz/FuzzTarget.swift.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}()
