import Synchronization
import Testing

@testable import KilnServer

/// The collection page's ``CardFacts``: a fact read once per CID, a failed read not kept, the bound held.
struct CardFactsTests {
    final class Calls: Sendable {
        let count = Mutex(0)
        func make<T>(_ value: T?) -> T? {
            count.withLock { $0 += 1 }
            return value
        }
    }

    @Test func aFactIsReadOncePerCID() async {
        let facts = CardFacts(capacity: 8)
        let calls = Calls()
        let trait = CardFacts.Trait(trait: "Level", value: "3")
        for _ in 0..<3 {
            #expect(await facts.traits(of: "bafkA") { calls.make([trait]) } == [trait])
            #expect(await facts.quorumLine(of: "bafkB") { calls.make("3 of 4 operators") } == "3 of 4 operators")
        }
        #expect(calls.count.withLock { $0 } == 2)
        // The same CID in the other kind of fact is another fact.
        #expect(await facts.quorumLine(of: "bafkA") { calls.make("line") } == "line")
        #expect(calls.count.withLock { $0 } == 3)
    }

    @Test func aFailedReadIsNotKept() async {
        let facts = CardFacts(capacity: 8)
        let calls = Calls()
        #expect(await facts.traits(of: "bafkA") { calls.make(nil as [CardFacts.Trait]?) } == nil)
        #expect(await facts.traits(of: "bafkA") { calls.make([]) } == [])
        #expect(await facts.traits(of: "bafkA") { calls.make([CardFacts.Trait(trait: "x", value: "y")]) } == [])
        #expect(calls.count.withLock { $0 } == 2)
    }

    @Test func theBoundHolds() async {
        let facts = CardFacts(capacity: 4)
        for index in 0..<10 {
            _ = await facts.quorumLine(of: "bafk\(index)") { "line \(index)" }
            #expect(facts.count <= 4)
        }
        #expect(facts.count >= 1)
    }
}
