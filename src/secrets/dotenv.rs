//! `.env` files: the syntax the original astra (Bun) and most tools read, and the one
//! `secrets.env` is written in.
//!
//! A line is `NAME=value`, optionally after `export `; blank lines and `#` comments are
//! skipped. A value is unquoted (an inline ` # comment` ends it; spaces around it are
//! trimmed), 'single-quoted' (literal), or "double-quoted" (`\n`, `\r`, `\t`, `\"`,
//! `\\` escapes; may span lines). CRLF line ends and a missing final newline are fine.
use std::collections::BTreeMap;

/// What is wrong with a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// Whether `name` is a variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables in `text`, in file order (a later line wins over an earlier one, as
/// in every dotenv reader). Values are never part of an error message.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((name, rest)) = body.split_once('=') else {
            return Err(ParseError {
                line: line_no,
                what: "not NAME=value".into(),
            });
        };
        let name = name.trim();
        if !valid_name(name) {
            return Err(ParseError {
                line: line_no,
                what: format!("{name:?} is not a variable name"),
            });
        }
        let rest = rest.trim_start();
        let value = if let Some(q) = rest.strip_prefix('"') {
            let mut buf = q.to_string();
            loop {
                if let Some(v) = closed_double(&buf) {
                    break v;
                }
                if i >= lines.len() {
                    return Err(ParseError {
                        line: line_no,
                        what: format!("{name}: the double quote is never closed"),
                    });
                }
                buf.push('\n');
                buf.push_str(lines[i].strip_suffix('\r').unwrap_or(lines[i]));
                i += 1;
            }
        } else if let Some(q) = rest.strip_prefix('\'') {
            match q.find('\'') {
                Some(end) => q[..end].to_string(),
                None => {
                    return Err(ParseError {
                        line: line_no,
                        what: format!("{name}: the single quote is never closed"),
                    });
                }
            }
        } else {
            let end = rest
                .char_indices()
                .find(|&(k, c)| c == '#' && (k == 0 || rest[..k].ends_with([' ', '\t'])))
                .map_or(rest.len(), |(k, _)| k);
            rest[..end].trim().to_string()
        };
        out.retain(|(n, _)| n != name);
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// The value of a double-quoted string whose opening quote is gone, if `s` holds its
/// closing quote.
fn closed_double(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(o @ ('"' | '\\' | '$')) => out.push(o),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// As [`parse`], into a map.
pub fn parse_map(text: &str) -> Result<BTreeMap<String, String>, ParseError> {
    Ok(parse(text)?.into_iter().collect())
}

/// `NAME="value"` lines that [`parse`] reads back exactly, under a header comment.
pub fn render(header: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for l in header.lines() {
        out.push_str("# ");
        out.push_str(l);
        out.push('\n');
    }
    for (name, value) in values {
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push_str("\"\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(text: &str, name: &str) -> Option<String> {
        parse_map(text).unwrap().get(name).cloned()
    }

    #[test]
    fn the_original_astras_env_without_a_final_newline() {
        let text = "# Astra\nGEMINI_API_KEY=AIzaKEY\nNOTION_API_KEY=\"secret_abc\"\n\nVOICE_MEMOS_DIR='~/Library/Mobile Documents/com~apple~CloudDocs/Voice Memos'\nMAX_RETRIES=3 # then give up\nNOTION_TODO_DATABASE_ID=1f217cc1225f45808e22cd7eb8db3c5e";
        let m = parse_map(text).unwrap();
        assert_eq!(m["GEMINI_API_KEY"], "AIzaKEY");
        assert_eq!(m["NOTION_API_KEY"], "secret_abc");
        assert_eq!(
            m["VOICE_MEMOS_DIR"],
            "~/Library/Mobile Documents/com~apple~CloudDocs/Voice Memos"
        );
        assert_eq!(m["MAX_RETRIES"], "3");
        assert_eq!(
            m["NOTION_TODO_DATABASE_ID"],
            "1f217cc1225f45808e22cd7eb8db3c5e"
        );
    }

    #[test]
    fn export_crlf_comments_and_hashes_inside_values() {
        let text = "export A=1\r\n  export   B = two words \r\n#C=3\nD=abc#def\nE=\"x # y\"\nF=\nG=' spaced '\n";
        assert_eq!(get(text, "A").as_deref(), Some("1"));
        assert_eq!(get(text, "B").as_deref(), Some("two words"));
        assert_eq!(get(text, "C"), None);
        assert_eq!(get(text, "D").as_deref(), Some("abc#def"));
        assert_eq!(get(text, "E").as_deref(), Some("x # y"));
        assert_eq!(get(text, "F").as_deref(), Some(""));
        assert_eq!(get(text, "G").as_deref(), Some(" spaced "));
    }

    #[test]
    fn double_quotes_escape_and_span_lines_and_the_last_line_wins() {
        let text = "K=\"a\\\"b\\\\c\\nd\"\nM=\"first\nsecond\"\nK=again\n";
        let m = parse_map(text).unwrap();
        assert_eq!(m["K"], "again");
        assert_eq!(m["M"], "first\nsecond");
        assert_eq!(
            get("K=\"a\\\"b\\\\c\\nd\"", "K").as_deref(),
            Some("a\"b\\c\nd")
        );
    }

    #[test]
    fn bad_lines_name_the_line_but_never_a_value() {
        let e = parse("A=1\nthis is not it\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("A=1\nB=\"sk-SECRET never closed\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert!(parse("1X=2").is_err());
    }

    #[test]
    fn render_reads_back_exactly() {
        let mut m = BTreeMap::new();
        m.insert("A".to_string(), "plain".to_string());
        m.insert(
            "B".to_string(),
            "q\"uo\\te # and\nnewline $HOME '".to_string(),
        );
        m.insert("C".to_string(), " spaces ".to_string());
        let text = render("astra's secrets\nkeep 0600", &m);
        assert!(
            text.starts_with("# astra's secrets\n# keep 0600\n"),
            "{text}"
        );
        assert_eq!(parse_map(&text).unwrap(), m);
    }
}
