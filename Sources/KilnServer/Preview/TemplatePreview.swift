// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
public import KilnCore
internal import KilnImage
public import KilnPipeline
public import KilnTemplates
internal import Synchronization

/// A live preview of a template's collection: tokens 1…N, each at one or more states, re-rendered when the
/// template's files change — only the tokens whose inputs changed. A token's image is named by a fingerprint of
/// everything its pixels depend on (template.yml, the assets its layers read, its state, its id, the model), so
/// a page reload fetches only images whose fingerprint changed and the server renders each fingerprint once.
public final class TemplatePreview: Sendable {
    /// What to preview.
    public struct Options: Sendable {
        public var folder: String
        public var count: Int
        /// The states shown side by side: each a JSON object of traits (`[:]` is the defaults), with its label and
        /// where it was written (`states.yml:3:3`), for error messages.
        public var states: [(label: String, traits: JSONValue, source: String)]
        public var contract: Address
        public var localModel: Bool

        public init(
            folder: String,
            count: Int,
            states: [(label: String, traits: JSONValue, source: String)] = [],
            contract: Address = .zero,
            localModel: Bool = true
        ) {
            self.folder = folder
            self.count = count
            self.states = states.isEmpty ? [("defaults", .object([:]), "the defaults")] : states
            self.contract = contract
            self.localModel = localModel
        }
    }

    /// One token at one state.
    public struct Cell: Sendable {
        public var id: Int
        public var column: Int
        /// The image's name (`nil` when the state cannot be rendered: see `problem`).
        public var fingerprint: String?
        public var traits: [String: Value]
        public var problem: String?
    }

    /// One value of a `pick()` trait among tokens 1…N at the first state.
    public struct RarityRow: Sendable, Hashable {
        public var trait: String
        public var value: String
        /// The weight written, and its share of the trait's total.
        public var weight: String?
        public var expected: Double?
        public var tokens: Int
    }

    /// What the page shows, as of one version of the files.
    public struct Snapshot: Sendable {
        public var version = 0
        public var name = ""
        public var width = 0
        public var height = 0
        public var inference: CollectionRenderer.InferenceSource = .none
        /// Template errors, as `template.yml:LINE:COL: message` relative to the template folder.
        public var errors: [String] = []
        /// `cells[token - 1][column]`.
        public var cells: [[Cell]] = []
        public var columns: [String] = []
        public var rarity: [RarityRow] = []
        /// Groups of token ids whose `pick()` traits are all equal (first state).
        public var duplicates: [[Int]] = []
        /// Whether `cells` are of an older version than `errors` (the template is broken now).
        public var stale = false
    }

    struct FileStamp: Hashable {
        var modified: Double
        var size: Int
        var inode: UInt64
    }

    private struct Work: Sendable {
        var files: [String: FileStamp] = [:]
        var renderer: CollectionRenderer?
        var renderedErrors: [String: String] = [:]
        var assetHashes: [String: (stamp: FileStamp, hash: String)] = [:]
    }

    public let options: Options
    private let snapshot = Mutex(Snapshot())
    private let work = Mutex(Work())
    /// Fingerprint → the render (running or done).
    private let renders = Mutex([String: Task<[UInt8], any Error>]())
    /// Inference input hash → the model's picture (the model's output does not depend on the template's files).
    private let inferences = Mutex([Bytes32: RGBAImage]())
    /// Fingerprint → the cell it renders.
    private let jobs = Mutex([String: (renderer: CollectionRenderer, id: Int, traits: [String: Value])]())

    public init(_ options: Options) { self.options = options }

    /// The page's current state.
    public var current: Snapshot { snapshot.withLock { $0 } }

    /// The PNG of `fingerprint`, rendered now if it is not yet; `nil` for a fingerprint of no current cell.
    public func image(_ fingerprint: String) async throws -> [UInt8]? {
        guard let task = task(for: fingerprint) else { return nil }
        return try await task.value
    }

    private func task(for fingerprint: String) -> Task<[UInt8], any Error>? {
        if let running = renders.withLock({ $0[fingerprint] }) { return running }
        guard let job = jobs.withLock({ $0[fingerprint] }) else { return nil }
        return renders.withLock { renders in
            if let running = renders[fingerprint] { return running }
            let task = Task<[UInt8], any Error> { [self] in
                let id = BigUInt(job.id)
                var picture: RGBAImage?
                let key = try job.renderer.inferenceKey(id: id, traits: job.traits)
                if let key { picture = self.inferences.withLock { $0[key] } }
                if picture == nil, let key,
                    let image = try await job.renderer.inferencePicture(id: id, traits: job.traits)
                {
                    self.inferences.withLock { $0[key] = image }
                    picture = image
                }
                return try await job.renderer.render(id: id, traits: job.traits, inference: picture).png
            }
            renders[fingerprint] = task
            return task
        }
    }

    /// Reads the folder again; when a file changed (or on the first call), reloads the template and makes a new
    /// snapshot. Returns whether it did.
    @discardableResult
    public func refresh() -> Bool {
        let stamps = Self.scan(options.folder)
        guard work.withLock({ $0.files != stamps || $0.files.isEmpty }) else { return false }
        work.withLock { $0.files = stamps }
        let folder = options.folder
        func relative(_ text: String) -> String {
            text.hasPrefix(folder + "/") ? String(text.dropFirst(folder.count + 1)) : text
        }
        let template: Template
        do {
            template = try Template.load(folder: folder)
        } catch {
            snapshot.withLock { snapshot in
                snapshot.version += 1
                snapshot.errors = error.diagnostics.map { relative($0.description) }
                snapshot.stale = true
            }
            return true
        }
        let renderer = CollectionRenderer(
            template: template,
            contract: options.contract,
            localModel: options.localModel
        )
        var next = Snapshot()
        next.name = template.name
        next.width = template.width
        next.height = template.height
        next.inference = renderer.inferenceSource
        next.columns = options.states.map(\.label)
        var columns: [[String: Value]] = []
        for (label, traits, source) in options.states {
            do {
                columns.append(try template.state(fromJSON: traits, source: source))
            } catch {
                next.errors += error.diagnostics.map { "\(source): state '\(label)': \($0.message)" }
                columns.append(template.initialState)
            }
        }
        let yaml = (try? FileBytes.read(folder + "/" + Template.fileName, limit: 4 << 20)) ?? []
        let templateHash = Keccak256.hash(yaml).hex
        let model = template.inference?.model ?? ""
        var newJobs: [String: (renderer: CollectionRenderer, id: Int, traits: [String: Value])] = [:]
        var combos: [[String]: [Int]] = [:]
        var counts: [String: [String: Int]] = [:]
        for id in 1...max(1, options.count) {
            var row: [Cell] = []
            for (column, traits) in columns.enumerated() {
                var cell = Cell(id: id, column: column, traits: traits)
                do {
                    let state = try renderer.state(id: BigUInt(id), traits: traits)
                    if column == 0 {
                        let combination = renderer.combination(of: state)
                        combos[combination, default: []].append(id)
                        for item in template.derived where item.choices != nil {
                            counts[item.name, default: [:]][state[item.name]?.description ?? "", default: 0] += 1
                        }
                    }
                    if let rule = template.violations(of: state).first {
                        cell.problem = "\(relative(rule.location.description)): token \(id) breaks the rule '\(rule)'"
                    } else {
                        let token = TokenKey(chainId: renderer.chainId, contract: options.contract, id: BigUInt(id))
                        let assets = try template.assetPaths(state: state, token: token)
                        var hash = Keccak256()
                        hash.update(Array("\(templateHash)|\(model)|\(id)|".utf8))
                        hash.update(
                            Array(((try? JSONValue.object(traits.mapValues(\.json)).canonicalString()) ?? "").utf8)
                        )
                        for asset in assets { hash.update(Array("|\(asset)=\(assetHash(asset))".utf8)) }
                        let fingerprint = String(hash.finalize().hex.dropFirst(2).prefix(32))
                        cell.fingerprint = fingerprint
                        newJobs[fingerprint] = (renderer, id, traits)
                    }
                } catch {
                    cell.problem = error.diagnostics.map { relative($0.description) }.joined(separator: "; ")
                }
                row.append(cell)
            }
            next.cells.append(row)
        }
        for item in template.derived where item.choices != nil {
            let weights = item.weights
            let total = weights?.reduce(BigInt(0)) { $0 + $1.weight } ?? 0
            for value in item.choices ?? [] {
                let weight = weights?.first { $0.name == value }?.weight
                next.rarity.append(
                    RarityRow(
                        trait: item.name,
                        value: value,
                        weight: weight.map { String($0) },
                        expected: weight.map { total > 0 ? Double($0) / Double(total) : 0 },
                        tokens: counts[item.name]?[value] ?? 0
                    )
                )
            }
        }
        next.duplicates =
            template.derived.contains(where: \.isDrawn)
            ? combos.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] } : []
        jobs.withLock { $0 = newJobs }
        // Renders of fingerprints no cell has any more are dropped; the others are kept (only what changed renders).
        renders.withLock { renders in
            for key in renders.keys where newJobs[key] == nil { renders[key] = nil }
        }
        work.withLock { $0.renderer = renderer }
        snapshot.withLock { snapshot in
            next.version = snapshot.version + 1
            snapshot = next
        }
        return true
    }

    /// Renders every cell not yet rendered, `concurrency` at once; failures become problems of their cells
    /// (and a new version, so an open page shows them).
    public func renderAll(concurrency: Int? = nil) async {
        let concurrency = concurrency ?? ProcessInfo.processInfo.activeProcessorCount
        let cells = snapshot.withLock { $0.cells.flatMap { $0 }.compactMap(\.fingerprint) }
        var failures: [String: String] = [:]
        await withTaskGroup(of: (String, String?).self) { group in
            var pending = cells[...]
            func start() {
                guard let fingerprint = pending.popFirst() else { return }
                group.addTask {
                    do {
                        _ = try await self.image(fingerprint)
                        return (fingerprint, nil)
                    } catch {
                        let text = (error as? TemplateError)?.diagnostics.map(\.description).joined(separator: "; ")
                        return (fingerprint, text ?? "\(error)")
                    }
                }
            }
            for _ in 0..<max(1, concurrency) { start() }
            for await (fingerprint, failure) in group {
                if let failure { failures[fingerprint] = failure }
                if Task.isCancelled { return }
                start()
            }
        }
        guard !failures.isEmpty else { return }
        let folder = options.folder
        snapshot.withLock { snapshot in
            var changed = false
            for row in snapshot.cells.indices {
                for column in snapshot.cells[row].indices {
                    guard let fingerprint = snapshot.cells[row][column].fingerprint,
                        let failure = failures[fingerprint]
                    else { continue }
                    snapshot.cells[row][column].problem = failure.replacingOccurrences(of: folder + "/", with: "")
                    snapshot.cells[row][column].fingerprint = nil
                    changed = true
                }
            }
            if changed { snapshot.version += 1 }
        }
    }

    /// Watches the folder every `interval` until cancelled: a change reloads and re-renders what changed. The
    /// folder is read on a thread of its own (listing and reading files blocks); renders run as tasks.
    public func watch(interval: Duration = .milliseconds(200)) async {
        let stopped = Mutex(false)
        let changes = AsyncStream<Void> { continuation in
            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            let thread = Thread { [self] in
                while !stopped.withLock({ $0 }) {
                    if refresh() { continuation.yield() }
                    Thread.sleep(forTimeInterval: seconds)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in stopped.withLock { $0 = true } }
            thread.start()
        }
        var rendering = Task { await renderAll() }
        await withTaskCancellationHandler {
            for await _ in changes {
                rendering.cancel()
                rendering = Task { await renderAll() }
            }
        } onCancel: {
            stopped.withLock { $0 = true }
        }
        rendering.cancel()
    }

    private func assetHash(_ path: String) -> String {
        let full = options.folder + "/" + path
        guard let stamp = Self.stamp(full) else { return "missing" }
        if let known = work.withLock({ $0.assetHashes[path] }), known.stamp == stamp { return known.hash }
        let hash = ((try? FileBytes.read(full, limit: 256 << 20)).map { Keccak256.hash($0).hex }) ?? "unreadable"
        work.withLock { $0.assetHashes[path] = (stamp, hash) }
        return hash
    }

    static func stamp(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return FileStamp(modified: modified, size: Int(info.st_size), inode: UInt64(info.st_ino))
    }

    /// Every file under `folder` (not hidden), with its modification time, size and inode.
    static func scan(_ folder: String) -> [String: FileStamp] {
        var stamps: [String: FileStamp] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [:] }
        while let path = walker.nextObject() as? String {
            if path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            if let stamp = stamp(folder + "/" + path) { stamps[path] = stamp }
        }
        return stamps
    }
}
