// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// A token: its chain, its contract and its id (a `uint256`; any size is kept). The one token type: the store keys
/// jobs, states and publications by it, templates read its contract and id, provenance records it.
///
/// Its text forms are what manifests, metadata API paths and so CIDs depend on: ``tokenId`` is the id in decimal
/// without leading zeros, ``description`` is `chainId:0xChecksummed#id`.
public struct TokenKey: Hashable, Sendable, CustomStringConvertible {
    /// The chain's id.
    public var chainId: UInt64
    /// The token's contract.
    public var contract: Address
    /// The token id.
    public var id: BigUInt

    /// A token.
    public init(chainId: UInt64, contract: Address, id: BigUInt) {
        self.chainId = chainId
        self.contract = contract
        self.id = id
    }

    /// A token whose id is given in decimal, as the store keeps it and people type it.
    /// - Throws: ``FormatError`` (``FormatError/Code/invalidDigit``) when `tokenId` is not a whole number in decimal.
    public init(chainId: UInt64, contract: Address, tokenId: String) throws(FormatError) {
        guard !tokenId.isEmpty, tokenId.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let id = BigUInt(tokenId, radix: 10)
        else {
            throw FormatError(.invalidDigit, "token id '\(tokenId)' is not a whole number in decimal")
        }
        self.init(chainId: chainId, contract: contract, id: id)
    }

    /// The id in decimal (no leading zeros): the store's key and the text in manifests and API paths.
    public var tokenId: String { String(id) }

    /// `31337:0xAbC…#7`.
    public var description: String { "\(chainId):\(contract.checksummed)#\(id)" }
}
