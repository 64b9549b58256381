// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

extension AttestationBundle {
    /// Where a bundle's signatures belong: the block its stake table is read at and the EIP-712 domain's chain
    /// and verifying contract (for an on-chain registry, the registry itself).
    public struct SigningContext: Hashable, Sendable {
        /// `request.referenceBlock`.
        public var referenceBlock: UInt64
        /// `domain.chainId`.
        public var chainId: UInt64
        /// `domain.verifyingContract`.
        public var verifyingContract: Address
    }

    /// The bundle's ``SigningContext``.
    /// - Throws: ``AVSError`` (``AVSError/Code/bundle``) when the bundle lacks the fields.
    public static func signingContext(_ bundle: JSONValue) throws(AVSError) -> SigningContext {
        guard let block = bundle["request"]?["referenceBlock"]?.integerValue,
            let reference = UInt64(exactly: block),
            let chain = bundle["domain"]?["chainId"]?.integerValue, let chainId = UInt64(exactly: chain),
            let contract = bundle["domain"]?["verifyingContract"]?.stringValue.flatMap({ try? Address(hex: $0) })
        else { throw AVSError(.bundle, "the bundle has no request.referenceBlock or domain") }
        return SigningContext(referenceBlock: reference, chainId: chainId, verifyingContract: contract)
    }

    /// Checks the stake table a bundle records — its own claim — against `registry` at the bundle's reference
    /// block: the registry signs in the bundle's EIP-712 domain, and its table is the bundle's, byte for byte.
    /// `source` names the registry in the checks' evidence (a file, or a contract over a URL).
    /// - Throws: ``AVSError`` when the bundle lacks its context or the registry cannot be read.
    public static func checkStakes(
        _ bundle: JSONValue,
        registry: any OperatorRegistry,
        source: String
    ) async throws(AVSError) -> [Check] {
        let context = try signingContext(bundle)
        let table = try await registry.stakeTable(at: context.referenceBlock)
        var list = CheckList()
        if table.domain != EIP712Domain.kiln(chainId: context.chainId, verifyingContract: context.verifyingContract) {
            list.fail(
                .stakes,
                nil,
                "stakes: \(source) signs in another EIP-712 domain (chain id or verifying contract)"
            )
        }
        list.check(
            .stakes,
            nil,
            bundle["stake"] == stakeJSON(table),
            "stakes: the stake table matches \(source) at block \(context.referenceBlock)",
            "stakes: the bundle's stake table differs from \(source) at block \(context.referenceBlock)"
        )
        return list.checks
    }
}
