import Mustache
import Testing

@testable import KilnServer

/// The gallery escapes values with its own byte-wise content type (``GalleryPages/HTMLBytes``): it must give what
/// swift-mustache's own `HTML` content type gives.
struct GalleryEscapeTests {
    static func render(_ value: String, pragma: Bool) throws -> String {
        _ = GalleryPages.shared  // registers the content type
        let prefix = pragma ? "{{% CONTENT_TYPE: \(GalleryPages.HTMLBytes.name)}}" : ""
        return try MustacheTemplate(string: prefix + "[{{value}}]").render(["value": value])
    }

    @Test func escapesAsSwiftMustacheDoes() throws {
        var samples = [
            "", "plain", "<script>alert('x')</script>", "a & b", "\"quoted\"", "it's", "<>&\"'", "&amp;",
            "ünïcödé ✓ 🦀", "日本語 <b>", "tab\tnew\nline", "bafybeiemzl4an3v6wylw5ha3hmfcrzipacqo6xayt4of7sxugexmbrpnhy",
        ]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ab<>&\"' é🦀\n".unicodeScalars)
        for _ in 0..<500 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...24, using: &generator) {
                text.append(alphabet.randomElement(using: &generator)!)
            }
            samples.append(String(text))
        }
        for sample in samples {
            #expect(
                try Self.render(sample, pragma: true) == Self.render(sample, pragma: false),
                "\(sample.debugDescription)"
            )
        }
    }

    @Test func aStringWithNothingToEscapeIsReturnedAsItIs() {
        let text = "bafybeiemzl4an3v6wylw5ha3hmfcrzipacqo6xayt4of7sxugexmbrpnhy"
        #expect(GalleryPages.HTMLBytes().escapeText(text) == text)
        #expect(GalleryPages.HTMLBytes().escapeText("a<b") == "a&lt;b")
    }

    @Test func galleryPagesEscapeWhatTheyShow() {
        for name in GalleryPages.templates.keys where !["header", "footer"].contains(name) {
            let page = GalleryPages.shared.render(name, ["title": "<t>", "name": "<n>", "message": "<m>"])
            #expect(!page.contains("<t>") && !page.contains("<n>") && !page.contains("<m>"), "\(name)")
        }
    }
}
