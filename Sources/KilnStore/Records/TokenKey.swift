// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A token as the store keys it: chain, contract, id (decimal text, any size).
public struct TokenKey: Hashable, Sendable, CustomStringConvertible {
    public var chainId: UInt64
    public var contract: Address
    public var tokenId: String

    public init(chainId: UInt64, contract: Address, tokenId: String) {
        self.chainId = chainId
        self.contract = contract
        self.tokenId = tokenId
    }

    public var description: String { "\(chainId):\(contract.checksummed)#\(tokenId)" }
}
