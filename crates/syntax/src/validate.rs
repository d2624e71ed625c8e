//! The checks of BuildKit's instruction layer (`instructions/parse.go`,
//! `bflag.go`) that turn a parsed line into a build error: unknown
//! instructions, flags an instruction does not take or takes badly, and the
//! shape of `FROM`.

use crate::ast::{Instruction, Kind};

#[derive(Clone, Copy, PartialEq)]
enum FlagType {
    Bool,
    String,
    Strings,
}

fn flag_table(kind: Kind) -> Option<&'static [(&'static str, FlagType)]> {
    use FlagType::*;
    Some(match kind {
        Kind::Add => &[
            ("chown", String),
            ("chmod", String),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", String),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
        Kind::Copy => &[
            ("chown", String),
            ("from", String),
            ("chmod", String),
            ("link", Bool),
            ("exclude", Strings),
            ("parents", Bool),
        ],
        Kind::From => &[("platform", String)],
        Kind::Run => &[("device", Strings), ("mount", Strings), ("network", String), ("security", String)],
        Kind::Healthcheck => &[
            ("interval", String),
            ("timeout", String),
            ("start-period", String),
            ("start-interval", String),
            ("retries", String),
        ],
        // Instructions that parse flags but define none.
        Kind::Env
        | Kind::Maintainer
        | Kind::Label
        | Kind::Onbuild
        | Kind::Workdir
        | Kind::Cmd
        | Kind::Entrypoint
        | Kind::Expose
        | Kind::User
        | Kind::Volume
        | Kind::Shell => &[],
        // ARG and STOPSIGNAL never look at their flags.
        Kind::Arg | Kind::Stopsignal | Kind::Unknown => return None,
    })
}

/// `BFlags.Parse`.
fn check_flags(ins: &Instruction) -> Result<(), String> {
    let Some(table) = flag_table(ins.kind) else {
        return Ok(());
    };
    if ins.kind == Kind::Healthcheck && ins.args.first().is_some_and(|a| a.value.eq_ignore_ascii_case("none")) {
        return Ok(());
    }
    let mut used: Vec<&str> = Vec::new();
    for f in &ins.flags {
        let a = f.text.as_str();
        if a == "--" {
            return Ok(());
        }
        let Some(stripped) = a.strip_prefix("--") else {
            return Err(format!("arg should start with -- : {a}"));
        };
        let (name, value) = match stripped.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (stripped, None),
        };
        let flag_name = format!("--{name}");
        let Some(&(_, ty)) = table.iter().find(|(n, _)| *n == name) else {
            return Err(format!("unknown flag: {flag_name}"));
        };
        if used.contains(&name) && ty != FlagType::Strings {
            return Err(format!("duplicate flag specified: {flag_name}"));
        }
        used.push(name);
        match ty {
            FlagType::Bool => match value {
                Some("") => return Err(format!("missing a value on flag: {flag_name}")),
                None => {}
                Some(v) if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") => {}
                Some(v) => return Err(format!("expecting boolean value for flag {flag_name}, not: {v}")),
            },
            FlagType::String | FlagType::Strings => {
                if value.is_none() {
                    return Err(format!("missing a value on flag: {flag_name}"));
                }
            }
        }
    }
    Ok(())
}

fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// The instruction-level error BuildKit reports for this instruction, if any.
pub(crate) fn validate(ins: &Instruction) -> Option<String> {
    if ins.kind == Kind::Unknown {
        return Some(format!("unknown instruction: {}", ins.keyword));
    }
    if ins.kind == Kind::From {
        let args = &ins.args;
        if args.len() == 3 && args[1].value.eq_ignore_ascii_case("as") {
            if !is_valid_stage_name(&args[2].value.to_ascii_lowercase()) {
                return Some(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    crate::text::go_quote(args[2].value.as_bytes())
                ));
            }
        } else if args.len() != 1 {
            return Some("FROM requires either one or three arguments".into());
        }
    }
    if let Err(e) = check_flags(ins) {
        return Some(e);
    }
    // BuildKit's instruction layer (parseCopy/parseAdd): a source and a
    // destination at least (`<<EOF` is an argument like any source).
    if matches!(ins.kind, Kind::Copy | Kind::Add) && ins.args.len() < 2 {
        let kw = ins.keyword.to_ascii_uppercase();
        return Some(format!(
            "{kw} requires at least two arguments, but only one was provided. Destination could not be determined"
        ));
    }
    if ins.kind == Kind::Onbuild {
        if let Some(sub) = &ins.sub {
            match sub.keyword.to_ascii_uppercase().as_str() {
                "ONBUILD" => return Some("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
                k @ ("MAINTAINER" | "FROM") => return Some(format!("{k} isn't allowed as an ONBUILD trigger")),
                _ => {}
            }
        }
    }
    if ins.kind == Kind::Run {
        for f in &ins.flags {
            match (f.name(), f.value()) {
                ("network", Some(v)) if !matches!(v, "default" | "none" | "host") => {
                    return Some(format!("invalid network mode {}", crate::text::go_quote(v.as_bytes())))
                }
                ("security", Some(v)) if !matches!(v, "sandbox" | "insecure") => {
                    return Some(format!("security {} is not valid", crate::text::go_quote(v.as_bytes())))
                }
                _ => {}
            }
        }
    }
    None
}
