// Kiln — Apache-2.0. See LICENSE.

/// How files become DAGs. Every manifest Kiln writes names its profile, so any CID can be reproduced.
///
/// | profile | matches | chunks | links/node | leaves | CID |
/// | --- | --- | --- | --- | --- | --- |
/// | `kubo-v1` (default) | `ipfs add --cid-version=1` | 256 KiB | 174 | raw | v1 |
/// | `unixfs-v1-2025` | IPIP-499 (`ipfs add` with that profile, ipfs-car-like tools) | 1 MiB | 1024 | raw | v1 |
/// | `kubo-v0` | plain `ipfs add`, Debian's `ipfs_cid` | 256 KiB | 174 | dag-pb UnixFS | v0 |
public struct ImportProfile: Hashable, Sendable, CustomStringConvertible {
    /// The profile's name, recorded in manifests.
    public let name: String
    /// Bytes per leaf.
    public let chunkSize: Int
    /// Links per node at most.
    public let maxLinks: Int
    /// Whether leaves are raw blocks (else dag-pb file nodes).
    public let rawLeaves: Bool
    /// The CID version of every block.
    public let cidVersion: Int

    /// kubo's `ipfs add --cid-version=1`.
    public static let kuboV1 = ImportProfile(
        name: "kubo-v1",
        chunkSize: 262_144,
        maxLinks: 174,
        rawLeaves: true,
        cidVersion: 1
    )
    /// IPIP-499's `unixfs-v1-2025` profile.
    public static let unixfsV1_2025 = ImportProfile(
        name: "unixfs-v1-2025",
        chunkSize: 1_048_576,
        maxLinks: 1024,
        rawLeaves: true,
        cidVersion: 1
    )
    /// kubo's plain `ipfs add` (CIDv0, dag-pb leaves).
    public static let kuboV0 = ImportProfile(
        name: "kubo-v0",
        chunkSize: 262_144,
        maxLinks: 174,
        rawLeaves: false,
        cidVersion: 0
    )

    /// Every profile, by name.
    public static let all = [kuboV1, unixfsV1_2025, kuboV0]

    /// kubo's threshold for switching a directory to a HAMT: the sum of its links' name and CID lengths.
    public static let hamtThreshold = 262_144

    /// A profile by name.
    /// - Throws: ``ContentError/Code/unsupported`` listing the names there are.
    public init(named name: String) throws(ContentError) {
        guard let profile = Self.all.first(where: { $0.name == name }) else {
            throw ContentError(
                .unsupported,
                "Unknown import profile '\(name)': use \(Self.all.map(\.name).joined(separator: ", "))"
            )
        }
        self = profile
    }

    init(name: String, chunkSize: Int, maxLinks: Int, rawLeaves: Bool, cidVersion: Int) {
        self.name = name
        self.chunkSize = chunkSize
        self.maxLinks = maxLinks
        self.rawLeaves = rawLeaves
        self.cidVersion = cidVersion
    }

    /// The profile's name.
    public var description: String { name }
}
