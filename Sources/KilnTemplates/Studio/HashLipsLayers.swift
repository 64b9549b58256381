// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import Foundation
internal import KilnImage

/// A folder of layers in the layout HashLips' art engine and nftchef's fork read: one folder per trait, each
/// holding `<Name><delimiter><weight>.png` (HashLips `getElements`: the name is the file name up to the
/// delimiter, the weight the number after it; no weight is weight 1). An element named `None` (nftchef) is a
/// weight with nothing drawn.
public struct HashLipsLayers: Sendable {
    /// One value of a trait.
    public struct Element: Sendable, Hashable {
        /// The value (`Blue` for `Blue#10.png`).
        public var name: String
        /// Its weight, 1 when the file name gives none.
        public var weight: Int
        /// The file (for `None` too: nftchef's are blank PNGs; the template does not draw it).
        public var file: String
        /// Whether this is nftchef's `None`: a weight with nothing drawn and no attribute.
        public var isNone: Bool { name == "None" }
    }

    /// One trait: a folder of elements, stacked in the order of ``HashLipsLayers/traits``.
    public struct Trait: Sendable, Hashable {
        /// The folder's name, the metadata's `trait_type`.
        public var name: String
        /// The name as a template identifier (`Eye color` → `eye_color`), the state's name and the pick key.
        public var key: String
        /// Its elements, sorted by name.
        public var elements: [Element]
        /// Whether a `None` element is among them.
        public var hasNone: Bool { elements.contains(where: \.isNone) }
    }

    /// One thing that could not be mapped, and where.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// Every problem found in a layers folder (all at once).
    public struct ImportError: CausedError, Sendable {
        public var problems: [Problem]
        public var cause: (any Error)? { nil }
        public var description: String { problems.map(\.description).joined(separator: "\n") }
    }

    /// The traits, bottom layer first.
    public var traits: [Trait]
    /// The size every layer has.
    public var width: Int
    public var height: Int

    /// Reads `folder`. Without `order`, traits stack in the folders' name order (HashLips takes the order from
    /// its config.js, which Kiln does not read: pass it).
    /// - Throws: ``ImportError`` listing every file or folder that cannot be mapped: names a template cannot
    ///   hold (spaces, quotes), weights that are not whole numbers, files that are not PNG or do not decode,
    ///   layers of different sizes, order entries with no folder, empty traits.
    public static func read(folder: String, order: [String]? = nil, delimiter: String = "#") throws(ImportError)
        -> HashLipsLayers
    {
        let files = FileManager.default
        var problems: [Problem] = []
        func problem(_ path: String, _ message: String) { problems.append(Problem(path: path, message: message)) }
        let folders: [String]
        do {
            folders = try files.contentsOfDirectory(atPath: folder).filter { name in
                var isFolder: ObjCBool = false
                return !name.hasPrefix(".") && files.fileExists(atPath: folder + "/" + name, isDirectory: &isFolder)
                    && isFolder.boolValue
            }.sorted()
        } catch {
            throw ImportError(problems: [Problem(path: folder, message: "cannot read the layers folder")])
        }
        var names = folders
        if let order {
            for name in order where !folders.contains(name) {
                problem(
                    folder + "/" + name,
                    "--order names '\(name)', which is not a folder here (there are: \(folders.joined(separator: ", ")))"
                )
            }
            for name in folders where !order.contains(name) {
                problem(folder + "/" + name, "this trait folder is not in --order; add it or move it away")
            }
            names = order.filter(folders.contains)
        }
        if folders.isEmpty {
            problem(folder, "no trait folders (HashLips' layout: layers/<Trait>/<Name>#<weight>.png)")
        }
        var traits: [Trait] = []
        var sizes: [String: (Int, Int)] = [:]
        var keys: Set<String> = []
        for name in names {
            let path = folder + "/" + name
            let key = identifier(name)
            if !keys.insert(key).inserted {
                problem(path, "its name makes the state name '\(key)', which another trait folder already makes")
            }
            var elements: [String: Element] = [:]
            let entries = ((try? files.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            for entry in entries {
                let file = path + "/" + entry
                guard entry.lowercased().hasSuffix(".png") else {
                    problem(file, "not a PNG file (HashLips layers are PNG); convert it or move it away")
                    continue
                }
                let stem = String(entry.dropLast(4))
                let parts = stem.components(separatedBy: delimiter)
                let value = parts[0]
                var weight = 1
                if parts.count > 1 {
                    // HashLips (`getRarityWeight`) reads anything but a number as weight 1, silently; Kiln asks.
                    guard parts.count == 2, let number = Int(parts[1]), number >= 0 else {
                        problem(
                            file,
                            "the weight after '\(delimiter)' must be a whole number ≥ 0 (Kiln's pick() weights are integers; HashLips would read it as 1)"
                        )
                        continue
                    }
                    weight = number
                }
                if value.contains(" ") {
                    problem(
                        file,
                        "the name '\(value)' has a space; rename the file (e.g. '\(value.replacingOccurrences(of: " ", with: "_"))\(delimiter)\(weight).png')"
                    )
                    continue
                }
                guard !value.isEmpty, value.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
                    problem(
                        file,
                        "the name '\(value)' may hold only letters, digits, '_', '-' and '.'; rename the file"
                    )
                    continue
                }
                if elements[value] != nil {
                    problem(file, "a second element named '\(value)' in this trait")
                    continue
                }
                do {
                    let image = try ImageFile.decode(try ImageFile.readBytes(file), source: file)
                    sizes[file] = (image.width, image.height)
                } catch {
                    problem(file, "not a PNG Kiln can read: \(error)")
                    continue
                }
                elements[value] = Element(name: value, weight: weight, file: file)
            }
            if elements.isEmpty && entries.isEmpty { problem(path, "an empty trait folder") }
            if !elements.isEmpty && elements.values.allSatisfy({ $0.weight == 0 }) {
                problem(path, "every element of this trait has weight 0: none could be drawn")
            }
            traits.append(Trait(name: name, key: key, elements: elements.values.sorted { $0.name < $1.name }))
        }
        let counts = Dictionary(sizes.values.map { ("\($0.0)×\($0.1)", 1) }, uniquingKeysWith: +)
        let common = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        for (file, size) in sizes.sorted(by: { $0.key < $1.key }) where "\(size.0)×\(size.1)" != common {
            problem(file, "\(size.0)×\(size.1), but most layers are \(common ?? "?"): every layer must have one size")
        }
        guard problems.isEmpty else { throw ImportError(problems: problems) }
        let first = sizes.values.first ?? (0, 0)
        if first.0 == 0 {
            throw ImportError(problems: [Problem(path: folder, message: "no PNG layers found")])
        }
        return HashLipsLayers(traits: traits, width: first.0, height: first.1)
    }

    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-."))

    /// `Eye color` → `eye_color`; a leading digit gets `t_` (`01 Background` → `t_01_background`).
    static func identifier(_ name: String) -> String {
        var out = ""
        for scalar in name.lowercased().unicodeScalars {
            let ascii = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))
            out += ascii ? String(scalar) : (out.hasSuffix("_") ? "" : "_")
        }
        out = out.trimmingCharacters(in: CharacterSet(charactersIn: "_"))
        if out.isEmpty { out = "trait" }
        if let first = out.unicodeScalars.first, CharacterSet.decimalDigits.contains(first) { out = "t_" + out }
        return out
    }
}
