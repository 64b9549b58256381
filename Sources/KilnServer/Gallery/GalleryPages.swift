// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import Mustache

/// The gallery's HTML, rendered on the server with swift-mustache: no JavaScript, no external assets, every
/// value HTML-escaped by `{{…}}`.
struct GalleryPages: Sendable {
    static let shared = GalleryPages()

    let library: MustacheLibrary

    init() {
        MustacheContentTypes.register(HTMLBytes(), named: HTMLBytes.name)
        var library = MustacheLibrary()
        for (name, text) in Self.templates {
            // The templates are string literals of this file, rendered by the tests: a broken one is a bug here.
            do { try library.register("{{% CONTENT_TYPE: \(HTMLBytes.name)}}" + text, named: name) } catch {
                preconditionFailure("gallery template \(name): \(error)")
            }
        }
        self.library = library
    }

    func render(_ name: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: name) ?? "<!doctype html><title>Kiln</title><p>page \(name) is missing"
    }

    /// A UnixFS directory's listing.
    func directory(path: String, cid: CID, links: [DagPBLink]) -> String {
        let base = path.hasSuffix("/") ? path : path + "/"
        return render(
            "directory",
            [
                "title": path, "cid": cid.description,
                "entries": links.map { link -> [String: Any] in
                    [
                        "name": link.name, "href": base + (link.name.addingPercentEncodingForPath()),
                        "cid": link.cid.description, "size": Self.bytes(link.tsize),
                    ]
                },
            ]
        )
    }

    /// HTML escaping as swift-mustache's `HTML` content type does it — the same five characters, the same
    /// entities — on UTF-8 bytes, and a string with none of them returned as it is. swift-mustache looks every
    /// `Character` up in a dictionary, which was a tenth of a collection page's CPU. (The one difference: a special
    /// character followed by a combining mark is one `Character` there, left unescaped; here it is escaped.)
    struct HTMLBytes: MustacheContentType {
        static let name = "KILN_HTML"

        func escapeText(_ text: String) -> String {
            func special(_ byte: UInt8) -> Bool {
                byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&")
                    || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
            }
            guard text.utf8.contains(where: special) else { return text }
            var escaped: [UInt8] = []
            escaped.reserveCapacity(text.utf8.count + 16)
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "<"): escaped += "&lt;".utf8
                case UInt8(ascii: ">"): escaped += "&gt;".utf8
                case UInt8(ascii: "&"): escaped += "&amp;".utf8
                case UInt8(ascii: "\""): escaped += "&quot;".utf8
                case UInt8(ascii: "'"): escaped += "&#39;".utf8
                default: escaped.append(byte)
                }
            }
            return String(decoding: escaped, as: UTF8.self)
        }
    }

    /// "12.3 KiB".
    static func bytes(_ count: UInt64) -> String {
        if count < 1024 { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\((value * 10).rounded() / 10) \(units[unit])"
    }

    static let style = """
        <style>
        :root{color-scheme:light dark;--fg:#1d1b19;--bg:#faf8f5;--card:#fff;--muted:#6b645c;--line:#e4ded6;--ok:#1d7a3a;--bad:#b3261e;--accent:#b4530b}
        @media (prefers-color-scheme:dark){:root{--fg:#ece7e1;--bg:#171513;--card:#211e1b;--muted:#a59d94;--line:#38332e;--accent:#f0903a}}
        body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
        header{padding:14px 24px;border-bottom:1px solid var(--line);display:flex;gap:16px;align-items:baseline}
        header a.home{font-weight:700;color:var(--accent);text-decoration:none;font-size:18px}
        main{padding:20px 24px;max-width:1200px}
        h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
        .muted{color:var(--muted)} code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px;word-break:break-all}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:14px;margin-top:16px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden;text-decoration:none;color:inherit;display:block}
        .card img{width:100%;aspect-ratio:1;object-fit:cover;display:block;image-rendering:pixelated;background:var(--line)}
        .card .body{padding:8px 10px;font-size:13px} .card .id{font-weight:600;font-size:15px}
        table{border-collapse:collapse;width:100%;font-size:14px} td,th{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        .token{display:grid;grid-template-columns:minmax(260px,420px) 1fr;gap:24px} @media (max-width:760px){.token{grid-template-columns:1fr}}
        .token>div{min-width:0} #verify-result td{overflow-wrap:anywhere}
        .token img.main{width:100%;border-radius:10px;border:1px solid var(--line);image-rendering:pixelated}
        pre{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px;overflow:auto;font-size:12.5px;max-height:360px}
        .ok{color:var(--ok);font-weight:600} .bad{color:var(--bad);font-weight:600}
        button{font:inherit;padding:6px 16px;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
        nav.pages a{margin-right:12px}
        </style>
        """

    static let header = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>{{title}} · Kiln</title>\(style)</head><body><header><a class="home" href="/">Kiln</a><span class="muted">{{crumb}}</span></header><main>
        """

    static let footer = "</main></body></html>"

    static let templates: [String: String] = [
        "header": header,
        "footer": footer,
        "directory": """
        {{> header}}<h1>Index of <code>{{title}}</code></h1><p class="muted mono">{{cid}}</p>
        <table><tr><th>name</th><th>CID</th><th>size</th></tr>
        {{#entries}}<tr><td><a href="{{href}}">{{name}}</a></td><td class="mono"><a href="/ipfs/{{cid}}">{{cid}}</a></td><td>{{size}}</td></tr>{{/entries}}
        </table>{{> footer}}
        """,
        "index": """
        {{> header}}<h1>Collections</h1><p class="muted">Served by <code>kiln serve</code> from <code>{{store}}</code></p>
        {{^collections}}<p>No collection is configured.</p>{{/collections}}
        <table id="collections"><tr><th>collection</th><th>contract</th><th>tokens</th><th>newest batch</th></tr>
        {{#collections}}<tr><td><a href="{{href}}">{{name}}</a></td><td class="mono">{{chainId}}:{{contract}}</td><td>{{tokens}}</td><td>{{batch}}</td></tr>{{/collections}}
        </table>{{> footer}}
        """,
        "collection": """
        {{> header}}<h1>{{name}}</h1>
        <p class="muted"><span class="mono">{{chainId}}:{{contract}}</span> · {{tokens}} token(s) published · newest batch {{batch}}</p>
        {{#baseURI}}<p class="muted">HTTP metadata: the contract's <code>baseURI</code> is <code>{{baseURI}}</code></p>{{/baseURI}}
        <div class="grid" id="tokens">
        {{#cards}}<a class="card token-card" href="{{href}}"><img src="/ipfs/{{thumbnail}}" alt="token {{id}}" width="180" height="180">
        <div class="body"><div class="id">#{{id}}</div>{{#traits}}<div>{{trait}}: <b>{{value}}</b></div>{{/traits}}
        <div class="muted">{{quorum}}</div><div class="muted">batch {{batch}}</div></div></a>{{/cards}}
        </div>
        <nav class="pages">{{#previous}}<a href="{{previous}}">← previous</a>{{/previous}}{{#next}}<a href="{{next}}">next →</a>{{/next}}</nav>
        {{> footer}}
        """,
        "token": """
        {{> header}}<div class="token"><div><img class="main" id="token-image" src="/ipfs/{{image}}" alt="token {{id}}">
        <p><form method="get" action="{{verifyHref}}"><button type="submit" id="verify">Verify</button></form></p>
        {{#verify}}<div id="verify-result"><p class="{{class}}">{{summary}}</p><table>{{#checks}}<tr><td class="{{class}}">{{mark}}</td><td>{{text}}</td></tr>{{/checks}}</table></div>{{/verify}}
        </div><div>
        <h1>{{name}}</h1><p class="muted mono">{{chainId}}:{{contract}} #{{id}}</p>
        <table>
        <tr><th>batch</th><td>{{batch}}</td></tr>
        <tr><th>token directory</th><td class="mono"><a href="/ipfs/{{directory}}/">{{directory}}</a> (<a href="/ipfs/{{directory}}?format=car">CAR</a>)</td></tr>
        <tr><th>metadata</th><td class="mono"><a href="{{apiHref}}">{{metadata}}</a></td></tr>
        <tr><th>state hash</th><td class="mono">{{stateHash}}</td></tr>
        <tr><th>history</th><td><a href="{{historyHref}}">{{versions}} version(s)</a></td></tr>
        </table>
        {{#attestation}}<h2>Attestation</h2><p>{{quorum}}</p>{{#policy}}<p class="muted">agreement policy: {{policy}}</p>{{/policy}}
        <table id="signers"><tr><th>operator</th><th>stake</th><th>outcome</th></tr>{{#operators}}<tr><td class="mono">{{address}}</td><td>{{stake}}</td><td>{{outcome}}</td></tr>{{/operators}}</table>{{/attestation}}
        {{^attestation}}<h2>Attestation</h2><p class="muted">This template has no inference: nothing to attest.</p>{{/attestation}}
        <h2>Metadata</h2><pre id="metadata">{{metadataJSON}}</pre>
        <h2>State</h2><pre>{{stateJSON}}</pre>
        </div></div>{{> footer}}
        """,
        "message": """
        {{> header}}<h1>{{title}}</h1><p>{{message}}</p>{{> footer}}
        """,
    ]
}

extension String {
    /// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
    func addingPercentEncodingForPath() -> String {
        var out = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
