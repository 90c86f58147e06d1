//! What a packager installs next to the binary: the shell completion scripts and the man pages
//! that `ewsconf completions SHELL` and `ewsconf man` generate from the command-line definition.
#![cfg(unix)]

use std::process::{Command, Output, Stdio};

/// Every command a user types after `ewsconf`.
const COMMANDS: [&str; 7] = ["run", "list", "quirk", "fuzz", "validate", "mock", "probe"];

/// Runs `ewsconf args…` with no input and returns what it did.
fn ewsconf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ewsconf"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ewsconf runs")
}

/// The standard output of `ewsconf args…`, which must exit 0 with nothing on stderr.
fn stdout_of(args: &[&str]) -> String {
    let out = ewsconf(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ewsconf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "ewsconf {args:?} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_command() {
    // What each shell needs to pick the script up: bash's `complete`, zsh's `#compdef` header,
    // fish's `complete -c`.
    for (shell, marker) in [
        ("bash", "complete -F _ewsconf"),
        ("zsh", "#compdef ewsconf"),
        ("fish", "complete -c ewsconf"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(marker), "{shell} script lacks {marker:?}");
        for command in COMMANDS {
            assert!(
                script.contains(command),
                "{shell} completion does not name `{command}`"
            );
        }
        // Options come from the same definition: `run`'s own flags are completed too.
        assert!(
            script.contains("report-dir"),
            "{shell} completion lacks --report-dir"
        );
    }
}

#[test]
fn bash_completion_parses_and_completes_the_commands() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ewsconf.bash");
    std::fs::write(&path, &script).unwrap();

    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n refuses the script: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    // Load it as a shell would and ask what `ewsconf <TAB>` and `ewsconf run --rep<TAB>` offer.
    let complete = |words: &str, current: &str| -> Vec<String> {
        let probe = format!(
            "source \"$1\"\n\
             COMP_WORDS=({words})\n\
             COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
             COMP_POINT=${{#COMP_LINE}}\n\
             _ewsconf ewsconf \"{current}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(probe)
            .arg("bash")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "completing {words:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let offered = complete("ewsconf ''", "");
    for command in COMMANDS {
        assert!(
            offered.iter().any(|w| w == command),
            "`ewsconf <TAB>` does not offer {command}: {offered:?}"
        );
    }
    let offered = complete("ewsconf run --rep", "--rep");
    assert_eq!(offered, ["--report-dir"], "`ewsconf run --rep<TAB>`");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = ewsconf(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash"),
        "{stderr}"
    );
}

#[test]
fn man_page_is_roff_naming_every_command() {
    let page = stdout_of(&["man"]);
    assert!(
        page.lines().any(|l| l.starts_with(".TH ewsconf 1")),
        "no .TH title line"
    );
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "man page lacks {section}");
    }
    for command in COMMANDS {
        // roff escapes the hyphen in the page names it refers to.
        let reference = format!("ewsconf\\-{command}(1)");
        assert!(page.contains(&reference), "man page lacks {reference}");
    }
}

#[test]
fn man_pages_written_to_a_folder_cover_each_command_and_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let listed = stdout_of(&["man", "--dir", dir.path().to_str().unwrap()]);
    let mut expected = vec!["ewsconf.1".to_owned()];
    expected.extend(COMMANDS.iter().map(|c| format!("ewsconf-{c}.1")));
    for name in &expected {
        let path = dir.path().join(name);
        assert!(path.is_file(), "{name} was not written");
        assert!(
            listed.lines().any(|l| l == path.to_str().unwrap()),
            "{name} not listed in {listed}"
        );
    }
    let run = std::fs::read_to_string(dir.path().join("ewsconf-run.1")).unwrap();
    assert!(
        run.lines().any(|l| l.starts_with(".TH ewsconf-run 1")),
        "no .TH title line in ewsconf-run.1"
    );
    // Its options come from the command line's definition, with their help text.
    assert!(run.contains("\\fB\\-\\-report\\-dir\\fR"), "{run}");
    assert!(run.contains("Where to write reports"), "{run}");
}

#[test]
fn man_into_a_missing_folder_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let out = ewsconf(&["man", "--dir", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-folder"), "{stderr}");
}

/// The repository's top-level entries a source file of the crate compiles in, by
/// `include_str!`/`include_bytes!` paths that climb out of `harness/`.
fn compiled_in_from_outside(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            compiled_in_from_outside(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Which folder of harness/ the file is in decides how many `..` reach the root.
        let depth = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .components()
            .count()
            - 1;
        for (at, _) in text.match_indices("include_") {
            let rest = &text[at..];
            let Some(open) = rest.find("!(\"") else {
                continue;
            };
            if !(rest.starts_with("include_str!") || rest.starts_with("include_bytes!")) {
                continue;
            }
            let arg = &rest[open + 3..];
            let arg = &arg[..arg.find('"').unwrap()];
            let parts: Vec<&str> = arg.split('/').collect();
            let ups = parts.iter().take_while(|p| **p == "..").count();
            if ups > depth {
                out.insert(parts[ups].to_owned());
            }
        }
    }
}

#[test]
fn the_container_build_copies_everything_the_crate_compiles_in() {
    // No Docker engine runs where the tests do; what a build inside the image reads from outside
    // harness/ must at least be in its build context.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let mut needed = std::collections::BTreeSet::new();
    compiled_in_from_outside(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut needed,
    );
    // build.rs embeds the suite in cases/.
    needed.insert("cases".to_owned());
    assert!(
        needed.contains("requirements.toml") && needed.contains("schemas"),
        "{needed:?}"
    );
    for entry in &needed {
        assert!(
            copied.iter().any(|c| c.trim_end_matches('/') == entry),
            "the Dockerfile does not COPY {entry}, which the build compiles in: {copied:?}"
        );
    }
}
