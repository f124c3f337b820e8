//! The process's threads, read from Linux `/proc`.

use std::path::{Path, PathBuf};

/// The number of threads of this process, from `/proc/self/task`.
///
/// # Panics
///
/// Without Linux `/proc`: the tests that count threads cannot run elsewhere.
///
/// ```
/// # if std::path::Path::new("/proc/self/task").exists() {
/// use more_executors_test_support::thread_count;
///
/// let before = thread_count();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let t = std::thread::spawn(move || rx.recv());
/// assert_eq!(thread_count(), before + 1);
/// drop(tx);
/// t.join().unwrap().unwrap_err();
/// # }
/// ```
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).expect("Linux /proc is needed for this test")
}

/// The `/proc` entry of the calling thread (Linux), to check later that the thread has
/// exited (the entry is gone then); `None` without `/proc`.
///
/// ```
/// use more_executors_test_support::this_thread;
///
/// let (main, other) = (this_thread(), std::thread::spawn(this_thread).join().unwrap());
/// if let (Some(main), Some(other)) = (main, other) {
///     assert!(main.exists(), "this thread still runs");
///     assert_ne!(main, other, "each thread has its own entry");
/// }
/// ```
pub fn this_thread() -> Option<PathBuf> {
    std::fs::read_link("/proc/thread-self").ok().map(|p| Path::new("/proc").join(p))
}
