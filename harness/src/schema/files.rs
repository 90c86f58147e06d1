//! Validating many files on several threads, with the results handed back in input order.
//!
//! The calling thread and `jobs - 1` helpers take files from one shared counter, each with a
//! read buffer of its own; every thread validates against the same [`SchemaSet`], which lends
//! each thread its own libxml2 contexts. Helpers send their results to the calling thread,
//! which hands them on strictly in input order as soon as the files before them are done.
//! No thread starts a file more than 4,096 places ahead of the next one to hand on, so neither
//! a slow file nor a slow reader of the output makes results pile up in memory.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use super::{SchemaSet, XmlError};

/// How far past the next result to hand on a thread may start a file.
const WINDOW: usize = 4096;

/// A read buffer grown past this is given back after its file.
const KEEP_BUFFER_BYTES: usize = 1024 * 1024;

/// What became of one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// Well-formed and valid against the schema set.
    Valid,
    /// Not valid: every error, in document order (never empty).
    Invalid(Vec<XmlError>),
    /// Larger than the set's [`Limits::max_bytes`](super::Limits::max_bytes) on disk; not read.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The file could not be opened or read.
    Unreadable(io::Error),
}

impl FileOutcome {
    /// Writes what `ewsconf validate` prints for this file, shown as `path`: `PATH: OK`, or one
    /// `PATH:line:col: kind: message` line per error, to `out`; `PATH: cannot read: …` to `err`,
    /// after flushing `out` so that the two streams stay in order when they share a terminal.
    pub fn write_lines(
        &self,
        path: &Path,
        out: &mut impl Write,
        err: &mut impl Write,
    ) -> io::Result<()> {
        let shown = path.display();
        match self {
            Self::Valid => writeln!(out, "{shown}: OK"),
            Self::Invalid(errors) => errors.iter().try_for_each(|e| writeln!(out, "{shown}:{e}")),
            Self::TooLarge { limit } => {
                writeln!(out, "{shown}:1:1: document is larger than {limit} bytes")
            }
            Self::Unreadable(e) => {
                out.flush()?;
                writeln!(err, "{shown}: cannot read: {e}")
            }
        }
    }
}

/// How many files ended which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesSummary {
    /// Valid files.
    pub valid: usize,
    /// Invalid or too large files.
    pub invalid: usize,
    /// Files that could not be read.
    pub unreadable: usize,
}

impl FilesSummary {
    fn count(&mut self, outcome: &FileOutcome) {
        match outcome {
            FileOutcome::Valid => self.valid += 1,
            FileOutcome::Invalid(_) | FileOutcome::TooLarge { .. } => self.invalid += 1,
            FileOutcome::Unreadable(_) => self.unreadable += 1,
        }
    }
}

/// Validates every file on `jobs` threads (the calling one included; 0 counts as 1) and
/// returns one outcome per file, in the order of `files`.
pub fn validate_files<P: AsRef<Path> + Sync>(
    files: &[P],
    schemas: &SchemaSet,
    jobs: usize,
) -> Vec<FileOutcome> {
    let mut outcomes = Vec::with_capacity(files.len());
    let Ok(()) = validate_files_in_order(files, schemas, jobs, |_, outcome| {
        outcomes.push(outcome);
        Ok::<_, std::convert::Infallible>(())
    });
    outcomes
}

/// Validates every file on `jobs` threads (the calling one included; 0 counts as 1) and calls
/// `each` on the calling thread with each file's index in `files` and its outcome, in input
/// order, as soon as that file and all before it are done. The first error `each` returns stops
/// the work (files in progress are finished and dropped) and is returned.
pub fn validate_files_in_order<P, E>(
    files: &[P],
    schemas: &SchemaSet,
    jobs: usize,
    each: impl FnMut(usize, FileOutcome) -> Result<(), E>,
) -> Result<(), E>
where
    P: AsRef<Path> + Sync,
{
    drive(files, schemas, jobs, WINDOW, each, || Ok(()))
}

/// Validates every file as [`validate_files_in_order`] does and writes each one's lines with
/// [`FileOutcome::write_lines`], in input order. `out` is flushed whenever the calling thread
/// has to wait for another, and at the end.
pub fn report_files<P: AsRef<Path> + Sync>(
    files: &[P],
    schemas: &SchemaSet,
    jobs: usize,
    out: &mut impl Write,
    err: &mut impl Write,
) -> io::Result<FilesSummary> {
    let mut summary = FilesSummary::default();
    // `each` and `idle` both write to `out`, and never at the same time: share it through a
    // cell.
    let out = std::cell::RefCell::new(out);
    drive(
        files,
        schemas,
        jobs,
        WINDOW,
        |i, outcome| {
            summary.count(&outcome);
            outcome.write_lines(files[i].as_ref(), &mut *out.borrow_mut(), err)
        },
        || out.borrow_mut().flush(),
    )?;
    out.into_inner().flush()?;
    Ok(summary)
}

/// The shared state of one [`drive`].
struct Shared {
    /// The next file index to take.
    next: AtomicUsize,
    /// The next index the calling thread hands on; files at or past it plus the window wait.
    handed_on: AtomicUsize,
    /// Set when the caller stops the work.
    stop: AtomicBool,
    /// Helpers asleep on `wake`, waiting for the window to move.
    sleepers: Mutex<usize>,
    wake: Condvar,
}

impl Shared {
    /// Waits until file `i` is inside the window; false when the work was stopped meanwhile.
    fn wait_for_window(&self, i: usize, window: usize) -> bool {
        let open = || {
            self.stop.load(Ordering::SeqCst)
                || i < self.handed_on.load(Ordering::SeqCst).saturating_add(window)
        };
        if !open() {
            let mut sleepers = self.sleepers.lock().unwrap_or_else(|p| p.into_inner());
            while !open() {
                *sleepers += 1;
                sleepers = self.wake.wait(sleepers).unwrap_or_else(|p| p.into_inner());
                *sleepers -= 1;
            }
        }
        !self.stop.load(Ordering::SeqCst)
    }

    /// Moves the window (or stops the work) and wakes any helper waiting on it.
    fn publish(&self, handed_on: usize, stop: bool) {
        self.handed_on.store(handed_on, Ordering::SeqCst);
        if stop {
            self.stop.store(true, Ordering::SeqCst);
        }
        // Taken after the stores: a helper checks them under this lock before it sleeps.
        let sleepers = self.sleepers.lock().unwrap_or_else(|p| p.into_inner());
        if *sleepers > 0 {
            self.wake.notify_all();
        }
    }
}

/// Stops the work if the helper holding it panics, so that no other thread waits for a file
/// that will never be done; the scope then re-raises the panic.
struct StopOnPanic<'a>(&'a Shared);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .publish(self.0.handed_on.load(Ordering::SeqCst), true);
        }
    }
}

/// The engine behind the public functions: `each` as in [`validate_files_in_order`], `idle`
/// before the calling thread blocks waiting for a helper, `window` as [`WINDOW`].
fn drive<P, E>(
    files: &[P],
    schemas: &SchemaSet,
    jobs: usize,
    window: usize,
    mut each: impl FnMut(usize, FileOutcome) -> Result<(), E>,
    mut idle: impl FnMut() -> Result<(), E>,
) -> Result<(), E>
where
    P: AsRef<Path> + Sync,
{
    let window = window.max(1);
    let helpers = jobs.clamp(1, files.len().max(1)) - 1;
    let shared = Shared {
        next: AtomicUsize::new(0),
        handed_on: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        sleepers: Mutex::new(0),
        wake: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, FileOutcome)>();
        for n in 0..helpers {
            let tx = tx.clone();
            let shared = &shared;
            let helper = std::thread::Builder::new()
                .name(format!("validate-{n}"))
                .spawn_scoped(scope, move || {
                    let _stop_on_panic = StopOnPanic(shared);
                    let mut buffer = Vec::new();
                    while !shared.stop.load(Ordering::Relaxed) {
                        let i = shared.next.fetch_add(1, Ordering::Relaxed);
                        if i >= files.len() || !shared.wait_for_window(i, window) {
                            break;
                        }
                        let outcome = check_file(files[i].as_ref(), schemas, &mut buffer);
                        if tx.send((i, outcome)).is_err() {
                            break;
                        }
                    }
                });
            if helper.is_err() {
                // No more threads to be had: the calling thread and the helpers so far do it.
                break;
            }
        }
        // Only helpers hold senders, so `recv` fails once they are all gone.
        drop(tx);

        let mut buffer = Vec::new();
        let mut ready = BTreeMap::new();
        let mut handed_on = 0;
        // A file this thread has taken but not yet started, waiting for the window.
        let mut mine = None;
        let result = loop {
            while let Ok((i, outcome)) = rx.try_recv() {
                ready.insert(i, outcome);
            }
            let before = handed_on;
            let mut failed = None;
            while let Some(outcome) = ready.remove(&handed_on) {
                if let Err(e) = each(handed_on, outcome) {
                    failed = Some(e);
                    break;
                }
                handed_on += 1;
            }
            if let Some(e) = failed {
                break Err(e);
            }
            if handed_on != before {
                shared.publish(handed_on, false);
            }
            if handed_on == files.len() {
                break Ok(());
            }
            if mine.is_none() && !shared.stop.load(Ordering::Relaxed) {
                let i = shared.next.fetch_add(1, Ordering::Relaxed);
                mine = (i < files.len()).then_some(i);
            }
            match mine {
                Some(i) if i < handed_on + window => {
                    ready.insert(i, check_file(files[i].as_ref(), schemas, &mut buffer));
                    mine = None;
                }
                _ => {
                    if let Err(e) = idle() {
                        break Err(e);
                    }
                    match rx.recv() {
                        Ok((i, outcome)) => {
                            ready.insert(i, outcome);
                        }
                        // Every helper is gone with a file unfinished: one panicked (and
                        // stopped the work), and the scope re-raises that panic on the way out.
                        Err(mpsc::RecvError) => break Ok(()),
                    }
                }
            }
        };
        if result.is_err() {
            shared.publish(handed_on, true);
        }
        result
    })
}

/// Reads and validates one file, reusing `buffer` for its bytes. Only a regular file is read,
/// and no more than the set's size limit of it (see [`crate::input`]).
fn check_file(path: &Path, schemas: &SchemaSet, buffer: &mut Vec<u8>) -> FileOutcome {
    let limit = schemas.limits().max_bytes;
    let outcome = match crate::input::read_into(path, limit as u64, buffer) {
        Ok(()) => {
            let validation = schemas.validate(buffer);
            if validation.is_valid() {
                FileOutcome::Valid
            } else {
                FileOutcome::Invalid(validation.errors)
            }
        }
        Err(crate::input::Problem::TooLarge { .. }) => FileOutcome::TooLarge { limit },
        Err(problem) => FileOutcome::Unreadable(problem.into()),
    };
    if buffer.capacity() > KEEP_BUFFER_BYTES {
        *buffer = Vec::new();
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<m:SendItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SendItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:SendItemResponseMessage></m:ResponseMessages></m:SendItemResponse>"#;

    /// `n` files: every third invalid, the rest valid; and their paths.
    fn files(dir: &Path, n: usize) -> Vec<std::path::PathBuf> {
        (0..n)
            .map(|i| {
                let path = dir.join(format!("{i:04}.xml"));
                let text = if i % 3 == 2 {
                    GOOD.replace("NoError", &format!("NotACode{i}"))
                } else {
                    GOOD.to_owned()
                };
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect()
    }

    fn shape(outcome: &FileOutcome) -> String {
        match outcome {
            FileOutcome::Valid => "valid".to_owned(),
            FileOutcome::Invalid(errors) => format!("invalid {}", errors[0].message),
            FileOutcome::TooLarge { limit } => format!("too large {limit}"),
            FileOutcome::Unreadable(e) => format!("unreadable {:?}", e.kind()),
        }
    }

    #[test]
    fn outcomes_come_in_input_order_whatever_the_threads_and_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = files(dir.path(), 60);
        paths.insert(7, dir.path().join("missing.xml"));
        let set = SchemaSet::embedded().unwrap();
        let expected: Vec<String> = validate_files(&paths, set, 1).iter().map(shape).collect();
        assert_eq!(expected[0], "valid");
        assert!(expected[2].starts_with("invalid"), "{expected:?}");
        assert_eq!(expected[3], "valid");
        assert_eq!(expected[7], "unreadable NotFound");
        for jobs in [0, 2, 5] {
            for window in [1, 2, 1000] {
                let mut got = Vec::new();
                let done: Result<(), ()> = drive(
                    &paths,
                    set,
                    jobs,
                    window,
                    |i, outcome| {
                        got.push((i, shape(&outcome)));
                        Ok(())
                    },
                    || Ok(()),
                );
                assert_eq!(done, Ok(()));
                let (order, shapes): (Vec<usize>, Vec<String>) = got.into_iter().unzip();
                assert_eq!(order, (0..paths.len()).collect::<Vec<_>>());
                assert_eq!(shapes, expected, "jobs {jobs}, window {window}");
            }
        }
    }

    #[test]
    fn an_error_from_the_caller_stops_the_work_and_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let paths = files(dir.path(), 40);
        let set = SchemaSet::embedded().unwrap();
        let mut seen = 0;
        let done = drive(
            &paths,
            set,
            3,
            2,
            |i, _| {
                seen += 1;
                if i == 5 { Err(i) } else { Ok(()) }
            },
            || Ok(()),
        );
        assert_eq!(done, Err(5));
        assert_eq!(seen, 6);
    }

    #[test]
    fn files_over_the_limit_are_not_read_and_lines_render_as_the_cli_prints_them() {
        let dir = tempfile::tempdir().unwrap();
        let paths = files(dir.path(), 3);
        let set = SchemaSet::compile_embedded()
            .unwrap()
            .with_limits(crate::schema::Limits {
                max_bytes: 100,
                ..Default::default()
            });
        let small = dir.path().join("small.xml");
        std::fs::write(&small, "<a/>").unwrap();
        let all = [paths[0].clone(), small.clone(), dir.path().join("nope.xml")];
        let mut out = Vec::new();
        let mut err = Vec::new();
        let summary = report_files(&all, &set, 2, &mut out, &mut err).unwrap();
        assert_eq!(
            summary,
            FilesSummary {
                valid: 0,
                invalid: 2,
                unreadable: 1
            }
        );
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{}:1:1: document is larger than 100 bytes",
                paths[0].display()
            )
        );
        assert!(
            lines[1].starts_with(&format!("{}:1:1: schema: ", small.display())),
            "{out}"
        );
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with(&format!(
                "{}: cannot read: ",
                dir.path().join("nope.xml").display()
            )),
            "{err}"
        );
    }
}
