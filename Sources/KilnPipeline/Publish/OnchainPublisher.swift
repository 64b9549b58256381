// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import KilnChain
internal import KilnContent
public import KilnCore
internal import KilnStore
internal import KilnAVS

/// One transaction a batch sent.
public struct OnchainTransaction: Sendable, Hashable {
    /// The contract the transaction went to.
    public var contract: Address
    /// `setTokenURI(7, ipfs://…)` or `setBaseURI(ipfs://…/, 1, 24)`.
    public var call: String
    /// The transaction hash.
    public var hash: Bytes32
    /// The block it was mined in.
    public var block: UInt64
}

/// Makes each watched contract's `tokenURI` point at what Kiln published (`publish.mode` onchain / onchain-base).
///
/// It compares the contract's current `tokenURI(id)` (read with `eth_call`) with the published one for every
/// token Kiln has published, and sends transactions only where they differ, so a run with no change sends
/// none and a run interrupted between publishing and sending catches up on the next one.
struct OnchainPublisher: Sendable {
    let mode: Configuration.PublishMode
    let rpc: EthereumRPC
    let sender: TransactionSender
    /// The contracts are ERC-7007 tokens: each publication's AIGC data and proof go on chain too.
    var erc7007 = false

    /// Sends what is missing for `contract`, whose tokens' latest publications are `latest` (for onchain-base,
    /// served from the directory `collection`); reports each transaction as it is mined and returns the problems.
    /// Transactions go out one at a time (one key, ordered nonces); a failure stops this contract.
    func reconcile(
        contract: Address,
        latest: [Publication],
        collection: CID?,
        blockstore: any Blockstore,
        report: (OnchainTransaction) -> Void
    ) async -> [Problem] {
        let base = collection.map { "ipfs://\($0)/" } ?? ""
        var tokens: [(id: BigUInt, uri: String, metadata: String)] = []
        for publication in latest {
            guard let id = BigUInt(publication.token.tokenId) else { continue }
            tokens.append(
                (
                    id, mode == .onchainBase ? base + publication.token.tokenId : "ipfs://\(publication.metadata)",
                    publication.metadata
                )
            )
        }
        tokens.sort { $0.id < $1.id }
        guard !tokens.isEmpty else { return [] }
        let current: [String?]
        do { current = try await tokenURIs(contract, tokens.map(\.id)) } catch {
            return [Problem(.onchain, contract.checksummed, "unable to read tokenURI: \(error.message)", cause: error)]
        }
        let stale = zip(tokens, current).filter { $0.0.uri != $0.1 }
        guard !stale.isEmpty else { return [] }

        var calls: [(data: [UInt8], text: String)] = []
        if mode == .onchainBase {
            // A new base URI serves every token, but BatchMetadataUpdate names only the tokens whose metadata changed:
            // those where what the current URI resolves to (in an earlier collection directory) is not the new metadata.
            let reader = UnixFSReader(blockstore: blockstore)
            let changed = stale.filter { token, uri in
                guard let uri, uri.hasPrefix("ipfs://"), let slash = uri.dropFirst(7).firstIndex(of: "/"),
                    let directory = try? CID(String(uri.dropFirst(7)[..<slash])),
                    let live = try? reader.resolve(directory, path: String(uri[uri.index(after: slash)...]))
                else { return true }
                return live.description != token.metadata
            }
            // Every token had a base URI from an earlier run and every one's metadata changed (a new template
            // version): one BatchMetadataUpdate(0, type(uint256).max), ERC-4906's "the whole collection", as
            // marketplaces ask — when the contract accepts that range (eth_estimateGas reverts otherwise, and the
            // ranges go out instead).
            let wholeCollection =
                changed.count == tokens.count && tokens.count > 1
                && stale.allSatisfy { $0.1?.hasPrefix("ipfs://") == true }
            if wholeCollection {
                let all = BigUInt(0)...(BigUInt(1) << 256) - 1
                let data = ABIEncoding.call(
                    "setBaseURI(string,uint256,uint256)",
                    [.string(base), .uint(all.lowerBound), .uint(all.upperBound)]
                )
                do {
                    try await send((data, "setBaseURI(\(base), 0, 2^256-1)"), to: contract, report: report)
                    return []
                } catch  where error.isRevert {
                    // The contract refuses that range (at estimation, before anything is sent): ranges below.
                } catch {
                    return [Self.problem(error, contract: contract.checksummed)]
                }
            }
            for range in Self.ranges((changed.isEmpty ? stale : changed).map(\.0.id)) {
                calls.append(
                    (
                        ABIEncoding.call(
                            "setBaseURI(string,uint256,uint256)",
                            [.string(base), .uint(range.lowerBound), .uint(range.upperBound)]
                        ),
                        "setBaseURI(\(base), \(range.lowerBound), \(range.upperBound))"
                    )
                )
            }
        } else {
            for (token, _) in stale {
                calls.append(
                    (
                        ABIEncoding.call("setTokenURI(uint256,string)", [.uint(token.id), .string(token.uri)]),
                        "setTokenURI(\(token.id), \(token.uri))"
                    )
                )
            }
        }
        for call in calls {
            do { try await send(call, to: contract, report: report) } catch {
                return [Self.problem(error, contract: contract.checksummed)]
            }
        }
        return []
    }

    /// Sends one call and reports it once mined.
    func send(
        _ call: (data: [UInt8], text: String),
        to contract: Address,
        report: (OnchainTransaction) -> Void
    ) async throws(ChainError) {
        let receipt = try await sender.send(to: contract, data: call.data)
        report(
            OnchainTransaction(
                contract: contract,
                call: call.text,
                hash: receipt.transactionHash,
                block: receipt.blockNumber
            )
        )
    }

    /// A transaction that failed, as the batch's problem: a revert with one of a stake registry's errors (an
    /// ERC-7007 token passes its registry's on) names it; any other failure keeps the node's message.
    static func problem(_ error: ChainError, contract: String, call: String? = nil) -> Problem {
        var reason = error.message
        if let data = error.revertData, case let rejection = RegistryRejection(revertData: data),
            rejection.isRegistryError
        {
            reason = "rejected by the registry: \(rejection)"
        }
        return Problem(
            .onchain,
            contract,
            (call.map { "\($0): " } ?? "") + reason + " (the next run sends what is still missing)",
            cause: error
        )
    }

    /// Runs of consecutive ids: [1, 2, 3, 7, 9, 10] → 1…3, 7…7, 9…10.
    static func ranges(_ ids: [BigUInt]) -> [ClosedRange<BigUInt>] {
        var result: [ClosedRange<BigUInt>] = []
        for id in ids.sorted() {
            if let last = result.last, last.upperBound + 1 == id {
                result[result.count - 1] = last.lowerBound...id
            } else if result.last?.contains(id) != true {
                result.append(id...id)
            }
        }
        return result
    }

    /// `tokenURI(id)` of each id, 100 per JSON-RPC batch; nil where the call reverts (e.g. a burned token).
    func tokenURIs(_ contract: Address, _ ids: [BigUInt]) async throws(ChainError) -> [String?] {
        var uris: [String?] = []
        for start in stride(from: 0, to: ids.count, by: 100) {
            let chunk = ids[start..<min(ids.count, start + 100)]
            let calls = chunk.map { id -> (method: String, params: [JSONValue]) in
                let data = ABIEncoding.call("tokenURI(uint256)", [.uint(id)])
                return (
                    "eth_call", [["to": .string(contract.lowercased), "data": .string(Hex.encode(data))], "latest"]
                )
            }
            let answers: [JSONValue?]
            do {
                answers = try await rpc.client.batch(calls)
            } catch  where error.code != .transport {
                // One reverted call fails the batch: ask one by one.
                var single: [JSONValue?] = []
                for call in calls { single.append(try? await rpc.client.call(call.method, call.params)) }
                answers = single
            }
            for answer in answers {
                guard let text = answer?.stringValue, let data = try? Hex.decode(text),
                    case .string(let uri)? = try? ABIEncoding.decode([.string], from: data, function: "tokenURI").first
                else {
                    uris.append(nil)
                    continue
                }
                uris.append(uri)
            }
        }
        return uris
    }
}
