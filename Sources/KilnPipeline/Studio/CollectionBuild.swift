// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnContent
public import KilnCore
public import KilnTemplates
internal import Foundation

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

    /// Builds tokens `ids` at `traits` into `folder` (created; files already there are replaced) and the CAR at
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
        try files.createDirectory(atPath: folder + "/images", withIntermediateDirectories: true)
        try files.createDirectory(atPath: folder + "/json", withIntermediateDirectories: true)
        let blocks = MemoryBlockstore()
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
                    let image = try importer.add(bytes: token.png, into: blocks)
                    let document = try importer.add(bytes: json, into: blocks)
                    return (id, image, document, token.metadata)
                }
            }
            let width = concurrency ?? ProcessInfo.processInfo.activeProcessorCount
            for _ in 0..<min(max(1, width), ids.count) { start() }
            var done = 0
            while let (id, image, document, value) = try await group.next() {
                images["\(id).png"] = image
                documents["\(id).json"] = document
                metadata[id - ids.lowerBound] = value
                done += 1
                progress(done)
                if next <= ids.upperBound { start() }
            }
        }
        let all = Array(try JSONValue.array(metadata).canonicalString().utf8)
        try Data(all).write(to: URL(fileURLWithPath: folder + "/_metadata.json"), options: .atomic)
        let imagesRoot = try importer.directory(images, into: blocks, path: folder + "/images")
        let jsonRoot = try importer.directory(documents, into: blocks, path: folder + "/json")
        let root = try importer.directory(
            [
                "images": imagesRoot, "json": jsonRoot,
                "_metadata.json": try importer.add(bytes: all, into: blocks),
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
