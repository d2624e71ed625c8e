//! Shell form → exec form, only where the two mean the same.
//!
//! A shell-form `CMD`, `ENTRYPOINT` or `HEALTHCHECK CMD` runs
//! `/bin/sh -c "<text>"`. On an image without a shell (distroless,
//! `scratch`) it cannot start. When the text is one plain command (words
//! without variables, globs, redirections, pipes, command lists, escapes or
//! quotes whose content a shell would change), the exec form with the same
//! words starts the same program with the same arguments. A leading `exec`
//! is dropped: it only replaced the shell by the program.

/// Shell builtins and keywords: the exec form cannot run them.
const BUILTINS: &[&str] = &[
    "cd", "export", "set", "unset", ".", "source", "if", "then", "for", "while", "until", "case", "eval", "trap",
    "ulimit", "umask", "alias", "shift", "read", "wait", "local", "readonly", "exit", "return", ":", "{", "!",
    "command", "builtin", "type", "hash",
];

/// The words of a shell-form command, or why it needs a shell.
pub fn exec_words(script: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = script.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("has an unterminated quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(ch @ ('$' | '`' | '\\')) => {
                            return Err(format!("uses `{ch}` inside double quotes, which the shell expands"))
                        }
                        Some(ch) => cur.push(ch),
                        None => return Err("has an unterminated quote".into()),
                    }
                }
            }
            '$' | '`' => {
                return Err(format!("uses `{c}` (a variable or a command substitution, which only a shell expands)"))
            }
            '\\' => return Err("uses `\\` escapes".into()),
            '&' | ';' => return Err(format!("uses `{c}` (several commands, or one in the background)")),
            '|' => return Err("uses `|` (a pipeline or `||`)".into()),
            '<' | '>' => return Err(format!("uses `{c}` (a redirection)")),
            '*' | '?' | '[' | ']' => return Err(format!("uses `{c}` (a glob the shell expands)")),
            '(' | ')' | '{' | '}' => return Err(format!("uses `{c}` (shell grouping)")),
            '~' => return Err("uses `~` (the shell expands it to a home directory)".into()),
            '#' => return Err("uses `#` (a comment for the shell)".into()),
            '!' => return Err("uses `!`".into()),
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.first().is_some_and(|w| w == "exec") {
        words.remove(0);
        if words.first().is_some_and(|w| w.starts_with('-')) {
            return Err("uses `exec` with options".into());
        }
    }
    let Some(first) = words.first() else { return Err("runs no command".into()) };
    if first.contains('=') && !first.starts_with('=') {
        return Err(format!("sets a variable for the command (`{first}`)"));
    }
    if BUILTINS.contains(&first.as_str()) {
        return Err(format!("runs the shell builtin `{first}`"));
    }
    Ok(words)
}

/// A JSON array of strings, the exec form's text (`["a", "b"]`).
pub fn json_array(words: &[String]) -> String {
    let items: Vec<String> = words.iter().map(|w| json_string(w)).collect();
    format!("[{}]", items.join(", "))
}

fn json_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        json_array(&exec_words(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    #[test]
    fn plain_commands_convert() {
        assert_eq!(ok("gunicorn --bind 0.0.0.0:8000 app:app"), r#"["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]"#);
        assert_eq!(ok("exec /app/server  -v"), r#"["/app/server", "-v"]"#);
        assert_eq!(ok(r#"python -c "import sys; sys.exit(0)""#), r#"["python", "-c", "import sys; sys.exit(0)"]"#);
        assert_eq!(ok("echo 'a $b'"), r#"["echo", "a $b"]"#);
        assert_eq!(ok("prog --name=x"), r#"["prog", "--name=x"]"#);
    }

    #[test]
    fn shell_syntax_refuses() {
        for s in [
            "app --port $PORT",
            "a && b",
            "a; b",
            "a | b",
            "a > /log",
            "a *.conf",
            "A=1 app",
            "cd /x",
            r#"python -c "print($X)""#,
            "a 'unterminated",
            "",
            "exec",
            "app ~/x",
        ] {
            assert!(exec_words(s).is_err(), "{s}");
        }
    }
}
