//! Deliberate panics, shown as lessons rather than reported as failures.
//!
//! evcxr reports a cell whose code panicked as a success and prints the panic to stderr, so the
//! notebook runner treats any `panicked at` in a notebook's output as a failure. Lessons that
//! *show* a panic (a runtime started inside a runtime, a task that panics) run the code through
//! these helpers: they swap the default panic message for a one-line note on stdout, then put
//! the previous panic hook back.
//!
//! The panic hook is process-wide (evcxr links std dynamically, so all cells share it), which is
//! why the quiet hook is only installed for the duration of a call, never left behind.

use crate::lock::lock;
use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::{Mutex, MutexGuard};

/// Serialises hook swaps across threads: two overlapping swaps could restore each other's
/// quiet hook. `exercise` swaps the hook too, through the same [`HookSwap`].
static HOOK_SWAP: Mutex<()> = Mutex::new(());

thread_local! {
    static SWAPPING: Cell<bool> = const { Cell::new(false) };
}

/// Held while a helper has the panic hook swapped. Swaps nested on one thread (a check that
/// runs code using `with_quiet_panics`) restore in reverse order and need no lock; only a
/// swap from another thread waits, so nesting cannot deadlock.
pub(crate) struct HookSwap(Option<MutexGuard<'static, ()>>);

impl HookSwap {
    pub(crate) fn begin() -> HookSwap {
        if SWAPPING.get() {
            return HookSwap(None);
        }
        let held = lock(&HOOK_SWAP);
        SWAPPING.set(true);
        HookSwap(Some(held))
    }
}

impl Drop for HookSwap {
    fn drop(&mut self) {
        if self.0.is_some() {
            SWAPPING.set(false);
        }
    }
}

/// Runs `work`, which must panic, and returns the panic message.
///
/// The panic is reported as one line on stdout ("expected panic in thread ...") instead of the
/// usual stderr message. Do not nest calls to this module's helpers.
///
/// # Panics
///
/// Panics (loudly) if `work` returns normally: a lesson that promises a panic must show one.
pub fn expect_panic<R>(work: impl FnOnce() -> R) -> String {
    let outcome = with_quiet_panics(|| panic::catch_unwind(AssertUnwindSafe(work)));
    match outcome {
        Ok(_) => panic!("expected a panic, but the code returned normally"),
        Err(payload) => payload_message(payload.as_ref()),
    }
}

/// Runs `work` with panics reported quietly on stdout, for code whose panics are caught
/// elsewhere, e.g. a tokio task whose panic comes back as a `JoinError`.
///
/// A panic that escapes `work` itself is not swallowed: the hook is restored, then the panic
/// continues.
pub fn with_quiet_panics<R>(work: impl FnOnce() -> R) -> R {
    let _swap = HookSwap::begin();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(report_quietly));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    panic::set_hook(previous);
    match outcome {
        Ok(value) => value,
        Err(payload) => panic::resume_unwind(payload),
    }
}

fn report_quietly(info: &PanicHookInfo<'_>) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    println!(
        "expected panic in thread '{name}': {}",
        payload_message(info.payload())
    );
}

/// The text of a panic payload: `panic!` makes a `&str` or a `String`.
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_message_of_an_expected_panic() {
        let message = expect_panic(|| panic!("boom {}", 42));
        assert_eq!(message, "boom 42");
    }

    #[test]
    fn a_missing_panic_is_itself_a_panic() {
        let outcome = panic::catch_unwind(|| expect_panic(|| 1 + 1));
        let payload = outcome.expect_err("expect_panic must fail when nothing panics");
        assert!(payload_message(payload.as_ref()).contains("expected a panic"));
    }

    #[test]
    fn a_task_panic_becomes_a_join_error() {
        let join_error = with_quiet_panics(|| {
            crate::run(async {
                tokio::spawn(async { panic!("task failed") })
                    .await
                    .expect_err("the task panicked")
            })
        });
        assert!(join_error.is_panic());
        assert_eq!(
            payload_message(join_error.into_panic().as_ref()),
            "task failed"
        );
    }

    #[test]
    fn a_panic_escaping_quiet_work_still_propagates() {
        let outcome = panic::catch_unwind(|| with_quiet_panics(|| panic!("escaped")));
        let payload = outcome.expect_err("the panic propagates");
        assert_eq!(payload_message(payload.as_ref()), "escaped");
    }
}
