import BigInt
import KilnCore
import Testing

struct EIP712DomainTests {
    @Test func aChainIdBeyondUint256IsAnErrorNotACrash() throws {
        let tooBig = BigUInt(1) << 256
        #expect(throws: FormatError.self) { try EIP712Domain(name: "Kiln", chainId: tooBig) }
        // The largest uint256 is a valid chain id and hashes.
        let largest = try EIP712Domain(name: "Kiln", chainId: tooBig - 1)
        #expect(largest.separator != .zero)
    }

    @Test func kilnsDomainMatchesTheGeneralInitialiser() throws {
        let contract = try Address(hex: "0x000000000000000000000000000000000000ab1e")
        let general = try EIP712Domain(name: "Kiln", version: "1", chainId: 31337, verifyingContract: contract)
        #expect(EIP712Domain.kiln(chainId: 31337, verifyingContract: contract) == general)
    }
}
