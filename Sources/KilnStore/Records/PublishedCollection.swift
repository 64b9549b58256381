// Kiln — Apache-2.0. See LICENSE.

/// What a collection (or the whole store) has published, kept up to date by every publication — so the gallery,
/// the metadata API and `kiln status` read one row instead of counting the history.
public struct PublishedTotals: Sendable, Equatable {
    /// Tokens with at least one publication.
    public var tokens: Int
    /// Publications, every version of every token.
    public var publications: Int
    /// The newest batch that published any of them.
    public var lastBatch: Int?

    public init(tokens: Int, publications: Int, lastBatch: Int?) {
        self.tokens = tokens
        self.publications = publications
        self.lastBatch = lastBatch
    }
}

/// A page of a collection's published tokens, by token id in numeric order (shorter ids first, then by digits: the
/// order of canonical decimal numbers): keyset pagination, so any page costs an index seek, whatever its depth.
public struct TokenPage: Sendable, Equatable {
    public enum Direction: Sendable, Equatable {
        /// The tokens after `from` (from the first when nil).
        case after
        /// The tokens before `from` (up to the last when nil).
        case before
    }
    public var direction: Direction
    /// A canonical decimal token id, or nil for the start (`after`) or the end (`before`).
    public var from: String?
    public var limit: Int

    public init(_ direction: Direction, _ from: String?, limit: Int) {
        self.direction = direction
        self.from = from
        self.limit = limit
    }

    /// The first `limit` tokens.
    public static func first(_ limit: Int) -> TokenPage { TokenPage(.after, nil, limit: limit) }
}

/// Where a page of ``PublicationStore/publicationsByToken(chainId:contract:after:limit:)`` ended: the token id and
/// the publication's row.
public struct PublicationCursor: Sendable, Equatable {
    public var tokenId: String
    public var row: Int64

    public init(tokenId: String, row: Int64) {
        self.tokenId = tokenId
        self.row = row
    }
}
