// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnContent
public import KilnCore
public import KilnStore

extension Configuration {
    /// The token `CONTRACT:ID` (also `CONTRACT#ID`, `CONTRACT/ID`) names, or `ID` alone when kiln.yml watches one
    /// contract; nil when `target` is neither.
    public func token(_ target: String) -> TokenKey? {
        let parts = target.split(whereSeparator: { $0 == ":" || $0 == "#" || $0 == "/" }).map(String.init)
        if parts.count == 2, let contract = try? Address(hex: parts[0]) {
            return try? TokenKey(chainId: chainId, contract: contract, tokenId: parts[1])
        }
        if parts.count == 1, contracts.count == 1 {
            return try? TokenKey(chainId: chainId, contract: contracts[0].address, tokenId: parts[0])
        }
        return nil
    }

    /// The latest publication of `token` in `store` (default: kiln.yml's, opened now).
    /// - Throws: ``PipelineError`` with code `notFound` when the store has published none.
    public func publication(of token: TokenKey, in given: (any Store)? = nil) async throws -> Publication {
        let store: any Store
        if let given { store = given } else { store = try await openStore() }
        guard let publication = try await store.latestPublication(token) else {
            throw PipelineError(.notFound, "\(token) has not been published by this store")
        }
        return publication
    }

    /// The bytes of `token`'s latest attestation bundle, read from kiln.yml's blockstore.
    public func attestationBundle(of token: TokenKey) async throws -> [UInt8] {
        let store = try await openStore()
        guard let cid = try await publication(of: token, in: store).attestation else {
            throw PipelineError(.notFound, "\(token) was published without inference: it has no attestation bundle")
        }
        let local = try openBlockstore()
        do {
            try await SharedBlocks.fetch([try CID(cid)], from: store, into: local)
            return try UnixFSReader(blockstore: local).cat(try CID(cid))
        } catch {
            throw PipelineError(.input, "\(token): the bundle \(cid): \(error)", cause: error)
        }
    }
}
