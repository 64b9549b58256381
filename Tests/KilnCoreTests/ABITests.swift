import BigInt
import KilnCore
import KilnTesting
import Testing

struct EventSignatureTests {
    @Test func parsesAndCanonicalizes() async throws {
        let event = try EventSignature("LevelUp(uint indexed tokenId, uint256 level)")
        #expect(event.canonical == "LevelUp(uint256,uint256)")
        #expect(event.parameters.map(\.name) == ["tokenId", "level"])
        #expect(event.parameters.map(\.indexed) == [true, false])
        #expect(event.topic0 == Keccak256.hash(utf8: "LevelUp(uint256,uint256)"))
        let transfer = try EventSignature("Transfer(address indexed from, address indexed to, uint256 indexed tokenId)")
        #expect(transfer.topic0.hex == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
        let unnamed = try EventSignature("  Ping ( bytes4 indexed , string,bool ) ")
        #expect(unnamed.parameters.map(\.name) == ["arg0", "arg1", "arg2"])
        #expect(unnamed.canonical == "Ping(bytes4,string,bool)")
        #expect(try EventSignature("Empty()").parameters.isEmpty)
    }

    @Test(
        arguments: [
            (
                "LevelUp(uint256 level", FormatError.Code.invalidSignature,
                "Unable to parse event signature 'LevelUp(uint256 level' at column 22: expected ',' or ')'"
            ),
            (
                "(uint256)", .invalidSignature,
                "Unable to parse event signature '(uint256)' at column 1: expected the event name"
            ),
            (
                "E(uint7 x)", .unsupportedType,
                "Unable to parse event signature 'E(uint7 x)' at column 3: Unable to parse type 'uint7': uint width must be 8…256 in steps of 8"
            ),
            (
                "E(bytes33 x)", .unsupportedType,
                "Unable to parse event signature 'E(bytes33 x)' at column 3: Unable to parse type 'bytes33': bytesN needs N from 1 to 32"
            ),
            (
                "E(uint256[] xs)", .unsupportedType,
                "Unable to parse event signature 'E(uint256[] xs)' at column 3: Unable to parse type 'uint256[]': arrays and tuples are not supported in events Kiln decodes"
            ),
            (
                "E(address a, bool a)", .invalidSignature,
                "Unable to parse event signature 'E(address a, bool a)' at column 20: duplicate parameter name 'a'"
            ),
            (
                "E(bool indexed a, bool indexed b, bool indexed c, bool indexed d)", .invalidSignature,
                "Unable to parse event signature 'E(bool indexed a, bool indexed b, bool indexed c, bool indexed d)' at column 66: at most 3 parameters can be indexed"
            ),
            (
                "E(bool) anonymous", .invalidSignature,
                "Unable to parse event signature 'E(bool) anonymous' at column 9: unexpected text after ')'"
            ),
            (
                "E(money m)", .unsupportedType,
                "Unable to parse event signature 'E(money m)' at column 3: Unable to parse type 'money': unknown type"
            ),
        ] as [(String, FormatError.Code, String)]
    )
    func rejectsBadSignatures(_ text: String, _ code: FormatError.Code, _ message: String) {
        #expect(throws: FormatError(code, message)) { try EventSignature(text) }
    }
}

struct ABIDecodingTests {
    static let levelUp = try! EventSignature("LevelUp(uint256 indexed tokenId, uint8 level, string name)")

    /// A well-formed LevelUp log: tokenId 7, level 3, name "ab".
    static func goodLog() -> EventLog {
        var data = Bytes32(word: 3).bytes + Bytes32(word: 64).bytes + Bytes32(word: 2).bytes
        data += [0x61, 0x62] + [UInt8](repeating: 0, count: 30)
        return EventLog(address: .zero, topics: [levelUp.topic0, Bytes32(word: 7)], data: data)
    }

    @Test func decodesAWellFormedLog() async throws {
        let event = try Self.levelUp.decode(Self.goodLog())
        #expect(event["tokenId"] == .uint(7))
        #expect(event["level"] == .uint(3))
        #expect(event["name"] == .string("ab"))
        #expect(event["missing"] == nil)
    }

    @Test func readsJSONRPCLogs() async throws {
        // The shape eth_getLogs returns, with a node's extra "type" and no "removed".
        let json = try JSONValue.parse(
            """
            {"address":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","topics":["\(Self.levelUp.topic0.hex)",
            "\(Bytes32(word: 7).hex)"],"data":"\(Hex.encode(Self.goodLog().data))","blockNumber":"0x1b4",
            "blockHash":"\(Bytes32(word: 1).hex)","transactionHash":"\(Bytes32(word: 2).hex)","transactionIndex":"0x0",
            "logIndex":"0x2","type":"mined"}
            """
        )
        let log = try EventLog(json: json)
        #expect(log.blockNumber == 436)
        #expect(log.logIndex == 2)
        #expect(log.removed == false)
        #expect(try EventLog(json: log.json) == log)
        #expect(try Self.levelUp.decode(log)["name"] == .string("ab"))
    }

    @Test func namesTheBadLogField() async throws {
        let json = try JSONValue.parse(#"{"address":"0x00","topics":[],"data":"0x"}"#)
        #expect(
            throws: FormatError(
                .wrongLength,
                "Unable to read log.address: Unable to parse address '0x00': expected 20 bytes, found 1"
            )
        ) {
            try EventLog(json: json)
        }
        let topics = try JSONValue.parse(
            #"{"address":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","topics":["0x12"],"data":"0x"}"#
        )
        #expect(
            throws: FormatError(
                .wrongLength,
                "Unable to read log.topics[0]: Unable to parse hex '0x12': expected 32 bytes, found 1"
            )
        ) {
            try EventLog(json: topics)
        }
        let missing = try JSONValue.parse(#"{"address":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","topics":[]}"#)
        #expect(throws: FormatError(.invalidJSON, "Unable to read log: missing field 'data'")) {
            try EventLog(json: missing)
        }
    }

    /// One case per way a log can be malformed: each asserts the exact error.
    @Test(
        arguments: [
            (
                "wrong topic count", { @Sendable (log: inout EventLog) in log.topics.removeLast() },
                FormatError.Code.topicCount,
                "Unable to decode log as 'LevelUp(uint256,uint8,string)': expected 2 topics, found 1"
            ),
            (
                "other event", { @Sendable (log: inout EventLog) in log.topics[0] = Bytes32.zero }, .topicMismatch,
                "Unable to decode log as 'LevelUp(uint256,uint8,string)': topic0 is 0x0000000000000000000000000000000000000000000000000000000000000000, expected 0x\(Hex.encode(levelUp.topic0.bytes, prefix: false))"
            ),
            (
                "short head", { @Sendable (log: inout EventLog) in log.data = Array(log.data.prefix(40)) }, .shortData,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': its head word needs bytes 32..<64 but data has 40 bytes"
            ),
            (
                "uint8 overflow", { @Sendable (log: inout EventLog) in log.data[30] = 1 }, .invalidValue,
                "Unable to decode 'level' of 'LevelUp(uint256,uint8,string)': value 0x0000000000000000000000000000000000000000000000000000000000000103 does not fit in uint8"
            ),
            (
                "offset past data", { @Sendable (log: inout EventLog) in log.data[63] = 0xF0 }, .offsetOutOfRange,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': offset 240 points past the data (128 bytes)"
            ),
            (
                "huge offset", { @Sendable (log: inout EventLog) in log.data[32] = 0xFF }, .offsetOutOfRange,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': offset 0xff00000000000000000000000000000000000000000000000000000000000040 is out of range"
            ),
            (
                "length past data", { @Sendable (log: inout EventLog) in log.data[95] = 33 }, .offsetOutOfRange,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': length 33 at offset 64 runs past the data (128 bytes)"
            ),
            (
                "dirty padding", { @Sendable (log: inout EventLog) in log.data[127] = 1 }, .invalidValue,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': non-zero padding after its 2 bytes"
            ),
            (
                "unpadded tail", { @Sendable (log: inout EventLog) in log.data = Array(log.data.prefix(98)) },
                .shortData,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': its 2 bytes are not padded to a 32-byte boundary"
            ),
            (
                "invalid UTF-8",
                { @Sendable (log: inout EventLog) in
                    log.data[96] = 0xC3; log.data[97] = 0x28
                }, .invalidUTF8,
                "Unable to decode 'name' of 'LevelUp(uint256,uint8,string)': the string is not valid UTF-8"
            ),
        ] as [(String, @Sendable (inout EventLog) -> Void, FormatError.Code, String)]
    )
    func rejectsMalformedLogs(
        _ name: String,
        _ damage: @Sendable (inout EventLog) -> Void,
        _ code: FormatError.Code,
        _ message: String
    ) {
        var log = Self.goodLog()
        damage(&log)
        #expect(throws: FormatError(code, message), "\(name)") { try Self.levelUp.decode(log) }
    }

    @Test func rejectsBadStaticWords() async throws {
        let event = try EventSignature("E(bool flag, address who, int16 delta, bytes2 tag)")
        func log(_ words: [Bytes32]) -> EventLog {
            EventLog(address: .zero, topics: [event.topic0], data: words.flatMap(\.bytes))
        }
        let good = [
            Bytes32(word: 1), Bytes32(word: 0xAB), try Bytes32([UInt8](repeating: 0xFF, count: 31) + [0xFE]),
            try Bytes32([0x12, 0x34] + [UInt8](repeating: 0, count: 30)),
        ]
        let decoded = try event.decode(log(good))
        #expect(decoded["flag"] == .bool(true))
        #expect(decoded["delta"] == .int(-2))
        #expect(decoded["tag"] == .fixedBytes([0x12, 0x34]))

        var bad = good
        bad[0] = Bytes32(word: 2)
        #expect(
            throws: FormatError(
                .invalidValue,
                "Unable to decode 'flag' of 'E(bool,address,int16,bytes2)': value \(Bytes32(word: 2).hex) is not a bool (0 or 1)"
            )
        ) {
            try event.decode(log(bad))
        }
        bad = good
        bad[1] = try Bytes32([1] + [UInt8](repeating: 0, count: 31))
        #expect(
            throws: FormatError(
                .invalidValue,
                "Unable to decode 'who' of 'E(bool,address,int16,bytes2)': value \(bad[1].hex) has non-zero bytes above the 20-byte address"
            )
        ) {
            try event.decode(log(bad))
        }
        bad = good
        bad[2] = try Bytes32([UInt8](repeating: 0, count: 30) + [0xFF, 0xFE])
        #expect(
            throws: FormatError(
                .invalidValue,
                "Unable to decode 'delta' of 'E(bool,address,int16,bytes2)': value \(bad[2].hex) is not a sign-extended int16"
            )
        ) {
            try event.decode(log(bad))
        }
        bad = good
        bad[3] = try Bytes32([0x12, 0x34, 0x56] + [UInt8](repeating: 0, count: 29))
        #expect(
            throws: FormatError(
                .invalidValue,
                "Unable to decode 'tag' of 'E(bool,address,int16,bytes2)': value \(bad[3].hex) has non-zero padding after its 2 bytes"
            )
        ) {
            try event.decode(log(bad))
        }
    }

    // MARK: - Cross-check with eth-abi

    @Test func agreesWithEthAbiOnRandomEvents() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        var events: [(EventSignature, [ABIValue], [JSONValue])] = []
        for number in 0..<150 {
            var parameters: [EventSignature.Parameter] = []
            var values: [ABIValue] = []
            var wire: [JSONValue] = []
            var indexedLeft = 3
            for index in 0..<Int.random(in: 1...6, using: &generator) {
                let type = Self.randomType(&generator)
                let indexed = indexedLeft > 0 && Bool.random(using: &generator)
                if indexed { indexedLeft -= 1 }
                let (value, json) = Self.randomValue(type, &generator)
                parameters.append(.init(name: "p\(index)", type: type, indexed: indexed))
                values.append(indexed && type.isDynamic ? Self.hashed(value) : value)
                wire.append(["type": .string(type.description), "indexed": .bool(indexed), "value": json])
            }
            events.append((EventSignature(name: "Event\(number)", parameters: parameters), values, wire))
        }
        let request: JSONValue = [
            "op": "abi_log",
            "items": .array(events.map { ["topic0": .string($0.0.topic0.hex), "params": .array($0.2)] }),
        ]
        guard case .array(let encoded)? = try await PythonBench.run("eth.py", request)["result"] else {
            Issue.record("no result")
            return
        }
        for ((event, values, _), item) in zip(events, encoded) {
            let topics = try await item["topics"]!.stringArray().map { try Bytes32(hex: $0) }
            let data = try Hex.decode(item["data"]!.stringValue!)
            let decoded = try event.decode(EventLog(address: .zero, topics: topics, data: data))
            #expect(decoded.fields.map(\.value) == values, "seed \(seed): \(event)")
        }
    }

    static func randomType(_ generator: inout SeededGenerator) -> ABIType {
        switch Int.random(in: 0..<7, using: &generator) {
        case 0: .uint(8 * Int.random(in: 1...32, using: &generator))
        case 1: .int(8 * Int.random(in: 1...32, using: &generator))
        case 2: .address
        case 3: .bool
        case 4: .fixedBytes(Int.random(in: 1...32, using: &generator))
        case 5: .bytes
        default: .string
        }
    }

    static func randomValue(_ type: ABIType, _ generator: inout SeededGenerator) -> (ABIValue, JSONValue) {
        func randomBits(_ bits: Int) -> BigUInt {
            // Extremes are the interesting values: 0, max, and random widths in between.
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: return 0
            case 1: return (BigUInt(1) << bits) - 1
            default:
                let width = Int.random(in: 1...bits, using: &generator)
                return BigUInt(bigEndian: generator.bytes(32)) & ((BigUInt(1) << width) - 1)
            }
        }
        switch type {
        case .uint(let bits):
            let value = randomBits(bits)
            return (.uint(value), .string(String(value)))
        case .int(let bits):
            let magnitude = BigInt(randomBits(bits - 1))
            let value = Bool.random(using: &generator) ? -magnitude - 1 : magnitude
            return (.int(value), .string(String(value)))
        case .address:
            let address = try! Address(generator.bytes(20))
            return (.address(address), .string(address.lowercased))
        case .bool:
            let flag = Bool.random(using: &generator)
            return (.bool(flag), .bool(flag))
        case .fixedBytes(let count):
            let bytes = generator.bytes(count)
            return (.fixedBytes(bytes), .string(Hex.encode(bytes)))
        case .bytes:
            let bytes = generator.bytes(Int.random(in: 0...100, using: &generator))
            return (.bytes(bytes), .string(Hex.encode(bytes)))
        case .string:
            let scalars: [Unicode.Scalar] = ["a", "Z", " ", "é", "€", "😀", "\n", "0"]
            var text = ""
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                text.unicodeScalars.append(scalars.randomElement(using: &generator)!)
            }
            return (.string(text), .string(text))
        }
    }

    static func hashed(_ value: ABIValue) -> ABIValue {
        switch value {
        case .string(let text): .hashed(Keccak256.hash(utf8: text))
        case .bytes(let bytes): .hashed(Keccak256.hash(bytes))
        default: value
        }
    }
}

extension JSONValue {
    func stringArray() async throws -> [String] {
        guard case .array(let items) = self else { throw FormatError(.invalidJSON, "expected an array") }
        return items.compactMap(\.stringValue)
    }
}
