import BigInt
import KilnCore
import KilnTesting
import Testing

struct CanonicalJSONTests {
    @Test func sortsKeysAndDropsWhitespace() async throws {
        let value: JSONValue = ["b": 1, "a": ["z": true, "y": nil], "c": [1, "two", 3.5]]
        #expect(try value.canonicalString() == #"{"a":{"y":null,"z":true},"b":1,"c":[1,"two",3.5]}"#)
    }

    @Test func keepsBigIntegersExact() async throws {
        let big = (BigInt(1) << 256) - 1
        let text = try JSONValue.object(["id": .integer(big), "n": .integer(-5)]).canonicalString()
        #expect(
            text == #"{"id":115792089237316195423570985008687907853269984665640564039457584007913129639935,"n":-5}"#
        )
        #expect(try JSONValue.parse(text)["id"] == .integer(big))
    }

    @Test func escapesStringsMinimally() async throws {
        let value = JSONValue.string("q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1F}é€😀\u{7F}")
        #expect(try value.canonicalString() == #""q\"b\\s/\b\f\n\r\t\u0001\u001fé€😀"# + "\u{7F}\"")
    }

    /// RFC 8785 §3.2.2.3 and its Appendix B examples of ECMAScript number serialization.
    @Test(
        arguments: [
            (0.0, "0"), (-0.0, "0"), (2.0, "2"), (-1.5, "-1.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
            (333333333.33333329, "333333333.3333333"), (1e-7, "1e-7"), (0.000001, "0.000001"), (1e23, "1e+23"),
            (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (4.5, "4.5"),
            (0.1, "0.1"),
            (123456789012345680000.0, "123456789012345680000"), (-5e-7, "-5e-7"),
        ] as [(Double, String)]
    )
    func decimalsAsECMAScriptPrintsThem(_ value: Double, _ expected: String) async throws {
        #expect(try JSONValue.decimal(value).canonicalString() == expected)
    }

    @Test func refusesNonFiniteNumbers() {
        #expect(
            throws: FormatError(.unsupportedJSON, "Unable to write 'nan' as canonical JSON: numbers must be finite")
        ) {
            try JSONValue.decimal(.nan).canonicalString()
        }
    }

    @Test func hashIsKeccakOfCanonicalBytes() async throws {
        let value: JSONValue = ["level": 7, "class": "mage"]
        #expect(try value.canonicalHash() == Keccak256.hash(utf8: #"{"class":"mage","level":7}"#))
    }

    @Test func agreesWithPythonJSONOnRandomValues() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let values = (0..<200).map { _ in randomValue(depth: 0, &generator) }
        let answer = try await PythonBench.run("eth.py", ["op": "json", "values": .array(values)])
        guard case .array(let expected)? = answer["result"] else {
            Issue.record("no result")
            return
        }
        for (value, text) in zip(values, expected) {
            let ours = try value.canonicalString()
            #expect(ours == text.stringValue, "seed \(seed)")
            // And parsing our output gives the value back.
            #expect(try JSONValue.parse(ours) == value, "seed \(seed)")
        }
    }

    /// Random JSON without decimals (Python prints floats differently; RFC 8785 cases above cover them).
    private func randomValue(depth: Int, _ generator: inout SeededGenerator) -> JSONValue {
        let pick = Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator)
        switch pick {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2:
            let magnitude = BigInt(
                BigUInt(generator.bytes(Int.random(in: 0...40, using: &generator)).withUnsafeBytes { BigUInt($0) })
            )
            return .integer(Bool.random(using: &generator) ? -magnitude : magnitude)
        case 3: return .string(randomString(&generator))
        case 4:
            return .array(
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, &generator) }
            )
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                members[randomString(&generator)] = randomValue(depth: depth + 1, &generator)
            }
            return .object(members)
        }
    }

    private func randomString(_ generator: inout SeededGenerator) -> String {
        let alphabet: [Unicode.Scalar] = [
            "a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "€", "\u{7F}", "ß",
        ]
        var text = ""
        for _ in 0..<Int.random(in: 0...8, using: &generator) {
            text.unicodeScalars.append(alphabet.randomElement(using: &generator)!)
        }
        return text
    }
}

struct JSONParseTests {
    @Test func parsesEveryKind() async throws {
        let value = try JSONValue.parse(#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00", true, false, null], "b": {}} "#)
        #expect(value == ["a": [1, .decimal(-2500), "xé😀", true, false, nil], "b": .object([:])])
    }

    @Test(
        arguments: [
            ("", "Unable to parse JSON at 1:1: unexpected end of input, expected a value"),
            ("{\"a\":1,}", "Unable to parse JSON at 1:8: expected a string key"),
            ("{\"a\":1,\n\"a\":2}", "Unable to parse JSON at 2:1: duplicate key \"a\""),
            ("[1 2]", "Unable to parse JSON at 1:4: expected ',' or ']' in array"),
            ("01", "Unable to parse JSON at 1:2: leading zero in number"),
            ("1.", "Unable to parse JSON at 1:3: expected a digit after '.'"),
            ("-", "Unable to parse JSON at 1:2: expected a digit"),
            ("1e999", "Unable to parse JSON at 1:1: number '1e999' is out of range"),
            ("\"a\u{01}\"", "Unable to parse JSON at 1:3: control character byte 0x1 must be escaped in a string"),
            ("\"\\x\"", "Unable to parse JSON at 1:3: invalid escape \\'x'"),
            ("\"\\ud800\"", "Unable to parse JSON at 1:8: lone high surrogate in \\u escape"),
            ("\"abc", "Unable to parse JSON at 1:5: unterminated string"),
            ("tru", "Unable to parse JSON at 1:1: invalid literal, expected 'true'"),
            ("{} x", "Unable to parse JSON at 1:4: unexpected text after the value"),
            ("{\"a\" 1}", "Unable to parse JSON at 1:6: expected ':' after key"),
        ] as [(String, String)]
    )
    func reportsWhereAndWhat(_ text: String, _ message: String) {
        #expect(throws: FormatError(.invalidJSON, message)) { try JSONValue.parse(text) }
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: FormatError(.invalidJSON, "Unable to parse JSON at 1:257: nesting deeper than 256 levels")) {
            try JSONValue.parse(deep)
        }
        let fine = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        #expect(throws: Never.self) { try JSONValue.parse(fine) }
    }

    /// Long plain runs are read sixteen bytes at a time: an escape, a closing quote or a control character at any
    /// offset of a run (and UTF-8 bytes beside them) ends it where it is.
    @Test func longStringsStopAtEveryOffset() throws {
        let alphabet = Array("abcdefghé0123456789+/=")
        let plain = (0..<70).map { alphabet[$0 % alphabet.count] }
        for offset in 0..<70 {
            let head = String(plain[..<offset]), tail = String(plain[offset...])
            #expect(try JSONValue.parse("\"\(head)\\n\(tail)\"") == .string(head + "\n" + tail), "escape at \(offset)")
            #expect(
                try JSONValue.parse("[\"\(head)\", \"\(tail)\"]") == [.string(head), .string(tail)],
                "quote at \(offset)"
            )
            #expect(throws: FormatError.self, "control character at \(offset)") {
                try JSONValue.parse("\"\(head)\u{1f}\(tail)\"")
            }
            #expect(throws: FormatError.self, "unterminated at \(offset)") { try JSONValue.parse("\"\(head)") }
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: FormatError(.invalidJSON, "Unable to parse JSON at 1:1: string is not valid UTF-8")) {
            try JSONValue.parse(bytes: [0x22, 0xC3, 0x28, 0x22])
        }
    }
}
