import KilnCore
import KilnTesting
import Testing

struct KeccakTests {
    @Test func knownAnswers() async throws {
        guard case .array(let vectors)? = try Vectors.load("keccak256")["vectors"] else {
            Issue.record("vectors missing")
            return
        }
        #expect(vectors.count == 4)
        for vector in vectors {
            let unit = try Hex.decode(vector["input"]!.stringValue!, requirePrefix: false)
            let count = Int(vector["repeat"]!.integerValue!)
            let input = Array([[UInt8]](repeating: unit, count: count).joined())
            let expected = vector["digest"]!.stringValue!
            #expect(Keccak256.hash(input).hex == expected, "input \(unit) × \(count)")
        }
    }

    @Test func utf8AndBufferEntryPointsAgree() {
        let text = "Transfer(address,address,uint256)"
        #expect(Keccak256.hash(utf8: text) == Keccak256.hash(Array(text.utf8)))
        #expect(Keccak256.hash(utf8: text).hex == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
    }

    @Test func streamingSplitAtEveryOffset() {
        var generator = SeededGenerator(seed: 300)
        let input = generator.bytes(300)
        let whole = Keccak256.hash(input)
        for split in 0...input.count {
            var hasher = Keccak256()
            hasher.update(input[..<split])
            hasher.update(input[split...])
            #expect(hasher.finalize() == whole, "split at \(split)")
        }
        // Three pieces across the 136-byte block boundary, and byte-at-a-time.
        for first in stride(from: 0, through: 300, by: 17) {
            for second in stride(from: first, through: 300, by: 29) {
                var hasher = Keccak256()
                hasher.update(input[..<first])
                hasher.update(input[first..<second])
                hasher.update(input[second...])
                #expect(hasher.finalize() == whole, "splits at \(first), \(second)")
            }
        }
        var bytewise = Keccak256()
        for byte in input { bytewise.update(CollectionOfOne(byte)) }
        #expect(bytewise.finalize() == whole)
    }

    @Test func nonContiguousSequence() {
        let input = (0..<500).lazy.map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(Keccak256.hash(input) == Keccak256.hash(Array(input)))
    }

    @Test func agreesWithEthHashOnRandomInputs() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        // Lengths around the block size are the interesting ones; cover 0…1000 with extra weight there.
        let inputs = (0..<1000).map { index -> [UInt8] in
            let length = index < 300 ? index : Int.random(in: 0...1000, using: &generator)
            return generator.bytes(length)
        }
        let answer = try await PythonBench.run(
            "eth.py",
            ["op": "keccak", "inputs": .array(inputs.map { .string(Hex.encode($0)) })]
        )
        guard case .array(let digests)? = answer["result"] else {
            Issue.record("no result")
            return
        }
        #expect(digests.count == inputs.count)
        for (input, digest) in zip(inputs, digests) {
            #expect(Keccak256.hash(input).hex == digest.stringValue, "seed \(seed), length \(input.count)")
        }
    }
}
