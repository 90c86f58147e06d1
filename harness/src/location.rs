//! Positions in text files, so that errors in case, target and users files can say where they
//! are as `file:line:column`.

/// An error in a file the user wrote: where it is, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct Located {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Located {
    /// An error at byte `offset` of `text`, the contents of the file `path`.
    pub fn at(path: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        Self {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error about the file `path` as a whole (it cannot be read, say), placed at its start.
    pub fn file(path: &str, message: impl Into<String>) -> Self {
        Self::at(path, "", 0, message)
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`; an offset past the end
/// counts as the end, and one inside a character as that character.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 7), (2, 4));
        assert_eq!(line_column(text, 100), (3, 2));
        // Inside the two bytes of `é`: that character.
        assert_eq!(line_column(text, 6), (2, 3));
    }
}
