// Kiln — Apache-2.0. See LICENSE.

import KilnCore
import Testing

@Suite struct ErrorChainTests {
    /// A wrapping error of this test's own, to build chains of any depth.
    struct Wrapper: CausedError, CodedError {
        var description: String
        var cause: (any Error)?
        var codeName: String { "wrapped" }
    }

    @Test func aChainKeepsEveryCauseAndRendersEachOnce() throws {
        let root = FormatError(.invalidDigit, "'0xzz' is not hex")
        let middle = Wrapper(description: "reading the key: '0xzz' is not hex", cause: root)
        let top = Wrapper(description: "kiln.yml:3:5: publish.key is not usable", cause: middle)
        let chain = ErrorChain.errors(top)
        #expect(chain.count == 3)
        #expect((chain.last as? FormatError) == root)
        // The middle message quotes the root, the top one quotes neither: only the middle one is added.
        #expect(
            ErrorChain.human(top)
                == "kiln.yml:3:5: publish.key is not usable (cause: reading the key: '0xzz' is not hex)"
        )
        let json = ErrorChain.json(top)
        #expect(json["error"]?.stringValue == ErrorChain.human(top))
        guard case .array(let entries)? = json["chain"] else {
            Issue.record("no chain in \(json)")
            return
        }
        #expect(entries.map { $0["code"]?.stringValue } == ["wrapped", "wrapped", "invalidDigit"])
        #expect(entries.last?["type"]?.stringValue == "FormatError")
    }

    @Test func aCycleDoesNotLoop() {
        final class Loop: CausedError, @unchecked Sendable {
            var cause: (any Error)?
            var description: String { "loop" }
        }
        let loop = Loop()
        loop.cause = loop
        #expect(ErrorChain.errors(loop).count == 16)
        #expect(ErrorChain.human(loop) == "loop")
    }
}

@Suite struct RecordedLogsTests {
    static let transfer =
        #"{"address":"0x0000000000000000000000000000000000000001","topics":["0x00000000000000000000000000000000000000000000000000000000000000aa"],"data":"0x","blockNumber":"0x5","blockHash":"0x00000000000000000000000000000000000000000000000000000000000000bb","logIndex":"0x0"}"#

    @Test func linesSkipBlanksAndCommentsAndNameTheLineAtFault() throws {
        let text = "# recorded\n\n\(Self.transfer)\r\n  \n\(Self.transfer)\n"
        let logs = try EventLog.readRecorded(Array(text.utf8), name: "events.jsonl")
        #expect(logs.map(\.line) == [3, 5])
        #expect(logs.allSatisfy { $0.log.blockNumber == 5 })
        let bad = "\(Self.transfer)\n{\"address\": 1}\n"
        #expect {
            try EventLog.readRecorded(Array(bad.utf8), name: "events.jsonl")
        } throws: { error in
            (error as? FormatError)?.message.hasPrefix("events.jsonl:2: ") == true
                && (error as? FormatError)?.cause is FormatError
        }
    }

    @Test func anArrayIsReadToo() throws {
        let text = "  [\(Self.transfer), \(Self.transfer)]"
        #expect(try EventLog.readRecorded(Array(text.utf8), name: "logs.json").map(\.line) == [1, 2])
    }

    @Test func theLineCountIncludesTheLastPieceAndStartsWhereTold() {
        var seen: [Int] = []
        let count = EventLog.forEachRecorded(in: Array("\(Self.transfer)\n\n\(Self.transfer)".utf8)[...], firstLine: 10)
        {
            (line, _) in seen.append(line)
        }
        #expect(seen == [10, 12])
        #expect(count == 3)
    }
}
