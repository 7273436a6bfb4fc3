//! Live compiler diagnostics: some lessons are exactly "this does not compile".
//!
//! Awaiting a future twice, or spawning a future that holds an `Rc` across an `.await`, is
//! rejected by the compiler. Writing that in a notebook cell would make the cell fail, so the
//! notebook hands the snippet to [`compile_snippet`] instead, which runs the real `rustc` on it
//! and returns the real diagnostics. Notebooks assert on the error code or message, so a lesson
//! fails `make check` if a future Rust starts accepting (or rejecting differently) the snippet.
//!
//! Snippets are compiled as a standalone library with no dependencies, which keeps the check
//! to a fraction of a second. A lesson about a tokio API states the API's bound itself (for
//! example `fn spawn<F: Future + Send + 'static>(f: F)`, the bound `tokio::spawn` has).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One diagnostic from rustc: an error or a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `"error"` or `"warning"`.
    pub level: String,
    /// The error code, e.g. `E0382`; many errors have none.
    pub code: Option<String>,
    /// The headline, e.g. "use of moved value: `fut`".
    pub message: String,
    /// The full text exactly as rustc prints it in a terminal.
    pub rendered: String,
}

impl Diagnostic {
    fn matches(&self, code_or_text: &str) -> bool {
        self.code.as_deref() == Some(code_or_text) || self.message.contains(code_or_text)
    }
}

/// What rustc said about a snippet.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Whether rustc accepted the snippet.
    pub success: bool,
    /// Errors and warnings, in the order rustc reported them.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// The diagnostics at level `error`.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == "error")
    }

    /// The error codes rustc gave, e.g. `["E0382"]`.
    pub fn error_codes(&self) -> Vec<&str> {
        self.errors().filter_map(|d| d.code.as_deref()).collect()
    }

    /// Whether some error has this code (`"E0382"`) or has this text in its headline.
    pub fn has_error(&self, code_or_text: &str) -> bool {
        self.errors().any(|d| d.matches(code_or_text))
    }

    /// The diagnostics at level `warning`.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == "warning")
    }

    /// Whether some warning has this lint name (`"unused_must_use"`) or this text in its
    /// headline.
    pub fn has_warning(&self, lint_or_text: &str) -> bool {
        self.warnings().any(|d| d.matches(lint_or_text))
    }

    /// Shows the diagnostics as rustc printed them.
    pub fn evcxr_display(&self) {
        crate::display::emit_text(&self.to_string());
    }
}

impl fmt::Display for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.success && self.diagnostics.is_empty() {
            return f.write_str("compiles without errors");
        }
        for diagnostic in &self.diagnostics {
            f.write_str(diagnostic.rendered.trim_end())?;
            f.write_str("\n\n")?;
        }
        Ok(())
    }
}

/// Compiles `source` as a library crate (edition 2021, no dependencies) with the `rustc` on the
/// `PATH` (or `$RUSTC`), and returns rustc's diagnostics. Lints are silenced, so only errors
/// remain.
pub fn compile_snippet(source: &str) -> io::Result<Compiled> {
    compile_with(&rustc(), source, &["--cap-lints=allow"])
}

/// Like [`compile_snippet`], but keeps the warnings a lesson is about, such as
/// `unused_must_use` ("futures do nothing unless you `.await` or poll them"). Only the noise
/// a short snippet makes anyway (unused variables and imports, dead code) is silenced.
pub fn compile_snippet_with_warnings(source: &str) -> io::Result<Compiled> {
    let noise = ["unused_variables", "unused_imports", "dead_code"];
    let flags: Vec<&str> = noise.iter().flat_map(|lint| ["-A", lint]).collect();
    compile_with(&rustc(), source, &flags)
}

fn rustc() -> PathBuf {
    std::env::var_os("RUSTC")
        .unwrap_or_else(|| "rustc".into())
        .into()
}

fn compile_with(rustc: &Path, source: &str, lint_flags: &[&str]) -> io::Result<Compiled> {
    let scratch = ScratchDir::new()?;
    let mut child = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=lib", "--crate-name=snippet"])
        .args(["--emit=metadata", "--error-format=json"])
        .args(lint_flags)
        .arg("--out-dir")
        .arg(&scratch.0)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("running {}: {e}", rustc.display())))?;
    child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    Ok(Compiled {
        success: output.status.success(),
        diagnostics: stderr.lines().filter_map(parse_diagnostic).collect(),
    })
}

/// Parses one line of rustc's JSON output; `None` for lines that are not a diagnostic worth
/// showing (the "aborting due to" summary, "for more information" notes, plain text).
fn parse_diagnostic(line: &str) -> Option<Diagnostic> {
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    let level = json["level"].as_str()?;
    let message = json["message"].as_str()?;
    let summary = message.starts_with("aborting due to") || message.ends_with(" emitted");
    if !matches!(level, "error" | "warning") || summary {
        return None;
    }
    Some(Diagnostic {
        level: level.to_owned(),
        code: json["code"]["code"].as_str().map(str::to_owned),
        message: message.to_owned(),
        rendered: shorten_std_paths(json["rendered"].as_str().unwrap_or(message)),
    })
}

/// Where the standard library's source sits inside a toolchain.
const STD_SOURCE: &str = "/lib/rustlib/src/rust/";

/// Replaces the machine-specific toolchain path in front of standard-library sources with
/// `<rust-src>/`, so a committed notebook shows no local directories.
fn shorten_std_paths(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.find(STD_SOURCE) {
            Some(at) => {
                let path_start = line[..at].rfind(char::is_whitespace).map_or(0, |i| i + 1);
                let rest = &line[at + STD_SOURCE.len()..];
                format!("{}<rust-src>/{rest}", &line[..path_start])
            }
            None => line.to_owned(),
        })
        .collect();
    lines.join("\n")
}

/// A private output directory for one rustc run, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> io::Result<ScratchDir> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "rust-async-survey-snippet-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover file in the temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_code_compiles_cleanly() {
        let compiled = compile_snippet("pub async fn answer() -> u32 { 42 }").expect("rustc runs");
        assert!(compiled.success);
        assert!(compiled.diagnostics.is_empty());
        assert_eq!(compiled.to_string(), "compiles without errors");
    }

    #[test]
    fn awaiting_a_future_twice_is_use_of_a_moved_value() {
        let compiled = compile_snippet(
            "async fn fetch() -> u32 { 1 }
             pub async fn twice() { let f = fetch(); f.await; f.await; }",
        )
        .expect("rustc runs");
        assert!(!compiled.success);
        assert_eq!(compiled.error_codes(), vec!["E0382"]);
        assert!(compiled.to_string().contains("value used here after move"));
    }

    #[test]
    fn an_rc_held_across_await_is_not_send() {
        let compiled = compile_snippet(
            "use std::future::Future;
             fn spawn<F: Future + Send + 'static>(_f: F) {}
             async fn tick() {}
             pub fn demo() {
                 spawn(async {
                     let shared = std::rc::Rc::new(1);
                     tick().await;
                     drop(shared);
                 });
             }",
        )
        .expect("rustc runs");
        assert!(compiled.has_error("cannot be sent between threads safely"));
    }

    #[test]
    fn an_unawaited_future_is_a_warning_when_warnings_are_kept() {
        let source = "async fn save() {}
                      pub fn forgets() { let unused = 1; save(); }";
        let kept = compile_snippet_with_warnings(source).expect("rustc runs");
        assert!(kept.success, "a warning is not an error");
        assert!(kept.has_warning("unused_must_use"), "{kept}");
        assert!(
            kept.to_string()
                .contains("futures do nothing unless you `.await`"),
            "{kept}"
        );
        assert_eq!(
            kept.warnings().count(),
            1,
            "the unused variable is not reported: {kept}"
        );
        let silenced = compile_snippet(source).expect("rustc runs");
        assert_eq!(silenced.warnings().count(), 0, "{silenced}");
    }

    #[test]
    fn a_missing_compiler_is_a_clear_io_error() {
        let error = compile_with(Path::new("/nonexistent/rustc"), "", &[]).expect_err("no rustc");
        assert!(error.to_string().contains("/nonexistent/rustc"));
    }

    #[test]
    fn toolchain_paths_are_shortened() {
        let rendered = "note: here\n   --> /home/me/.rustup/toolchains/stable/lib/rustlib/src/rust/library/core/src/future/into_future.rs:1:2\nend";
        assert_eq!(
            shorten_std_paths(rendered),
            "note: here\n   --> <rust-src>/library/core/src/future/into_future.rs:1:2\nend"
        );
    }

    #[test]
    fn summary_lines_are_not_diagnostics() {
        let abort = r#"{"$message_type":"diagnostic","level":"error","message":"aborting due to 1 previous error","code":null,"rendered":"error: aborting"}"#;
        assert_eq!(parse_diagnostic(abort), None);
        assert_eq!(parse_diagnostic("not json"), None);
    }
}
