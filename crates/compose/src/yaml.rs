//! A YAML tree with line numbers, built from yaml-rust2's event parser, with
//! anchors, aliases and `<<` merge keys resolved (compose files use them).

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Map(Vec<Entry>),
    Seq(Vec<Node>),
    Scalar(String),
    Null,
}

/// A mapping entry and where its key is (1-based line, 0-based column).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub line: usize,
    pub col: usize,
    pub value: Node,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match self {
            Node::Map(es) => es.iter().find(|e| e.key == key),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
    pub fn entries(&self) -> &[Entry] {
        match self {
            Node::Map(es) => es,
            _ => &[],
        }
    }
    /// Strings of a sequence, or the keys of a mapping (`depends_on` has both forms).
    pub fn names(&self) -> Vec<String> {
        match self {
            Node::Seq(v) => v.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
            Node::Map(es) => es.iter().map(|e| e.key.clone()).collect(),
            Node::Scalar(s) => vec![s.clone()],
            Node::Null => Vec::new(),
        }
    }
}

enum Frame {
    Map { entries: Vec<Entry>, pending_key: Option<(String, Marker)>, anchor: usize, merges: Vec<Node> },
    Seq { items: Vec<Node>, anchor: usize },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, Node>,
    root: Option<Node>,
    key_marker: Option<Marker>,
}

impl Builder {
    fn push_value(&mut self, node: Node, anchor: usize, marker: Marker) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, pending_key, merges, .. }) => match pending_key.take() {
                None => {
                    let key = match node {
                        Node::Scalar(s) => s,
                        Node::Null => String::new(),
                        other => format!("{other:?}"),
                    };
                    *pending_key = Some((key, self.key_marker.take().unwrap_or(marker)));
                }
                Some((key, m)) => {
                    if key == "<<" {
                        match node {
                            Node::Seq(v) => merges.extend(v),
                            n => merges.push(n),
                        }
                    } else {
                        entries.push(Entry { key, line: m.line(), col: m.col(), value: node });
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        // The marker of a scalar that becomes a key.
        let expecting_key = matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. }));
        match ev {
            Event::Scalar(v, style, anchor, _) => {
                if expecting_key {
                    self.key_marker = Some(mark);
                }
                let plain = matches!(style, yaml_rust2::scanner::TScalarStyle::Plain);
                let node = if plain && (v.is_empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") {
                    Node::Null
                } else {
                    Node::Scalar(v)
                };
                self.push_value(node, anchor, mark);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node::Null);
                if expecting_key {
                    self.key_marker = Some(mark);
                }
                self.push_value(node, 0, mark);
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { entries: Vec::new(), pending_key: None, anchor, merges: Vec::new() })
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { items: Vec::new(), anchor }),
            Event::MappingEnd => {
                if let Some(Frame::Map { mut entries, anchor, merges, .. }) = self.stack.pop() {
                    for m in merges {
                        for e in m.entries() {
                            if !entries.iter().any(|x| x.key == e.key) {
                                entries.push(e.clone());
                            }
                        }
                    }
                    self.push_value(Node::Map(entries), anchor, mark);
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor }) = self.stack.pop() {
                    self.push_value(Node::Seq(items), anchor, mark);
                }
            }
            _ => {}
        }
    }
}

/// Parses the first document of a YAML text.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut b = Builder { stack: Vec::new(), anchors: BTreeMap::new(), root: None, key_marker: None };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| e.to_string())?;
    Ok(b.root.unwrap_or(Node::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_with_lines_and_merges() {
        let text = "x-build: &b\n  context: ./api\n  args:\n    A: 1\nservices:\n  api:\n    build:\n      <<: *b\n      dockerfile: Dockerfile.prod\n    ports: [\"80:80\"]\n  lint:\n    build: .\n";
        let root = parse(text).unwrap();
        let services = root.get("services").unwrap();
        let api = services.entry("api").unwrap();
        assert_eq!((api.line, api.col), (6, 2));
        let build = api.value.get("build").unwrap();
        assert_eq!(build.get("context").and_then(Node::as_str), Some("./api"));
        assert_eq!(build.get("dockerfile").and_then(Node::as_str), Some("Dockerfile.prod"));
        assert_eq!(services.entry("lint").unwrap().line, 11);
        assert_eq!(services.get("lint").unwrap().get("build").unwrap().as_str(), Some("."));
    }
}
