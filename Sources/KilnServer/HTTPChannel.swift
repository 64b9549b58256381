// Kiln — Apache-2.0. See LICENSE.

internal import Hummingbird
internal import HummingbirdCore
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes
internal import NIOHTTPTypesHTTP1

/// `kiln serve`'s HTTP/1.1 connections: Hummingbird's own (`HTTP1Channel`, the same handlers with the same
/// settings) but for where ``HotPath`` sits — between NIO's request decoder and its response encoder, so that what it
/// answers from memory is written as bytes made once (``EncodedHead``) instead of going through the conversion to
/// Swift HTTP Types and back and NIO's encoding, which cost more CPU than the rest of such an answer.
///
/// From the socket up: NIO's `HTTPRequestDecoder` (Hummingbird's limits), ``HotPath``, NIO's `HTTPResponseEncoder`,
/// NIO's `HTTP1ToHTTPServerCodec`, ``HotPath/Ends`` (tells ``HotPath`` when Hummingbird has ended an answer), then
/// Hummingbird's `HTTPConnectionStateHandler` and its async channel. Hummingbird's `configureHTTPServerPipeline`
/// call also lets the decoder tell the encoder each request's method (to drop the body of a `HEAD` answer); that
/// link is internal to NIO and would count requests the encoder never sees, so it is left out here, as NIO does for
/// an encoder made by its public initializers: Hummingbird writes no body for `HEAD` itself.
struct KilnHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    /// A hot path for each new connection.
    let hotPath: @Sendable () -> HotPath

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let defaults = HTTP1Channel.Configuration.DecoderConfiguration()
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = defaults.maxHeaderFieldSize
            limits.maxHeaderListSize = defaults.maxHeaderListSize
            limits.maxHeaderFieldCount = defaults.maxHeaderFieldCount
            let hot = hotPath()
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits))
            )
            try pipeline.addHandler(hot)
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HotPath.Ends(hot))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(isOutboundHalfClosureEnabled: true)
            )
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
