// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import KilnAVS
internal import KilnChain
internal import KilnContent
internal import KilnCore
internal import KilnStore

extension OnchainPublisher {
    /// `publish.erc7007`: brings each token's AIGC data on chain in line with its latest publication — the job's
    /// prompt, its accepted output's hash and the quorum's proof (``ERC7007``). A token without AIGC data gets
    /// `addAigcData`; one whose data is older gets `stageUpdate` (the proof: ERC-7007's `update` takes none) then
    /// `update`; one that matches gets nothing. The token checks the proof through the stake registry and reverts
    /// with the registry's own error, reported as `rejected by the registry: …`.
    func reconcileAIGC(
        contract: Address,
        latest: [Publication],
        blockstore: any Blockstore,
        report: (OnchainTransaction) -> Void
    ) async -> [Problem] {
        let reader = UnixFSReader(blockstore: blockstore)
        var wanted: [(id: BigUInt, payload: OnchainPayload)] = []
        for publication in latest.sorted(by: { $0.token.id < $1.token.id }) {
            guard let attestation = publication.attestation else { continue }
            do {
                let bundle = try JSONValue.parse(bytes: try reader.cat(try CID(attestation)))
                wanted.append((publication.token.id, try OnchainPayload(bundle: bundle)))
            } catch {
                return [Problem(.onchain, publication.token.description, error: error)]
            }
        }
        guard !wanted.isEmpty else { return [] }
        let current: [(prompt: Bytes32?, data: Bytes32?)]
        do {
            current = try await aigcHashes(contract, wanted.map(\.id))
        } catch {
            return [
                Problem(
                    .onchain,
                    contract.checksummed,
                    "unable to read the tokens' AIGC data: \(error.message)",
                    cause: error
                )
            ]
        }
        for ((id, payload), onchain) in zip(wanted, current) {
            let prompt = payload.prompt
            let data = payload.outputHash.bytes
            guard onchain.prompt != Keccak256.hash(prompt) || onchain.data != Keccak256.hash(data) else { continue }
            let proof = payload.erc7007Proof
            let shown =
                "\(id), prompt \(prompt.count) bytes, \(payload.outputHash.hex.prefix(18))…, proof \(proof.count) bytes"
            var calls: [(data: [UInt8], text: String)] = []
            if onchain.prompt == nil || onchain.prompt == .zero {
                calls.append(
                    (
                        ABIEncoding.call(
                            "addAigcData(uint256,bytes,bytes,bytes)",
                            [.uint(id), .bytes(prompt), .bytes(data), .bytes(proof)]
                        ),
                        "addAigcData(\(shown))"
                    )
                )
            } else {
                calls.append(
                    (
                        ABIEncoding.call(
                            "stageUpdate(uint256,bytes,bytes,bytes)",
                            [.uint(id), .bytes(prompt), .bytes(data), .bytes(proof)]
                        ),
                        "stageUpdate(\(shown))"
                    )
                )
                calls.append(
                    (
                        ABIEncoding.call("update(bytes,bytes)", [.bytes(prompt), .bytes(data)]),
                        "update(token \(id), prompt \(prompt.count) bytes, \(payload.outputHash.hex.prefix(18))…)"
                    )
                )
            }
            for call in calls {
                do { try await send(call, to: contract, report: report) } catch {
                    return [
                        Self.problem(
                            error,
                            contract: "\(contract.checksummed) #\(id)",
                            call: String(call.text.prefix(while: { $0 != "(" }))
                        )
                    ]
                }
            }
        }
        return []
    }

    /// `aigcPromptHash(id)` and `aigcDataHash(id)` of each id; nil where a call fails.
    func aigcHashes(_ contract: Address, _ ids: [BigUInt]) async throws(ChainError) -> [(
        prompt: Bytes32?, data: Bytes32?
    )] {
        var calls: [(method: String, params: [JSONValue])] = []
        for id in ids {
            for function in ["aigcPromptHash(uint256)", "aigcDataHash(uint256)"] {
                let data = ABIEncoding.call(function, [.uint(id)])
                calls.append(
                    ("eth_call", [["to": .string(contract.lowercased), "data": .string(Hex.encode(data))], "latest"])
                )
            }
        }
        var answers: [JSONValue?] = []
        for start in stride(from: 0, to: calls.count, by: 100) {
            answers += try await rpc.client.batch(Array(calls[start..<min(calls.count, start + 100)]))
        }
        func word(_ answer: JSONValue?) -> Bytes32? {
            answer?.stringValue.flatMap { try? Bytes32(hex: $0) }
        }
        return stride(from: 0, to: answers.count, by: 2).map { (word(answers[$0]), word(answers[$0 + 1])) }
    }
}
