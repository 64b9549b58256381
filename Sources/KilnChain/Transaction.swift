// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
public import KilnCrypto

/// An EIP-1559 (type 2) transaction, without an access list.
public struct Transaction: Hashable, Sendable {
    public var chainId: UInt64
    public var nonce: UInt64
    public var maxPriorityFeePerGas: BigUInt
    public var maxFeePerGas: BigUInt
    public var gasLimit: UInt64
    public var to: Address
    public var value: BigUInt
    public var data: [UInt8]

    public init(
        chainId: UInt64,
        nonce: UInt64,
        maxPriorityFeePerGas: BigUInt,
        maxFeePerGas: BigUInt,
        gasLimit: UInt64,
        to: Address,
        value: BigUInt = 0,
        data: [UInt8]
    ) {
        self.chainId = chainId
        self.nonce = nonce
        self.maxPriorityFeePerGas = maxPriorityFeePerGas
        self.maxFeePerGas = maxFeePerGas
        self.gasLimit = gasLimit
        self.to = to
        self.value = value
        self.data = data
    }

    private var fields: [RLP] {
        [
            .uint(chainId), .uint(nonce), .uint(maxPriorityFeePerGas), .uint(maxFeePerGas), .uint(gasLimit),
            .bytes(to.bytes),
            .uint(value), .bytes(data), .list([]),
        ]
    }

    /// keccak-256(0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value, data, accessList])).
    public var signingHash: Bytes32 { Keccak256.hash([0x02] + RLP.list(fields).encoded) }

    /// The raw transaction `eth_sendRawTransaction` takes: 0x02 ‖ rlp([…fields, yParity, r, s]).
    public func signed(with key: PrivateKey) -> [UInt8] {
        let signature = key.sign(digest: signingHash)
        let tail: [RLP] = [
            .uint(UInt64(signature.recoveryId)), .uint(BigUInt(bigEndian: signature.r.bytes)),
            .uint(BigUInt(bigEndian: signature.s.bytes)),
        ]
        return [0x02] + RLP.list(fields + tail).encoded
    }
}
