//! A YAML tree that remembers where things are written, built from
//! yaml-rust2's events. Only what the workflow edits need: keys with their
//! line and column, scalars, whether a collection is written in flow style
//! (`{…}`/`[…]`, which line insertions cannot extend), and aliases (which
//! cannot be edited in place). Nothing is ever re-serialised.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and 0-based column (in characters), as yaml-rust2 counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Pos {
        Pos { line: m.line(), col: m.col() }
    }
}

/// A node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Map {
        flow: bool,
        entries: Vec<Entry>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Scalar {
        value: String,
        pos: Pos,
        plain: bool,
    },
    /// `*name`: the content lives elsewhere.
    Alias {
        pos: Pos,
    },
    Null {
        pos: Pos,
    },
}

/// A mapping entry: its key (as text) and where the key is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub pos: Pos,
    pub value: Node,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }
    pub fn entries(&self) -> &[Entry] {
        match self {
            Node::Map { entries, .. } => entries,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq { items, .. } => items,
            _ => &[],
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
    pub fn is_flow(&self) -> bool {
        matches!(self, Node::Map { flow: true, .. } | Node::Seq { flow: true, .. })
    }
    /// Every scalar under this node (values, not keys), in document order.
    pub fn scalars<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Scalar { value, .. } => out.push(value),
            Node::Map { entries, .. } => entries.iter().for_each(|e| e.value.scalars(out)),
            Node::Seq { items, .. } => items.iter().for_each(|i| i.scalars(out)),
            _ => {}
        }
    }
}

enum Frame {
    Map { flow: bool, entries: Vec<Entry>, key: Option<(String, Pos)> },
    Seq { flow: bool, items: Vec<Node> },
}

struct Builder {
    chars: Vec<char>,
    stack: Vec<Frame>,
    root: Option<Node>,
}

impl Builder {
    fn flow_at(&self, m: Marker, open: char) -> bool {
        self.chars.get(m.index()) == Some(&open)
    }

    fn push(&mut self, node: Node, pos: Pos) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let k = match node {
                        Node::Scalar { value, .. } => value,
                        _ => String::new(),
                    };
                    *key = Some((k, pos));
                }
                Some((k, kpos)) => entries.push(Entry { key: k, pos: kpos, value: node }),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from(mark);
        match ev {
            Event::Scalar(v, style, _, _) => {
                let plain = matches!(style, TScalarStyle::Plain);
                let node = if plain && (v.is_empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") {
                    Node::Null { pos }
                } else {
                    Node::Scalar { value: v, pos, plain }
                };
                self.push(node, pos);
            }
            Event::Alias(_) => self.push(Node::Alias { pos }, pos),
            Event::MappingStart(..) => {
                let flow = self.flow_at(mark, '{');
                self.stack.push(Frame::Map { flow, entries: Vec::new(), key: None });
            }
            Event::SequenceStart(..) => {
                let flow = self.flow_at(mark, '[');
                self.stack.push(Frame::Seq { flow, items: Vec::new() });
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { flow, entries, .. }) = self.stack.pop() {
                    self.push(Node::Map { flow, entries }, pos);
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { flow, items }) = self.stack.pop() {
                    self.push(Node::Seq { flow, items }, pos);
                }
            }
            _ => {}
        }
    }
}

/// Parses the first document of a YAML text.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut b = Builder { chars: text.chars().collect(), stack: Vec::new(), root: None };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| e.to_string())?;
    Ok(b.root.unwrap_or(Node::Null { pos: Pos::default() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_styles() {
        let text = "jobs:\n  b:\n    steps:\n      - uses: a/b@v1\n        with:\n          x: 1\n      - &s {uses: c}\n      - *s\n";
        let root = parse(text).unwrap();
        let steps = root.get("jobs").unwrap().get("b").unwrap().get("steps").unwrap();
        let s0 = &steps.items()[0];
        assert_eq!(s0.entry("uses").unwrap().pos, Pos { line: 4, col: 8 });
        assert_eq!(s0.get("with").unwrap().entry("x").unwrap().pos, Pos { line: 6, col: 10 });
        assert!(!s0.is_flow());
        assert!(steps.items()[1].is_flow());
        assert!(matches!(steps.items()[2], Node::Alias { .. }));
    }

    #[test]
    fn errors_are_returned() {
        assert!(parse("a: [b\n").is_err());
    }
}
