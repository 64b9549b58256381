// Kiln — Apache-2.0. See LICENSE.

internal import Synchronization

/// What the gallery's collection page shows of a token's published files — up to three traits from its
/// `metadata.json`, the quorum line from its attestation bundle — kept by the file's CID. A CID names its bytes, so
/// a kept fact is never stale; a page of 48 tokens no longer parses 96 JSON files on every visit (a fifth of the
/// page's CPU). Bounded: past `capacity` facts all are dropped and kept again as pages ask for them.
final class CardFacts: Sendable {
    /// A trait as the page shows it.
    struct Trait: Sendable, Equatable {
        let trait: String
        let value: String
    }

    /// Facts of each kind kept at most (each a few hundred bytes).
    let capacity: Int
    private let traits = Mutex<[String: [Trait]]>([:])
    private let quorum = Mutex<[String: String]>([:])

    init(capacity: Int) { self.capacity = capacity }

    /// The traits of the metadata file `cid`: kept, or read by `make` and kept (nil — the file cannot be read or
    /// parsed — is not kept: a block may arrive later).
    func traits(of cid: String, _ make: () async -> [Trait]?) async -> [Trait]? {
        await fact(cid, in: traits, make)
    }

    /// The quorum line of the attestation bundle `cid`, as ``traits(of:_:)``.
    func quorumLine(of cid: String, _ make: () async -> String?) async -> String? {
        await fact(cid, in: quorum, make)
    }

    /// Facts kept now.
    var count: Int { traits.withLock { $0.count } + quorum.withLock { $0.count } }

    private func fact<Fact: Sendable>(
        _ cid: String,
        in kept: borrowing Mutex<[String: Fact]>,
        _ make: () async -> Fact?
    ) async -> Fact? {
        if let fact = kept.withLock({ $0[cid] }) { return fact }
        guard let fact = await make() else { return nil }
        kept.withLock { kept in
            if kept.count >= capacity { kept.removeAll(keepingCapacity: true) }
            kept[cid] = fact
        }
        return fact
    }
}
