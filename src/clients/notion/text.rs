//! Rich text and blocks within Notion's limits: at most 2,000 characters in one text
//! piece (split at word boundaries), at most 100 pieces in one rich text array.
use serde_json::{Value, json};

/// The most characters in one rich text piece.
pub const MAX_TEXT: usize = 2000;
/// The most pieces in one rich text array (a property value or a block).
pub const MAX_ITEMS: usize = 100;

/// Splits `text` into pieces of at most `max` characters that join back into `text`:
/// each piece ends after the last whitespace that fits, and a word longer than `max`
/// is cut at `max` characters (never inside a UTF-8 character).
pub fn split(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        // Byte offset just past the `max`-th character, or the end.
        let limit = rest
            .char_indices()
            .nth(max)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if limit == rest.len() {
            pieces.push(rest);
            break;
        }
        let window = &rest[..limit];
        let cut = window
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(limit);
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

/// A rich text array holding all of `text`, in pieces of at most 2,000 characters
/// (more than 100 pieces when the text is longer than about 200,000).
pub fn rich_text(text: &str) -> Vec<Value> {
    split(text, MAX_TEXT).into_iter().map(piece).collect()
}

/// A rich text array for a property value: as [`rich_text`], cut after 100 pieces.
pub fn property_text(text: &str) -> Value {
    let mut items = rich_text(text);
    items.truncate(MAX_ITEMS);
    Value::Array(items)
}

fn piece(content: &str) -> Value {
    json!({"type": "text", "text": {"content": content}})
}

/// The plain text of a rich text array (from `plain_text`, else `text.content`).
pub fn plain(items: &Value) -> String {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    i["plain_text"]
                        .as_str()
                        .or_else(|| i["text"]["content"].as_str())
                        .unwrap_or("")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Paragraph blocks for `text`: one per paragraph (blank-line separated); a paragraph
/// of more than 100 pieces continues in the next block.
pub fn paragraphs(text: &str) -> Vec<Value> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            rich_text(p)
                .chunks(MAX_ITEMS)
                .map(|c| block("paragraph", c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A `heading_3` block.
pub fn heading_3(text: &str) -> Value {
    let mut items = rich_text(text);
    items.truncate(MAX_ITEMS);
    block("heading_3", items)
}

/// A `divider` block.
pub fn divider() -> Value {
    json!({"object": "block", "type": "divider", "divider": {}})
}

/// A `toggle` block titled `title` holding `children` (at most 100).
pub fn toggle(title: &str, children: Vec<Value>) -> Value {
    json!({"object": "block", "type": "toggle", "toggle": {"rich_text": rich_text(title), "children": children}})
}

/// The most text pieces in one paragraph of a transcript toggle (40,000 characters),
/// and the most bytes of one toggle's children: a toggle always fits in one request.
const TRANSCRIPT_PIECES: usize = 20;
const TOGGLE_BYTES: usize = 300_000;

/// A transcript as collapsed `Transcript` toggles: one for any transcript under
/// about 300,000 characters, more (`Transcript (2/3)`…) beyond, each small enough to
/// go in one request with its 100 children at most.
pub fn transcript_toggles(text: &str) -> Vec<Value> {
    let normalized = text.replace("\r\n", "\n");
    let paras: Vec<Value> = normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            rich_text(p)
                .chunks(TRANSCRIPT_PIECES)
                .map(|c| block("paragraph", c.to_vec()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut bytes = 0;
    for p in paras {
        let size = p.to_string().len();
        match groups.last_mut() {
            Some(g) if g.len() < MAX_ITEMS && bytes + size <= TOGGLE_BYTES => {
                bytes += size;
                g.push(p);
            }
            _ => {
                bytes = size;
                groups.push(vec![p]);
            }
        }
    }
    let n = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let title = if n == 1 {
                "Transcript".to_string()
            } else {
                format!("Transcript ({}/{n})", i + 1)
            };
            toggle(&title, g)
        })
        .collect()
}

fn block(kind: &str, items: Vec<Value>) -> Value {
    json!({"object": "block", "type": kind, kind: {"rich_text": items}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn short_text_is_one_piece_and_empty_is_none() {
        assert_eq!(split("hello world", 2000), ["hello world"]);
        assert!(split("", 2000).is_empty());
    }

    #[test]
    fn pieces_end_at_word_boundaries_and_join_back() {
        let text = "alpha beta gamma delta epsilon ".repeat(200);
        let pieces = split(&text, 2000);
        assert!(pieces.len() >= 3);
        assert_eq!(pieces.concat(), text);
        for p in &pieces[..pieces.len() - 1] {
            assert!(chars(p) <= 2000);
            assert!(p.ends_with(' '), "{p:?}");
        }
    }

    #[test]
    fn a_long_word_is_cut_at_the_limit() {
        let word = "x".repeat(4500);
        let pieces = split(&word, 2000);
        assert_eq!(
            pieces.iter().map(|p| chars(p)).collect::<Vec<_>>(),
            [2000, 2000, 500]
        );
    }

    #[test]
    fn multibyte_characters_are_counted_and_never_cut() {
        let text = "é".repeat(2001) + " ünïcödé 🎙️ fin";
        let pieces = split(&text, 2000);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| chars(p) <= 2000));
        assert_eq!(chars(pieces[0]), 2000);
    }

    #[test]
    fn long_paragraphs_become_several_blocks() {
        let para = "word ".repeat(41_000); // 205,000 chars: more than 100 pieces
        let text = format!("First.\n\n{para}\n\n\nLast.");
        let blocks = paragraphs(&text);
        assert_eq!(blocks.len(), 4);
        assert_eq!(plain(&blocks[0]["paragraph"]["rich_text"]), "First.");
        let n = |b: &Value| b["paragraph"]["rich_text"].as_array().unwrap().len();
        assert_eq!(n(&blocks[1]), 100);
        assert!(n(&blocks[2]) > 0);
        assert_eq!(plain(&blocks[3]["paragraph"]["rich_text"]), "Last.");
    }

    #[test]
    fn a_transcript_is_one_toggle_or_several_that_each_fit_a_request() {
        let short = transcript_toggles("Hello there.\n\nSecond part.");
        assert_eq!(short.len(), 1);
        assert_eq!(plain(&short[0]["toggle"]["rich_text"]), "Transcript");
        assert_eq!(short[0]["toggle"]["children"].as_array().unwrap().len(), 2);
        assert!(transcript_toggles("  ").is_empty());
        let long = "word ".repeat(200_000); // a million characters
        let toggles = transcript_toggles(&long);
        assert!(toggles.len() >= 4, "{}", toggles.len());
        let mut joined = String::new();
        for t in &toggles {
            assert!(t.to_string().len() < 350_000);
            let kids = t["toggle"]["children"].as_array().unwrap();
            assert!(kids.len() <= 100);
            for k in kids {
                joined.push_str(&plain(&k["paragraph"]["rich_text"]));
            }
        }
        assert_eq!(joined, long.trim());
        assert_eq!(
            plain(&toggles[1]["toggle"]["rich_text"]),
            format!("Transcript (2/{})", toggles.len())
        );
    }

    #[test]
    fn property_text_is_capped_at_100_pieces() {
        let text = "y".repeat(2000 * 150);
        assert_eq!(property_text(&text).as_array().unwrap().len(), 100);
        assert_eq!(rich_text(&text).len(), 150);
    }
}
