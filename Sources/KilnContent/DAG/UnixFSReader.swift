// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads UnixFS files and directories back out of a blockstore: what `ipfs cat` and `ipfs ls` do, bounded.
public struct UnixFSReader: Sendable {
    /// Where blocks are read from.
    public let blockstore: any Blockstore
    /// The largest file read into memory.
    public var maxFileSize = 256 << 20

    /// A reader over `blockstore`.
    public init(blockstore: any Blockstore) { self.blockstore = blockstore }

    /// The bytes of the file at `cid` (a raw leaf or a dag-pb UnixFS file).
    public func cat(_ cid: CID) throws(ContentError) -> [UInt8] {
        var out: [UInt8] = []
        try append(cid, to: &out, depth: 0)
        return out
    }

    private func append(_ cid: CID, to out: inout [UInt8], depth: Int) throws(ContentError) {
        guard depth < 64 else { throw ContentError(.invalidBlock, "File \(cid) is nested too deeply") }
        let block = try blockstore.get(cid)
        if cid.codec == CID.raw {
            out += block
        } else if cid.codec == CID.dagPB {
            let node = try DagPBNode(decoding: block)
            let data = try UnixFSData(decoding: node.data ?? [])
            guard data.kind == .file || data.kind == .raw else {
                throw ContentError(.invalidBlock, "\(cid) is a UnixFS \(data.kind), not a file")
            }
            out += data.data ?? []
            for link in node.links { try append(link.cid, to: &out, depth: depth + 1) }
        } else {
            throw ContentError(.unsupported, "\(cid) is neither raw nor dag-pb")
        }
        guard out.count <= maxFileSize else {
            throw ContentError(.invalidBlock, "File \(cid) is larger than \(maxFileSize) bytes")
        }
    }

    /// The entries of the UnixFS directory at `cid`, by name.
    public func list(_ cid: CID) throws(ContentError) -> [DagPBLink] {
        guard cid.codec == CID.dagPB else { throw ContentError(.invalidBlock, "\(cid) is not a directory") }
        let node = try DagPBNode(decoding: try blockstore.get(cid))
        guard try UnixFSData(decoding: node.data ?? []).kind == .directory else {
            throw ContentError(.invalidBlock, "\(cid) is not a UnixFS directory")
        }
        return node.links
    }

    /// Whether `cid` is a UnixFS directory.
    public func isDirectory(_ cid: CID) throws(ContentError) -> Bool {
        guard cid.codec == CID.dagPB else { return false }
        let node = try DagPBNode(decoding: try blockstore.get(cid))
        return try UnixFSData(decoding: node.data ?? []).kind == .directory
    }

    /// Follows `path` ("a/b/c") from the directory at `cid`.
    public func resolve(_ cid: CID, path: String) throws(ContentError) -> CID {
        var current = cid
        for name in path.split(separator: "/") {
            guard let link = try list(current).first(where: { $0.name == name }) else {
                throw ContentError(.blockNotFound, "'\(name)' is not in directory \(current)")
            }
            current = link.cid
        }
        return current
    }

    /// Writes the directory tree at `cid` into `folder` (created), refusing names that would leave it.
    public func export(_ cid: CID, to folder: String) throws(ContentError) {
        guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
            throw ContentError(.io, "Unable to create '\(folder)'")
        }
        for link in try list(cid) {
            guard !link.name.isEmpty, link.name != ".", link.name != "..", !link.name.contains("/"),
                !link.name.contains("\0")
            else {
                throw ContentError(.invalidBlock, "Directory \(cid) has an unsafe entry name '\(link.name)'")
            }
            let path = folder + "/" + link.name
            if try isDirectory(link.cid) {
                try export(link.cid, to: path)
            } else {
                do { try AtomicFile.write(try cat(link.cid), to: path) } catch let error as ContentError {
                    throw error
                } catch {
                    throw ContentError(.io, "\(error)", cause: error)
                }
            }
        }
    }
}

extension UnixFSReader {
    /// The directory entry for an already stored file or directory: its CID, the cumulative size of its DAG
    /// (what a parent's link carries) and its file size.
    public func entry(_ cid: CID) throws(ContentError) -> FileDAGBuilder.Entry {
        let block = try blockstore.get(cid)
        guard cid.codec == CID.dagPB else {
            return FileDAGBuilder.Entry(cid: cid, tsize: UInt64(block.count), fileSize: UInt64(block.count))
        }
        let node = try DagPBNode(decoding: block)
        let data = try UnixFSData(decoding: node.data ?? [])
        return FileDAGBuilder.Entry(
            cid: cid,
            tsize: UInt64(block.count) + node.links.reduce(0) { $0 + $1.tsize },
            fileSize: data.fileSize ?? UInt64(data.data?.count ?? 0)
        )
    }
}
