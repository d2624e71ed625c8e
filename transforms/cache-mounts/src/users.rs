//! Who runs a RUN: root, or a user with (maybe) a known uid, gid and home —
//! from `USER`, the users the Dockerfile creates (`useradd`, `adduser`) and
//! the users official base images ship.

use std::collections::BTreeMap;

use dockfix_core::knowledge::ImageDefaults;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<String>,
}

/// The user of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    Root,
    Other { name: String, account: Account },
}

impl User {
    /// The home directory (`HOME` is set from it when ENV does not).
    pub fn home(&self) -> Option<String> {
        match self {
            User::Root => Some("/root".into()),
            User::Other { account, .. } => account.home.clone(),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            User::Root => "root",
            User::Other { name, .. } => name,
        }
    }
}

/// Users and groups known from the Dockerfile and the base image.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: BTreeMap<String, Account>,
    groups: BTreeMap<String, u32>,
}

impl Accounts {
    pub fn from_image(image: Option<&ImageDefaults>) -> Accounts {
        let mut a = Accounts::default();
        if let Some(img) = image {
            for u in img.users {
                a.users.insert(
                    u.name.to_string(),
                    Account { uid: Some(u.uid), gid: Some(u.gid), home: Some(u.home.to_string()) },
                );
                a.groups.insert(u.name.to_string(), u.gid);
            }
        }
        a
    }

    /// Learns from one command (`useradd`, `adduser`, `groupadd`, `addgroup`).
    pub fn learn(&mut self, words: &[&str]) {
        let Some(prog) = words.first().map(|w| w.rsplit('/').next().unwrap_or(w)) else { return };
        let args = &words[1..];
        match prog {
            "groupadd" | "addgroup" => {
                let (opts, pos) = options(args, &["-g", "--gid", "-K", "--key", "-p", "--password"]);
                if let (Some(name), Some(gid)) = (pos.last(), opt(&opts, &["-g", "--gid"])) {
                    if let Ok(g) = gid.parse() {
                        self.groups.insert(name.to_string(), g);
                    }
                }
            }
            "useradd" => {
                let (opts, pos) = options(
                    args,
                    &[
                        "-u",
                        "--uid",
                        "-g",
                        "--gid",
                        "-d",
                        "--home-dir",
                        "-s",
                        "--shell",
                        "-c",
                        "--comment",
                        "-G",
                        "--groups",
                        "-k",
                        "--skel",
                        "-e",
                        "--expiredate",
                        "-f",
                        "--inactive",
                        "-b",
                        "--base-dir",
                        "-K",
                        "--key",
                        "-p",
                        "--password",
                        "-R",
                        "--root",
                        "-Z",
                        "--selinux-user",
                    ],
                );
                let Some(name) = pos.last() else { return };
                let base = opt(&opts, &["-b", "--base-dir"]).unwrap_or("/home");
                let home = opt(&opts, &["-d", "--home-dir"]).map(str::to_string).unwrap_or(format!("{base}/{name}"));
                let uid = opt(&opts, &["-u", "--uid"]).and_then(|u| u.parse().ok());
                let gid = opt(&opts, &["-g", "--gid"]).and_then(|g| self.gid_of(g));
                let user_group = !opts.iter().any(|(k, _)| *k == "-N" || *k == "--no-user-group");
                let gid = gid.or_else(|| {
                    // A new group of the user's name gets the uid when free;
                    // not certain, so only when the group was created first.
                    if user_group {
                        self.groups.get(*name).copied()
                    } else {
                        None
                    }
                });
                self.users.insert(name.to_string(), Account { uid, gid, home: Some(home) });
            }
            "adduser" => {
                let debian = args.iter().any(|a| a.starts_with("--"));
                if debian {
                    let (opts, pos) = options(
                        args,
                        &[
                            "--uid",
                            "--gid",
                            "--home",
                            "--shell",
                            "--gecos",
                            "--ingroup",
                            "--firstuid",
                            "--lastuid",
                            "--conf",
                            "--comment",
                            "--add-extra-groups",
                        ],
                    );
                    if pos.len() != 1 {
                        return; // `adduser user group` adds to a group
                    }
                    let name = pos[0];
                    let system = opts.iter().any(|(k, _)| *k == "--system");
                    let home = opt(&opts, &["--home"])
                        .map(str::to_string)
                        .or_else(|| (!system).then(|| format!("/home/{name}")));
                    let uid = opt(&opts, &["--uid"]).and_then(|u| u.parse().ok());
                    let gid = opt(&opts, &["--gid"])
                        .and_then(|g| g.parse().ok())
                        .or_else(|| opt(&opts, &["--ingroup"]).and_then(|g| self.gid_of(g)));
                    self.users.insert(name.to_string(), Account { uid, gid, home });
                } else {
                    // BusyBox / Alpine.
                    let (opts, pos) = options(args, &["-h", "-g", "-s", "-G", "-u", "-k"]);
                    let Some(name) = pos.first() else { return };
                    let home = opt(&opts, &["-h"]).map(str::to_string).unwrap_or(format!("/home/{name}"));
                    let uid = opt(&opts, &["-u"]).and_then(|u| u.parse().ok());
                    let gid = opt(&opts, &["-G"]).and_then(|g| self.gid_of(g));
                    self.users.insert(name.to_string(), Account { uid, gid, home: Some(home) });
                }
            }
            _ => {}
        }
    }

    fn gid_of(&self, g: &str) -> Option<u32> {
        g.parse().ok().or_else(|| self.groups.get(g).copied())
    }

    /// Resolves a `USER` value (`name`, `uid`, `name:group`, `uid:gid`).
    pub fn resolve(&self, user: Option<&str>) -> Option<User> {
        let Some(u) = user else { return Some(User::Root) };
        if u.contains('$') {
            return None;
        }
        let (name, group) = match u.split_once(':') {
            Some((n, g)) => (n, Some(g)),
            None => (u, None),
        };
        if name == "root" || name == "0" {
            return Some(User::Root);
        }
        let mut account = match name.parse::<u32>() {
            Ok(uid) => self
                .users
                .values()
                .find(|a| a.uid == Some(uid))
                .cloned()
                .map(|a| Account { uid: Some(uid), ..a })
                .unwrap_or(Account { uid: Some(uid), gid: None, home: None }),
            Err(_) => self.users.get(name).cloned().unwrap_or_default(),
        };
        if let Some(g) = group {
            account.gid = self.gid_of(g);
        }
        Some(User::Other { name: name.to_string(), account })
    }
}

/// Splits options (with the value of those in `valued`) from positionals.
fn options<'a>(args: &[&'a str], valued: &[&'a str]) -> (Vec<(&'a str, Option<&'a str>)>, Vec<&'a str>) {
    let mut opts = Vec::new();
    let mut pos = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if a.starts_with('-') && a.len() > 1 {
            if let Some((k, v)) = a.split_once('=').filter(|(k, _)| k.starts_with("--")) {
                opts.push((k, Some(v)));
            } else if valued.contains(&a) {
                opts.push((a, args.get(i + 1).copied()));
                i += 1;
            } else if let Some(k) = valued.iter().find(|k| k.len() == 2 && a.starts_with(**k) && a.len() > 2) {
                opts.push((k, Some(&a[2..])));
            } else {
                opts.push((a, None));
            }
        } else {
            pos.push(a);
        }
        i += 1;
    }
    (opts, pos)
}

fn opt<'a>(opts: &[(&str, Option<&'a str>)], names: &[&str]) -> Option<&'a str> {
    opts.iter().rev().find(|(k, _)| names.contains(k)).and_then(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_users() {
        let mut a = Accounts::default();
        a.learn(&["groupadd", "-g", "1001", "app"]);
        a.learn(&["useradd", "-m", "-u", "1001", "-g", "app", "app"]);
        a.learn(&["adduser", "--system", "--uid", "999", "svc"]);
        a.learn(&["adduser", "-D", "-u", "2000", "-h", "/srv", "web"]);
        a.learn(&["useradd", "plain"]);
        let app = a.resolve(Some("app")).unwrap();
        assert_eq!(
            app,
            User::Other {
                name: "app".into(),
                account: Account { uid: Some(1001), gid: Some(1001), home: Some("/home/app".into()) }
            }
        );
        assert_eq!(a.resolve(Some("1001")).unwrap().home().as_deref(), Some("/home/app"));
        assert_eq!(a.resolve(Some("svc")).unwrap().home(), None);
        assert_eq!(
            a.resolve(Some("web:0")).unwrap(),
            User::Other {
                name: "web".into(),
                account: Account { uid: Some(2000), gid: Some(0), home: Some("/srv".into()) }
            }
        );
        assert_eq!(a.resolve(Some("plain")).unwrap().home().as_deref(), Some("/home/plain"));
        assert_eq!(a.resolve(Some("0:0")).unwrap(), User::Root);
        assert_eq!(a.resolve(Some("1234")).unwrap().home(), None);
        assert!(a.resolve(Some("$U")).is_none());
    }
}
