import BigInt
import KilnCore
import Testing

struct HexTests {
    @Test func bytesRoundTrip() throws {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "0x00abff")
        #expect(Hex.encode([0x0f], prefix: false) == "0f")
        #expect(Hex.encode([]) == "0x")
        #expect(try Hex.decode("0x00ABff") == [0x00, 0xab, 0xff])
        #expect(try Hex.decode("0X0a") == [0x0a])
        #expect(try Hex.decode("0x") == [])
        #expect(try Hex.decode("beef", requirePrefix: false) == [0xbe, 0xef])
    }

    @Test func quantities() throws {
        #expect(Hex.quantity(0) == "0x0")
        #expect(Hex.quantity(26) == "0x1a")
        #expect(Hex.quantity(UInt64.max) == "0xffffffffffffffff")
        #expect(try Hex.parseQuantity("0x0") == 0)
        #expect(try Hex.parseQuantity("0x1A") == 26)
        #expect(try Hex.parseQuantity("0xff", as: UInt8.self) == 255)
        #expect(try Hex.parseQuantityBig("0x" + String(repeating: "f", count: 64)) == (BigUInt(1) << 256) - 1)
    }

    @Test func words() throws {
        let word = try Bytes32(hex: "0x" + String(repeating: "0", count: 62) + "2a")
        #expect(word == Bytes32(word: 42))
        #expect(word.description == "0x" + String(repeating: "0", count: 62) + "2a")
        #expect(Bytes32.zero < word)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var text: String
        var code: FormatError.Code
        var message: String
        var testDescription: String { text }
    }

    @Test(arguments: [
        BadInput(text: "abcd", code: .missingPrefix, message: "Unable to parse hex 'abcd': missing '0x' prefix"),
        BadInput(text: "0xabc", code: .oddLength, message: "Unable to parse hex '0xabc': odd number of digits (3)"),
        BadInput(
            text: "0xag",
            code: .invalidDigit,
            message: "Unable to parse hex '0xag': 'g' at offset 3 is not a hex digit"
        ),
        BadInput(
            text: "0x0 ",
            code: .invalidDigit,
            message: "Unable to parse hex '0x0 ': ' ' at offset 3 is not a hex digit"
        ),
        BadInput(
            text: "0x 0",
            code: .invalidDigit,
            message: "Unable to parse hex '0x 0': ' ' at offset 2 is not a hex digit"
        ),
    ])
    func badBytes(_ input: BadInput) {
        #expect {
            try Hex.decode(input.text)
        } throws: { error in
            let error = error as! FormatError
            return error.code == input.code && error.message == input.message
        }
    }

    @Test(arguments: [
        BadInput(text: "0x", code: .empty, message: "Unable to parse quantity '0x': no digits after '0x'"),
        BadInput(text: "0x01", code: .leadingZero, message: "Unable to parse quantity '0x01': leading zero digit"),
        BadInput(text: "12", code: .missingPrefix, message: "Unable to parse hex '12': missing '0x' prefix"),
        BadInput(
            text: "0x1z",
            code: .invalidDigit,
            message: "Unable to parse hex '0x1z': 'z' at offset 3 is not a hex digit"
        ),
        BadInput(
            text: "0x10000000000000000",
            code: .overflow,
            message: "Unable to parse quantity '0x10000000000000000': it does not fit in 64 bits"
        ),
    ])
    func badQuantities(_ input: BadInput) {
        #expect {
            _ = try Hex.parseQuantity(input.text, as: UInt64.self)
        } throws: { error in
            let error = error as! FormatError
            return error.code == input.code && error.message == input.message
        }
    }

    @Test func quantityTooLargeForAWord() {
        let text = "0x1" + String(repeating: "0", count: 64)
        #expect(throws: FormatError(.overflow, "Unable to parse quantity '\(text)': more than 256 bits")) {
            try Hex.parseQuantityBig(text)
        }
    }

    @Test func wrongWordLength() {
        #expect(throws: FormatError(.wrongLength, "Unable to parse hex '0x1234': expected 32 bytes, found 2")) {
            try Bytes32(hex: "0x1234")
        }
        #expect(throws: FormatError(.wrongLength, "Unable to make a 32-byte value from 31 bytes")) {
            try Bytes32([UInt8](repeating: 1, count: 31))
        }
    }

    @Test func longInputIsCutInMessages() {
        let text = "0x" + String(repeating: "z", count: 200)
        #expect {
            try Hex.decode(text)
        } throws: { error in
            let message = (error as! FormatError).message
            return message.count < 160 && message.contains("…")
        }
    }
}

struct BigUIntBytesTests {
    @Test func fitsExactlyOrNot() {
        let max = (BigUInt(1) << 256) - 1
        #expect(max.bigEndianBytes() == [UInt8](repeating: 0xFF, count: 32))
        #expect((max + 1).bigEndianBytes() == nil)
        #expect(BigUInt(255).bigEndianBytes(count: 1) == [0xFF])
        #expect(BigUInt(256).bigEndianBytes(count: 1) == nil)
        #expect(BigUInt(0).bigEndianBytes(count: 2) == [0, 0])
        #expect(BigUInt(bigEndian: [0x01, 0x00]) == 256)
        #expect(BigUInt(bigEndian: []) == 0)
    }
}
