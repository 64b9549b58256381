// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnContent
internal import KilnCore
public import KilnStore

extension Configuration {
    /// The token `CONTRACT:ID` (also `CONTRACT#ID`, `CONTRACT/ID`) names, or `ID` alone when kiln.yml watches one
    /// contract; nil when `target` is neither.
    public func token(_ target: String) -> TokenKey? {
        let parts = target.split(whereSeparator: { $0 == ":" || $0 == "#" || $0 == "/" }).map(String.init)
        if parts.count == 2, let contract = try? Address(hex: parts[0]) {
            return TokenKey(chainId: chainId, contract: contract, tokenId: parts[1])
        }
        if parts.count == 1, contracts.count == 1 {
            return TokenKey(chainId: chainId, contract: contracts[0].address, tokenId: parts[0])
        }
        return nil
    }

    /// Opens (and creates, with its folder) the store kiln.yml names.
    public func openStore() throws -> SQLiteStore {
        let folder = (store as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw PipelineError(.io, "Unable to create the store's folder '\(folder)'", cause: error)
            }
        }
        return try SQLiteStore(path: store)
    }

    /// The blockstore every publication goes to: `OUT/blocks`.
    public func openBlockstore() throws(ContentError) -> FilesystemBlockstore {
        try FilesystemBlockstore(folder: out + "/blocks")
    }

    /// The latest publication of `token` in `store` (default: kiln.yml's, opened now).
    /// - Throws: ``PipelineError`` with code `notFound` when the store has published none.
    public func publication(of token: TokenKey, in store: (any Store)? = nil) async throws -> Publication {
        let store = try store ?? openStore()
        guard let publication = try await store.latestPublication(token) else {
            throw PipelineError(.notFound, "\(token) has not been published by this store")
        }
        return publication
    }

    /// The bytes of `token`'s latest attestation bundle, read from kiln.yml's blockstore.
    public func attestationBundle(of token: TokenKey) async throws -> [UInt8] {
        guard let cid = try await publication(of: token).attestation else {
            throw PipelineError(.notFound, "\(token) was published without inference: it has no attestation bundle")
        }
        do {
            return try UnixFSReader(blockstore: try openBlockstore()).cat(try CID(cid))
        } catch {
            throw PipelineError(.input, "\(token): the bundle \(cid): \(error)", cause: error)
        }
    }
}
