# pragma version ~=0.4.3
# A consumer of Kiln's Infernet container (test bench; written independently of Kiln's Swift code).
#
# Infernet's coordinator delivers a compute result to a subscribing contract with
# rawReceiveCompute(subscriptionId, interval, redundancy, node, input, output, proof, containerId, index), where
# output = abi.encode(bytes raw_output, bytes processed_output). Kiln's container answers on chain with
# raw_output = abi.encode(bytes32 jobId, bytes32 modelId, bytes32 inputHash, bytes32 outputHash,
# uint64 referenceBlock, string outputCID, bytes signature). This contract rebuilds the EIP-712 digest of the
# InferenceAttestation in the domain {name "Kiln", version "1", chainId, verifyingContract}, recovers the operator's
# signing key with ecrecover, and keeps what it learned per job. (A real consumer would then ask the stake
# registry's isValidSignature for a quorum of such signatures.)

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
ATTESTATION_TYPEHASH: constant(bytes32) = keccak256(
    "InferenceAttestation(bytes32 jobId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash,uint64 referenceBlock)"
)
# secp256k1's group order / 2: a higher s is the malleable twin of a valid signature.
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

event KilnAttestationReceived:
    jobId: indexed(bytes32)
    signer: indexed(address)
    outputHash: bytes32
    outputCID: String[128]

verifyingContract: public(address)
signerOf: public(HashMap[bytes32, address])
outputHashOf: public(HashMap[bytes32, bytes32])
outputCIDOf: public(HashMap[bytes32, String[128]])
referenceBlockOf: public(HashMap[bytes32, uint64])


@deploy
def __init__(verifying_contract: address):
    self.verifyingContract = verifying_contract


@external
def rawReceiveCompute(
    subscriptionId: uint32,
    interval: uint32,
    redundancy: uint16,
    node: address,
    input: Bytes[4096],
    output: Bytes[4352],
    proof: Bytes[1024],
    containerId: bytes32,
    index: uint256,
):
    raw: Bytes[2048] = empty(Bytes[2048])
    processed: Bytes[2048] = empty(Bytes[2048])
    raw, processed = abi_decode(output, (Bytes[2048], Bytes[2048]))

    job_id: bytes32 = empty(bytes32)
    model_id: bytes32 = empty(bytes32)
    input_hash: bytes32 = empty(bytes32)
    output_hash: bytes32 = empty(bytes32)
    reference_block: uint64 = 0
    cid: String[128] = empty(String[128])
    signature: Bytes[65] = empty(Bytes[65])
    job_id, model_id, input_hash, output_hash, reference_block, cid, signature = abi_decode(
        raw, (bytes32, bytes32, bytes32, bytes32, uint64, String[128], Bytes[65])
    )
    assert len(signature) == 65, "signature must be 65 bytes"

    domain: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("Kiln"), keccak256("1"), chain.id, self.verifyingContract)
    )
    struct_hash: bytes32 = keccak256(
        abi_encode(ATTESTATION_TYPEHASH, job_id, model_id, input_hash, output_hash, reference_block)
    )
    digest: bytes32 = keccak256(concat(b"\x19\x01", domain, struct_hash))

    r: uint256 = convert(slice(signature, 0, 32), uint256)
    s: uint256 = convert(slice(signature, 32, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    assert s <= HALF_N, "high s"
    assert v == 27 or v == 28, "v must be 27 or 28"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "signature does not recover"

    self.signerOf[job_id] = signer
    self.outputHashOf[job_id] = output_hash
    self.outputCIDOf[job_id] = cid
    self.referenceBlockOf[job_id] = reference_block
    log KilnAttestationReceived(jobId=job_id, signer=signer, outputHash=output_hash, outputCID=cid)
