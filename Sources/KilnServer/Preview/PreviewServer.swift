// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import Hummingbird
public import KilnCore
internal import KilnPipeline
public import Logging
internal import Mustache
internal import NIOCore

extension TemplatePreview {
    /// The preview's web server: `/` the page, `/images/FINGERPRINT.png` a token's image (immutable: its name
    /// changes when its pixels may), `/version` the snapshot's version (the page polls it and reloads when it
    /// changes), `/stats.json` the rarity, duplicates and errors as data.
    public func application(
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        /// A page of the current snapshot: never cached (it changes with the files).
        @Sendable func uncached(_ type: String, _ text: String) -> Response {
            var headers = HTTPFields()
            headers[.contentType] = type
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/") { _, _ in uncached("text/html; charset=utf-8", PreviewPage.shared.render(self.current)) }
        router.get("/version") { _, _ in uncached("text/plain", String(self.current.version)) }
        router.get("/stats.json") { _, _ in
            uncached("application/json", (try? self.current.json.canonicalString()) ?? "{}")
        }
        router.get("/images/:name") { _, context -> Response in
            let name = context.parameters.get("name") ?? ""
            guard name.hasSuffix(".png") else { return Response(status: .notFound) }
            do {
                guard let png = try await self.image(String(name.dropLast(4))) else {
                    return Response(status: .notFound)
                }
                var headers = HTTPFields()
                headers[.contentType] = "image/png"
                headers[.cacheControl] = "public, max-age=31536000, immutable"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: png)))
            } catch {
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(
                    status: .unprocessableContent,
                    headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "\(error)"))
                )
            }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "kiln-preview"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}

extension TemplatePreview.Snapshot {
    /// The snapshot as data: what the page shows.
    public var json: JSONValue {
        [
            "version": .number(version), "name": .string(name), "errors": .array(errors.map { .string($0) }),
            "stale": .bool(stale),
            "rarity": .array(
                rarity.map { row in
                    [
                        "trait": .string(row.trait), "value": .string(row.value), "tokens": .number(row.tokens),
                        "weight": row.weight.map { .string($0) } ?? .null,
                    ]
                }
            ),
            "duplicates": .array(duplicates.map { .array($0.map { .number($0) }) }),
            "problems": .array(cells.joined().compactMap { $0.problem.map { .string($0) } }),
            "images": .number(cells.joined().filter { $0.fingerprint != nil }.count),
        ]
    }
}

/// The preview page: server-rendered (swift-mustache, every value escaped), with one small script that polls
/// `/version` and reloads the page when the template's files changed.
struct PreviewPage: Sendable {
    static let shared = PreviewPage()
    let template: MustacheTemplate

    init() {
        do { template = try MustacheTemplate(string: Self.text) } catch {
            preconditionFailure("preview template: \(error)")
        }
    }

    func render(_ snapshot: TemplatePreview.Snapshot) -> String {
        // Thumbnails at most 160 px wide, in the template's proportions.
        let shown = min(snapshot.width, 160)
        let shownHeight = snapshot.width > 0 ? max(1, shown * snapshot.height / snapshot.width) : shown
        var problems: [String] = []
        for row in snapshot.cells {
            for cell in row { if let problem = cell.problem, !problems.contains(problem) { problems.append(problem) } }
        }
        let inference: String
        switch snapshot.inference {
        case .none: inference = ""
        case .localModel(let id): inference = "inference layer: \(id), run here"
        case .placeholder(let id): inference = "inference layer: a marked placeholder (\(id) is not built in)"
        }
        let rows: [[String: Any]] = snapshot.cells.map { row in
            [
                "id": row.first?.id ?? 0,
                "cells": row.map { cell -> [String: Any] in
                    var values: [String: Any] = [
                        "label": snapshot.columns.count > 1 ? snapshot.columns[cell.column] : "",
                        "width": shown, "height": shownHeight,
                    ]
                    if let fingerprint = cell.fingerprint { values["src"] = "/images/\(fingerprint).png" }
                    if let problem = cell.problem { values["problem"] = problem }
                    return values
                },
            ]
        }
        var traits: [[String: Any]] = []
        for row in snapshot.rarity {
            let tokens = snapshot.cells.count
            traits.append([
                "trait": row.trait, "value": row.value, "weight": row.weight ?? "—",
                "expected": row.expected.map { String(format: "%.1f %%", $0 * 100) } ?? "—",
                "tokens": row.tokens,
                "share": String(format: "%.1f %%", 100 * Double(row.tokens) / Double(max(1, tokens))),
            ])
        }
        var values: [String: Any] = [
            "name": snapshot.name, "version": snapshot.version, "count": snapshot.cells.count,
            "size": "\(snapshot.width)×\(snapshot.height)",
            "errors": snapshot.errors, "hasErrors": !snapshot.errors.isEmpty, "stale": snapshot.stale,
            "problems": problems, "hasProblems": !problems.isEmpty, "rows": rows, "rarity": traits,
            "duplicates": snapshot.duplicates.map { group in group.map { "#\($0)" }.joined(separator: ", ") },
            "duplicateCount": snapshot.duplicates.count,
        ]
        // Sections show for present values only (an empty string would open them).
        if !inference.isEmpty { values["inference"] = inference }
        if snapshot.columns.count > 1 { values["columns"] = snapshot.columns.joined(separator: " · ") }
        return template.render(values)
    }

    static let text = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{name}} — Kiln preview</title>
        <style>
        :root{--bg:#0f1115;--fg:#e8e6e1;--muted:#9aa0a8;--line:#272b33;--bad:#ff6b5a;--card:#171a21}
        body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,sans-serif}
        header,main{padding:12px 20px}header{border-bottom:1px solid var(--line)}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}.muted{color:var(--muted)}
        #errors,#problems{background:#2a1414;border:1px solid var(--bad);border-radius:8px;padding:8px 14px 8px 30px;margin:12px 0}
        #errors li,#problems li{color:#ffd6d0;font-family:ui-monospace,monospace;white-space:pre-wrap}
        #grid{display:flex;flex-wrap:wrap;gap:10px}{{#stale}}#grid{opacity:.35}{{/stale}}
        figure.token{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px}
        figure.token div.states{display:flex;gap:4px}figure.token img{display:block;image-rendering:pixelated;border-radius:4px}
        figure.token .broken{display:flex;align-items:center;justify-content:center;background:#2a1414;color:var(--bad);font-size:11px;padding:4px;text-align:center}
        figcaption{font-size:12px;color:var(--muted);margin-top:3px}
        table{border-collapse:collapse}td,th{border-bottom:1px solid var(--line);padding:3px 12px 3px 0;text-align:left}
        td.n{text-align:right;font-variant-numeric:tabular-nums}
        </style></head>
        <body data-version="{{version}}">
        <header><h1>{{name}}</h1>
        <div class="muted">{{count}} tokens · {{size}}{{#inference}} · {{inference}}{{/inference}}{{#columns}} · states: {{columns}}{{/columns}} · updates by itself when the template's files change</div>
        {{#hasErrors}}<ul id="errors">{{#errors}}<li>{{.}}</li>{{/errors}}</ul>{{/hasErrors}}
        {{#hasProblems}}<ul id="problems">{{#problems}}<li>{{.}}</li>{{/problems}}</ul>{{/hasProblems}}
        </header>
        <main>
        <div id="grid">{{#rows}}<figure class="token" id="token-{{id}}"><div class="states">{{#cells}}{{#src}}<img src="{{src}}" width="{{width}}" height="{{height}}" alt="#{{id}} {{label}}" title="{{label}}">{{/src}}{{#problem}}<div class="broken" style="width:{{width}}px;height:{{height}}px" title="{{problem}}">{{problem}}</div>{{/problem}}{{/cells}}</div><figcaption>#{{id}}</figcaption></figure>{{/rows}}</div>
        <h2>Rarity</h2>
        <table id="rarity"><tr><th>trait</th><th>value</th><th>weight</th><th>expected</th><th>tokens</th><th>share</th></tr>
        {{#rarity}}<tr><td>{{trait}}</td><td>{{value}}</td><td class="n">{{weight}}</td><td class="n">{{expected}}</td><td class="n">{{tokens}}</td><td class="n">{{share}}</td></tr>{{/rarity}}
        </table>
        <h2>Duplicates</h2>
        <p class="muted">Tokens whose drawn traits are all the same ({{duplicateCount}} combinations).</p>
        <ul id="duplicates">{{#duplicates}}<li>{{.}}</li>{{/duplicates}}</ul>
        </main>
        <script>
        setInterval(() => fetch('/version').then(r => r.text()).then(v => {
          if (v !== document.body.dataset.version) location.reload();
        }).catch(() => {}), 300);
        </script>
        </body></html>
        """
}
