//! Files the user names (target, users, case and baseline files, documents to validate, CA
//! certificates), read with two guarantees: only a regular file is read, and never more than a
//! stated number of bytes.
//!
//! A FIFO, a device such as `/dev/zero`, a socket or a directory is refused before it is read,
//! and the open itself cannot block (`O_NONBLOCK`), so a named pipe with no writer cannot hang
//! the command. The size is checked before reading and the read stops one byte past the limit,
//! so a file that grows while it is read, or a `/proc` file that reports no size, is bounded
//! too.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What is wrong with an input file, without its path.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The path names something other than a regular file.
    #[error("it is {kind}, not a regular file")]
    NotRegular {
        /// What it is instead, e.g. `a named pipe (FIFO)`.
        kind: &'static str,
    },
    /// The file holds more bytes than allowed.
    #[error("it is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("it is not UTF-8 text (invalid bytes at offset {offset})")]
    NotText {
        /// Where the first invalid byte is.
        offset: usize,
    },
}

/// Why an input file could not be read: which file, what it was to be, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot read the {what}: {problem}", path.display())]
pub struct InputError {
    /// The file as the user named it.
    pub path: PathBuf,
    /// What the file was to be, e.g. `target file`.
    pub what: &'static str,
    /// What is wrong.
    #[source]
    pub problem: Problem,
}

impl InputError {
    /// True when the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(&self.problem, Problem::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// The problem as an I/O error of a fitting kind (`NotFound` stays `NotFound`), for callers
/// whose errors carry an [`io::Error`]; its message is the problem's, without the path.
impl From<InputError> for io::Error {
    fn from(e: InputError) -> Self {
        e.problem.into()
    }
}

/// The problem as an I/O error of a fitting kind, with the problem's message.
impl From<Problem> for io::Error {
    fn from(problem: Problem) -> Self {
        match problem {
            Problem::Io(e) => e,
            other @ Problem::NotRegular { .. } => {
                io::Error::new(io::ErrorKind::InvalidInput, other)
            }
            other @ (Problem::TooLarge { .. } | Problem::NotText { .. }) => {
                io::Error::new(io::ErrorKind::InvalidData, other)
            }
        }
    }
}

/// Reads the regular file `path`, at most `max_bytes` of it, as UTF-8 text; `what` names the
/// file in errors (`target file`, `users file`, …).
pub fn read_text(path: &Path, max_bytes: u64, what: &'static str) -> Result<String, InputError> {
    let bytes = read_bytes(path, max_bytes, what)?;
    String::from_utf8(bytes).map_err(|e| InputError {
        path: path.to_owned(),
        what,
        problem: Problem::NotText {
            offset: e.utf8_error().valid_up_to(),
        },
    })
}

/// Reads the regular file `path`, at most `max_bytes` of it; `what` names the file in errors.
pub fn read_bytes(path: &Path, max_bytes: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let mut buffer = Vec::new();
    read_into(path, max_bytes, &mut buffer).map_err(|problem| InputError {
        path: path.to_owned(),
        what,
        problem,
    })?;
    Ok(buffer)
}

/// Reads the regular file `path`, at most `max_bytes` of it, into `buffer` (cleared first), so
/// that a caller reading many files can reuse one buffer. On [`Problem::TooLarge`] the buffer
/// holds whatever was read.
pub fn read_into(path: &Path, max_bytes: u64, buffer: &mut Vec<u8>) -> Result<(), Problem> {
    buffer.clear();
    // Looked at before opening, so that no device is opened at all (opening some has effects),
    // and a file too large is reported as such even when it may not be opened.
    let check = |meta: &Metadata| {
        regular(meta)?;
        if meta.len() > max_bytes {
            return Err(Problem::TooLarge { limit: max_bytes });
        }
        Ok(())
    };
    check(&std::fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    // And again on what was opened, in case the path changed in between.
    let meta = file.metadata()?;
    check(&meta)?;
    // Room for the whole file and the read that finds its end.
    let expected = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    buffer.reserve(expected.saturating_add(1));
    // One byte more than allowed tells a file at the limit from one past it, whatever its size
    // said.
    file.take(max_bytes.saturating_add(1)).read_to_end(buffer)?;
    if buffer.len() as u64 > max_bytes {
        return Err(Problem::TooLarge { limit: max_bytes });
    }
    Ok(())
}

/// Opens `path` for reading without blocking: a FIFO that slipped past the type check opens at
/// once instead of waiting for a writer. Reads from a regular file ignore the flag.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// `Ok` for a regular file, else what the path names instead.
fn regular(meta: &Metadata) -> Result<(), Problem> {
    let file_type = meta.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else {
        special_kind(&file_type)
    };
    Err(Problem::NotRegular { kind })
}

#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a named pipe (FIFO)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(path: &Path, max: u64) -> String {
        read_text(path, max, "test file").unwrap_err().to_string()
    }

    #[test]
    fn a_regular_file_within_the_limit_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        std::fs::write(&path, "x = 1\n").unwrap();
        assert_eq!(read_text(&path, 6, "test file").unwrap(), "x = 1\n");
        let err = problem(&path, 5);
        assert_eq!(
            err,
            format!(
                "{}: cannot read the test file: it is larger than the limit of 5 bytes",
                path.display()
            )
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_directories_and_fifos_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        assert!(problem(Path::new("/dev/zero"), 10).ends_with(
            "/dev/zero: cannot read the test file: it is a character device, not a regular file"
        ),);
        assert!(problem(dir.path(), 10).contains("it is a directory, not a regular file"));
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(problem(&fifo, 10).contains("it is a named pipe (FIFO), not a regular file"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_that_reports_no_size_is_still_bounded() {
        // /proc files report a size of 0 and produce their text as they are read.
        let err = read_bytes(Path::new("/proc/self/maps"), 16, "test file").unwrap_err();
        assert!(
            matches!(err.problem, Problem::TooLarge { limit: 16 }),
            "{err}"
        );
    }

    #[test]
    fn missing_files_keep_their_kind() {
        let err = read_text(Path::new("no/such/file.toml"), 10, "test file").unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn text_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        std::fs::write(&path, b"ok\xff").unwrap();
        assert!(problem(&path, 10).ends_with("it is not UTF-8 text (invalid bytes at offset 2)"));
    }
}
