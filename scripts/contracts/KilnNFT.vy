# pragma version ~=0.4.3
# Kiln's test collection: an ERC-721 whose tokens level up, with ERC-4906 metadata updates. Test bench only.
# Mint and level-up are the owner's; setTokenURI/setBaseURI are the publisher's (the address Kiln sends from).
#
# Once the owner names a stake registry (setAigcRegistry), it is also an ERC-7007 token (AI-generated content,
# interface 0x702c55a6, with the Updatable extension 0x3f37dce2) whose proofs are Kiln quorums that the registry
# checks — no zkML verifier, no challenge period:
#   prompt   = the inference job's canonical input (RFC 8785 JSON bytes): its keccak-256 is the job's inputHash;
#   aigcData = the accepted output's keccak-256 (32 bytes): the job's outputHash;
#   proof    = abi.encode(uint8 kind (0 attestation, 1 agreement), bytes32 jobId, bytes32 modelId,
#              bytes32 policyHash (0 for an attestation), uint32 referenceBlock, address[] operators (ascending),
#              bytes[] signatures).
# verify rebuilds the EIP-712 digest the operators signed (InferenceAttestation or InferenceAgreement in the domain
# {name "Kiln", version "1", chainId, verifyingContract = the registry}) and asks the registry's ERC-1271
# isValidSignature(digest, abi.encode(operators, signatures, referenceBlock)): true exactly when it accepts.
# addAigcData (a token's first AIGC data) and update need it; a rejected proof reverts with the registry's own
# error (InsufficientSignedStake(), …). update(prompt, aigcData) has no proof parameter in ERC-7007, so its proof
# is staged first with stageUpdate(tokenId, prompt, aigcData, proof) — two transactions per re-render.

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)

event LevelUp:
    tokenId: indexed(uint256)
    level: uint256

event MetadataUpdate:
    _tokenId: uint256

event BatchMetadataUpdate:
    _fromTokenId: uint256
    _toTokenId: uint256

# ERC-7007 (final): AigcData(uint256 indexed tokenId, bytes indexed prompt, bytes aigcData, bytes proof) and
# Update(uint256 indexed tokenId, bytes indexed prompt, bytes indexed aigcData).
event AigcData:
    tokenId: indexed(uint256)
    prompt: indexed(Bytes[4096])
    aigcData: Bytes[32]
    proof: Bytes[8192]

event Update:
    tokenId: indexed(uint256)
    prompt: indexed(Bytes[4096])
    aigcData: indexed(Bytes[32])

MAX_SIGNERS: constant(uint256) = 32
MAGIC: constant(bytes4) = 0x1626ba7e
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
ATTESTATION_TYPEHASH: constant(bytes32) = keccak256(
    "InferenceAttestation(bytes32 jobId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash,uint64 referenceBlock)"
)
AGREEMENT_TYPEHASH: constant(bytes32) = keccak256(
    "InferenceAgreement(bytes32 jobId,bytes32 modelId,bytes32 inputHash,bytes32 canonicalOutputHash,bytes32 policyHash,uint64 referenceBlock)"
)

owner: public(address)
publisher: public(address)
name: public(String[32])
symbol: public(String[8])
ownerOf: public(HashMap[uint256, address])
balanceOf: public(HashMap[address, uint256])
getApproved: public(HashMap[uint256, address])
level: public(HashMap[uint256, uint256])
baseURI: public(String[128])
uris: HashMap[uint256, String[128]]
aigcRegistry: public(address)
# keccak-256 of each token's current prompt and AIGC data (zero before its first addAigcData).
aigcPromptHash: public(HashMap[uint256, bytes32])
aigcDataHash: public(HashMap[uint256, bytes32])
# A verified (prompt, aigcData) pair waiting for update: keccak-256 of the prompt → token, and the pair's hash.
stagedToken: HashMap[bytes32, uint256]
stagedPair: HashMap[uint256, bytes32]


@deploy
def __init__(publisher: address):
    self.owner = msg.sender
    self.publisher = publisher
    self.name = "Forge Knights"
    self.symbol = "KNIGHT"


@external
@view
def supportsInterface(interfaceId: bytes4) -> bool:
    # ERC-165, ERC-721, ERC-721 metadata, ERC-4906; ERC-7007 and its Updatable extension once a registry is set
    if interfaceId in [0x01ffc9a7, 0x80ac58cd, 0x5b5e139f, 0x49064906]:
        return True
    return self.aigcRegistry != empty(address) and interfaceId in [0x702c55a6, 0x3f37dce2]


@external
def mint(to: address, tokenId: uint256):
    assert msg.sender == self.owner, "only the owner mints"
    assert to != empty(address), "mint to the zero address"
    assert self.ownerOf[tokenId] == empty(address), "already minted"
    self.ownerOf[tokenId] = to
    self.balanceOf[to] += 1
    self.level[tokenId] = 1
    log Transfer(sender=empty(address), receiver=to, tokenId=tokenId)


@external
def levelUp(tokenId: uint256):
    holder: address = self.ownerOf[tokenId]
    assert holder != empty(address), "no such token"
    assert msg.sender == self.owner or msg.sender == holder, "only the owner or the holder"
    self.level[tokenId] += 1
    log LevelUp(tokenId=tokenId, level=self.level[tokenId])


@external
def approve(approved: address, tokenId: uint256):
    holder: address = self.ownerOf[tokenId]
    assert msg.sender == holder, "only the holder approves"
    self.getApproved[tokenId] = approved
    log Approval(owner=holder, approved=approved, tokenId=tokenId)


@external
def transferFrom(sender: address, receiver: address, tokenId: uint256):
    assert self.ownerOf[tokenId] == sender, "sender does not hold the token"
    assert msg.sender == sender or msg.sender == self.getApproved[tokenId], "not allowed"
    assert receiver != empty(address), "transfer to the zero address"
    self.getApproved[tokenId] = empty(address)
    self.balanceOf[sender] -= 1
    self.balanceOf[receiver] += 1
    self.ownerOf[tokenId] = receiver
    log Transfer(sender=sender, receiver=receiver, tokenId=tokenId)


@external
def setTokenURI(tokenId: uint256, uri: String[128]):
    assert msg.sender == self.publisher, "only the publisher"
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    self.uris[tokenId] = uri
    log MetadataUpdate(_tokenId=tokenId)


@external
def setBaseURI(uri: String[128], fromId: uint256, toId: uint256):
    assert msg.sender == self.publisher, "only the publisher"
    assert fromId <= toId, "empty range"
    self.baseURI = uri
    log BatchMetadataUpdate(_fromTokenId=fromId, _toTokenId=toId)


@external
@view
def tokenURI(tokenId: uint256) -> String[206]:
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    if len(self.uris[tokenId]) > 0:
        return self.uris[tokenId]
    return concat(self.baseURI, uint2str(tokenId))


# -- ERC-7007 --

@external
def setAigcRegistry(registry: address):
    assert msg.sender == self.owner, "only the owner"
    self.aigcRegistry = registry


@internal
@view
def _ask(prompt: Bytes[4096], aigcData: Bytes[32], proof: Bytes[8192]) -> (bool, Bytes[32]):
    # The registry's answer for the digest the proof's operators signed: (accepted, its revert data or answer).
    assert self.aigcRegistry != empty(address), "no stake registry"
    assert len(aigcData) == 32, "aigcData must be the 32-byte output hash"
    kind: uint8 = 0
    jobId: bytes32 = empty(bytes32)
    modelId: bytes32 = empty(bytes32)
    policyHash: bytes32 = empty(bytes32)
    referenceBlock: uint32 = 0
    operators: DynArray[address, MAX_SIGNERS] = []
    signatures: DynArray[Bytes[65], MAX_SIGNERS] = []
    kind, jobId, modelId, policyHash, referenceBlock, operators, signatures = abi_decode(
        proof, (uint8, bytes32, bytes32, bytes32, uint32, DynArray[address, MAX_SIGNERS], DynArray[Bytes[65], MAX_SIGNERS])
    )
    domain: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("Kiln"), keccak256("1"), chain.id, self.aigcRegistry)
    )
    reference: uint64 = convert(referenceBlock, uint64)
    structHash: bytes32 = empty(bytes32)
    if kind == 0:
        structHash = keccak256(
            abi_encode(ATTESTATION_TYPEHASH, jobId, modelId, keccak256(prompt), extract32(aigcData, 0), reference)
        )
    else:
        assert kind == 1, "unknown proof kind"
        structHash = keccak256(
            abi_encode(AGREEMENT_TYPEHASH, jobId, modelId, keccak256(prompt), extract32(aigcData, 0), policyHash, reference)
        )
    digest: bytes32 = keccak256(concat(x"1901", domain, structHash))
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        self.aigcRegistry,
        abi_encode(digest, abi_encode(operators, signatures, referenceBlock), method_id=method_id("isValidSignature(bytes32,bytes)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    if success and len(response) == 32 and convert(slice(response, 0, 4), bytes4) == MAGIC:
        return True, response
    return False, response


@internal
@view
def _require(prompt: Bytes[4096], aigcData: Bytes[32], proof: Bytes[8192]):
    # Reverts as the registry did (its custom error), or "proof rejected" when it answered without reverting.
    accepted: bool = False
    response: Bytes[32] = b""
    accepted, response = self._ask(prompt, aigcData, proof)
    if not accepted:
        if len(response) == 4:
            raw_revert(response)
        raise "proof rejected"


@external
@view
def verify(prompt: Bytes[4096], aigcData: Bytes[32], proof: Bytes[8192]) -> bool:
    accepted: bool = False
    response: Bytes[32] = b""
    accepted, response = self._ask(prompt, aigcData, proof)
    return accepted


@external
def addAigcData(tokenId: uint256, prompt: Bytes[4096], aigcData: Bytes[32], proof: Bytes[8192]):
    assert msg.sender == self.publisher, "only the publisher"
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    assert self.aigcPromptHash[tokenId] == empty(bytes32), "the token has AIGC data: stageUpdate, then update"
    self._require(prompt, aigcData, proof)
    self.aigcPromptHash[tokenId] = keccak256(prompt)
    self.aigcDataHash[tokenId] = keccak256(aigcData)
    log AigcData(tokenId=tokenId, prompt=prompt, aigcData=aigcData, proof=proof)
    log MetadataUpdate(_tokenId=tokenId)


@external
def stageUpdate(tokenId: uint256, prompt: Bytes[4096], aigcData: Bytes[32], proof: Bytes[8192]):
    assert msg.sender == self.publisher, "only the publisher"
    assert self.aigcPromptHash[tokenId] != empty(bytes32), "the token has no AIGC data yet: addAigcData"
    self._require(prompt, aigcData, proof)
    self.stagedToken[keccak256(prompt)] = tokenId
    self.stagedPair[tokenId] = keccak256(concat(keccak256(prompt), keccak256(aigcData)))


@external
def update(prompt: Bytes[4096], aigcData: Bytes[32]):
    assert msg.sender == self.publisher, "only the publisher"
    tokenId: uint256 = self.stagedToken[keccak256(prompt)]
    pair: bytes32 = keccak256(concat(keccak256(prompt), keccak256(aigcData)))
    assert pair != empty(bytes32) and self.stagedPair[tokenId] == pair, "no verified proof staged for this prompt and data"
    self.stagedPair[tokenId] = empty(bytes32)
    self.aigcPromptHash[tokenId] = keccak256(prompt)
    self.aigcDataHash[tokenId] = keccak256(aigcData)
    log Update(tokenId=tokenId, prompt=prompt, aigcData=aigcData)
    log MetadataUpdate(_tokenId=tokenId)
