// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore

/// ERC-7007 (verifiable AI-generated content tokens) as Kiln publishes it (`publish.erc7007`): the prompt is the
/// inference job's canonical input, the AIGC data its accepted output's keccak-256, the proof the quorum's
/// signatures (``KilnAVS/OnchainPayload/erc7007Proof``), which the token checks through the stake registry.
public enum ERC7007 {
    /// `proof_type` in the metadata. ERC-7007 names two: "validity" (a zkML proof that the model computed the
    /// output) and "fraud" (opML: accepted unless challenged in time). A restaked quorum is neither: it is checked
    /// at once, like a validity proof, but what it proves is that operators holding enough stake signed the output
    /// (they can be slashed for it), not that the computation was correct. Kiln writes "quorum".
    public static let proofType = "quorum"

    /// The metadata fields ERC-7007 adds: `prompt` (the canonical input as text), `aigc_type` `image`,
    /// `aigc_data` (the image's URI) and `proof_type`.
    public static func metadata(prompt: JSONValue, imageURI: String) throws(FormatError) -> [String: JSONValue] {
        [
            "prompt": .string(try prompt.canonicalString()), "aigc_type": "image", "aigc_data": .string(imageURI),
            "proof_type": .string(proofType),
        ]
    }

    /// `AigcData(uint256 indexed tokenId, bytes indexed prompt, bytes aigcData, bytes proof)`'s topic.
    public static let aigcDataTopic = Keccak256.hash(utf8: "AigcData(uint256,bytes,bytes,bytes)")
    /// `Update(uint256 indexed tokenId, bytes indexed prompt, bytes indexed aigcData)`'s topic.
    public static let updateTopic = Keccak256.hash(utf8: "Update(uint256,bytes,bytes)")

    /// What a token's newest `AigcData` or `Update` log says: the keccak-256 of its prompt and of its AIGC data.
    public struct Record: Hashable, Sendable {
        public var promptHash: Bytes32
        public var dataHash: Bytes32
        /// `AigcData` or `Update`.
        public var event: String
        public var block: UInt64?
    }

    /// The newest record of token `id` among `logs` (chain order), or nil when the token has none.
    public static func latest(of id: BigUInt, in logs: [EventLog]) -> Record? {
        // An indexed uint256 is its ABI word.
        guard let topic = try? Bytes32(ABIEncoding.encode([.uint(id)])) else { return nil }
        var found: Record?
        for log in logs where !log.removed && log.topics.count >= 3 && log.topics[1] == topic {
            if log.topics[0] == aigcDataTopic,
                let fields = try? ABIEncoding.decode([.bytes, .bytes], from: log.data, function: "AigcData"),
                case .bytes(let data) = fields[0]
            {
                found = Record(
                    promptHash: log.topics[2],
                    dataHash: Keccak256.hash(data),
                    event: "AigcData",
                    block: log.blockNumber
                )
            } else if log.topics[0] == updateTopic, log.topics.count == 4 {
                found = Record(
                    promptHash: log.topics[2],
                    dataHash: log.topics[3],
                    event: "Update",
                    block: log.blockNumber
                )
            }
        }
        return found
    }
}
