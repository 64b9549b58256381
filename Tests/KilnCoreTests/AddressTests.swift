import KilnCore
import KilnTesting
import Testing

struct AddressTests {
    /// The test cases of EIP-55 itself.
    @Test(arguments: [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
    ])
    func eip55Vectors(_ text: String) async throws {
        let address = try Address(hex: text)
        #expect(address.checksummed == text)
        #expect(try Address(hex: text.lowercased()) == address)
        #expect(try Address(hex: "0x" + text.dropFirst(2).uppercased()) == address)
    }

    @Test func rejectsWrongChecksum() {
        let text = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"
        #expect(
            throws: FormatError(
                .badChecksum,
                "Unable to parse address '\(text)': mixed-case checksum does not match (expected '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')"
            )
        ) { try Address(hex: text) }
    }

    @Test func rejectsWrongLengthAndDigits() {
        #expect(throws: FormatError(.wrongLength, "Unable to parse address '0x1234': expected 20 bytes, found 2")) {
            try Address(hex: "0x1234")
        }
        #expect {
            try Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg")
        } throws: { error in
            let error = error as! FormatError
            return error.code == .invalidDigit
                && error.message.hasPrefix("Unable to parse address '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg': ")
        }
        #expect(throws: FormatError(.wrongLength, "Unable to make an address from 19 bytes: an address is 20 bytes")) {
            try Address([UInt8](repeating: 0, count: 19))
        }
    }

    @Test func agreesWithEthUtilsOnRandomAddresses() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let addresses = try (0..<300).map { _ in try Address(generator.bytes(20)) }
        let answer = try await PythonBench.run(
            "eth.py",
            ["op": "checksum", "addresses": .array(addresses.map { .string($0.lowercased) })]
        )
        guard case .array(let expected)? = answer["result"] else {
            Issue.record("no result")
            return
        }
        #expect(addresses.map(\.checksummed) == expected.map { $0.stringValue! }, "seed \(seed)")
    }
}
