//! Source text with a line index: byte offsets ↔ 1-based line/column.

/// A file's text and the byte offset where each line starts.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub text: String,
    line_starts: Vec<usize>,
}

/// A 1-based position; `col` counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl SourceText {
    pub fn new(text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceText { text, line_starts }
    }

    pub fn line_count(&self) -> usize {
        if self.text.is_empty() {
            0
        } else if self.text.ends_with('\n') {
            self.line_starts.len() - 1
        } else {
            self.line_starts.len()
        }
    }

    /// 0-based line index of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Position of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn pos(&self, offset: usize) -> Pos {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count();
        Pos {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }

    /// Byte offset of a 1-based line and a 0-based character column
    /// (the convention of proc-macro2 spans).
    pub fn offset_of_line_char(&self, line: usize, char_col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_end(line.saturating_sub(1));
        let line_text = &self.text[start..end];
        match line_text.char_indices().nth(char_col) {
            Some((i, _)) => start + i,
            None => end,
        }
    }

    fn line_end(&self, line0: usize) -> usize {
        self.line_starts
            .get(line0 + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len())
    }

    /// Text of a 1-based line without its line terminator.
    pub fn line(&self, line: u32) -> &str {
        let i = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        self.text[start..self.line_end(i)].trim_end_matches('\r')
    }

    /// Byte range of the 1-based lines `first..=last`.
    pub fn lines_range(&self, first: u32, last: u32) -> std::ops::Range<usize> {
        let f = (first.max(1) as usize - 1).min(self.line_starts.len() - 1);
        let l = (last.max(first) as usize - 1).min(self.line_starts.len() - 1);
        self.line_starts[f]..self.line_end(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let s = SourceText::new("ab\nçd\n\nx".to_string());
        assert_eq!(s.pos(0), Pos { line: 1, col: 1 });
        assert_eq!(s.pos(3), Pos { line: 2, col: 1 });
        assert_eq!(s.pos(5), Pos { line: 2, col: 2 });
        assert_eq!(s.pos(8), Pos { line: 4, col: 1 });
        assert_eq!(s.offset_of_line_char(2, 1), 5);
        assert_eq!(s.line(2), "çd");
        assert_eq!(s.line(3), "");
        assert_eq!(s.line_count(), 4);
        assert_eq!(&s.text[s.lines_range(1, 2)], "ab\nçd");
    }
}
