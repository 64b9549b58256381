// Kiln — Apache-2.0. See LICENSE.

/// A place in a text file Kiln reads (a template, kiln.yml, operators.yml): 1-based line and column.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The file's path as given.
    public var file: String
    /// The line, from 1.
    public var line: Int
    /// The column (in characters), from 1.
    public var column: Int

    /// A location in `file`.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The location `offset` characters further along the same line.
    public func advanced(by offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset)
    }

    /// `file:line:column`, or just `file` for a source without lines (line 0: an environment variable, a flag).
    public var description: String { line == 0 ? file : "\(file):\(line):\(column)" }

    /// File, then line, then column.
    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}
