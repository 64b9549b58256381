import Foundation
import KilnTesting
import Testing

struct CLITests {
    @Test func helpListsTheCommandsThatExist() async throws {
        let result = try await KilnProcess.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: kiln <subcommand>"))
        #expect(result.stdout.contains("  key                     Create and inspect operator keys (secp256k1)."))
        #expect(
            result.stdout.contains("  event                   Work with Solidity event signatures and JSON-RPC logs.")
        )
        #expect(result.stdout.contains("Start with 'kiln demo'"))
        for command in ["demo", "sync", "batch", "regen", "verify"] {
            #expect(result.stdout.contains("\n  \(command) "), "help lists \(command)")
        }
    }

    @Test func printsItsVersion() async throws {
        let result = try await KilnProcess.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "0.1.0\n")
    }

    @Test func eventTopic() async throws {
        let result = try await KilnProcess.run([
            "event", "topic", "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
        ])
        #expect(
            result.stdout
                == "Transfer(address,address,uint256)\n0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef\n"
        )
    }

    @Test func badSignatureIsAUsageErrorSayingWhere() async throws {
        let result = try await KilnProcess.run(["event", "topic", "LevelUp(uint256 level"])
        #expect(result.status == 64)
        #expect(
            result.stderr.contains(
                "Error: Unable to parse event signature 'LevelUp(uint256 level' at column 22: expected ',' or ')'"
            )
        )
    }

    @Test func decodesLogsAndSkipsOtherEvents() async throws {
        let topic0 = "0x" + "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        let word = { (n: Int) in "0x" + String(repeating: "0", count: 62) + String(format: "%02x", n) }
        let from = "0x000000000000000000000000" + String(repeating: "11", count: 20)
        let transfer =
            #"{"address":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","topics":["\#(topic0)","\#(from)","\#(word(2))","\#(word(9))"],"data":"0x","blockNumber":"0x10","logIndex":"0x0"}"#
        let other = #"{"address":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed","topics":["\#(word(1))"],"data":"0x"}"#
        let result = try await KilnProcess.run(
            ["event", "decode", "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"],
            stdin: transfer + "\n" + other + "\n"
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout
                == #"{"args":{"from":"0x1111111111111111111111111111111111111111","to":"0x0000000000000000000000000000000000000002","tokenId":"9"},"blockNumber":16,"event":"Transfer","logIndex":0}"#
                + "\n"
        )
    }

    @Test func badLogSaysWhichLine() async throws {
        let result = try await KilnProcess.run(["event", "decode", "E()"], stdin: "\n{\"address\": 5}\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("Error: <stdin>:2: Unable to read log.address: expected a hex string"))
    }

    @Test func keyNewWritesAPrivateFileAndNeverPrintsTheKey() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let created = try await KilnProcess.run(["key", "new", "-o", "operator.key"], in: folder)
        #expect(created.status == 0)
        let address = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(address.hasPrefix("0x") && address.count == 42)
        let secret = try String(contentsOf: folder.appendingPathComponent("operator.key"), encoding: .utf8)
        #expect(!created.stdout.contains(secret.dropFirst(2).prefix(16)))
        let shown = try await KilnProcess.run(["key", "address", "operator.key"], in: folder)
        #expect(shown.stdout == created.stdout)
        let again = try await KilnProcess.run(["key", "new", "-o", "operator.key"], in: folder)
        #expect(again.status == 1)
        #expect(again.stderr.contains("Unable to create key file 'operator.key': File exists"))
    }
}
