//! The concrete syntax tree. Every byte of the input belongs to exactly one
//! [`Item`]: an instruction (with its continuation lines, comments inside it
//! and heredoc bodies), a comment line, a parser directive or a blank line.

use std::ops::Range;

use crate::text::{LogicalLine, Span};

/// Which instruction a keyword names (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
    /// Not an instruction BuildKit knows.
    Unknown,
}

impl Kind {
    pub fn from_keyword(word: &str) -> Kind {
        match word.to_ascii_lowercase().as_str() {
            "add" => Kind::Add,
            "arg" => Kind::Arg,
            "cmd" => Kind::Cmd,
            "copy" => Kind::Copy,
            "entrypoint" => Kind::Entrypoint,
            "env" => Kind::Env,
            "expose" => Kind::Expose,
            "from" => Kind::From,
            "healthcheck" => Kind::Healthcheck,
            "label" => Kind::Label,
            "maintainer" => Kind::Maintainer,
            "onbuild" => Kind::Onbuild,
            "run" => Kind::Run,
            "shell" => Kind::Shell,
            "stopsignal" => Kind::Stopsignal,
            "user" => Kind::User,
            "volume" => Kind::Volume,
            "workdir" => Kind::Workdir,
            _ => Kind::Unknown,
        }
    }

    /// The canonical upper-case keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Add => "ADD",
            Kind::Arg => "ARG",
            Kind::Cmd => "CMD",
            Kind::Copy => "COPY",
            Kind::Entrypoint => "ENTRYPOINT",
            Kind::Env => "ENV",
            Kind::Expose => "EXPOSE",
            Kind::From => "FROM",
            Kind::Healthcheck => "HEALTHCHECK",
            Kind::Label => "LABEL",
            Kind::Maintainer => "MAINTAINER",
            Kind::Onbuild => "ONBUILD",
            Kind::Run => "RUN",
            Kind::Shell => "SHELL",
            Kind::Stopsignal => "STOPSIGNAL",
            Kind::User => "USER",
            Kind::Volume => "VOLUME",
            Kind::Workdir => "WORKDIR",
            Kind::Unknown => "UNKNOWN",
        }
    }
}

/// A `--name[=value]` flag between the keyword and the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The flag as BuildKit sees it, quotes and escapes processed:
    /// `--mount=type=cache,target=/root/.cache`.
    pub text: String,
    /// Where the flag word is written, in the instruction's logical text.
    pub span: Span,
}

impl Flag {
    /// `mount` for `--mount=…`.
    pub fn name(&self) -> &str {
        let t = self.text.strip_prefix("--").unwrap_or(&self.text);
        t.split_once('=').map_or(t, |(n, _)| n)
    }

    /// The value after `=`, if any.
    pub fn value(&self) -> Option<&str> {
        self.text.split_once('=').map(|(_, v)| v)
    }
}

/// One argument as BuildKit's node chain has it, with its place in the
/// logical text when it is written there (separator nodes such as the `=` of
/// `ENV` pairs have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub value: String,
    pub span: Option<Span>,
}

/// A here-document attached to a `RUN`, `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub fd: u32,
    /// Variables are expanded in the body (the word was not quoted).
    pub expand: bool,
    /// `<<-`: leading tabs are removed from the body.
    pub chomp: bool,
    /// The body exactly as written (line endings included).
    pub content: String,
    /// Source bytes of the body lines.
    pub body: Range<usize>,
    /// Source bytes of the terminator line (without its line ending).
    pub terminator: Range<usize>,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// The keyword as written (`run`, `Cmd`, …).
    pub keyword: String,
    pub kind: Kind,
    pub flags: Vec<Flag>,
    /// BuildKit's arguments (node chain), e.g. `["a", "1", "="]` for `ENV a=1`.
    pub args: Vec<Arg>,
    /// Exec (JSON) form.
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
    /// The trigger instruction of an `ONBUILD`, with spans in this
    /// instruction's logical text.
    pub sub: Option<Box<Instruction>>,
    /// Comment lines BuildKit attaches to this instruction.
    pub prev_comments: Vec<String>,
    pub(crate) prev_comment_ranges: Vec<Range<usize>>,
    /// First and last line (1-based, inclusive; heredoc bodies included).
    pub start_line: usize,
    pub end_line: usize,
    /// Source bytes from the keyword to the end of the last line (line ending
    /// excluded): replacing this keeps the indentation.
    pub span: Range<usize>,
    /// Whole lines, from the start of the first line through the line ending
    /// of the last one.
    pub lines: Range<usize>,
    /// The joined text BuildKit parsed.
    pub line: LogicalLine,
    /// Where the keyword is, in the logical text.
    pub keyword_span: Span,
    /// The argument text after the flags (trimmed), in the logical text.
    pub args_span: Span,
    /// Why BuildKit's instruction layer rejects this instruction.
    pub error: Option<String>,
}

impl Instruction {
    /// The logical argument text after the flags: the shell command of a
    /// shell-form `RUN`, the JSON of an exec form.
    pub fn args_text(&self) -> &str {
        &self.line.text()[self.args_span.clone()]
    }

    /// The logical text of a span.
    pub fn text_of(&self, span: &Span) -> &str {
        &self.line.text()[span.clone()]
    }

    /// Source bytes of a logical span.
    pub fn source_range(&self, span: Span) -> Range<usize> {
        self.line.source_range(span)
    }

    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name() == name)
    }

    pub fn flags_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Flag> + 'a {
        self.flags.iter().filter(move |f| f.name() == name)
    }

    /// Argument values.
    pub fn arg_values(&self) -> Vec<&str> {
        self.args.iter().map(|a| a.value.as_str()).collect()
    }

    /// `KEY=VALUE` pairs of `ENV`, `LABEL` (values with quotes as written)
    /// and `ARG` (value `None` when no default is given).
    pub fn pairs(&self) -> Vec<(String, Option<String>)> {
        match self.kind {
            Kind::Env | Kind::Label => self
                .args
                .chunks(3)
                .filter(|c| c.len() == 3)
                .map(|c| (c[0].value.clone(), Some(c[1].value.clone())))
                .collect(),
            Kind::Arg => self
                .args
                .iter()
                .map(|a| match a.value.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (a.value.clone(), None),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// For `FROM`: the image, and the stage name after `AS`.
    pub fn from_image(&self) -> Option<(&str, Option<&str>)> {
        if self.kind != Kind::From || self.args.is_empty() {
            return None;
        }
        let name = (self.args.len() == 3 && self.args[1].value.eq_ignore_ascii_case("as"))
            .then(|| self.args[2].value.as_str());
        Some((self.args[0].value.as_str(), name))
    }
}

/// A parser directive at the top of the file (`# syntax=…`, `# escape=…`,
/// `# check=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub line: usize,
    pub lines: Range<usize>,
}

/// What a line outside an instruction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriviaKind {
    Comment,
    Blank,
    Directive,
}

/// A comment, blank or directive line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trivia {
    pub kind: TriviaKind,
    /// 1-based line number.
    pub line: usize,
    /// The whole line, line ending included.
    pub lines: Range<usize>,
}

/// Items in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Instruction(&'a Instruction),
    Trivia(&'a Trivia),
}

impl Item<'_> {
    pub fn lines(&self) -> Range<usize> {
        match self {
            Item::Instruction(i) => i.lines.clone(),
            Item::Trivia(t) => t.lines.clone(),
        }
    }
}

/// A parser warning (BuildKit's "Empty continuation line").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// A build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Index of the stage among stages.
    pub index: usize,
    /// Index of the `FROM` in [`Document::instructions`].
    pub from: usize,
    /// Instructions of the stage after the `FROM` (indices).
    pub body: Range<usize>,
    pub base: String,
    /// Lower-cased stage name.
    pub name: Option<String>,
}

/// Line ending style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub(crate) source: Vec<u8>,
    pub instructions: Vec<Instruction>,
    pub trivia: Vec<Trivia>,
    pub directives: Vec<Directive>,
    pub warnings: Vec<Warning>,
    /// The escape character (`\` or `` ` ``).
    pub escape: char,
    pub bom: bool,
    pub line_ending: LineEnding,
    pub(crate) line_starts: Vec<usize>,
    /// [`Document::stage_list`] and the analyses other crates derive from
    /// the document, computed once.
    pub(crate) memo: Memo,
}

/// How many analyses can be memoized on a document (see [`MemoKey`]).
pub const MEMO_SLOTS: usize = 4;

/// An analysis memoized on a [`Document`] by [`Document::memo`]: each key
/// owns one slot; the slots in use are listed here so none is shared.
/// 0: `dockfix_core::walk` stage states; 1: `dockfix_core::runscript`
/// parsed RUN scripts.
pub trait MemoKey: 'static {
    type Value: std::any::Any + Send + Sync;
    const SLOT: usize;
}

/// What is computed once per document: its stages and the [`MemoKey`]
/// slots. Documents are not changed after parsing, so a memo never goes
/// stale. A clone starts empty (it is only a cache); it takes no part in
/// equality or debug output.
#[derive(Default)]
pub struct Memo {
    stages: std::sync::OnceLock<Vec<Stage>>,
    slots: [std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>; MEMO_SLOTS],
}

impl Clone for Memo {
    fn clone(&self) -> Memo {
        Memo::default()
    }
}

impl PartialEq for Memo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Memo {}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Document {
    /// The value of the analysis `K` for this document, computed by `init`
    /// on first use. Documents are not changed after parsing, so a memo
    /// never goes stale.
    pub fn memo<K: MemoKey>(&self, init: impl FnOnce() -> K::Value) -> &K::Value {
        const { assert!(K::SLOT < MEMO_SLOTS) };
        let slot = &self.memo.slots[K::SLOT];
        let value = slot.get_or_init(|| Box::new(init()));
        match value.downcast_ref::<K::Value>() {
            Some(v) => v,
            None => unreachable!("memo slot {} is used by two analyses", K::SLOT),
        }
    }

    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// The source as text (lossy for invalid UTF-8).
    pub fn source_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.source)
    }

    /// Items in file order.
    pub fn items(&self) -> Vec<Item<'_>> {
        let mut items: Vec<Item<'_>> =
            self.instructions.iter().map(Item::Instruction).chain(self.trivia.iter().map(Item::Trivia)).collect();
        items.sort_by_key(|i| i.lines().start);
        items
    }

    /// Reprints the document from its items. Equal to the input byte for
    /// byte: the items tile the file.
    pub fn reprint(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.source.len());
        for item in self.items() {
            out.extend_from_slice(&self.source[item.lines()]);
        }
        out
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = String::from_utf8_lossy(&self.source[start..offset.min(self.source.len())]).chars().count() + 1;
        (line, col)
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.source.len())
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The build stages.
    pub fn stages(&self) -> Vec<Stage> {
        self.stage_list().to_vec()
    }

    /// The build stages, borrowed: computed on first use, then free. Prefer
    /// this in loops (one call per stage or per instruction).
    pub fn stage_list(&self) -> &[Stage] {
        self.memo.stages.get_or_init(|| self.compute_stages())
    }

    fn compute_stages(&self) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for (i, ins) in self.instructions.iter().enumerate() {
            if ins.kind == Kind::From {
                if let Some(last) = stages.last_mut() {
                    last.body.end = i;
                }
                let (base, name) = ins.from_image().map_or(("", None), |(b, n)| (b, n));
                stages.push(Stage {
                    index: stages.len(),
                    from: i,
                    body: i + 1..self.instructions.len(),
                    base: base.to_string(),
                    name: name.map(str::to_ascii_lowercase),
                });
            }
        }
        stages
    }

    /// Index range of the global `ARG`s before the first `FROM`.
    pub fn global_args(&self) -> Range<usize> {
        let end = self.instructions.iter().position(|i| i.kind == Kind::From).unwrap_or(self.instructions.len());
        0..end
    }

    /// The comment lines directly above instruction `idx` (no blank line in
    /// between, directives excluded), as a source range of whole lines.
    pub fn leading_comments(&self, idx: usize) -> Range<usize> {
        let ins = &self.instructions[idx];
        let mut start = ins.lines.start;
        // Trivia are sorted by position: walk back from the last one before the instruction.
        let mut i = self.trivia.partition_point(|t| t.lines.end <= start);
        while i > 0 {
            let t = &self.trivia[i - 1];
            if t.kind == TriviaKind::Comment && t.lines.end == start {
                start = t.lines.start;
                i -= 1;
            } else {
                break;
            }
        }
        start..ins.lines.start
    }

    /// Trivia at a given line, if the line is trivia.
    pub fn trivia_at_line(&self, line: usize) -> Option<&Trivia> {
        self.trivia.binary_search_by_key(&line, |t| t.line).ok().map(|i| &self.trivia[i])
    }

    /// The text of a comment trivia line, `#` and surrounding blanks removed.
    pub fn comment_text(&self, t: &Trivia) -> String {
        let raw = String::from_utf8_lossy(&self.source[t.lines.clone()]);
        let s = raw.trim();
        let s = s.strip_prefix('\u{feff}').unwrap_or(s).trim_start();
        s.strip_prefix('#').unwrap_or(s).trim().to_string()
    }

    /// The value of a parser directive.
    pub fn directive(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }
}
