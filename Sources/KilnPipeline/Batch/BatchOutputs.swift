// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnContent
internal import KilnCore
internal import KilnAVS
internal import KilnImage
internal import KilnStore

/// The last stage of a batch: its directory as `batch-<n>.car` (tokens, provenance, templates, its own
/// manifest), the contact sheet, `manifest.json`, and (publish.mode onchain / onchain-base) the transactions
/// that make each contract's `tokenURI` match what is published. Every file is written whole or not at all,
/// and writing them again gives the same bytes, so a run killed here simply does it again.
struct BatchOutputs: Sendable {
    let store: any Store
    let blockstore: FilesystemBlockstore
    let profile: ImportProfile
    let out: String
    let chainId: UInt64
    let contracts: [Address]
    let publishMode: Configuration.PublishMode
    let onchain: OnchainPublisher?
    /// `publish.manifest`: `manifest.json` whole, or in shards under `manifest/` (``ManifestShards``).
    var manifestLayout: Configuration.ManifestLayout = .whole
    /// Publications per page when writing `manifest.json`.
    var manifestPage = 4_096
    /// At most this many tokens published since the last `manifest.json` are merged into it; more, and it is
    /// written whole (streamed, where a merge holds their entries in memory).
    var mergeLimit = 65_536

    /// Writes the batch's files and closes it. With publish.mode onchain-base the CAR also holds every
    /// collection's directory, which it returns.
    func finish(batch: Int, into summary: inout BatchSummary) async throws -> [Address: FileDAGBuilder.Entry]? {
        let publications = try await store.publications(batch: batch)
        // The batch's tokens that this run did not publish itself: `kiln worker`s did.
        summary.publishedByOthers = publications.count - summary.published
        guard !publications.isEmpty else {
            try await store.closeBatch(batch)
            summary.batch = nil
            return nil
        }
        let importer = Importer(profile: profile)
        let reader = UnixFSReader(blockstore: blockstore)
        var latest: [String: Publication] = [:]
        for publication in publications { latest[publication.token.directoryName] = publication }
        var tokens: [String: FileDAGBuilder.Entry] = [:]
        var provenance: [String: FileDAGBuilder.Entry] = [:]
        var templates: [String: FileDAGBuilder.Entry] = [:]
        var own: [String: JSONValue] = [:]
        for (name, publication) in latest {
            tokens[name] = try reader.entry(try CID(publication.directory))
            var files: [String: FileDAGBuilder.Entry] = [:]
            if let attestation = publication.attestation {
                files["attestation.json"] = try reader.entry(try CID(attestation))
            }
            if let inference = publication.inference { files["inference.png"] = try reader.entry(try CID(inference)) }
            // Under a tolerance policy, every committed output the bundle names: outputs/<outputHash>.png.
            if let attestation = publication.attestation {
                let bundle = try JSONValue.parse(bytes: try reader.cat(try CID(attestation)))
                var outputs: [String: FileDAGBuilder.Entry] = [:]
                for (hash, cid) in AttestationBundle.committedOutputs(bundle) {
                    outputs["\(hash).png"] = try reader.entry(try CID(cid))
                }
                if !outputs.isEmpty { files["outputs"] = try importer.directory(outputs, into: blockstore) }
            }
            if !files.isEmpty { provenance[name] = try importer.directory(files, into: blockstore) }
            let templateName = "\(publication.token.chainId)-\(publication.token.contract.lowercased)"
            templates[templateName] = try reader.entry(try CID(publication.template))
            own[name] = [
                "chainId": .number(publication.token.chainId),
                "contract": .string(publication.token.contract.checksummed),
                "tokenId": .string(publication.token.tokenId), "metadata": .string("ipfs://\(publication.metadata)"),
                "directory": .string("ipfs://\(publication.directory)"),
            ]
        }
        let batchManifest = JSONValue.object([
            "batch": .number(batch), "kiln": .string(KilnVersion.current), "profile": .string(profile.name),
            "tokens": .object(own),
        ])
        var root: [String: FileDAGBuilder.Entry] = [
            "manifest.json": try importer.add(bytes: try batchManifest.canonicalBytes(), into: blockstore),
            "tokens": try importer.groupedDirectory(tokens, into: blockstore, path: "tokens"),
            "templates": try importer.directory(templates, into: blockstore),
        ]
        if !provenance.isEmpty {
            root["provenance"] = try importer.groupedDirectory(provenance, into: blockstore, path: "provenance")
        }
        var collections: [Address: FileDAGBuilder.Entry]?
        if publishMode == .onchainBase {
            let built = try await self.collections(try latestPublications())
            collections = built
            let named = Dictionary(uniqueKeysWithValues: built.map { ("\(chainId)-\($0.key.lowercased)", $0.value) })
            root["collections"] = try importer.directory(named, into: blockstore)
        }
        let rootEntry = try importer.directory(root, into: blockstore)
        summary.root = rootEntry.cid
        try await blockstore.syncOffThePool()

        CrashPoint.beforeCAR.reached()
        let car = out + "/batch-\(batch).car"
        try CARWriter.write(roots: [rootEntry.cid], from: blockstore, to: car)
        summary.car = car
        CrashPoint.afterCAR.reached()

        let sheet = out + "/batch-\(batch)-sheet.png"
        // Only the thumbnails the sheet shows are read (not one per token of a 10 000-token batch), each as its row
        // is drawn; the file is written as it is encoded.
        let ordered = latest.values.sorted(by: Self.tokenOrder)
        let sheetFile = try AtomicFile.Writer(path: sheet)
        try ContactSheet.write(
            shown: min(ordered.count, ContactSheet.maxTokens),
            total: ordered.count,
            item: { index in
                let publication = ordered[index]
                return (
                    label: "#\(publication.token.tokenId)", thumbnail: try reader.cat(try CID(publication.thumbnail))
                )
            },
            to: sheetFile
        )
        try sheetFile.commit()
        summary.sheet = sheet
        CrashPoint.afterSheet.reached()

        let manifestPath = out + "/manifest.json"
        switch manifestLayout {
        case .whole: try await writeManifest(to: manifestPath)
        case .sharded: try await writeShardedManifest(index: manifestPath)
        }
        summary.manifest = manifestPath
        CrashPoint.afterManifest.reached()
        try await store.closeBatch(batch)
        return collections
    }

    /// Every token's latest publication, by contract.
    /// Read a page at a time from each token's latest publication (one row per token, not every version).
    func latestPublications() async throws -> [Address: [Publication]] {
        var latest: [Address: [Publication]] = [:]
        for contract in contracts {
            var page = TokenPage.first(4_096)
            while true {
                let rows = try await store.latestPublications(chainId: chainId, contract: contract, page: page)
                latest[contract, default: []] += rows
                guard rows.count == page.limit, let last = rows.last else { break }
                page = TokenPage(.after, last.token.tokenId, limit: page.limit)
            }
        }
        // Collections and on-chain checks read each token's metadata (and bundle): a coordinator on another machine
        // than the workers copies those it lacks from a store that shares blocks.
        if store.sharesBlocks {
            var roots: [CID] = []
            for publication in latest.values.joined() {
                roots.append(try CID(publication.metadata))
                if let attestation = publication.attestation { roots.append(try CID(attestation)) }
            }
            try await SharedBlocks.fetch(roots, from: store, into: blockstore)
        }
        return latest
    }

    /// publish.mode onchain-base: each collection's directory, `<tokenId>` → its current metadata.json.
    func collections(_ latest: [Address: [Publication]]) throws -> [Address: FileDAGBuilder.Entry] {
        let reader = UnixFSReader(blockstore: blockstore)
        var collections: [Address: FileDAGBuilder.Entry] = [:]
        for (contract, tokens) in latest {
            var files: [String: FileDAGBuilder.Entry] = [:]
            for publication in tokens {
                files[publication.token.tokenId] = try reader.entry(try CID(publication.metadata))
            }
            collections[contract] = try Importer(profile: profile).directory(
                files,
                into: blockstore,
                path: "collection"
            )
        }
        return collections
    }

    /// publish.mode onchain / onchain-base: brings each contract's tokenURI in line with what is published.
    /// `collections` are the directories ``finish(batch:into:)`` built, if it ran.
    func publishOnchain(
        into summary: inout BatchSummary,
        collections: [Address: FileDAGBuilder.Entry]?,
        progress: @escaping @Sendable (BatchEvent) -> Void
    ) async {
        guard let onchain else { return }
        let latest: [Address: [Publication]]
        var bases: [Address: CID] = [:]
        do {
            latest = try await latestPublications()
            if onchain.mode == .onchainBase { bases = (try collections ?? self.collections(latest)).mapValues(\.cid) }
        } catch {
            summary.problems.append(Problem(.onchain, "on-chain publish", error: error))
            return
        }
        for contract in contracts {
            summary.problems += await onchain.reconcile(
                contract: contract,
                latest: latest[contract] ?? [],
                collection: bases[contract],
                blockstore: blockstore
            ) { sent in
                summary.transactions.append(sent)
                progress(.transaction(sent))
            }
            if onchain.erc7007 {
                summary.problems += await onchain.reconcileAIGC(
                    contract: contract,
                    latest: latest[contract] ?? [],
                    blockstore: blockstore
                ) { sent in
                    summary.transactions.append(sent)
                    progress(.transaction(sent))
                }
            }
        }
    }

    /// `manifest.json` brought up to date: merged into the file the last batch wrote when the store's mark says
    /// what it holds (``OutputMark``: the publications since are read, not the history), else written whole.
    /// Either way the bytes of ``manifest()``'s `json`, which tests compare.
    @discardableResult
    func writeManifest(to path: String) async throws -> ManifestWrite {
        let name = URL(fileURLWithPath: path).standardizedFileURL.path
        if let mark = try await store.outputMark(name), mark.stamp == ManifestMerge.stamp(of: path),
            let merged = try await mergeManifest(into: path, name: name, after: mark.publication)
        {
            return merged
        }
        try await writeWholeManifest(to: path, name: name)
        return .whole
    }

    /// How ``writeManifest(to:)`` brought `manifest.json` up to date.
    enum ManifestWrite: Equatable {
        /// Nothing was published since it was written.
        case upToDate
        /// These many tokens' entries were merged into it.
        case merged(tokens: Int)
        /// Written whole from the store.
        case whole
    }

    /// The head of `manifest.json` (and of each shard) up to its first entry: `{"kiln":…,"profile":…,"tokens":{`.
    var manifestHead: [UInt8] {
        get throws {
            var head = try Manifest(profile: profile.name).json.canonicalBytes()
            head.removeLast(2)
            return head
        }
    }

    /// One token's entry in `manifest.json` from its publications oldest first (``Manifest/update(token:with:)``).
    private func manifestEntry(_ token: String, _ publications: [Publication]) throws -> ManifestMerge.Entry? {
        var one = Manifest(profile: profile.name)
        for publication in publications { one.update(token: token, with: try TokenDirectory(publication)) }
        guard let entry = one.json["tokens"]?[token] else { return nil }
        let key = try JSONValue.string(token).canonicalBytes()
        return ManifestMerge.Entry(
            key: Array(token.utf8),
            bytes: key + [UInt8(ascii: ":")] + (try entry.canonicalBytes())
        )
    }

    /// The entries of the tokens published after row `after`, sorted by key, and the last row read; nil when there
    /// are more than ``mergeLimit`` (cheaper written whole than held in memory).
    func entriesPublished(after: Int64) async throws -> (entries: [ManifestMerge.Entry], last: Int64)? {
        var tokens = Set<TokenKey>()
        var last = after
        while true {
            let page = try await store.publications(afterRow: last, limit: manifestPage)
            for (row, publication) in page {
                tokens.insert(publication.token)
                last = max(last, row)
            }
            guard tokens.count <= mergeLimit else { return nil }
            if page.count < manifestPage { break }
        }
        var changed: [ManifestMerge.Entry] = []
        changed.reserveCapacity(tokens.count)
        for token in tokens {
            if let entry = try manifestEntry(token.description, try await store.publications(of: token)) {
                changed.append(entry)
            }
        }
        changed.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return (changed, last)
    }

    /// Merges the tokens published after row `after` into the manifest at `path`; nil when it could not (too
    /// many to hold, or the file is not one to merge into), having written nothing.
    private func mergeManifest(into path: String, name: String, after: Int64) async throws -> ManifestWrite? {
        guard let (changed, last) = try await entriesPublished(after: after) else { return nil }
        guard last > after else { return .upToDate }
        let writer = try AtomicFile.Writer(path: path)
        guard try ManifestMerge.merge(old: path, head: try manifestHead, changed: changed, into: writer) else {
            return nil
        }
        try writer.commit()
        try await mark(path, name: name, publication: last)
        return .merged(tokens: changed.count)
    }

    /// Records what the manifest just written holds.
    private func mark(_ path: String, name: String, publication: Int64) async throws {
        guard let stamp = ManifestMerge.stamp(of: path) else { return }
        try await store.setOutputMark(name, OutputMark(publication: publication, stamp: stamp))
    }

    /// `manifest.json` written whole, a page of publications at a time, in its own key order: memory holds one
    /// page, not the collection's history.
    func writeWholeManifest(to path: String, name: String) async throws {
        let writer = try AtomicFile.Writer(path: path)
        try writer.write(try manifestHead)
        var separator: [UInt8] = []
        let lastRow = try await forEachManifestEntry { entry in
            try writer.write(separator + entry.bytes)
            separator = [UInt8(ascii: ",")]
        }
        try writer.write(Array("}}".utf8))
        try writer.commit()
        try await mark(path, name: name, publication: lastRow)
    }

    /// Hands `body` every published token's entry in the manifest's key order, reading a page of publications at a
    /// time; returns the last publication row read.
    func forEachManifestEntry(_ body: (ManifestMerge.Entry) throws -> Void) async throws -> Int64 {
        var lastRow: Int64 = 0
        func write(_ token: String, _ publications: [Publication]) throws {
            guard let entry = try manifestEntry(token, publications) else { return }
            try body(entry)
        }
        // Keys are "chainId:Contract#id": collections by that prefix, then token ids as text (the store's order).
        let collections = try await store.publishedCollections()
            .map { (prefix: "\($0.chainId):\($0.contract.checksummed)#", collection: $0) }
            .sorted { $0.prefix.utf16.lexicographicallyPrecedes($1.prefix.utf16) }
        for (_, collection) in collections {
            var cursor: PublicationCursor?
            var token: (key: String, publications: [Publication])?
            while true {
                let page = try await store.publicationsByToken(
                    chainId: collection.chainId,
                    contract: collection.contract,
                    after: cursor,
                    limit: manifestPage
                )
                for (cursor, publication) in page {
                    lastRow = max(lastRow, cursor.row)
                    let key = publication.token.description
                    if let current = token, current.key != key {
                        try write(current.key, current.publications)
                        token = nil
                    }
                    if token == nil { token = (key, []) }
                    token?.publications.append(publication)
                }
                guard page.count == manifestPage, let last = page.last else { break }
                cursor = last.cursor
            }
            if let token { try write(token.key, token.publications) }
        }
        return lastRow
    }

    /// `manifest.json` from every publication in order: each token's current metadata CID and its history.
    func manifest() async throws -> Manifest {
        var manifest = Manifest(profile: profile.name)
        for publication in try await store.publications(batch: nil) {
            manifest.update(token: publication.token.description, with: try TokenDirectory(publication))
        }
        return manifest
    }

    /// Temporary files a killed run left beside the outputs (`.NAME.tmp-XXXXXX`). Only called under the lock.
    func removeStaleTemporaryFiles() {
        for folder in [out, blockstore.folder] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
                try? FileManager.default.removeItem(atPath: folder + "/" + name)
            }
        }
    }

    /// The contact sheet's order: by contract, then token id as a number.
    static func tokenOrder(_ a: Publication, _ b: Publication) -> Bool {
        if a.token.contract != b.token.contract { return a.token.contract.lowercased < b.token.contract.lowercased }
        if a.token.tokenId.count != b.token.tokenId.count { return a.token.tokenId.count < b.token.tokenId.count }
        return a.token.tokenId < b.token.tokenId
    }
}

extension TokenDirectory {
    /// The CIDs a publication records.
    init(_ publication: Publication) throws {
        self.init(
            directory: try CID(publication.directory),
            image: try CID(publication.image),
            thumbnail: try CID(publication.thumbnail),
            metadata: try CID(publication.metadata)
        )
    }
}
