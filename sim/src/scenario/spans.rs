//! Where each key of a TOML text sits: a map from key paths (`peers[0].count`) to byte spans, built
//! by deserializing the text into a tree of `serde_spanned` spans, and back from a byte offset to
//! the innermost key. Errors use it to name a line, a column and a key.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_spanned::__unstable as magic;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    /// A key in a table.
    Key(String),
    /// An index in an array.
    Index(usize),
}

/// A path from the document root to a key, displayed as `peers[0].join.over`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// The document root.
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }
    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }
    /// This path extended by an array index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    /// This path followed by `rest`.
    pub fn join(&self, rest: &KeyPath) -> Self {
        let mut p = self.clone();
        p.0.extend(rest.0.iter().cloned());
        p
    }
    /// Whether `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    /// The last key, if the path ends with a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
    /// The parent path (the root is its own parent).
    pub fn parent(&self) -> KeyPath {
        let mut p = self.clone();
        p.0.pop();
        p
    }
    /// The key right below `base` on this path (`pnrp.retry_count` below `pnrp`: `retry_count`).
    pub fn field_below(&self, base: &KeyPath) -> Option<String> {
        match self.0.get(base.0.len()) {
            Some(Seg::Key(k)) if self.starts_with(base) => Some(k.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i > 0 => write!(f, ".{k}")?,
                Seg::Key(k) => write!(f, "{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Plain values of one array given their own span; later ones point at the array.
const LEAVES_INDEXED: usize = 4096;

/// The spans of one key and of its value, where the parser knows them.
#[derive(Clone, Debug, Default)]
struct Spans {
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

/// Key paths of one TOML text and their byte spans.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    entries: BTreeMap<KeyPath, Spans>,
}

impl SpanIndex {
    /// Indexes `text`; a text that does not parse gives an empty index (the parse error is
    /// reported separately).
    pub fn build(text: &str) -> SpanIndex {
        let mut index = SpanIndex::default();
        if let Ok(node) = toml::from_str::<Node>(text) {
            index.walk(&KeyPath::root(), &node);
        }
        index
    }

    fn walk(&mut self, path: &KeyPath, node: &Node) {
        match &node.raw {
            Raw::Leaf => {}
            Raw::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    // A problem in a long array of plain values is shown at the array: indexing
                    // each of millions of numbers took gigabytes. Tables are always indexed.
                    if i >= LEAVES_INDEXED && matches!(item.raw, Raw::Leaf) {
                        continue;
                    }
                    let p = path.index(i);
                    self.entries.insert(
                        p.clone(),
                        Spans {
                            key: None,
                            value: item.span.clone(),
                        },
                    );
                    self.walk(&p, item);
                }
            }
            Raw::Table(entries) => {
                for (key, value) in entries {
                    let p = path.key(&key.name);
                    self.entries.insert(
                        p.clone(),
                        Spans {
                            key: key.span.clone(),
                            value: value.span.clone(),
                        },
                    );
                    self.walk(&p, value);
                }
            }
        }
    }

    /// Whether the text has this exact key path.
    pub fn contains(&self, path: &KeyPath) -> bool {
        self.entries.contains_key(path)
    }

    /// Where to point for `path`: its value, else its key, else the nearest ancestor that has a span.
    pub fn span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        let mut p = path.clone();
        loop {
            if let Some(s) = self.entries.get(&p) {
                if let Some(r) = s.value.clone().or_else(|| s.key.clone()) {
                    return Some(r);
                }
            }
            if p.is_root() {
                return None;
            }
            p = p.parent();
        }
    }

    /// Where the key itself of `path` is written (falls back to `span_of`).
    pub fn key_span_of(&self, path: &KeyPath) -> Option<Range<usize>> {
        self.entries
            .get(path)
            .and_then(|s| s.key.clone())
            .or_else(|| self.span_of(path))
    }

    /// The innermost key path whose key or value covers byte `offset` (the root when none does).
    pub fn path_at(&self, offset: usize) -> KeyPath {
        let covers = |r: &Option<Range<usize>>| {
            r.as_ref()
                .is_some_and(|r| (r.start <= offset && offset < r.end) || r.start == offset)
        };
        self.entries
            .iter()
            .filter(|(_, s)| covers(&s.key) || covers(&s.value))
            .max_by_key(|(p, _)| p.0.len())
            .map(|(p, _)| p.clone())
            .unwrap_or_default()
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineCursor::new(text).line_col(offset)
}

/// Lines and columns of offsets of one text: increasing offsets take one pass over the text in
/// all (placing each from the start made a file of many errors quadratic).
pub struct LineCursor<'a> {
    text: &'a str,
    at: usize,
    line: usize,
    col: usize,
}

impl<'a> LineCursor<'a> {
    /// A cursor at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        LineCursor {
            text,
            at: 0,
            line: 1,
            col: 1,
        }
    }

    /// 1-based line and column (in characters) of byte `offset`, clamped to the text.
    pub fn line_col(&mut self, offset: usize) -> (usize, usize) {
        let mut to = offset.min(self.text.len());
        while !self.text.is_char_boundary(to) {
            to -= 1;
        }
        if to < self.at {
            *self = LineCursor::new(self.text);
        }
        for c in self.text[self.at..to].chars() {
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
        self.at = to;
        (self.line, self.col)
    }
}

// ------------------------------------------------------------------ the spanned tree

/// A TOML value with its span (when the parser knows it) and its children.
struct Node {
    span: Option<Range<usize>>,
    raw: Raw,
}

enum Raw {
    Leaf,
    Array(Vec<Node>),
    Table(Vec<(KeyNode, Node)>),
}

struct KeyNode {
    span: Option<Range<usize>>,
    name: String,
}

const FIELDS: &[&str] = &[magic::START_FIELD, magic::END_FIELD, magic::VALUE_FIELD];

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Ask for a span; deserializers that have none fall back to `deserialize_any`.
        d.deserialize_struct(magic::NAME, FIELDS, NodeVisitor { spanned: true })
    }
}

/// The value inside a span: children are spanned again, but this level is not.
struct Bare(Node);

impl<'de> Deserialize<'de> for Bare {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor { spanned: false }).map(Bare)
    }
}

struct NodeVisitor {
    spanned: bool,
}

impl NodeVisitor {
    fn leaf<E>(self) -> Result<Node, E> {
        Ok(Node {
            span: None,
            raw: Raw::Leaf,
        })
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        self.leaf()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node {
            span: None,
            raw: Raw::Array(items),
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        let Some(first) = map.next_key::<KeyNode>()? else {
            return Ok(Node {
                span: None,
                raw: Raw::Table(entries),
            });
        };
        if self.spanned && first.name == magic::START_FIELD {
            // serde_spanned's protocol: start, end, then the value itself.
            let start: usize = map.next_value()?;
            let _ = map.next_key::<KeyNode>()?;
            let end: usize = map.next_value()?;
            let _ = map.next_key::<KeyNode>()?;
            let Bare(mut node) = map.next_value()?;
            node.span = Some(start..end.max(start));
            return Ok(node);
        }
        entries.push((first, map.next_value::<Node>()?));
        while let Some(key) = map.next_key::<KeyNode>()? {
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Node {
            span: None,
            raw: Raw::Table(entries),
        })
    }
}

impl<'de> Deserialize<'de> for KeyNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(magic::NAME, FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = KeyNode;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyNode, E> {
        Ok(KeyNode {
            span: None,
            name: v.to_owned(),
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyNode, A::Error> {
        let (mut start, mut end, mut name) = (0usize, 0usize, String::new());
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                magic::START_FIELD => start = map.next_value()?,
                magic::END_FIELD => end = map.next_value()?,
                _ => name = map.next_value()?,
            }
        }
        Ok(KeyNode {
            span: Some(start..end.max(start)),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n[network]\nloss = \"1%\"\nlatency = { model = \"constant\", value = \"5ms\" }\n\n[[peers]]\nname = \"a\"\ncount = 3\n[[peers]]\nname = \"b\"\n";

    fn at(path: &KeyPath) -> (usize, usize) {
        let index = SpanIndex::build(TEXT);
        line_col(TEXT, index.span_of(path).expect("span").start)
    }

    #[test]
    fn every_key_has_a_line_and_column() {
        let root = KeyPath::root();
        assert_eq!(at(&root.key("name")), (1, 8));
        assert_eq!(at(&root.key("network").key("loss")), (3, 8));
        assert_eq!(at(&root.key("network").key("latency").key("value")), (4, 41));
        assert_eq!(at(&root.key("peers").index(0).key("count")), (8, 9));
        assert_eq!(at(&root.key("peers").index(1).key("name")).0, 10);
        // A key that is not written points at its nearest ancestor.
        assert_eq!(
            at(&root.key("peers").index(1).key("join")).0,
            at(&root.key("peers").index(1)).0
        );
    }

    #[test]
    fn offsets_map_back_to_the_innermost_key() {
        let index = SpanIndex::build(TEXT);
        let offset = TEXT.find("5ms").unwrap();
        assert_eq!(index.path_at(offset).to_string(), "network.latency.value");
        assert_eq!(
            index.path_at(TEXT.find("count").unwrap()).to_string(),
            "peers[0].count"
        );
        assert!(index.contains(&KeyPath::root().key("peers").index(1)));
    }

    #[test]
    fn long_arrays_of_values_point_at_the_array_past_the_first_ones() {
        let text = format!("x = [{}]\n", "1, ".repeat(5000));
        let index = SpanIndex::build(&text);
        let x = KeyPath::root().key("x");
        assert_eq!(
            index.span_of(&x.index(4095)).unwrap().start,
            text.find("1, ").unwrap() + 3 * 4095
        );
        assert_eq!(index.span_of(&x.index(4999)), index.span_of(&x));
    }

    #[test]
    fn a_cursor_agrees_with_line_col_in_any_order() {
        let text = "ab\ncé d\n\nxyz";
        let mut cursor = LineCursor::new(text);
        for offset in [0, 1, 3, 5, 6, 9, 12, 99, 2, 0, 7] {
            assert_eq!(cursor.line_col(offset), line_col(text, offset), "{offset}");
        }
    }

    #[test]
    fn line_col_counts_characters_and_clamps() {
        assert_eq!(line_col("ab\ncé d", 6), (2, 3));
        assert_eq!(line_col("ab\ncé d", 5), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
        assert_eq!(line_col("", 0), (1, 1));
    }
}
