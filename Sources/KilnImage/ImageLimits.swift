// Kiln — Apache-2.0. See LICENSE.

/// Bounds on the images Kiln will decode or create, checked from a file's header before any large allocation.
public struct ImageLimits: Hashable, Sendable {
    public var maxWidth: Int
    public var maxHeight: Int
    public var maxPixels: Int
    /// Most scans a progressive JPEG may have (each one is a pass over the image).
    public var maxJPEGScans: Int

    /// 8192 × 8192, at most 64 Mpx in all, at most 1 000 JPEG scans.
    public static let `default` = ImageLimits(maxWidth: 8192, maxHeight: 8192, maxPixels: 64 << 20, maxJPEGScans: 1000)

    public init(maxWidth: Int, maxHeight: Int, maxPixels: Int, maxJPEGScans: Int = 1000) {
        self.maxWidth = maxWidth
        self.maxHeight = maxHeight
        self.maxPixels = maxPixels
        self.maxJPEGScans = maxJPEGScans
    }

    /// Throws ``ImageError/Code/tooLarge`` when `width × height` is outside these limits.
    public func check(width: Int, height: Int, source: String) throws(ImageError) {
        guard width > 0, height > 0 else {
            throw ImageError(.invalidArgument, "Unable to use image '\(source)': size \(width)×\(height) is empty")
        }
        guard width <= maxWidth, height <= maxHeight else {
            throw ImageError(
                .tooLarge,
                "Refusing image '\(source)': \(width)×\(height) exceeds the limit of \(maxWidth)×\(maxHeight)"
            )
        }
        guard width.multipliedReportingOverflow(by: height).partialValue <= maxPixels else {
            throw ImageError(
                .tooLarge,
                "Refusing image '\(source)': \(width)×\(height) is more than \(maxPixels) pixels"
            )
        }
    }
}
