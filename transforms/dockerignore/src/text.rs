//! Sizes for people and the text appended to an ignore file.

/// `678 B`, `1.2 kB`, `12.3 MB`, `1.05 GB` (decimal units, as Docker prints).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    // 999.5 and up would print as 1000: use the next unit.
    while v >= 999.5 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    let u = UNITS[unit];
    if v < 9.995 {
        format!("{v:.2} {u}")
    } else if v < 99.95 {
        format!("{v:.1} {u}")
    } else {
        format!("{v:.0} {u}")
    }
}

/// The first line of a file dockfix creates.
pub const HEADER: &str = "# Kept out of the build context (see `dockfix explain dockerignore`)";

/// Text to append to an ignore file (`existing` is its current content,
/// empty for a new file): a blank line before, then each group as a
/// comment line and its patterns. Keeps the file's line endings.
pub fn append(existing: &[u8], groups: &[(String, Vec<String>)]) -> String {
    let eol = if existing.windows(2).any(|w| w == b"\r\n") { "\r\n" } else { "\n" };
    let blank = existing.iter().all(u8::is_ascii_whitespace);
    let mut out = String::new();
    if blank {
        if existing.is_empty() {
            out.push_str(HEADER);
            out.push_str(eol);
            out.push_str(eol);
        } else if !existing.ends_with(b"\n") {
            out.push_str(eol);
        }
    } else {
        if !existing.ends_with(b"\n") {
            out.push_str(eol);
        }
        // A blank line between the user's last pattern and ours.
        let body = existing.strip_suffix(b"\n").unwrap_or(existing);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
        if !last.iter().all(u8::is_ascii_whitespace) {
            out.push_str(eol);
        }
    }
    for (k, (title, lines)) in groups.iter().enumerate() {
        if k > 0 {
            out.push_str(eol);
        }
        out.push_str("# ");
        out.push_str(title);
        out.push_str(eol);
        for l in lines {
            out.push_str(l);
            out.push_str(eol);
        }
    }
    out
}

/// `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `a, b, c and 4 more`.
pub fn short_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return and_list(items);
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (b, s) in [
            (0, "0 B"),
            (678, "678 B"),
            (1_000, "1.00 kB"),
            (1_234, "1.23 kB"),
            (12_345_678, "12.3 MB"),
            (999_960, "1.00 MB"),
            (1_050_000_000, "1.05 GB"),
            (20_000_000_000, "20.0 GB"),
            (450_000_000, "450 MB"),
        ] {
            assert_eq!(size(b), s, "{b}");
        }
    }

    #[test]
    fn appended_text() {
        let g = vec![("Logs".to_string(), vec!["**/*.log".to_string()])];
        assert_eq!(append(b"", &g), format!("{HEADER}\n\n# Logs\n**/*.log\n"));
        assert_eq!(append(b".git\n", &g), "\n# Logs\n**/*.log\n");
        assert_eq!(append(b".git", &g), "\n\n# Logs\n**/*.log\n");
        assert_eq!(append(b".git\n\n", &g), "# Logs\n**/*.log\n");
        assert_eq!(append(b".git\r\n", &g), "\r\n# Logs\r\n**/*.log\r\n");
        let two = vec![g[0].clone(), ("Secrets".to_string(), vec![".env".to_string()])];
        assert_eq!(append(b"x\n", &two), "\n# Logs\n**/*.log\n\n# Secrets\n.env\n");
        assert_eq!(short_list(&["a".into(), "b".into(), "c".into()], 2), "a, b and 1 more");
        assert_eq!(and_list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
