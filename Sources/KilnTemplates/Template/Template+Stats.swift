// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore

extension Template {
    /// What `count` tokens (ids 1…count, default state) would draw: per derived `pick()` trait, how often
    /// each value comes up; how many distinct combinations appear; how many tokens break each rule.
    public struct Stats: Sendable {
        public var count: Int
        /// Trait name → value → tokens.
        public var distributions: [(trait: String, counts: [(value: String, tokens: Int)])]
        public var combinations: Int
        /// Tokens whose drawn traits (``Template/Derived/isDrawn``) are all the same (HashLips' "DNA" check), each
        /// group in id order, the groups in order of their first id; none when the template draws nothing.
        public var duplicates: [[Int]]
        /// Rule → tokens that break it.
        public var violations: [(rule: Rule, tokens: Int)]
    }

    /// Tokens 1…`count` of `contract` on `chainId` (templates read only the contract and the id; the default is
    /// Kiln's default chain, 31337).
    public func stats(count: Int, contract: Address, chainId: UInt64 = 31337) throws(TemplateError) -> Stats {
        let picked = derived.filter { $0.choices != nil }
        let drawn = derived.filter(\.isDrawn)
        var counts: [String: [String: Int]] = [:]
        var combinations: [[String]: [Int]] = [:]
        var broken = [Int](repeating: 0, count: rules.count)
        for id in 1...max(1, count) {
            let token = TokenKey(chainId: chainId, contract: contract, id: BigUInt(id))
            let state = try derive(initialState, token: token)
            for item in picked { counts[item.name, default: [:]][state[item.name]?.description ?? "", default: 0] += 1 }
            combinations[drawn.map { state[$0.name]?.description ?? "" }, default: []].append(id)
            let violated = violations(of: state)
            for (index, rule) in rules.enumerated() where violated.contains(where: { $0.location == rule.location }) {
                broken[index] += 1
            }
        }
        return Stats(
            count: count,
            distributions: picked.map { item in
                (item.name, (item.choices ?? []).map { ($0, counts[item.name]?[$0] ?? 0) })
            },
            combinations: combinations.count,
            duplicates: drawn.isEmpty ? [] : combinations.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] },
            violations: zip(rules, broken).map { ($0, $1) }
        )
    }
}
