// Kiln — Apache-2.0. See LICENSE.

internal import KilnImage
internal import Synchronization

/// What every render of one loaded template shares: each asset decoded (and scaled) once, and the background and
/// fill layers, which no state changes, drawn once. A batch renders thousands of tokens from one ``Template``:
/// without it each render read and inflated every PNG layer again (a third of `kiln batch`'s CPU).
///
/// Entries are keyed by what determines their pixels (the template folder, the asset's path in it, its size and
/// the decoding limits; a fill's colour or gradient and size), so a template whose fields are changed in code
/// never gets a stale raster. The files of a
/// template are fixed for as long as it is loaded: its ``Template/contentHash()`` names them, and a changed
/// folder is a new template (with a new cache). At most ``limit`` bytes of pixels are kept; past that a raster is
/// made for each render as before.
public final class RenderCache: Sendable {
    enum Key: Hashable {
        case asset(folder: String, path: String, width: Int?, height: Int?, limits: ImageLimits)
        case fill(Template.Fill, width: Int, height: Int)
        /// The background with the template's leading static layers drawn on it.
        case base(
            folder: String,
            width: Int,
            height: Int,
            background: Template.Fill?,
            layers: [StaticLayer],
            limits: ImageLimits
        )
    }

    /// What decides the pixels of a layer that no state changes (an image or a fill, its place, size, blend,
    /// opacity and mask).
    struct StaticLayer: Hashable {
        var image: String?
        var fill: Template.Fill?
        var x: Int
        var y: Int
        var width: Int?
        var height: Int?
        var blend: BlendMode
        var opacity: Double
        var mask: String?
        var maskChannel: MaskChannel?
    }

    /// The most pixel bytes kept (a template's assets are a few MiB; this bounds a pathological one).
    public static let limit = 256 << 20

    /// A kept raster and the part of it that is not fully transparent (``Raster/drawnBounds()``, found once).
    struct Entry {
        let raster: Raster
        /// `nil` for a raster made past ``limit`` (not kept, so not worth a scan).
        let drawn: PixelRect?
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// The raster for `key`, made by `make` the first time (two renders racing may both make it; one is kept).
    func raster<Failure: Error>(_ key: Key, make: () throws(Failure) -> Raster) throws(Failure) -> Raster {
        try entry(key, make: make).raster
    }

    /// ``raster(_:make:)`` with its drawn part.
    func entry<Failure: Error>(_ key: Key, make: () throws(Failure) -> Raster) throws(Failure) -> Entry {
        if let cached = state.withLock({ $0.entries[key] }) { return cached }
        let raster = try make()
        guard state.withLock({ $0.bytes + raster.pixels.count <= Self.limit }) else {
            return Entry(raster: raster, drawn: nil)
        }
        let entry = Entry(raster: raster, drawn: raster.drawnBounds())
        return state.withLock { state in
            if let kept = state.entries[key] { return kept }
            guard state.bytes + raster.pixels.count <= Self.limit else { return entry }
            state.entries[key] = entry
            state.bytes += raster.pixels.count
            return entry
        }
    }

    /// How many rasters are kept (for tests).
    var count: Int { state.withLock { $0.entries.count } }
}
