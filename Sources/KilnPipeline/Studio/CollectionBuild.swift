// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnContent
public import KilnCore
public import KilnTemplates
internal import Foundation
internal import Synchronization

/// A whole collection built offline, in the layout HashLips writes: `images/<id>.png`, `json/<id>.json` (ERC-721
/// metadata, `image` the PNG's `ipfs://` CID) and `_metadata.json` (every token's metadata, in id order), plus a
/// CAR of that folder whose root is the CID `ipfs add -r --cid-version=1` gives it (large folders HAMT-sharded as
/// kubo shards them). Deterministic: the same template, ids and state give the same bytes and CIDs anywhere.
public enum CollectionBuild {
    /// What a build made.
    public struct Result: Sendable {
        /// The folder's root CID.
        public var root: CID
        public var images: CID
        public var json: CID
        /// The CAR of the folder.
        public var car: String
        public var tokens: Int
        /// The CAR's size in bytes.
        public var carBytes: Int
    }

    /// Builds tokens `ids` at `traits` into `folder` (created; an earlier build there is replaced, any other
    /// non-empty folder refused) and the CAR at
    /// `car`, rendering `concurrency` tokens at once. `progress` is called after each token with the count done.
    /// - Throws: the first token's ``TemplateError`` (a rule broken, …) with the token's id, or a write error.
    public static func run(
        _ renderer: CollectionRenderer,
        ids: ClosedRange<Int>,
        traits: [String: Value] = [:],
        folder: String,
        car: String,
        concurrency: Int? = nil,
        progress: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws -> Result {
        let files = FileManager.default
        // A previous build there is replaced whole (a token it had beyond `ids` would change the folder's CID);
        // any other non-empty folder is refused.
        let existing = (try? files.contentsOfDirectory(atPath: folder)) ?? []
        if !existing.isEmpty {
            guard existing.contains("_metadata.json") else {
                throw BuildError(
                    message: "'\(folder)' is not empty and holds no earlier build (_metadata.json): choose a new folder"
                )
            }
            for name in ["images", "json", "_metadata.json"] where existing.contains(name) {
                try files.removeItem(atPath: folder + "/" + name)
            }
        }
        try files.createDirectory(atPath: folder + "/images", withIntermediateDirectories: true)
        try files.createDirectory(atPath: folder + "/json", withIntermediateDirectories: true)
        // Only the folders' blocks stay in memory; a file's blocks are made again from its file while the CAR is
        // written (``FileBackedBlockstore``), so memory does not grow with the collection.
        let blocks = FileBackedBlockstore(profile: .kuboV1)
        let importer = Importer(profile: .kuboV1)
        var images: [String: FileDAGBuilder.Entry] = [:]
        var documents: [String: FileDAGBuilder.Entry] = [:]
        var metadata = [JSONValue](repeating: .null, count: ids.count)
        try await withThrowingTaskGroup(of: (Int, FileDAGBuilder.Entry, FileDAGBuilder.Entry, JSONValue).self) {
            group in
            var next = ids.lowerBound
            func start() {
                let id = next
                next += 1
                group.addTask {
                    let token: CollectionRenderer.Token
                    do {
                        token = try await renderer.render(id: BigUInt(id), traits: traits)
                    } catch {
                        throw BuildError(message: "token \(id): \(error)", cause: error)
                    }
                    let json = Array(try token.metadata.canonicalString().utf8)
                    try Data(token.png).write(to: URL(fileURLWithPath: "\(folder)/images/\(id).png"), options: .atomic)
                    try Data(json).write(to: URL(fileURLWithPath: "\(folder)/json/\(id).json"), options: .atomic)
                    return (id, token.entry, try importer.add(bytes: json), token.metadata)
                }
            }
            let width = concurrency ?? ProcessInfo.processInfo.activeProcessorCount
            for _ in 0..<min(max(1, width), ids.count) { start() }
            var done = 0
            while let (id, image, document, value) = try await group.next() {
                images["\(id).png"] = image
                documents["\(id).json"] = document
                blocks.file(image.cid, at: "\(folder)/images/\(id).png")
                blocks.file(document.cid, at: "\(folder)/json/\(id).json")
                metadata[id - ids.lowerBound] = value
                done += 1
                progress(done)
                if next <= ids.upperBound { start() }
            }
        }
        let all = Array(try JSONValue.array(metadata).canonicalString().utf8)
        try Data(all).write(to: URL(fileURLWithPath: folder + "/_metadata.json"), options: .atomic)
        let allEntry = try importer.add(bytes: all)
        blocks.file(allEntry.cid, at: folder + "/_metadata.json")
        let imagesRoot = try importer.directory(images, into: blocks, path: folder + "/images")
        let jsonRoot = try importer.directory(documents, into: blocks, path: folder + "/json")
        let root = try importer.directory(
            [
                "images": imagesRoot, "json": jsonRoot,
                "_metadata.json": allEntry,
            ],
            into: blocks,
            path: folder
        )
        _ = try CARWriter.write(roots: [root.cid], from: blocks, to: car)
        let size = (try? files.attributesOfItem(atPath: car)[.size] as? Int) ?? 0
        return Result(
            root: root.cid,
            images: imagesRoot.cid,
            json: jsonRoot.cid,
            car: car,
            tokens: ids.count,
            carBytes: size
        )
    }

    /// A token that could not be built, and why.
    public struct BuildError: CausedError, Sendable {
        public var message: String
        public var cause: (any Error)?
        public var description: String { message }
    }
}

/// The blocks of a build: folders (and HAMT shards) kept in memory; each file's blocks made again from the file
/// when its root is asked for. ``CARWriter`` asks for a file's root and then, depth-first, for the file's own
/// blocks, so only the file being written is held.
final class FileBackedBlockstore: Blockstore {
    private struct State {
        var files: [CID: String] = [:]
        var current = MemoryBlockstore()
    }
    private let folders = MemoryBlockstore()
    private let state = Mutex(State())
    let profile: ImportProfile

    init(profile: ImportProfile) { self.profile = profile }

    /// Records that the file at `path` imports to `root`.
    func file(_ root: CID, at path: String) { state.withLock { $0.files[root.v1] = path } }

    func put(_ block: [UInt8], cid: CID) throws(ContentError) { try folders.put(block, cid: cid) }

    func get(_ cid: CID) throws(ContentError) -> [UInt8] {
        if folders.has(cid) { return try folders.get(cid) }
        let (path, current) = state.withLock { ($0.files[cid.v1], $0.current) }
        if let path {
            let blocks = MemoryBlockstore()
            let entry = try Importer(profile: profile).add(path: path, into: blocks)
            guard entry.cid.v1 == cid.v1 else {
                throw ContentError(.blockMismatch, "'\(path)' changed while the CAR was being written")
            }
            state.withLock { $0.current = blocks }
            return try blocks.get(cid)
        }
        return try current.get(cid)
    }

    func has(_ cid: CID) -> Bool {
        folders.has(cid) || state.withLock { $0.files[cid.v1] != nil || $0.current.has(cid) }
    }
}
