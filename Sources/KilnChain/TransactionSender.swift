// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
public import KilnCrypto

/// Sends contract calls from one key: nonces handed out in order (one sender per key, so an actor), gas
/// estimated with headroom, EIP-1559 fee caps from the node's tip and base fee, then waits for the receipt
/// and `confirmations` blocks on top of it.
public actor TransactionSender {
    public let rpc: EthereumRPC
    public let chainId: UInt64
    public let from: Address
    private let key: PrivateKey
    private var nextNonce: UInt64?
    public let confirmations: UInt64
    /// How long to wait for a receipt.
    public var receiptTimeout: Duration = .seconds(120)
    /// Highest fee cap accepted, in wei per gas (a run refuses to spend more and says so).
    public var maxFeeCap: BigUInt = BigUInt(500) * 1_000_000_000

    public init(rpc: EthereumRPC, chainId: UInt64, key: PrivateKey, confirmations: UInt64 = 0) {
        self.rpc = rpc
        self.confirmations = confirmations
        self.chainId = chainId
        self.key = key
        from = key.address
    }

    /// Builds, signs and sends a call of `data` to `to`; returns its receipt once mined and confirmed.
    /// - Throws: ``ChainError`` — the node's, a reverted transaction, a fee above ``maxFeeCap``, no receipt in time.
    public func send(to: Address, data: [UInt8]) async throws(ChainError) -> Receipt {
        let nonce: UInt64
        if let known = nextNonce { nonce = known } else { nonce = try await rpc.transactionCount(from) }
        let estimate = try await rpc.estimateGas(from: from, to: to, data: data)
        let tip = try await rpc.maxPriorityFeePerGas()
        let baseFee = try await rpc.baseFeePerGas()
        // Room for the base fee to double twice before this is mined, as wallets do.
        let feeCap = baseFee * 2 + tip
        guard feeCap <= maxFeeCap else {
            throw ChainError(.rpc(0), "the fee cap would be \(feeCap) wei/gas, above the \(maxFeeCap) this run may pay")
        }
        let transaction = Transaction(
            chainId: chainId,
            nonce: nonce,
            maxPriorityFeePerGas: tip,
            maxFeePerGas: feeCap,
            gasLimit: estimate + estimate / 5,
            to: to,
            data: data
        )
        let hash = try await rpc.sendRawTransaction(transaction.signed(with: key))
        nextNonce = nonce + 1
        let clock = ContinuousClock()
        let deadline = clock.now + receiptTimeout
        while true {
            if let receipt = try await rpc.receipt(hash) {
                guard receipt.succeeded else {
                    throw ChainError(
                        .rpc(0),
                        "transaction \(hash.hex) to \(to.checksummed) reverted in block \(receipt.blockNumber)"
                    )
                }
                while try await rpc.blockNumber() < receipt.blockNumber + confirmations {
                    guard clock.now < deadline else {
                        throw ChainError(
                            .transport,
                            "transaction \(hash.hex): \(confirmations) confirmations not reached in time"
                        )
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return receipt
            }
            guard clock.now < deadline else {
                throw ChainError(.transport, "transaction \(hash.hex): no receipt within \(receiptTimeout)")
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }
}
