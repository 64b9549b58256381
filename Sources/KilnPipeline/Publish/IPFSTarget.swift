// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnCore
public import KilnCrypto
internal import KilnYAML

/// An IPFS provider a batch is pushed to (kiln.yml `publish.ipfs`):
///
/// ```yaml
/// publish:
///   ipfs:
///     - {kubo: http://127.0.0.1:5001}                        # kubo's RPC: POST /api/v0/dag/import
///     - {kubo: https://rpc.filebase.io, bearer: env:FILEBASE_TOKEN}   # or basic: env:NAME (user:password)
///     - {pinning: https://api.pinata.cloud/psa, token: env:PINATA_JWT} # the IPFS Pinning Service API
/// ```
///
/// Secrets are named, never written: `env:NAME` (an environment variable) or `file:PATH` (a file only its owner
/// can read, mode 0600).
public enum IPFSTarget: Sendable, Hashable {
    /// kubo's RPC API (or one that speaks it, as Filebase's does), with optional `Authorization`.
    case kubo(url: String, authorization: Authorization?)
    /// A pinning service (the IPFS Pinning Service API), with its bearer token.
    case pinning(url: String, token: SecretReference)

    /// How a kubo RPC request is authorised.
    public enum Authorization: Sendable, Hashable {
        case bearer(SecretReference)
        /// `user:password`, sent as HTTP basic auth.
        case basic(SecretReference)
    }

    /// The target's name in the store and in reports: `kubo URL` or `pinning URL` (no secret).
    public var name: String {
        switch self {
        case .kubo(let url, _): "kubo \(url)"
        case .pinning(let url, _): "pinning \(url)"
        }
    }

    init(yaml node: YAMLNode, context: String) throws(YAMLError) {
        let fields = try node.fields(context, allowed: Configuration.Keys.ipfsTarget)
        if let url = fields["kubo"] {
            guard fields["pinning"] == nil, fields["token"] == nil else {
                throw node.error("\(context): a kubo target takes bearer or basic, not pinning or token")
            }
            var authorization: Authorization?
            if let bearer = fields["bearer"] {
                authorization = .bearer(try Self.secret(bearer, "\(context).bearer"))
            }
            if let basic = fields["basic"] {
                guard authorization == nil else { throw basic.error("\(context): give bearer or basic, not both") }
                authorization = .basic(try Self.secret(basic, "\(context).basic"))
            }
            self = .kubo(url: try url.url("\(context).kubo (kubo's RPC URL)"), authorization: authorization)
        } else if let url = fields["pinning"] {
            guard fields["bearer"] == nil, fields["basic"] == nil else {
                throw node.error("\(context): a pinning target takes token, not bearer or basic")
            }
            let token = try fields.required("token", "the pinning service's access token (env:NAME or file:PATH)")
            self = .pinning(
                url: try url.url("\(context).pinning (the Pinning Service API URL)"),
                token: try Self.secret(token, "\(context).token")
            )
        } else {
            throw node.error("\(context) must be {kubo: URL} or {pinning: URL, token: env:NAME}")
        }
    }
}

extension IPFSTarget {
    /// `env:NAME` or `file:PATH` at `node`.
    static func secret(_ node: YAMLNode, _ context: String) throws(YAMLError) -> SecretReference {
        guard let reference = SecretReference(try node.text(context)) else {
            throw node.error(
                "\(context) must name where the secret is, env:NAME or file:PATH (0600): a secret is never written in kiln.yml"
            )
        }
        return reference
    }
}

extension SecretReference {
    /// The secret, as a pipeline error when it cannot be read.
    func read(environment: [String: String]) throws(PipelineError) -> String {
        do throws(CryptoError) { return try value(environment: environment) } catch {
            throw PipelineError(.configuration, error.message)
        }
    }
}
