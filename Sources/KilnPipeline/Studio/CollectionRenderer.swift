// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnContent
public import KilnCore
public import KilnTemplates
public import KilnImage
internal import KilnInference

/// Renders a collection's tokens offline — no chain, no store, no nodes — for `kiln build` and the template
/// preview. The inference layer comes from the built-in model the template names (run here, as a node would run
/// it: the same bytes) or, for any other model, is a marked placeholder.
public struct CollectionRenderer: Sendable {
    /// Where an inference layer's picture comes from.
    public enum InferenceSource: Sendable, Hashable {
        /// The template has no inference layer.
        case none
        /// The built-in model of this id, run in this process.
        case localModel(String)
        /// A marked placeholder (the model is not built in, or the local model was not asked for).
        case placeholder(String)
    }

    public let template: Template
    public let contract: Address
    public let chainId: UInt64
    public let inferenceSource: InferenceSource
    private let model: (any InferenceModel)?

    /// A renderer of `template` for tokens of `contract` on `chainId` (templates read only the contract and the
    /// id); `localModel: false` draws placeholders even when the model is built in.
    public init(template: Template, contract: Address = .zero, chainId: UInt64 = 31337, localModel: Bool = true) {
        self.template = template
        self.contract = contract
        self.chainId = chainId
        let builtIn: [any InferenceModel] = [CPPNModel()]
        if let inference = template.inference {
            let found = localModel ? builtIn.first { $0.id == inference.model } : nil
            model = found
            inferenceSource = found != nil ? .localModel(inference.model) : .placeholder(inference.model)
        } else {
            model = nil
            inferenceSource = .none
        }
    }

    /// One rendered token.
    public struct Token: Sendable {
        public var id: BigUInt
        /// Traits and derived traits.
        public var state: [String: Value]
        /// The PNG, from Kiln's deterministic encoder.
        public var png: [UInt8]
        /// The PNG as imported (kubo-v1 unless another profile was asked for): its CID and sizes.
        public var entry: FileDAGBuilder.Entry
        /// The PNG's CID.
        public var cid: CID { entry.cid }
        /// The ERC-721 metadata, `image` the PNG's `ipfs://` URI.
        public var metadata: JSONValue
        /// The values of the template's drawn traits, in template order: what makes two tokens look alike.
        public var combination: [String]
    }

    /// The token's full state: `traits` over the template's defaults, then the derived traits.
    public func state(id: BigUInt, traits: [String: Value] = [:]) throws(TemplateError) -> [String: Value] {
        try template.derive(template.initialState.merging(traits) { $1 }, token: token(id))
    }

    /// Renders token `id` at `traits` (missing traits keep their defaults).
    /// - Parameter inference: the inference layer's picture when the caller has it already (a preview's cache).
    /// - Throws: ``TemplateError`` for a rule the state breaks or a layer that fails; ``InferenceError`` from
    ///   the local model.
    public func render(
        id: BigUInt,
        traits: [String: Value] = [:],
        inference: RGBAImage? = nil,
        profile: ImportProfile = .kuboV1
    ) async throws -> Token {
        let key = token(id)
        let full = try state(id: id, traits: traits)
        var picture = inference
        if picture == nil { picture = try await inferencePicture(id: id, traits: traits) }
        let raster = try Renderer(template: template).render(state: full, token: key, inference: picture).raster
        let png = try PNGEncoder().encode(raster)
        let entry = try Importer(profile: profile).add(bytes: png)
        let metadata = try template.metadata(state: full, token: key, imageURI: "ipfs://\(entry.cid)")
        return Token(
            id: id,
            state: full,
            png: png,
            entry: entry,
            metadata: metadata,
            combination: combination(of: full)
        )
    }

    /// The inference layer's picture for token `id` at `traits`, from the built-in model (`nil` without
    /// inference or with a placeholder).
    public func inferencePicture(id: BigUInt, traits: [String: Value] = [:]) async throws -> RGBAImage? {
        guard let model, let input = try template.inferenceInput(state: state(id: id, traits: traits), token: token(id))
        else { return nil }
        return try ImageFile.decode(try await model.run(input: input.json), source: "\(model.id) output")
    }

    /// The inference input's hash for token `id` at `traits`, for caching its picture (`nil` without inference).
    public func inferenceKey(id: BigUInt, traits: [String: Value] = [:]) throws -> Bytes32? {
        try template.inferenceInput(state: state(id: id, traits: traits), token: token(id))?.hash
    }

    /// The values of the drawn traits (``Template/Derived/isDrawn``) of `state`, in template order.
    public func combination(of state: [String: Value]) -> [String] {
        template.derived.filter(\.isDrawn).map { state[$0.name]?.description ?? "" }
    }

    func token(_ id: BigUInt) -> TokenKey { TokenKey(chainId: chainId, contract: contract, id: id) }
}
