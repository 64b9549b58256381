import Foundation
import KilnContent
import KilnCore
import KilnTesting
import Testing

struct UnixFSTests {
    /// The sizes that exercise the layout: empty, one byte, around one chunk, 174 and 175 chunks (one and two
    /// levels), 50 MiB, and for the 1 MiB profile around its chunk.
    static let sizes = [
        0, 1, 12, 262_143, 262_144, 262_145, 524_295, 174 * 262_144, 174 * 262_144 + 1, 1_048_577, 50 << 20,
    ]

    @Test func filesMatchIndependentImplementations() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var paths: [String] = []
        for (index, size) in Self.sizes.enumerated() {
            let url = folder.appendingPathComponent("file-\(size)")
            try writeFile(url, count: size, seed: UInt64(index))
            paths.append(url.path)
        }
        // hello world, as in kubo's docs.
        let hello = folder.appendingPathComponent("hello").path
        try Data("hello world\n".utf8).write(to: URL(fileURLWithPath: hello))
        paths.append(hello)

        // Raw-leaf profiles against the Python importer (multiformats).
        for profile in [ImportProfile.kuboV1, .unixfsV1_2025] {
            let answers = try await PythonBench.run(
                "content.py",
                ["op": "add", "paths": .array(paths.map { .string($0) }), "profile": profile.json]
            )["result"]!.items
            for (path, answer) in zip(paths, answers) {
                let entry = try Importer(profile: profile).add(path: path)
                #expect(entry.cid.description == answer["cid"]?.stringValue, "\(profile) \(path)")
                #expect(.number(entry.tsize) == answer["tsize"], "\(profile) \(path) Tsize")
            }
        }
        // kubo-v0 against Debian's ipfs_cid (kubo's plain `ipfs add` DAG), which shares no code with Kiln.
        for path in paths {
            let run = try await KilnProcess.run([path], program: URL(fileURLWithPath: "/usr/bin/ipfs_cid"))
            let answer = try JSONValue.parse(run.stdout)
            let entry = try Importer(profile: .kuboV0).add(path: path)
            #expect(entry.cid.description == answer["CIDv0"]?.stringValue, "kubo-v0 \(path)")
            #expect(entry.cid.v1.description == answer["CIDv1"]?.stringValue, "kubo-v0 as CIDv1 \(path)")
        }
        #expect(
            try Importer(profile: .kuboV1).add(path: hello).cid.description
                == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
        )
        #expect(
            try Importer(profile: .kuboV0).add(path: hello).cid.description
                == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
        )
    }

    @Test func bytesInMemoryGiveTheSameCIDsAsFiles() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for size in [0, 100, 262_145, 600_000] {
            let url = folder.appendingPathComponent("f\(size)")
            try writeFile(url, count: size, seed: 9)
            let bytes = Array(try Data(contentsOf: url))
            for profile in ImportProfile.all {
                #expect(
                    try Importer(profile: profile).add(bytes: bytes)
                        == (try Importer(profile: profile).add(path: url.path))
                )
            }
        }
    }

    @Test func nestedDirectoriesMatchThePythonImporter() async throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = [
            "a/empty", "a/b/empty", "a/b/c/empty.txt", "B", "ä", "a-b", "z/file", ".hidden", "a/.git/config",
            "empty-dir/",
        ]
        for item in layout {
            let url = root.appendingPathComponent(item)
            if item.hasSuffix("/") {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                continue
            }
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(item.hasSuffix("empty") || item.hasSuffix("empty.txt") ? [] : Array(item.utf8)).write(to: url)
        }
        for profile in ImportProfile.all {
            let answer = try await PythonBench.run(
                "content.py",
                ["op": "add", "paths": [.string(root.path)], "profile": profile.json]
            )["result"]!.items[0]
            let entry = try Importer(profile: profile).add(path: root.path)
            #expect(entry.cid.description == answer["cid"]?.stringValue, "\(profile)")
            #expect(.number(entry.tsize) == answer["tsize"], "\(profile)")
        }
        // Hidden entries are left out unless asked for, as `ipfs add -r` does.
        let withHidden = try Importer(profile: .kuboV1, includeHidden: true).add(path: root.path)
        #expect(withHidden.cid != (try Importer(profile: .kuboV1).add(path: root.path)).cid)
    }

    /// kubo's own sharness tests (`t0260-sharding.sh`, `t0250-files-api.sh`) give the CIDs `ipfs add -r` (CIDv0)
    /// computed for these folders: 2 000 files `fileN` holding "N\n" sharded at any size, 5 960 files
    /// `file%06d` just past the automatic threshold, and 5 955 of them just under it.
    @Test(arguments: [
        (2000, "file%d", 1, "QmSCJD1KYLhVVHqBK3YyXuoEqHt7vggyJhzoFYbT8v1XYL"),
        (2000, "file%d", Int.max, "QmavrTrQG4VhoJmantURAYuw3bowq3E2WcvP36NRQDAC1N"),
        (5960, "file%06d", ImportProfile.hamtThreshold, "QmWfjnRWRvdvYezQWnfbvrvY7JjrpevsE9cato1x76UqGr"),
    ])
    func shardsLargeDirectoriesAsKuboDoes(count: Int, pattern: String, threshold: Int, expected: String) throws {
        let importer = Importer(profile: .kuboV0)
        var entries: [String: FileDAGBuilder.Entry] = [:]
        for index in 1...count {
            entries[String(format: pattern, index)] = try importer.add(bytes: Array("\(index)\n".utf8))
        }
        let root = try importer.directory(entries, threshold: threshold)
        #expect(root.cid.description == expected)
    }

    @Test func aShardedDirectoryIsHAMTDataAndEveryNameIsReachable() throws {
        let store = MemoryBlockstore()
        let importer = Importer(profile: .kuboV1)
        var entries: [String: FileDAGBuilder.Entry] = [:]
        for index in 1...6000 { entries["\(index).png"] = try importer.add(bytes: Array("\(index)".utf8)) }
        let root = try importer.directory(entries, into: store)
        let node = try DagPBNode(decoding: try store.get(root.cid))
        let data = try UnixFSData(decoding: node.data ?? [])
        #expect(data.kind == .hamtShard && data.hashType == 0x22 && data.fanout == 256)
        // Walk every shard: each leaf's name is its slot's two hex digits and the entry's name.
        var found: [String: CID] = [:]
        var pending = [root.cid]
        while let cid = pending.popLast() {
            for link in try DagPBNode(decoding: try store.get(cid)).links {
                if link.name.count == 2 {
                    pending.append(link.cid)
                } else {
                    found[String(link.name.dropFirst(2))] = link.cid
                }
            }
        }
        #expect(found == entries.mapValues(\.cid))
        #expect(root.fileSize == entries.values.reduce(0) { $0 + $1.fileSize })
    }

    @Test func groupedDirectoriesHoldAnyNumberOfEntriesAsPlainDirectories() async throws {
        let store = MemoryBlockstore()
        let importer = Importer()
        var entries: [String: FileDAGBuilder.Entry] = [:]
        for index in 0..<8_000 {
            entries["31337-0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed-\(index)"] = try importer.add(
                bytes: Array("\(index)".utf8),
                into: store
            )
        }
        let root = try importer.groupedDirectory(entries, into: store, path: "tokens")
        // Walk it: every directory under the threshold, every entry found once, under its own name, in name order.
        let reader = UnixFSReader(blockstore: store)
        var found: [String] = []
        func walk(_ cid: CID) async throws {
            let links = try reader.list(cid)
            #expect(links.reduce(0) { $0 + $1.name.utf8.count + $1.cid.bytes.count } <= ImportProfile.hamtThreshold)
            for link in links {
                if try reader.isDirectory(link.cid) {
                    let bounds = link.name.split(separator: "_")
                    try await walk(link.cid)
                    #expect(bounds.count == 2 && found.last == String(bounds[1]), "a group is named FIRST_LAST")
                } else {
                    #expect(link.cid == entries[link.name]?.cid)
                    found.append(link.name)
                }
            }
        }
        try await walk(root.cid)
        #expect(found.count == entries.count && Set(found).count == entries.count)
        #expect(found == found.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        // Small enough for one directory: exactly what directory() gives.
        let few = Dictionary(uniqueKeysWithValues: entries.prefix(50).map { ($0.key, $0.value) })
        #expect(try importer.groupedDirectory(few).cid == importer.directory(few).cid)
    }

    @Test func refusesSymbolicLinksAndMissingPaths() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let link = folder.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/hostname")
        #expect { try Importer().add(path: link) } throws: {
            ($0 as! ContentError).message
                == "Unable to add '\(link)': symbolic links are not supported (kubo stores them as UnixFS symlinks)"
        }
        #expect { try Importer().add(path: "/nonexistent/x") } throws: {
            ($0 as! ContentError).message == "Unable to read '/nonexistent/x': No such file or directory"
        }
    }
}
