// Kiln — Apache-2.0. See LICENSE.

public import KilnContent
public import KilnStore
internal import KilnAVS
internal import KilnCore
internal import Synchronization

/// The blocks one job writes, recorded as they go to the local blockstore, so that a store which shares blocks
/// (``PostgresStore``) keeps them in the same transaction that records the job's publication: a job killed
/// before that transaction leaves no block behind in the database.
final class RecordingBlockstore: Blockstore {
    let base: any Blockstore
    private let written = Mutex<[CID: [UInt8]]>([:])

    init(_ base: any Blockstore) { self.base = base }

    func put(_ block: [UInt8], cid: CID) throws(ContentError) {
        try base.put(block, cid: cid)
        written.withLock { $0[cid.v1] = block }
    }

    func get(_ cid: CID) throws(ContentError) -> [UInt8] { try base.get(cid) }

    func has(_ cid: CID) -> Bool { base.has(cid) }

    func sync() throws(ContentError) { try base.sync() }

    /// Every block written so far, once each, in CID order.
    func recorded() -> [StoredBlock] {
        written.withLock { blocks in
            blocks.map { StoredBlock(cid: $0.key.description, bytes: $0.value) }.sorted { $0.cid < $1.cid }
        }
    }
}

/// Copying a shared store's blocks to the local blockstore: the DAGs a batch, a token or a request needs, never a
/// listing of the store's `blocks` table (whose size grows with every batch ever published).
public enum SharedBlocks {
    /// Copies the blocks of the DAGs under `roots` that `local` lacks from `store`, each checked against its CID.
    /// The DAGs are walked level by level: a block `local` has is read there for its links; the missing ones of a
    /// level are read from the store 256 at a time.
    /// - Returns: how many blocks were copied (0 for a store that does not share blocks).
    /// - Throws: ``PipelineError`` when a block is in neither place or does not match its CID, or the store fails.
    @discardableResult
    public static func fetch(_ roots: [CID], from store: any StoreBase & BlockKeeping, into local: any Blockstore)
        async throws -> Int
    {
        guard store.sharesBlocks else { return 0 }
        var seen: Set<CID> = []
        var level = roots.filter { seen.insert($0.v1).inserted }
        var copied = 0
        while !level.isEmpty {
            var next: [CID] = []
            func follow(_ cid: CID, _ block: [UInt8]) throws {
                guard cid.codec == CID.dagPB else { return }
                for link in try DagPBNode(decoding: block).links where seen.insert(link.cid.v1).inserted {
                    next.append(link.cid)
                }
            }
            var missing: [CID] = []
            for cid in level {
                if local.has(cid) {
                    if cid.codec == CID.dagPB { try follow(cid, try local.get(cid)) }
                } else {
                    missing.append(cid)
                }
            }
            for start in stride(from: 0, to: missing.count, by: 256) {
                let wanted = missing[start..<min(start + 256, missing.count)]
                let found = try await store.blocks(wanted.map(\.v1.description))
                let byCID = Dictionary(found.map { ($0.cid, $0.bytes) }, uniquingKeysWith: { first, _ in first })
                for cid in wanted {
                    guard let bytes = byCID[cid.v1.description] else {
                        throw PipelineError(
                            .input,
                            "Block \(cid) is in neither the local blockstore nor the store \(store.location)"
                        )
                    }
                    try put(bytes, cid: cid, from: store, into: local)
                    try follow(cid, bytes)
                    copied += 1
                }
            }
            level = next
        }
        if copied > 0 { try await local.syncOffThePool() }
        return copied
    }

    /// Copies what `publications` need: each one's token directory, template, inference output and attestation
    /// bundle, and the committed outputs a tolerance policy's bundle names (`responses[].outputCID`).
    @discardableResult
    public static func fetch(
        publications: [Publication],
        from store: any StoreBase & BlockKeeping,
        into local: any Blockstore
    ) async throws -> Int {
        guard store.sharesBlocks, !publications.isEmpty else { return 0 }
        var roots: [CID] = []
        for publication in publications {
            for text in [publication.directory, publication.template, publication.inference, publication.attestation] {
                guard let text else { continue }
                do { roots.append(try CID(text)) } catch {
                    throw PipelineError(.input, "Stored CID '\(text)' of \(publication.token): \(error)", cause: error)
                }
            }
        }
        var copied = try await fetch(roots, from: store, into: local)
        var outputs: [CID] = []
        let reader = UnixFSReader(blockstore: local)
        for publication in publications {
            guard let attestation = publication.attestation else { continue }
            let bundle = try JSONValue.parse(bytes: try reader.cat(try CID(attestation)))
            outputs += try AttestationBundle.committedOutputs(bundle).map { try CID($0.cid) }
        }
        copied += try await fetch(outputs, from: store, into: local)
        return copied
    }

    /// Copies what one batch's publications need (``fetch(publications:from:into:)``).
    @discardableResult
    public static func fetch(
        batch: Int,
        from store: any StoreBase & BlockKeeping & PublicationStore,
        into local: any Blockstore
    ) async throws -> Int {
        guard store.sharesBlocks else { return 0 }
        return try await fetch(publications: try await store.publications(batch: batch), from: store, into: local)
    }

    /// Keeps one block from the store in `local` after checking it against its CID.
    static func put(_ bytes: [UInt8], cid: CID, from store: any StoreBase, into local: any Blockstore) throws {
        do {
            guard try cid.multihash.matches(bytes) else {
                throw PipelineError(.input, "Block \(cid) in \(store.location) does not match its CID")
            }
            try local.put(bytes, cid: cid)
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.input, "Block \(cid) in \(store.location): \(error)", cause: error)
        }
    }
}
