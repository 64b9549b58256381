import Foundation
import BigInt
import KilnChain
import KilnCore
import KilnCrypto
import KilnTesting
import Testing

/// Call data and transactions, byte for byte against eth-abi and eth-account (scripts/crosscheck/eth.py).
struct TransactionTests {
    @Test func abiEncodingMatchesEthABI() async throws {
        var generator = SeededGenerator(seed: 9)
        var cases: [(types: [String], values: [JSONValue], arguments: [ABIArgument])] = []
        for round in 0..<12 {
            let count = round % 4 + 1
            let addresses = (0..<count).map { _ in
                try! Address((0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }.sorted()
            let signatures = (0..<count).map { index in
                (0..<(index == 0 ? 65 : 33 + round)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            let block = UInt64.random(in: 0...UInt64(UInt32.max), using: &generator)
            let text = String(repeating: "kiln ✓ ", count: round)
            let word = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            cases.append(
                (
                    ["address[]", "bytes[]", "uint32", "string", "bytes32", "bool", "uint256"],
                    [
                        .array(addresses.map { .string($0.lowercased) }),
                        .array(signatures.map { .string(Hex.encode($0)) }), .string(String(block)),
                        .string(text), .string(Hex.encode(word)), .bool(round % 2 == 0),
                        .string(String(BigUInt(2).power(255) + BigUInt(round))),
                    ],
                    [
                        .array(addresses.map { .address($0) }), .array(signatures.map { .bytes($0) }), .uint(block),
                        .string(text), .fixedBytes(word),
                        .bool(round % 2 == 0), .uint(BigUInt(2).power(255) + BigUInt(round)),
                    ]
                )
            )
        }
        let items = JSONValue.array(
            cases.map { ["types": .array($0.types.map { .string($0) }), "values": .array($0.values)] }
        )
        guard
            case .array(let expected)? = try await PythonBench.run("eth.py", ["op": "abi_encode", "items": items])[
                "result"
            ]
        else {
            Issue.record("eth.py gave no result")
            return
        }
        for (item, answer) in zip(cases, expected) {
            #expect(Hex.encode(ABIEncoding.encode(item.arguments)) == answer.stringValue, "\(item.types)")
        }
        // Call data and a decoded return value.
        #expect(Hex.encode(ABIEncoding.selector("isValidSignature(bytes32,bytes)")) == "0x1626ba7e")
        let returned = ABIEncoding.encode([.string("ipfs://bafy…/7")])
        #expect(try ABIEncoding.decode([.string], from: returned, function: "tokenURI") == [.string("ipfs://bafy…/7")])
        #expect(throws: FormatError.self) {
            try ABIEncoding.decode([.string], from: Array(returned.prefix(40)), function: "tokenURI")
        }
    }

    @Test func eip1559TransactionsMatchEthAccount() async throws {
        var generator = SeededGenerator(seed: 15)
        var transactions: [(Transaction, String)] = []
        for round in 0..<16 {
            let key =
                "0x"
                + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 1...255, using: &generator)) }.joined()
            let data = (0..<(round * 9)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let transaction = Transaction(
                chainId: [1, 31337, 131_277_322_940_537][round % 3],
                nonce: round == 0 ? 0 : UInt64.random(in: 0...1 << 40, using: &generator),
                maxPriorityFeePerGas: round == 1 ? 0 : BigUInt(UInt64.random(in: 1...UInt64.max, using: &generator)),
                maxFeePerGas: BigUInt(UInt64.random(in: 0...UInt64.max, using: &generator)) * 1000,
                gasLimit: UInt64.random(in: 21_000...30_000_000, using: &generator),
                to: try! Address((0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }),
                value: BigUInt(round) * 1_000_000_007,
                data: data
            )
            transactions.append((transaction, key))
        }
        let items = JSONValue.array(
            transactions.map { transaction, key in
                [
                    "chainId": .string(String(transaction.chainId)), "nonce": .string(String(transaction.nonce)),
                    "maxPriorityFeePerGas": .string(String(transaction.maxPriorityFeePerGas)),
                    "maxFeePerGas": .string(String(transaction.maxFeePerGas)),
                    "gas": .string(String(transaction.gasLimit)), "to": .string(transaction.to.lowercased),
                    "value": .string(String(transaction.value)),
                    "data": .string(Hex.encode(transaction.data)), "key": .string(key),
                ]
            }
        )
        guard
            case .array(let expected)? = try await PythonBench.run("eth.py", ["op": "sign_1559", "items": items])[
                "result"
            ]
        else {
            Issue.record("eth.py gave no result")
            return
        }
        for ((transaction, key), answer) in zip(transactions, expected) {
            let raw = transaction.signed(with: try PrivateKey(hex: key))
            #expect(Hex.encode(raw) == answer["raw"]?.stringValue, "nonce \(transaction.nonce)")
            #expect(Keccak256.hash(raw).hex == answer["hash"]?.stringValue)
        }
    }

    @Test func rlpEdgeCases() {
        // The Yellow Paper's examples.
        #expect(RLP.bytes(Array("dog".utf8)).encoded == [0x83, 0x64, 0x6F, 0x67])
        #expect(
            RLP.list([.bytes(Array("cat".utf8)), .bytes(Array("dog".utf8))]).encoded == [
                0xC8, 0x83, 0x63, 0x61, 0x74, 0x83, 0x64, 0x6F, 0x67,
            ]
        )
        #expect(RLP.bytes([]).encoded == [0x80])
        #expect(RLP.list([]).encoded == [0xC0])
        #expect(RLP.uint(UInt64(0)).encoded == [0x80])
        #expect(RLP.uint(UInt64(15)).encoded == [0x0F])
        #expect(RLP.uint(UInt64(1024)).encoded == [0x82, 0x04, 0x00])
        let long = [UInt8](repeating: 0x61, count: 56)
        #expect(RLP.bytes(long).encoded == [0xB8, 56] + long)
        #expect(
            RLP.list([.list([]), .list([.list([])]), .list([.list([]), .list([.list([])])])]).encoded == [
                0xC7, 0xC0, 0xC1, 0xC0, 0xC3, 0xC0, 0xC1, 0xC0,
            ]
        )
    }
}
