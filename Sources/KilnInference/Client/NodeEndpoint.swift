// Kiln — Apache-2.0. See LICENSE.

/// Where an operator's node is reached: a Kiln node directly, or a Kiln node behind the operator's Ritual Infernet
/// node (as the compute container `container`). Both give the same signed answers; the quorum treats them alike.
public enum NodeEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// A Kiln node's base URL, e.g. `http://127.0.0.1:8101` (`POST /v1/jobs`).
    case kiln(String)
    /// An Infernet node's base URL (its REST API, port 4000 by default) and the id of the container it runs
    /// Kiln's node as (`POST /api/jobs {containers: [container], data: …}`).
    case infernet(node: String, container: String)

    /// `http://…` or `infernet http://… container kiln-node`.
    public var description: String {
        switch self {
        case .kiln(let url): url
        case .infernet(let node, let container): "infernet \(node) container \(container)"
        }
    }
}
