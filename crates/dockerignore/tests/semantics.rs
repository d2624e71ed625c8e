//! Table-driven tests of Docker's `.dockerignore` semantics: reading the
//! file, matching one pattern, the last-match-wins order with exceptions,
//! and the directory rules of BuildKit's context walker.

use dockfix_dockerignore::{read_lines, Error, Matcher};

fn lines(text: &str) -> Vec<String> {
    read_lines(text.as_bytes()).unwrap().into_iter().map(|l| l.text).collect()
}

#[test]
fn reading_the_file() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("\n\n  \n\t\n", &[]),
        ("# comment\nfoo\n", &["foo"]),
        // Only a `#` in the first column starts a comment.
        ("  # not a comment\n", &["# not a comment"]),
        ("\u{feff}# comment after a BOM\nx", &["x"]),
        ("\u{feff}x", &["x"]),
        ("./foo/\n", &["foo"]),
        ("/bar\n", &["bar"]),
        ("//bar//baz/\n", &["bar/baz"]),
        ("!/baz/\n", &["!baz"]),
        ("! qux \n", &["!qux"]),
        ("!./a/../b\n", &["!b"]),
        ("a/../b\n", &["b"]),
        ("a/..\n", &["."]),
        ("../x\n", &["../x"]),
        ("/\n", &["/"]),
        ("/..\n", &["/"]),
        ("!\n", &["!"]),
        ("foo\r\nbar\r\n", &["foo", "bar"]),
        ("\tfoo \t\nlast-without-newline", &["foo", "last-without-newline"]),
        ("**/*.pyc\n!keep.pyc\n", &["**/*.pyc", "!keep.pyc"]),
        ("a b\n", &["a b"]),
    ];
    for (text, want) in cases {
        assert_eq!(lines(text), *want, "reading {text:?}");
    }
    let l = read_lines(b"# c\n\nfoo\n  \nbar").unwrap();
    assert_eq!(l.iter().map(|l| l.line).collect::<Vec<_>>(), [3, 5]);
}

type Expect = fn(&Error) -> bool;

#[test]
fn refused_files() {
    let cases: &[(&str, Expect)] = &[
        ("!\n", |e| matches!(e, Error::IllegalExclusion { line: 1 })),
        ("ok\n! \n", |e| matches!(e, Error::IllegalExclusion { line: 2 })),
        // `!/` cleans to `!/`, which patternmatcher cleans again to `!`.
        ("!/\n", |e| matches!(e, Error::IllegalExclusion { line: 1 })),
        ("[\n", |e| matches!(e, Error::BadPattern { line: 1, .. })),
        ("a[\n", |e| matches!(e, Error::BadPattern { .. })),
        ("[]a]\n", |e| matches!(e, Error::BadPattern { .. })),
        ("[-x]\n", |e| matches!(e, Error::BadPattern { .. })),
        ("[x-]\n", |e| matches!(e, Error::BadPattern { .. })),
        ("[a-b-c]\n", |e| matches!(e, Error::BadPattern { .. })),
        ("foo\\\n", |e| matches!(e, Error::BadPattern { .. })),
        // Fine for filepath.Match, but the regular expression does not
        // compile (moby/moby#52203): BuildKit fails the build.
        ("[Local-Only]/\n", |e| matches!(e, Error::BadPattern { .. })),
        ("\\e\n", |e| matches!(e, Error::BadPattern { .. })),
        ("\\pN\n", |e| matches!(e, Error::Unsupported { .. })),
    ];
    for (text, ok) in cases {
        let err = Matcher::parse(text.as_bytes()).expect_err(text);
        assert!(ok(&err), "{text:?}: {err:?}");
    }
    let long = format!("{}\n", "a".repeat(70_000));
    assert!(matches!(Matcher::parse(long.as_bytes()), Err(Error::LineTooLong { line: 1 })));
}

/// One pattern against one path: does the pattern, with the parent rule
/// (`MatchesOrParentMatches`), match?
#[test]
fn one_pattern() {
    let cases: &[(&str, &str, bool)] = &[
        // `*` and `?` stop at `/`; the parent rule extends a match to what
        // is below.
        ("*", "file", true),
        ("*", "dir/file", true),
        ("*.go", "file.go", true),
        ("*.go", "dir/file.go", false),
        ("a*", "ab/c", true),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a?b", "a/b", false),
        ("a?b", "a☺b", true),
        ("*/temp*", "a/temporary", true),
        ("*/temp*", "temp", false),
        ("temp?", "temp1", true),
        ("temp?", "temp/x", false),
        // Classes.
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "ae", false),
        ("a[^b-d]e", "aze", true),
        ("ab[^c]", "abc", false),
        ("[a-ζ]*", "α", true),
        ("[\\]a]", "]", true),
        ("[x\\-]", "-", true),
        // Escapes.
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("a\\\\", "a\\", true),
        // Regular-expression characters are literal.
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true),
        // `**`: any number of directories, none included.
        ("**", "file", true),
        ("**", "dir/file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def/ghi", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("**/__pycache__", "a/b/__pycache__/x.pyc", true),
        ("**/*.pyc", "pkg/mod.pyc", true),
        // patternmatcher quirks, kept because BuildKit has them.
        // `**name` is a plain suffix test: it also matches `dir/prefixname`.
        ("**file", "dir/afile", true),
        ("**file", "file", true),
        // `^` does not change an exact pattern...
        ("a^b", "a^b", true),
        // ...but is an anchor inside a regular expression.
        ("a^b*", "a^bc", false),
        // `\d` reaches the regular expression as a digit class.
        ("\\d", "7", true),
        ("\\d", "d", false),
        // `[*]` becomes `[[^/]*]`: a class of `[`, `^`, `/`, then `]`.
        ("[*]", "*", false),
        ("[*]", "]", true),
        // `**` does not cross a newline (`.` in RE2), `*` does.
        ("**/x", "a\nb/x", true),
        ("a/**/x", "a/b\nc/x", false),
        ("a*", "a\nb", true),
    ];
    for &(pattern, path, want) in cases {
        let m = Matcher::new(&[pattern]).unwrap_or_else(|e| panic!("{pattern:?}: {e}"));
        assert_eq!(m.matches_or_parent_matches(path), want, "pattern {pattern:?} on {path:?}");
        // With a single pattern and no exception, the walker agrees.
        assert_eq!(m.is_excluded(path), want, "walker: pattern {pattern:?} on {path:?}");
    }
}

/// Several patterns: `!` exceptions and last-match-wins, as the context
/// walker decides. `(patterns, path, excluded)`.
#[test]
fn pattern_lists() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!x.go", "x.go"], "x.go", true),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
        (&["docs", "!docs/README.md"], "docs", true),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (&["**", "!util/docker/web"], "util/docker/other", true),
        (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true),
        (&["**", "!dist/*.whl"], "dist/a-1.0-py3-none-any.whl", false),
        (&["*", "!src", "!package.json"], "src/index.js", false),
        (&["*", "!src", "!package.json"], "package.json", false),
        (&["*", "!src", "!package.json"], "tsconfig.json", true),
        (&["foo*", "!foo/bar2"], "foo/bar2", false),
        (&["foo*", "!foo/bar2"], "foo2", true),
        (&["foo*", "!foo/bar2"], "bar", false),
        (&["**/bar", "!foo/bar/baz"], "foo/bar/baz", false),
        (&["**/bar", "!foo/bar/baz"], "foo/bar/qux", true),
        (&["node_modules", "!node_modules/keep.js"], "node_modules/keep.js", false),
        (&["node_modules", "!node_modules/keep.js"], "node_modules/pkg/index.js", true),
        // An exception with a wildcard lets the walker enter every excluded
        // directory, but `*.md` only matches at the root.
        (&["build", "!*.md"], "build/README.md", true),
        (&["build", "!**/*.md"], "build/README.md", false),
        // Re-excluding below a re-included directory.
        (&["*", "!src", "src/**/*.test.js"], "src/a/x.test.js", true),
        (&["*", "!src", "src/**/*.test.js"], "src/a/x.js", false),
        // The walker's answer where MatchesOrParentMatches differs: the
        // exception `!a` was skipped for `a` (nothing matched it yet) and is
        // then only tried against `a/b` itself.
        (&["a/b", "!a"], "a/b", true),
        (&["a/b", "!a"], "a/b/c", true),
        (&["a/b", "!a"], "a/c", false),
        (&["*/*", "!a"], "a/b", true),
        (&["*/*", "!a", "!a/**"], "a/b", false),
        (&["*/*", "!a", "!a/**"], "a/b/c", false),
    ];
    for &(patterns, path, want) in cases {
        let m = Matcher::new(patterns).unwrap_or_else(|e| panic!("{patterns:?}: {e}"));
        assert_eq!(m.is_excluded(path), want, "patterns {patterns:?} on {path:?}");
    }
    // The two semantics side by side.
    let m = Matcher::new(&["a/b", "!a"]).unwrap();
    assert!(m.is_excluded("a/b"));
    assert!(!m.matches_or_parent_matches("a/b"));
}

#[test]
fn entering_excluded_directories() {
    // (patterns, directory, could an exception re-include something below it)
    let cases: &[(&[&str], &str, bool)] = &[
        (&["build"], "build", false),
        (&["build", "!build/keep"], "build", true),
        (&["build", "!build/keep"], "other", false),
        (&["build", "!build/keep/**"], "build", true),
        (&["build", "!build/keep/*"], "build/keep", true),
        (&["*", "!src"], "src", true),
        (&["*", "!src"], "srcs", false),
        (&["build", "!*.md"], "anything", true),
        (&["build", "!a/b?"], "x", true),
        (&["a/b/c", "!a"], "a/b/c", false),
        (&["a", "!a/b/c"], "a", true),
        (&["a", "!a/b/c"], "a/b", true),
        (&["a", "!a/b/c"], "a/bc", false),
    ];
    for &(patterns, dir, want) in cases {
        let m = Matcher::new(patterns).unwrap();
        assert_eq!(m.could_reinclude_under(dir), want, "patterns {patterns:?} under {dir:?}");
    }

    // Walking: an excluded directory that nothing can re-include is not
    // entered, so everything below it is excluded whatever follows.
    let m = Matcher::new(&["node_modules"]).unwrap();
    let v = m.visit(None, "node_modules", true);
    assert!(v.excluded && !v.descend);
    assert!(m.visit_path("node_modules/a/b", false).is_none());
    assert!(m.is_excluded("node_modules/a/b"));

    let m = Matcher::new(&["node_modules", "!node_modules/keep"]).unwrap();
    let top = m.visit(None, "node_modules", true);
    assert!(top.excluded && top.descend);
    let keep = m.visit(Some(&top), "node_modules/keep", true);
    assert!(!keep.excluded && keep.reincluded);
    let inner = m.visit(Some(&keep), "node_modules/keep/x.js", false);
    assert!(!inner.excluded && inner.reincluded);
    let other = m.visit(Some(&top), "node_modules/other", false);
    assert!(other.excluded && !other.reincluded);
}

#[test]
fn paths_are_context_relative() {
    let m = Matcher::parse(b"/.git\n./node_modules/\n").unwrap();
    for p in [".git", "/.git/HEAD", "./node_modules/x", "node_modules"] {
        assert!(m.is_excluded(p), "{p}");
    }
    for p in ["", ".", "/", "src/.git", "a/node_modules"] {
        assert!(!m.is_excluded(p), "{p}");
    }
}

#[test]
fn appending_keeps_earlier_patterns() {
    let m = Matcher::parse(b"node_modules\n!node_modules/keep.js\n").unwrap();
    assert!(!m.is_excluded("node_modules/keep.js"));
    // Appending an exclusion after an exception overrides it: callers must
    // check for that (last match wins).
    let m2 = m.appended(&["**/*.js"]).unwrap();
    assert!(m2.is_excluded("node_modules/keep.js"));
    assert_eq!(m2.patterns().len(), 3);
    assert_eq!(m2.patterns()[2].line(), 3);
    assert!(m2.appended(&["!"]).is_err());
}
