// Kiln — Apache-2.0. See LICENSE.

internal import KilnStore
internal import KilnYAML

extension Configuration {
    /// The checks that involve several keys, once every key is read: an on-chain publish mode needs a node and a
    /// key; an on-chain operator registry needs a node. Each error points at the key that asks for the missing one.
    func validateAcrossFields(root: YAMLNode, fields map: YAMLNode.Fields, environment: EnvironmentReader)
        throws(YAMLError)
    {
        let anchor = map["publish"] ?? root
        if publishMode != .files {
            guard chainRPC != nil else {
                throw anchor.error(
                    "publish.mode \(publishMode.rawValue) sends transactions: give publish.rpc, events.rpc or KILN_RPC"
                )
            }
            guard publisherKeyFile != nil || environment["KILN_PUBLISHER_KEY"] != nil else {
                throw anchor.error(
                    "publish.mode \(publishMode.rawValue) sends transactions: give publish.key (a 0600 key file) or KILN_PUBLISHER_KEY"
                )
            }
        }
        if erc7007 && publishMode == .files {
            var node = anchor
            if case .mapping(let pairs) = anchor.kind, let pair = pairs.first(where: { $0.key.scalar == "erc7007" }) {
                node = pair.value
            }
            throw node.error(
                "publish.erc7007 puts each quorum's proof on chain: it needs publish.mode onchain or onchain-base"
            )
        }
        if !PostgresStore.isURL(store) {
            for key in ["storePool", "storeStatementTimeout"] {
                if let node = map[key] {
                    throw node.error("\(key) applies to a PostgreSQL store; '\(store)' is SQLite")
                }
            }
            for name in ["KILN_STORE_POOL", "KILN_STORE_STATEMENT_TIMEOUT"] where environment[name] != nil {
                throw environment.error(name, "applies to a PostgreSQL store; '\(store)' is SQLite")
            }
        }
        if chainOperators != nil && chainRPC == nil {
            throw (map["operators"] ?? root).error(
                "operators.source chain reads the registry over JSON-RPC: give operators.rpc, events.rpc or KILN_RPC"
            )
        }
    }
}
