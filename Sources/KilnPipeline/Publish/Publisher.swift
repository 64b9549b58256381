// Kiln — Apache-2.0. See LICENSE.

public import KilnContent
public import KilnCore
public import KilnImage

/// One token's published media: a UnixFS directory `{image.png, thumb.jpg, metadata.json}`.
public struct TokenDirectory: Hashable, Sendable {
    /// The token directory `{image.png, thumb.jpg, metadata.json}`.
    public var directory: CID
    /// `image.png`.
    public var image: CID
    /// `thumb.jpg`.
    public var thumbnail: CID
    /// `metadata.json`.
    public var metadata: CID

    /// The CIDs of one token directory.
    public init(directory: CID, image: CID, thumbnail: CID, metadata: CID) {
        self.directory = directory
        self.image = image
        self.thumbnail = thumbnail
        self.metadata = metadata
    }
}

/// Publishes rendered tokens content-addressed: blocks into the blockstore, and `manifest.json` (token →
/// current metadata CID, with the history of earlier ones) written atomically. Publishing the same bytes again
/// changes nothing.
public struct Publisher: Sendable {
    /// Where the blocks go.
    public let blockstore: any Blockstore
    /// How files become CIDs.
    public let profile: ImportProfile
    /// The longer side of `thumb.jpg`.
    public var thumbnailSide = 256

    /// A publisher into `blockstore`.
    public init(blockstore: any Blockstore, profile: ImportProfile = .kuboV1) {
        self.blockstore = blockstore
        self.profile = profile
    }

    /// Stores `image.png` (the PNG given), a JPEG thumbnail made from `raster`, and the metadata: `makeMetadata`
    /// receives the image's CID and returns the JSON (canonical bytes are stored).
    public func publish(png: [UInt8], raster: Raster, makeMetadata: (CID) throws -> JSONValue) throws -> TokenDirectory
    {
        let importer = Importer(profile: profile)
        let image = try importer.add(bytes: png, into: blockstore)
        let scale = Double(thumbnailSide) / Double(max(raster.width, raster.height))
        let small =
            scale < 1
            ? try raster.downscaled(
                width: max(1, Int((Double(raster.width) * scale).rounded())),
                height: max(1, Int((Double(raster.height) * scale).rounded()))
            )
            : raster
        let thumb = try importer.add(bytes: try JPEGEncoder(quality: 85).encode(small), into: blockstore)
        let metadataJSON = try makeMetadata(image.cid)
        let metadata = try importer.add(bytes: try metadataJSON.canonicalBytes(), into: blockstore)
        let directory = try importer.directory(
            ["image.png": image, "thumb.jpg": thumb, "metadata.json": metadata],
            into: blockstore
        )
        return TokenDirectory(directory: directory.cid, image: image.cid, thumbnail: thumb.cid, metadata: metadata.cid)
    }
}

/// `manifest.json`: for every token its current metadata CID and directory, and the earlier ones, newest last.
public struct Manifest: Hashable, Sendable {
    /// One token's line in the manifest.
    public struct Entry: Hashable, Sendable {
        /// The current metadata.json.
        public var metadata: CID
        /// The current token directory.
        public var directory: CID
        /// Earlier metadata CIDs, oldest first.
        public var history: [CID]
    }

    /// The import profile every CID was made with.
    public var profile: String
    /// Each token (`chainId:contract:id`) and its entry.
    public var entries: [String: Entry]

    /// A manifest (empty by default).
    public init(profile: String, entries: [String: Entry] = [:]) {
        self.profile = profile
        self.entries = entries
    }

    /// Records `token`'s new publication; returns false (and changes nothing) when it is already current.
    @discardableResult
    public mutating func update(token: String, with published: TokenDirectory) -> Bool {
        if let current = entries[token] {
            guard current.metadata != published.metadata else { return false }
            entries[token] = Entry(
                metadata: published.metadata,
                directory: published.directory,
                history: current.history + [current.metadata]
            )
        } else {
            entries[token] = Entry(metadata: published.metadata, directory: published.directory, history: [])
        }
        return true
    }

    /// The manifest as `manifest.json` holds it.
    public var json: JSONValue {
        [
            "kiln": .string(KilnVersion.current), "profile": .string(profile),
            "tokens": .object(
                entries.mapValues { entry in
                    [
                        "metadata": .string("ipfs://\(entry.metadata)"),
                        "directory": .string("ipfs://\(entry.directory)"),
                        "history": .array(entry.history.map { .string("ipfs://\($0)") }),
                    ]
                }
            ),
        ]
    }

    /// Reads a manifest written by ``write(to:)``.
    public init(json: JSONValue) throws(PipelineError) {
        guard let profile = json["profile"]?.stringValue, case .object(let tokens)? = json["tokens"] else {
            throw PipelineError("Unable to read manifest: expected 'profile' and 'tokens'")
        }
        func cid(_ value: JSONValue?) throws(PipelineError) -> CID {
            guard let text = value?.stringValue, text.hasPrefix("ipfs://"),
                let cid = try? CID(String(text.dropFirst(7)))
            else {
                throw PipelineError("Unable to read manifest: a CID is not ipfs://<cid>")
            }
            return cid
        }
        var entries: [String: Entry] = [:]
        for (token, entry) in tokens {
            guard case .array(let history)? = entry["history"] else {
                throw PipelineError("Unable to read manifest: '\(token)' has no history")
            }
            entries[token] = Entry(
                metadata: try cid(entry["metadata"]),
                directory: try cid(entry["directory"]),
                history: try history.map { (item) throws(PipelineError) -> CID in try cid(item) }
            )
        }
        self.init(profile: profile, entries: entries)
    }

    /// Writes the manifest atomically (temp file + rename) as canonical JSON.
    public func write(to path: String) throws {
        try AtomicFile.write(try json.canonicalBytes(), to: path)
    }
}
