import KilnCore
import KilnCrypto
import KilnTesting
import Testing

struct SignatureTests {
    @Test func signsAndRecoversItsOwnSignatures() async throws {
        let key = PrivateKey.random()
        let digest = Keccak256.hash(utf8: "hello")
        let signature = key.sign(digest: digest)
        #expect(try signature.recoverAddress(digest: digest) == key.address)
        #expect(try Signature(bytes: signature.bytes) == signature)
        #expect(try Signature(hex: signature.hex) == signature)
        #expect([27, 28].contains(signature.v))
        // A different digest recovers someone else.
        #expect(try signature.recoverAddress(digest: Keccak256.hash(utf8: "hellO")) != key.address)
    }

    @Test func knownKeyHasKnownAddress() async throws {
        // The private key 1 is the generator point; its address is well known.
        let one = try PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [1])
        #expect(one.address.checksummed == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
        #expect(
            Hex.encode(one.publicKey.compressed)
                == "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
        )
        #expect(try PublicKey(sec1: one.publicKey.compressed) == one.publicKey)
    }

    @Test func kilnSignsPythonRecovers() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        var items: [JSONValue] = []
        var expected: [(Address, Signature)] = []
        for _ in 0..<100 {
            let secret = generator.bytes(32)
            guard let key = try? PrivateKey(bytes: secret) else { continue }
            let digest = try Bytes32(generator.bytes(32))
            let signature = key.sign(digest: digest)
            items.append([
                "digest": .string(digest.hex), "signature": .string(signature.hex), "key": .string(Hex.encode(secret)),
            ])
            expected.append((key.address, signature))
        }
        guard
            case .array(let recovered)? = try await PythonBench.run(
                "eth.py",
                ["op": "recover", "items": .array(items)]
            )[
                "result"
            ],
            case .array(let pythonSigned)? = try await PythonBench.run(
                "eth.py",
                ["op": "sign", "items": .array(items)]
            )[
                "result"
            ]
        else {
            Issue.record("no result")
            return
        }
        for ((address, signature), (answer, signed)) in zip(expected, zip(recovered, pythonSigned)) {
            #expect(answer.stringValue == address.checksummed, "seed \(seed)")
            // RFC 6979 on both sides: the very same bytes.
            #expect(signed["signature"]?.stringValue == signature.hex, "seed \(seed)")
            #expect(signed["address"]?.stringValue == address.checksummed, "seed \(seed)")
        }
    }

    @Test func pythonSignsKilnRecovers() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let items: [JSONValue] = (0..<100).map { _ in
            ["key": .string(Hex.encode(generator.bytes(32))), "digest": .string(Hex.encode(generator.bytes(32)))]
        }
        guard
            case .array(let answers)? = try await PythonBench.run("eth.py", ["op": "sign", "items": .array(items)])[
                "result"
            ]
        else {
            Issue.record("no result")
            return
        }
        for (item, answer) in zip(items, answers) {
            let digest = try Bytes32(hex: item["digest"]!.stringValue!)
            let signature = try Signature(hex: answer["signature"]!.stringValue!)
            #expect(
                try signature.recoverAddress(digest: digest).checksummed == answer["address"]?.stringValue,
                "seed \(seed)"
            )
        }
    }

    @Test func eip712AttestationsAgreeWithEthAccount() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        var cases: [(PrivateKey, EIP712Domain, InferenceAttestation)] = []
        var items: [JSONValue] = []
        for _ in 0..<40 {
            let secret = generator.bytes(32)
            let key = try PrivateKey(bytes: secret)
            let chainId = UInt64.random(in: 1...UInt64.max, using: &generator)
            let contract = try Address(generator.bytes(20))
            let attestation = InferenceAttestation(
                jobId: try Bytes32(generator.bytes(32)),
                modelId: Keccak256.hash(utf8: "kiln/cppn-v1"),
                inputHash: try Bytes32(generator.bytes(32)),
                outputHash: try Bytes32(generator.bytes(32)),
                referenceBlock: UInt64.random(in: 0...UInt64.max, using: &generator)
            )
            cases.append((key, .kiln(chainId: chainId, verifyingContract: contract), attestation))
            items.append([
                "key": .string(Hex.encode(secret)), "chainId": .number(chainId),
                "verifyingContract": .string(contract.lowercased),
                "message": [
                    "jobId": .string(attestation.jobId.hex), "modelId": .string(attestation.modelId.hex),
                    "inputHash": .string(attestation.inputHash.hex), "outputHash": .string(attestation.outputHash.hex),
                    "referenceBlock": .number(attestation.referenceBlock),
                ],
            ])
        }
        guard
            case .array(let answers)? = try await PythonBench.run("eth.py", ["op": "eip712", "items": .array(items)])[
                "result"
            ]
        else {
            Issue.record("no result")
            return
        }
        for ((key, domain, attestation), answer) in zip(cases, answers) {
            #expect(domain.separator.hex == answer["domainSeparator"]?.stringValue, "seed \(seed)")
            #expect(attestation.structHash.hex == answer["structHash"]?.stringValue, "seed \(seed)")
            let digest = attestation.signingDigest(domain: domain)
            #expect(digest.hex == answer["digest"]?.stringValue, "seed \(seed)")
            #expect(key.sign(digest: digest).hex == answer["signature"]?.stringValue, "seed \(seed)")
            let pythonSignature = try Signature(hex: answer["signature"]!.stringValue!)
            #expect(try pythonSignature.recoverAddress(digest: digest) == key.address, "seed \(seed)")
        }
    }

    @Test func personalSignAgreesWithEthAccount() async throws {
        var generator = SeededGenerator(seed: 191)
        let key = try PrivateKey(bytes: generator.bytes(32))
        let messages = [[UInt8](), Array("hello".utf8), generator.bytes(200)]
        let items: [JSONValue] = messages.map {
            ["key": .string(Hex.encode(key.withUnsafeSecretBytes { Array($0) })), "message": .string(Hex.encode($0))]
        }
        guard
            case .array(let answers)? = try await PythonBench.run(
                "eth.py",
                ["op": "personal", "items": .array(items)]
            )[
                "result"
            ]
        else {
            Issue.record("no result")
            return
        }
        for (message, answer) in zip(messages, answers) {
            let digest = PersonalMessage.digest(message)
            #expect(digest.hex == answer["digest"]?.stringValue)
            #expect(key.sign(digest: digest).hex == answer["signature"]?.stringValue)
        }
    }

    @Test func eip712StructEncoderChecksValues() async throws {
        let type = try EIP712StructType(
            name: "Vote",
            members: [("choice", "uint8"), ("voter", "address"), ("note", "string")]
        )
        #expect(type.encodeType == "Vote(uint8 choice,address voter,string note)")
        #expect(
            throws: FormatError(
                .invalidTypedData,
                "Unable to encode 'Vote.choice' as uint8: 256 does not fit in 8 bits"
            )
        ) {
            try type.hashStruct([.uint64(256), .address(.zero), .string("")])
        }
        #expect(throws: FormatError(.invalidTypedData, "Unable to hash 'Vote': expected 3 values, found 1")) {
            try type.hashStruct([.uint64(1)])
        }
        #expect(
            throws: FormatError(
                .invalidTypedData,
                "Unable to encode 'Vote.voter' as address: value bool(true) is of another kind"
            )
        ) {
            try type.hashStruct([.uint64(1), .bool(true), .string("")])
        }
    }
}

struct SignatureErrorTests {
    static let n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    static let halfN = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
    static let one = String(repeating: "0", count: 63) + "1"

    @Test(
        arguments: [
            (
                "0x" + one + one, CryptoError.Code.invalidSignature,
                "Unable to parse signature: expected 65 bytes (r ‖ s ‖ v), found 64"
            ),
            (
                "0x" + one + one + "1d", .invalidSignature,
                "Unable to parse signature: v is 29, expected 27 or 28 (or 0 or 1)"
            ),
            (
                "0x" + String(repeating: "0", count: 64) + one + "1b", .invalidSignature,
                "Unable to parse signature: r is zero or not below the curve order"
            ),
            (
                "0x" + n + one + "1b", .invalidSignature,
                "Unable to parse signature: r is zero or not below the curve order"
            ),
            (
                "0x" + one + String(repeating: "0", count: 64) + "1b", .invalidSignature,
                "Unable to parse signature: s is zero"
            ),
            (
                "0x" + one + "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1" + "1b", .highS,
                "Unable to accept signature: s is in the upper half of the curve order (malleable form)"
            ),
            (
                "0xzz", .invalidSignature,
                "Unable to parse signature: Unable to parse hex '0xzz': 'z' at offset 2 is not a hex digit"
            ),
        ] as [(String, CryptoError.Code, String)]
    )
    func rejectsMalformedSignatures(_ text: String, _ code: CryptoError.Code, _ message: String) {
        #expect(throws: CryptoError(code, message)) { try Signature(hex: text) }
    }

    @Test func acceptsTheLargestLowS() async throws {
        #expect(throws: Never.self) { try Signature(hex: "0x" + Self.one + Self.halfN + "1c") }
    }

    @Test func highSOfARealSignatureIsRejected() async throws {
        let key = PrivateKey.random()
        let digest = Keccak256.hash(utf8: "malleable")
        let signature = key.sign(digest: digest)
        // s' = n − s with the other recovery id recovers the same key; Kiln refuses that form.
        let s = BigUIntBytes.subtract(Self.n, signature.s.bytes)
        let flipped = signature.r.bytes + s + [signature.v == 27 ? 28 : 27]
        #expect(throws: CryptoError.self) { try Signature(bytes: flipped) }
        #expect { try Signature(bytes: flipped) } throws: { ($0 as! CryptoError).code == .highS }
    }

    @Test(arguments: [
        (
            [UInt8](repeating: 0, count: 32),
            "Unable to use private key: not a valid secp256k1 secret (zero or ≥ the curve order)"
        ),
        (
            try! Hex.decode("0x" + n),
            "Unable to use private key: not a valid secp256k1 secret (zero or ≥ the curve order)"
        ),
        ([UInt8](repeating: 1, count: 31), "Unable to use private key: expected 32 bytes, found 31"),
    ])
    func rejectsInvalidPrivateKeys(_ bytes: [UInt8], _ message: String) {
        #expect(throws: CryptoError(.invalidPrivateKey, message)) { try PrivateKey(bytes: bytes) }
    }

    @Test func privateKeyNeverPrintsItself() async throws {
        let secret = String(repeating: "ab", count: 32)
        let key = try PrivateKey(hex: secret)
        for text in [
            key.description, String(describing: key), String(reflecting: key), "\(key)", String(describing: [key]),
        ] {
            #expect(!text.contains("abab"), "\(text)")
            #expect(text.contains("PrivateKey(secp256k1, 32 bytes)"))
        }
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("abab"))
        // A bad key's error does not quote it either.
        #expect { try PrivateKey(hex: "0x" + String(repeating: "ab", count: 31) + "zz") } throws: { error in
            !String(describing: error).contains("abab")
        }
    }
}

/// Big-endian subtraction of two 32-byte numbers, a − b (a ≥ b), for building a high-s signature.
enum BigUIntBytes {
    static func subtract(_ aHex: String, _ b: [UInt8]) -> [UInt8] {
        let a = try! Hex.decode(aHex, requirePrefix: false)
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for index in (0..<32).reversed() {
            var value = Int(a[index]) - Int(b[index]) - borrow
            borrow = value < 0 ? 1 : 0
            if value < 0 { value += 256 }
            out[index] = UInt8(value)
        }
        return out
    }
}
