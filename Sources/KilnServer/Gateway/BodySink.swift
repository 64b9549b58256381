// Kiln — Apache-2.0. See LICENSE.

internal import Hummingbird
internal import KilnContent
internal import NIOCore

/// Streams a walk into an HTTP body: CAR sections (`varint ‖ CID ‖ block`) or file bytes, gathered into
/// 64 KiB writes, and stops the stream once `limit` bytes went out (the client sees a short CAR and must treat
/// it as incomplete, as the trustless gateway spec says of streams that cannot be finished).
struct BodySink: DAGSink {
    enum Kind { case car, content }

    var writer: any ResponseBodyWriter
    let kind: Kind
    let limit: Int
    let metrics: ServerMetrics
    private var buffer = ByteBuffer()
    private(set) var written = 0
    private(set) var blocks = 0

    init(writer: any ResponseBodyWriter, kind: Kind, limit: Int, metrics: ServerMetrics) {
        self.writer = writer
        self.kind = kind
        self.limit = limit
        self.metrics = metrics
        buffer.reserveCapacity(1 << 16)
    }

    mutating func write(_ bytes: some Collection<UInt8>) async throws {
        buffer.writeBytes(bytes)
        if buffer.readableBytes >= 1 << 16 { try await flush() }
    }

    mutating func block(_ cid: CID, _ bytes: [UInt8]) async throws {
        guard kind == .car else { return }
        let id = cid.bytes
        buffer.writeBytes(Varint.encode(UInt64(id.count + bytes.count)))
        buffer.writeBytes(id)
        try await write(bytes)
        blocks += 1
    }

    mutating func content(_ bytes: ArraySlice<UInt8>) async throws {
        guard kind == .content else { return }
        try await write(bytes)
    }

    /// Sends what is gathered.
    mutating func flush() async throws {
        guard buffer.readableBytes > 0 else { return }
        written += buffer.readableBytes
        guard written <= limit else {
            throw GatewayFailure(.contentTooLarge, "The answer is larger than the server's limit of \(limit) bytes")
        }
        try await writer.write(buffer)
        buffer = ByteBuffer()
        buffer.reserveCapacity(1 << 16)
    }

    /// Sends the rest and ends the body; counts what went out.
    mutating func finish() async throws {
        try await flush()
        metrics.served(blocks: blocks, bytes: written)
        try await writer.finish(nil)
    }
}

/// Gathers file bytes in memory (the first bytes of a file, to tell its type).
struct CollectSink: DAGSink {
    var bytes: [UInt8] = []
    mutating func block(_ cid: CID, _ bytes: [UInt8]) async throws {}
    mutating func content(_ bytes: ArraySlice<UInt8>) async throws { self.bytes += bytes }
}
