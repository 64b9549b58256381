// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blockstore in a folder: one file per block, `<folder>/<CIDv1 in base32>`, written atomically
/// (temporary file + rename), so a crash never leaves a half-written block under a real name.
///
/// A CIDv0 and the CIDv1 of the same dag-pb block share one file.
public struct FilesystemBlockstore: Blockstore {
    /// The folder, one file per block.
    public let folder: String

    /// Opens (and creates, with its parents) the folder.
    public init(folder: String) throws(ContentError) {
        self.folder = folder
        var path = folder.hasPrefix("/") ? "/" : ""
        for part in folder.split(separator: "/") {
            path += (path.isEmpty || path.hasSuffix("/") ? "" : "/") + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw ioError("Unable to create blockstore folder '\(path)'")
            }
        }
    }

    private func path(_ cid: CID) -> String { folder + "/" + cid.v1.description }

    /// Writes `block` as a file named by its CID (temp file, flushed, + rename); a block already there is kept.
    /// The folder is flushed by ``sync()`` (once per job), not after every block.
    /// - Throws: ``ContentError`` (`io`) when the file cannot be written.
    public func put(_ block: [UInt8], cid: CID) throws(ContentError) {
        if has(cid) { return }
        do {
            try AtomicFile.write(block, to: path(cid), syncFolder: false)
        } catch {
            var failure = ContentError(.io, error.description)
            failure.isEnvironmental = error.isEnvironmental
            throw failure
        }
    }

    /// Flushes the folder, so every block renamed into it so far survives a power cut.
    public func sync() throws(ContentError) {
        do { try AtomicFile.sync(folder: folder) } catch {
            var failure = ContentError(.io, error.description)
            failure.isEnvironmental = error.isEnvironmental
            throw failure
        }
    }

    /// Reads the block for `cid` and checks it against its CID.
    /// - Throws: ``ContentError`` when it is absent or does not match.
    public func get(_ cid: CID) throws(ContentError) -> [UInt8] {
        guard let file = fopen(path(cid), "rb") else {
            if errno == ENOENT {
                throw ContentError(.blockNotFound, "Block \(cid) is not in the blockstore '\(folder)'")
            }
            throw ioError("Unable to read block \(cid)")
        }
        defer { fclose(file) }
        var block: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            block.append(contentsOf: buffer[..<count])
            if count < buffer.count { break }
        }
        guard try cid.multihash.matches(block) else {
            throw ContentError(
                .blockMismatch,
                "Block \(cid) in '\(folder)' does not match its hash: the file is corrupt"
            )
        }
        return block
    }

    /// Whether the block file exists.
    public func has(_ cid: CID) -> Bool { access(path(cid), F_OK) == 0 }
}
