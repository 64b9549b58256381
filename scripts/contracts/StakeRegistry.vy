# pragma version ~=0.4.3
# Kiln's test AVS registry. Its views, events and isValidSignature follow EigenLayer's ECDSAStakeRegistry
# (eigenlayer-middleware, src/unaudited/ECDSAStakeRegistry.sol), so Kiln meets on the bench what it meets on a real
# registry. Test bench only: the owner sets operators, signing keys, weights and the threshold directly,
# checkpointed by block number (EigenLayer derives weights from restaked shares, and operators register and rotate
# their own keys).
#
# isValidSignature(digest, data) is ERC-1271: data = abi.encode(address[] operators, bytes[] signatures,
# uint32 referenceBlock). It returns 0x1626ba7e, or reverts with EigenLayer's custom errors, checked in the order
# its _checkSignatures checks them:
#   _validateSignaturesLength  LengthMismatch() when the lists differ in length, InvalidLength() when empty;
#   per operator, in order:
#     _getOperatorSigningKey   InvalidReferenceBlock() unless referenceBlock < block.number;
#     _validateSortedSigners   NotSorted() unless strictly ascending;
#     _validateSignature       InvalidSignature() unless the 65-byte r|s|v signature (v 27 or 28, low s, over the
#                              digest as given) recovers to the operator's signing key at referenceBlock
#                              (OpenZeppelin's SignatureChecker.isValidSignatureNow for a key without code);
#   _validateThresholdStake    InvalidSignedWeight() when the signed weight exceeds the total weight at
#                              referenceBlock, InsufficientSignedStake() when it is below the threshold weight then.

MAX_CHECKPOINTS: constant(uint256) = 256
MAX_SIGNERS: constant(uint256) = 32
MAGIC: constant(bytes4) = 0x1626ba7e
# secp256k1's group order / 2: a higher s is the malleable twin of a valid signature.
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

struct Checkpoint:
    blockNumber: uint256
    value: uint256

event OperatorRegistered:
    _operator: indexed(address)
    _avs: indexed(address)

event OperatorDeregistered:
    _operator: indexed(address)
    _avs: indexed(address)

event OperatorWeightUpdated:
    _operator: indexed(address)
    oldWeight: uint256
    newWeight: uint256

event SigningKeyUpdate:
    operator: indexed(address)
    updateBlock: indexed(uint256)
    newSigningKey: indexed(address)
    oldSigningKey: address

event TotalWeightUpdated:
    oldTotalWeight: uint256
    newTotalWeight: uint256

event ThresholdWeightUpdated:
    _thresholdWeight: uint256

owner: public(address)
operatorRegistered: public(HashMap[address, bool])
weights: HashMap[address, DynArray[Checkpoint, MAX_CHECKPOINTS]]
signingKeys: HashMap[address, DynArray[Checkpoint, MAX_CHECKPOINTS]]
totalWeights: DynArray[Checkpoint, MAX_CHECKPOINTS]
thresholds: DynArray[Checkpoint, MAX_CHECKPOINTS]


@deploy
def __init__():
    self.owner = msg.sender


@internal
@view
def _at(history: DynArray[Checkpoint, MAX_CHECKPOINTS], blockNumber: uint256) -> uint256:
    # The value of the last checkpoint at or before blockNumber (0 before the first).
    value: uint256 = 0
    for point: Checkpoint in history:
        if point.blockNumber > blockNumber:
            break
        value = point.value
    return value


@internal
@view
def _latest(history: DynArray[Checkpoint, MAX_CHECKPOINTS]) -> uint256:
    if len(history) == 0:
        return 0
    return history[len(history) - 1].value


@internal
def _push(history: DynArray[Checkpoint, MAX_CHECKPOINTS], amount: uint256) -> DynArray[Checkpoint, MAX_CHECKPOINTS]:
    # One checkpoint per block: a second change in the same block replaces the first.
    updated: DynArray[Checkpoint, MAX_CHECKPOINTS] = history
    if len(updated) > 0 and updated[len(updated) - 1].blockNumber == block.number:
        updated[len(updated) - 1].value = amount
    else:
        updated.append(Checkpoint(blockNumber=block.number, value=amount))
    return updated


@internal
def _setWeight(operator: address, weight: uint256):
    old: uint256 = self._latest(self.weights[operator])
    self.weights[operator] = self._push(self.weights[operator], weight)
    total: uint256 = self._latest(self.totalWeights)
    self.totalWeights = self._push(self.totalWeights, total - old + weight)
    log OperatorWeightUpdated(_operator=operator, oldWeight=old, newWeight=weight)
    log TotalWeightUpdated(oldTotalWeight=total, newTotalWeight=total - old + weight)


@internal
def _setSigningKey(operator: address, key: address):
    old: address = convert(convert(self._latest(self.signingKeys[operator]), uint160), address)
    # _updateOperatorSigningKey: the same key again changes nothing.
    if key == old:
        return
    self.signingKeys[operator] = self._push(self.signingKeys[operator], convert(convert(key, uint160), uint256))
    log SigningKeyUpdate(operator=operator, updateBlock=block.number, newSigningKey=key, oldSigningKey=old)


@external
def registerOperator(operator: address, signingKey: address, weight: uint256):
    assert msg.sender == self.owner, "only the owner"
    assert not self.operatorRegistered[operator], "already registered"
    self.operatorRegistered[operator] = True
    log OperatorRegistered(_operator=operator, _avs=self)
    self._setSigningKey(operator, signingKey)
    self._setWeight(operator, weight)


@external
def deregisterOperator(operator: address):
    assert msg.sender == self.owner, "only the owner"
    assert self.operatorRegistered[operator], "not registered"
    self.operatorRegistered[operator] = False
    self._setWeight(operator, 0)
    log OperatorDeregistered(_operator=operator, _avs=self)


@external
def updateOperatorSigningKey(operator: address, signingKey: address):
    assert msg.sender == self.owner, "only the owner"
    assert self.operatorRegistered[operator], "not registered"
    self._setSigningKey(operator, signingKey)


@external
def updateOperatorWeight(operator: address, weight: uint256):
    assert msg.sender == self.owner, "only the owner"
    assert self.operatorRegistered[operator], "not registered"
    self._setWeight(operator, weight)


@external
def updateStakeThreshold(thresholdWeight: uint256):
    assert msg.sender == self.owner, "only the owner"
    self.thresholds = self._push(self.thresholds, thresholdWeight)
    log ThresholdWeightUpdated(_thresholdWeight=thresholdWeight)


@external
@view
def getOperatorSigningKeyAtBlock(operator: address, blockNumber: uint256) -> address:
    return convert(convert(self._at(self.signingKeys[operator], blockNumber), uint160), address)


@external
@view
def getOperatorWeightAtBlock(operator: address, blockNumber: uint32) -> uint256:
    return self._at(self.weights[operator], convert(blockNumber, uint256))


@external
@view
def getLastCheckpointOperatorWeight(operator: address) -> uint256:
    return self._latest(self.weights[operator])


@external
@view
def getLastCheckpointTotalWeight() -> uint256:
    return self._latest(self.totalWeights)


@external
@view
def getLastCheckpointThresholdWeight() -> uint256:
    return self._latest(self.thresholds)


@external
@view
def getLastCheckpointTotalWeightAtBlock(blockNumber: uint32) -> uint256:
    return self._at(self.totalWeights, convert(blockNumber, uint256))


@external
@view
def getLastCheckpointThresholdWeightAtBlock(blockNumber: uint32) -> uint256:
    return self._at(self.thresholds, convert(blockNumber, uint256))


@internal
@view
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    # OpenZeppelin's ECDSA.tryRecover: 65 bytes, s in the lower half of the order, v as given (27 or 28).
    if len(signature) != 65:
        return empty(address)
    r: uint256 = convert(slice(signature, 0, 32), uint256)
    s: uint256 = convert(slice(signature, 32, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if (v != 27 and v != 28) or s > HALF_N:
        return empty(address)
    return ecrecover(digest, v, r, s)


@external
@view
def isValidSignature(digest: bytes32, data: Bytes[8192]) -> bytes4:
    operators: DynArray[address, MAX_SIGNERS] = empty(DynArray[address, MAX_SIGNERS])
    signatures: DynArray[Bytes[65], MAX_SIGNERS] = empty(DynArray[Bytes[65], MAX_SIGNERS])
    referenceBlock: uint32 = 0
    operators, signatures, referenceBlock = abi_decode(data, (DynArray[address, MAX_SIGNERS], DynArray[Bytes[65], MAX_SIGNERS], uint32))
    reference: uint256 = convert(referenceBlock, uint256)
    if len(operators) != len(signatures):
        raw_revert(method_id("LengthMismatch()", output_type=Bytes[4]))
    if len(operators) == 0:
        raw_revert(method_id("InvalidLength()", output_type=Bytes[4]))
    signed: uint256 = 0
    previous: uint256 = 0
    for i: uint256 in range(MAX_SIGNERS):
        if i >= len(operators):
            break
        operator: address = operators[i]
        if reference >= block.number:
            raw_revert(method_id("InvalidReferenceBlock()", output_type=Bytes[4]))
        key: address = convert(convert(self._at(self.signingKeys[operator], reference), uint160), address)
        if convert(operator, uint256) <= previous:
            raw_revert(method_id("NotSorted()", output_type=Bytes[4]))
        previous = convert(operator, uint256)
        recovered: address = self._recover(digest, signatures[i])
        if recovered == empty(address) or recovered != key:
            raw_revert(method_id("InvalidSignature()", output_type=Bytes[4]))
        signed += self._at(self.weights[operator], reference)
    if signed > self._at(self.totalWeights, reference):
        raw_revert(method_id("InvalidSignedWeight()", output_type=Bytes[4]))
    if self._at(self.thresholds, reference) > signed:
        raw_revert(method_id("InsufficientSignedStake()", output_type=Bytes[4]))
    return MAGIC
