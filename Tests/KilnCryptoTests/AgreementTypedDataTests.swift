import Foundation
import KilnCore
import KilnCrypto
import KilnTesting
import Testing

struct AgreementTypedDataTests {
    /// The agreement's EIP-712 struct hash, digest and signature equal eth-account's for random messages.
    @Test func inferenceAgreementMatchesEthAccount() async throws {
        var generator = SeededGenerator(seed: 1714)
        var cases: [(PrivateKey, EIP712Domain, InferenceAgreement)] = []
        var items: [JSONValue] = []
        for _ in 0..<8 {
            let secret = generator.bytes(32)
            let chainId = UInt64.random(in: 1...UInt64.max, using: &generator)
            let contract = try Address(generator.bytes(20))
            let agreement = InferenceAgreement(
                jobId: try Bytes32(generator.bytes(32)),
                modelId: Keccak256.hash(utf8: "kiln/cppn-float-v1"),
                inputHash: try Bytes32(generator.bytes(32)),
                canonicalOutputHash: try Bytes32(generator.bytes(32)),
                policyHash: AgreementPolicy.pixels(maxChannelDiff: 24, maxMSEMilli: 2000).hash,
                referenceBlock: UInt64.random(in: 0...UInt64.max, using: &generator)
            )
            cases.append(
                (try PrivateKey(bytes: secret), .kiln(chainId: chainId, verifyingContract: contract), agreement)
            )
            items.append([
                "key": .string(Hex.encode(secret)), "chainId": .number(chainId),
                "verifyingContract": .string(contract.lowercased),
                "message": [
                    "jobId": .string(agreement.jobId.hex), "modelId": .string(agreement.modelId.hex),
                    "inputHash": .string(agreement.inputHash.hex),
                    "canonicalOutputHash": .string(agreement.canonicalOutputHash.hex),
                    "policyHash": .string(agreement.policyHash.hex),
                    "referenceBlock": .number(agreement.referenceBlock),
                ],
            ])
        }
        let answers = try await PythonBench.run("eth.py", ["op": "eip712", "items": .array(items)])["result"]
        guard case .array(let list)? = answers else {
            Issue.record("no result")
            return
        }
        for ((key, domain, agreement), answer) in zip(cases, list) {
            #expect(agreement.structHash.hex == answer["structHash"]?.stringValue)
            let digest = agreement.signingDigest(domain: domain)
            #expect(digest.hex == answer["digest"]?.stringValue)
            #expect(key.sign(digest: digest).hex == answer["signature"]?.stringValue)
        }
    }

    @Test func policiesReadTheirJSONAndDecideInIntegers() throws {
        let policy = AgreementPolicy.pixels(maxChannelDiff: 24, maxMSEMilli: 2000)
        // The hash is keccak-256 of the canonical JSON, written out by hand here.
        #expect(policy.hash == Keccak256.hash(utf8: #"{"maxChannelDiff":24,"maxMSEMilli":2000,"rule":"pixels"}"#))
        #expect(AgreementPolicy.exact.hash == Keccak256.hash(utf8: #"{"rule":"exact"}"#))
        #expect(try AgreementPolicy(json: policy.json) == policy)
        #expect(try AgreementPolicy(json: ["rule": "exact"]) == .exact)
        for bad: JSONValue in [
            ["rule": "fuzzy"], ["rule": "exact", "maxChannelDiff": 1], ["rule": "pixels", "maxChannelDiff": 1],
            ["rule": "pixels", "maxChannelDiff": 256, "maxMSEMilli": 1],
            ["rule": "pixels", "maxChannelDiff": 1, "maxMSEMilli": 1.5], "exact",
        ] {
            #expect(throws: FormatError.self) { try AgreementPolicy(json: bad) }
        }
        // MSE bound: 1000 · Σd² ≤ maxMSEMilli · samples, exactly at the edge.
        let edge = PixelDistance(maxChannelDiff: 1, sumSquaredDiff: 1, samples: 3, differingPixels: 1)
        #expect(!AgreementPolicy.pixels(maxChannelDiff: 1, maxMSEMilli: 333).accepts(sameBytes: false, distance: edge))
        #expect(AgreementPolicy.pixels(maxChannelDiff: 1, maxMSEMilli: 334).accepts(sameBytes: false, distance: edge))
        #expect(!AgreementPolicy.pixels(maxChannelDiff: 0, maxMSEMilli: 334).accepts(sameBytes: false, distance: edge))
        // Not comparable never agrees; the same bytes always do; exact takes nothing else.
        #expect(!policy.accepts(sameBytes: false, distance: nil))
        #expect(AgreementPolicy.exact.accepts(sameBytes: true, distance: nil))
        #expect(!AgreementPolicy.exact.accepts(sameBytes: false, distance: edge))
        // The largest sums still decide exactly (no overflow): 4096² pixels all 255 apart.
        let worst = PixelDistance(
            maxChannelDiff: 255,
            sumSquaredDiff: 4 * 4096 * 4096 * 65_025,
            samples: 4 * 4096 * 4096,
            differingPixels: 4096 * 4096
        )
        #expect(
            AgreementPolicy.pixels(maxChannelDiff: 255, maxMSEMilli: 65_025_000).accepts(
                sameBytes: false,
                distance: worst
            )
        )
        #expect(
            !AgreementPolicy.pixels(maxChannelDiff: 255, maxMSEMilli: 65_024_999).accepts(
                sameBytes: false,
                distance: worst
            )
        )
    }
}
