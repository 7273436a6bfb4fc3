//! "Your turn" exercises: run the attendee's code, check it, and say plainly whether it is right.
//!
//! An exercise in a notebook is a short task in markdown followed by two code cells that call
//! the same check:
//!
//! * the **starter** cell (tag `exercise-starter`), where the attendee replaces a `todo!()`
//!   with their answer. As shipped it must say "Not yet";
//! * the **solution** cell (tag `exercise-solution`, source collapsed with
//!   `metadata.jupyter.source_hidden`), the same cell with an answer. It must say "Correct".
//!
//! ```no_run
//! use support::prelude::*;
//!
//! // The starter cell (the solution cell is the same with `join!(a, b, c)` in place of the
//! // `todo!()`).
//! {
//!     fn three_naps() -> Timeline {
//!         let recorder = Recorder::new();
//!         let nap = |name| recorder.time(name, tokio::time::sleep(Duration::from_millis(100)));
//!         run(async {
//!             let (a, b, c) = (nap("a"), nap("b"), nap("c"));
//!             // Your turn: await a, b and c at the same time.
//!             todo!("await a, b and c")
//!         });
//!         recorder.timeline()
//!     }
//!     Exercise::new("part 11: three naps at once")
//!         .hint("tokio::join!(a, b, c) polls all three together; a.await then b.await waits for each in turn")
//!         .check(three_naps, |timeline| ran_concurrently(&timeline));
//! };
//! ```
//!
//! [`Exercise::check`] (or the shorthand [`check`]) runs the attempt, catches a panic quietly,
//! runs the verification and prints one verdict line, which starts with one of two fixed
//! markers the notebook runner looks for ([`PASS_MARKER`], [`NOT_YET_MARKER`]):
//!
//! ```text
//! ✅ Correct — part 11: three naps at once: 101.2 ms for 303.5 ms of work: they overlapped (3.0x)
//! ```
//!
//! ```text
//! ❌ Not yet — part 11: three naps at once: your code still reaches a todo!() ("await a, b and c"): replace it with your answer, then run this cell again
//!    Hint: tokio::join!(a, b, c) polls all three together; a.await then b.await waits for each in turn
//! ```
//!
//! A "Not yet" is always followed by a hint line: the exercise's hint, or a pointer to the
//! collapsed solution. Nothing is written to stderr: while the check runs, panics (in the
//! attempt, in its tasks and threads) are recorded instead of printed, and become the verdict.
//! The rules:
//!
//! * a `todo!()` (or `unimplemented!()`) reached anywhere, even in a task whose `JoinError` is
//!   ignored, is "Not yet": the answer is not finished;
//! * another panic that escapes the attempt is "Not yet", with its message (a `JoinError` that
//!   was unwrapped is traced back to the task's own panic; a few tokio messages are explained);
//! * a panic the attempt handled itself (a task's panic that came back as a `JoinError`) does
//!   not count: the verification decides;
//! * the verification returns a [`Finding`]: `Ok(what is right)` or `Err(what is wrong)`, both
//!   written for the learner. The helpers below make the usual ones.
//!
//! A check does not time out: a hanging attempt hangs the cell (the notebook runner's cell
//! timeout catches it in CI). Do not call a check inside another check.
//!
//! Writing one:
//!
//! * put everything the attendee writes inside the attempt (a `fn` in the cell, as above), so
//!   that the `todo!()` runs under the check: a `todo!()` outside it panics on stderr, which
//!   fails the notebook;
//! * the starter must compile as shipped: give the attempt its real return type and let the
//!   `todo!()` stand for the missing part (unused variables are fine, evcxr hides warnings);
//! * the solution cell is the starter with the answer written in, and the same
//!   `Exercise::new(..).hint(..).check(..)` call;
//! * verify the point of the part (overlap, order, a limit, a result), with margins like the
//!   lessons' own assertions: the check also runs on a loaded CI machine.

use crate::lock::lock;
use crate::panics::payload_message;
use crate::timeline::{format_ms, Timeline};
use std::cell::Cell;
use std::fmt::{self, Debug};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Mutex;
use std::thread::{self, ThreadId};
use std::time::Duration;

/// How a passing verdict line starts. The notebook runner requires it from every solution cell
/// and forbids it in a starter cell as shipped.
pub const PASS_MARKER: &str = "✅ Correct";
/// How a verdict line that is not (yet) right starts. The notebook runner requires it from
/// every starter cell as shipped, and fails a notebook that prints it anywhere else.
pub const NOT_YET_MARKER: &str = "❌ Not yet";
/// The hint shown when an exercise gives none.
pub const DEFAULT_HINT: &str =
    "the solution is in the collapsed cell below this one (click its \u{2026} to show it)";

/// What a verification found, written for the learner: `Ok(what is right)` for a pass,
/// `Err(what is still wrong)` for a "Not yet". Helpers compose with `?`:
/// `ran_concurrently(&t)?; expect_eq("the total", total, 6)`.
pub type Finding = Result<String, String>;

/// One exercise: what it asks (named in every verdict line) and a hint for a "Not yet".
#[derive(Clone, Debug)]
pub struct Exercise {
    task: String,
    hint: Option<String>,
}

impl Exercise {
    /// An exercise named `task`, e.g. `"part 05: abort the slow task"`.
    pub fn new(task: impl Into<String>) -> Exercise {
        Exercise {
            task: task.into(),
            hint: None,
        }
    }

    /// The hint printed under a "Not yet" (by default: where the solution is).
    pub fn hint(mut self, hint: impl Into<String>) -> Exercise {
        self.hint = Some(hint.into());
        self
    }

    /// Runs `attempt` (the attendee's code), hands its result to `verify`, prints the verdict
    /// (one line, plus a hint line for "Not yet") on stdout and returns it.
    ///
    /// Panics are caught and judged (see the module documentation); nothing goes to stderr.
    /// Call it on a thread that is not inside a runtime (a notebook cell's own thread).
    pub fn check<T>(
        &self,
        attempt: impl FnOnce() -> T,
        verify: impl FnOnce(T) -> Finding,
    ) -> Verdict {
        // The generic part stays this small: it is compiled in every notebook cell.
        let attempted = Cell::new(false);
        let verdict = self.judge(
            Box::new(|| {
                let outcome = attempt();
                attempted.set(true);
                verify(outcome)
            }),
            &attempted,
        );
        println!("{verdict}");
        verdict
    }

    fn judge(&self, work: Box<dyn FnOnce() -> Finding + '_>, attempted: &Cell<bool>) -> Verdict {
        let (outcome, caught) = catching_panics(work);
        let not_yet = |reason: String| Verdict::NotYet {
            task: self.task.clone(),
            reason,
            hint: self.hint.clone().unwrap_or_else(|| DEFAULT_HINT.to_owned()),
        };
        if let Some(todo) = caught.iter().find(|panic| is_todo(&panic.message)) {
            return not_yet(todo_reason(&todo.message));
        }
        match outcome {
            Ok(Ok(detail)) => Verdict::Correct {
                task: self.task.clone(),
                detail: one_line(&detail),
            },
            Ok(Err(reason)) => not_yet(one_line(&reason)),
            Err(message) if attempted.get() => not_yet(format!(
                "checking your answer panicked: {}",
                one_line(&message)
            )),
            Err(message) => not_yet(panic_reason(&message, &caught)),
        }
    }
}

/// Shorthand for `Exercise::new(task).check(attempt, verify)` (no hint of its own).
pub fn check<T>(
    task: &str,
    attempt: impl FnOnce() -> T,
    verify: impl FnOnce(T) -> Finding,
) -> Verdict {
    Exercise::new(task).check(attempt, verify)
}

/// The outcome of a check, as printed: `✅ Correct — task: detail`, or
/// `❌ Not yet — task: reason` and an indented `Hint:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The verification passed; `detail` says what was right.
    Correct { task: String, detail: String },
    /// Not right yet; `reason` says what is wrong, `hint` what to try.
    NotYet {
        task: String,
        reason: String,
        hint: String,
    },
}

impl Verdict {
    /// Whether the answer passed.
    pub fn is_correct(&self) -> bool {
        matches!(self, Verdict::Correct { .. })
    }

    /// What the verdict says after the task: the detail of a pass, the reason of a "Not yet".
    pub fn message(&self) -> &str {
        match self {
            Verdict::Correct { detail, .. } => detail,
            Verdict::NotYet { reason, .. } => reason,
        }
    }

    /// Shows nothing: [`Exercise::check`] has printed the verdict already, so a cell that
    /// ends in a check without `;` does not print it twice.
    pub fn evcxr_display(&self) {}
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Correct { task, detail } if detail.is_empty() => {
                write!(f, "{PASS_MARKER} — {task}")
            }
            Verdict::Correct { task, detail } => write!(f, "{PASS_MARKER} — {task}: {detail}"),
            Verdict::NotYet { task, reason, hint } => {
                write!(f, "{NOT_YET_MARKER} — {task}: {reason}\n   Hint: {hint}")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Catching panics quietly.

/// A panic seen while a check ran.
#[derive(Debug)]
struct Caught {
    thread: ThreadId,
    message: String,
}

/// The panics recorded by the hook during the current check, in the order they happened.
static CAUGHT: Mutex<Vec<Caught>> = Mutex::new(Vec::new());

thread_local! {
    static INSIDE_CHECK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with a panic hook that records panics instead of printing them (the same
/// swap as `panics::with_quiet_panics`, but silent). Returns the outcome, with the message of
/// a panic that escaped `work`, and every panic seen meanwhile on any thread.
fn catching_panics(
    work: Box<dyn FnOnce() -> Finding + '_>,
) -> (Result<Finding, String>, Vec<Caught>) {
    assert!(
        !INSIDE_CHECK.get(),
        "support::exercise: a check cannot run inside another check"
    );
    // The panic hook is process-wide: one swap at a time, checks and quiet panics alike.
    let _serial = crate::panics::HookSwap::begin();
    lock(&CAUGHT).clear();
    INSIDE_CHECK.set(true);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(record_quietly));
    let outcome = panic::catch_unwind(AssertUnwindSafe(work));
    panic::set_hook(previous);
    INSIDE_CHECK.set(false);
    let caught = std::mem::take(&mut *lock(&CAUGHT));
    let outcome = outcome.map_err(|payload| payload_message(payload.as_ref()));
    (outcome, caught)
}

fn record_quietly(info: &PanicHookInfo<'_>) {
    lock(&CAUGHT).push(Caught {
        thread: thread::current().id(),
        message: payload_message(info.payload()),
    });
}

/// `todo!()` panics with "not yet implemented", `unimplemented!()` with "not implemented".
fn is_todo(message: &str) -> bool {
    message.starts_with("not yet implemented") || message.starts_with("not implemented")
}

fn todo_reason(message: &str) -> String {
    let note = message
        .split_once(": ")
        .map(|(_, note)| format!(" (\"{}\")", one_line(note)))
        .unwrap_or_default();
    format!(
        "your code still reaches a todo!(){note}: replace it with your answer, then run this \
         cell again"
    )
}

/// A panic that escaped the attempt, explained. An unwrapped `JoinError` (or a thread's join
/// error) says little: the panic inside the task or thread is the one to show.
fn panic_reason(message: &str, caught: &[Caught]) -> String {
    let here = thread::current().id();
    let from_a_task = message.contains("JoinError::Panic") || message.contains("Any { .. }");
    match caught.iter().find(|panic| panic.thread != here) {
        Some(inner) if from_a_task => {
            format!(
                "a task or thread of your code panicked: {}",
                explain(&inner.message)
            )
        }
        _ => format!("your code panicked: {}", explain(message)),
    }
}

/// A panic message, with the tokio ones a learner meets most often put in plain words.
fn explain(message: &str) -> String {
    if message.contains("Cannot start a runtime from within a runtime") {
        "it starts a runtime inside a runtime (run or block_on inside async code): .await the \
         future there instead"
            .to_owned()
    } else if message.contains("must be called from the context of a Tokio") {
        "it uses tokio (spawn, sleep, timeout, ...) outside a runtime: put that code inside \
         run(async { ... })"
            .to_owned()
    } else if message.contains("JoinError::Cancelled") {
        "it unwrapped the JoinError of a task that had been aborted (an aborted task has no \
         result: handle the Err instead)"
            .to_owned()
    } else {
        one_line(message)
    }
}

/// A message on one line: a verdict is one line, whatever an assertion printed.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("; ")
}

// ---------------------------------------------------------------------------------------------
// Verifications, written for the learner.

/// `got` must equal `expected`; `what` names it ("the number of replies").
pub fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, expected: T) -> Finding {
    if got == expected {
        Ok(format!("{what} is {expected:?}"))
    } else {
        Err(format!(
            "{what} should be {expected:?}, but your code gave {got:?}"
        ))
    }
}

/// The timeline's spans must overlap: its wall time must be at least halfway from
/// "one after another" (the sum of the spans) down to "all at once" (the longest span).
pub fn ran_concurrently(timeline: &Timeline) -> Finding {
    let spans: Vec<Duration> = timeline
        .spans()
        .iter()
        .filter(|span| !span.is_point())
        .map(|span| span.duration())
        .collect();
    if spans.len() < 2 {
        return Err(format!(
            "the timeline has {} span(s), so nothing can overlap: time each piece of work with \
             recorder.time(\"name\", future)",
            spans.len()
        ));
    }
    let (wall, sum) = (timeline.wall(), timeline.sum_of_spans());
    let longest = spans.iter().copied().max().unwrap_or_default();
    let halfway = longest + (sum - longest) / 2;
    let (wall_ms, sum_ms) = (format_ms(wall), format_ms(sum));
    if wall <= halfway {
        Ok(format!(
            "{wall_ms} for {sum_ms} of work: they overlapped ({:.1}x)",
            timeline.concurrency()
        ))
    } else {
        Err(format!(
            "your version took {wall_ms} for {sum_ms} of work: they still run one after another"
        ))
    }
}

/// No two spans of the timeline may overlap (a lock, a single worker, a blocking call).
pub fn ran_one_after_another(timeline: &Timeline) -> Finding {
    match timeline.max_overlap() {
        0 => Err(
            "the timeline is empty: time each piece of work with recorder.time(\"name\", future)"
                .to_owned(),
        ),
        1 => Ok(format!(
            "one after another: {} for {} of work",
            format_ms(timeline.wall()),
            format_ms(timeline.sum_of_spans())
        )),
        peak => Err(format!(
            "{peak} spans ran at the same time, but they should run one after another"
        )),
    }
}

/// At most `limit` spans may run at the same instant (a semaphore, a bounded pool).
pub fn at_most_at_once(timeline: &Timeline, limit: usize) -> Finding {
    match timeline.max_overlap() {
        0 => Err(
            "the timeline is empty: time each piece of work with recorder.time(\"name\", future)"
                .to_owned(),
        ),
        peak if peak <= limit => Ok(format!("at most {peak} ran at once (the limit is {limit})")),
        peak => Err(format!(
            "at most {limit} should run at once, but your version had {peak} running at the same \
             time"
        )),
    }
}

/// `took` must be at most `limit`; `what` names what was timed ("the request").
pub fn finished_within(what: &str, took: Duration, limit: Duration) -> Finding {
    if took <= limit {
        Ok(format!(
            "{what} took {} (within {})",
            format_ms(took),
            format_ms(limit)
        ))
    } else {
        Err(format!(
            "{what} took {}; it should finish within {}",
            format_ms(took),
            format_ms(limit)
        ))
    }
}

/// The events must be exactly `expected`, in that order (e.g. an `EventLog`'s `events()`).
pub fn in_order(events: &[impl AsRef<str>], expected: &[&str]) -> Finding {
    let got: Vec<&str> = events.iter().map(AsRef::as_ref).collect();
    if got == expected {
        return Ok(format!("in the right order: {}", got.join(" → ")));
    }
    let first_difference = got
        .iter()
        .zip(expected)
        .position(|(got, expected)| got != expected)
        .unwrap_or(got.len().min(expected.len()));
    let at = first_difference + 1;
    let detail = match (got.get(first_difference), expected.get(first_difference)) {
        (Some(got), Some(expected)) => {
            format!("event {at} is \"{got}\" where \"{expected}\" should be")
        }
        (None, Some(expected)) => format!("\"{expected}\" (event {at}) never happened"),
        (Some(extra), None) => format!("event {at}, \"{extra}\", should not happen"),
        (None, None) => unreachable!("the lists differ"),
    };
    Err(format!(
        "the events came as {}, but should come as {}: {detail}",
        show_events(&got),
        show_events(expected)
    ))
}

/// `earlier` must happen before `later` (their first occurrences); other events may come
/// between and around them. For orders that vary from run to run except in what matters.
pub fn happened_before(events: &[impl AsRef<str>], earlier: &str, later: &str) -> Finding {
    let got: Vec<&str> = events.iter().map(AsRef::as_ref).collect();
    let position = |event: &str| got.iter().position(|e| *e == event);
    match (position(earlier), position(later)) {
        (Some(first), Some(second)) if first < second => {
            Ok(format!("\"{earlier}\" happened before \"{later}\""))
        }
        (Some(_), Some(_)) => Err(format!(
            "\"{later}\" happened before \"{earlier}\", but it should come after it (the events: \
             {})",
            show_events(&got)
        )),
        (None, _) => Err(format!(
            "\"{earlier}\" never happened (the events: {})",
            show_events(&got)
        )),
        (_, None) => Err(format!(
            "\"{later}\" never happened (the events: {})",
            show_events(&got)
        )),
    }
}

fn show_events(events: &[&str]) -> String {
    if events.is_empty() {
        "(none)".to_owned()
    } else {
        events.join(" → ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Recorder, Span};

    #[test]
    fn an_attempt_may_use_the_quiet_panic_helpers_inside_a_check() {
        // Both swap the process-wide panic hook; nested on one thread they must not deadlock.
        let verdict = check(
            "nested",
            || crate::panics::expect_panic(|| panic!("inner")),
            |message| expect_eq("the caught message", message.as_str(), "inner"),
        );
        assert!(verdict.is_correct(), "{verdict}");
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timeline(spans: &[(&str, u64, u64)]) -> Timeline {
        Timeline::from_spans(
            spans
                .iter()
                .map(|&(r, s, e)| Span::from_ms(r, s, e))
                .collect(),
        )
    }

    #[test]
    fn a_right_answer_is_correct() {
        let verdict = check("sum", || 2 + 4, |total| expect_eq("the total", total, 6));
        assert!(verdict.is_correct());
        assert_eq!(verdict.to_string(), "✅ Correct — sum: the total is 6");
        assert!(verdict.to_string().starts_with(PASS_MARKER));
    }

    #[test]
    fn a_todo_is_not_yet_with_the_hint_on_a_second_line() {
        let verdict = Exercise::new("sum").hint("add them").check(
            || -> u32 { todo!("add the numbers") },
            |total| expect_eq("the total", total, 6),
        );
        assert!(!verdict.is_correct());
        assert_eq!(
            verdict.to_string(),
            "❌ Not yet — sum: your code still reaches a todo!() (\"add the numbers\"): replace \
             it with your answer, then run this cell again\n   Hint: add them"
        );
    }

    #[test]
    fn without_a_hint_the_hint_line_points_at_the_solution() {
        let verdict = check("sum", || -> u32 { todo!() }, |_| Ok(String::new()));
        assert!(verdict.message().contains("still reaches a todo!():"));
        assert!(verdict
            .to_string()
            .ends_with(&format!("   Hint: {DEFAULT_HINT}")));
    }

    #[test]
    fn a_todo_inside_a_task_is_not_yet_even_if_the_join_error_is_ignored() {
        let verdict = check(
            "task",
            || {
                crate::run(async {
                    let _ignored = tokio::spawn(async { todo!() }).await;
                })
            },
            |()| Ok("done".into()),
        );
        assert!(!verdict.is_correct());
        assert!(verdict.message().contains("todo!()"), "{verdict}");
    }

    #[test]
    fn a_wrong_answer_is_not_yet_with_what_is_wrong() {
        let verdict = check("sum", || 2 + 3, |total| expect_eq("the total", total, 6));
        assert_eq!(
            verdict.message(),
            "the total should be 6, but your code gave 5"
        );
        let printed = verdict.to_string();
        assert!(printed.starts_with(NOT_YET_MARKER) && !printed.contains(PASS_MARKER));
        assert_eq!(
            printed.lines().count(),
            2,
            "one verdict line and one hint line"
        );
    }

    #[test]
    fn a_panic_is_not_yet_with_its_message_on_one_line() {
        let verdict = check(
            "sum",
            || {
                let (got, expected) = (1 + 1, 3);
                assert_eq!(got, expected, "the numbers differ");
                got
            },
            |_| Ok(String::new()),
        );
        assert!(!verdict.is_correct());
        let reason = verdict.message();
        assert!(
            reason.starts_with("your code panicked: assertion"),
            "{reason}"
        );
        assert!(reason.contains("the numbers differ") && !reason.contains('\n'));
    }

    #[test]
    fn an_unwrapped_join_error_is_traced_to_the_task_s_panic() {
        let verdict = check(
            "task",
            || {
                crate::run(async {
                    tokio::spawn(async { panic!("boom in a task") })
                        .await
                        .unwrap()
                })
            },
            |()| Ok(String::new()),
        );
        assert_eq!(
            verdict.message(),
            "a task or thread of your code panicked: boom in a task"
        );
    }

    #[test]
    fn a_handled_task_panic_leaves_the_verdict_to_the_verification() {
        let verdict = check(
            "task",
            || crate::run(async { tokio::spawn(async { panic!("on purpose") }).await }),
            |joined| match joined {
                Err(error) if error.is_panic() => Ok("the panic came back as a JoinError".into()),
                _ => Err("the task should panic".into()),
            },
        );
        assert!(verdict.is_correct(), "{verdict}");
    }

    #[test]
    fn a_known_tokio_panic_is_explained() {
        let verdict = check(
            "nested",
            || crate::run(async { crate::run(async {}) }),
            |()| Ok(String::new()),
        );
        assert!(
            verdict
                .message()
                .contains("starts a runtime inside a runtime"),
            "{verdict}"
        );
    }

    #[test]
    fn a_panicking_verification_is_not_yet() {
        let verdict = check("v", Vec::<u32>::new, |list| {
            expect_eq("the first", list[0], 1)
        });
        assert!(verdict
            .message()
            .starts_with("checking your answer panicked: index out of bounds"));
    }

    #[test]
    fn a_check_inside_a_check_is_refused_not_deadlocked() {
        let verdict = check(
            "outer",
            || check("inner", || 1, |_| Ok(String::new())),
            |_| Ok(String::new()),
        );
        assert!(verdict
            .message()
            .contains("cannot run inside another check"));
    }

    #[test]
    fn the_recording_hook_is_gone_after_a_check() {
        let _ = check("x", || -> u32 { todo!() }, |_| Ok(String::new()));
        // Held, no other check can install the recording hook meanwhile.
        // The panic hook is process-wide: one swap at a time, checks and quiet panics alike.
        let _serial = crate::panics::HookSwap::begin();
        lock(&CAUGHT).clear();
        let _ = panic::catch_unwind(|| panic!("after the check"));
        assert!(
            lock(&CAUGHT).is_empty(),
            "a panic after the check was recorded"
        );
    }

    #[test]
    fn concurrency_is_judged_against_the_sum_and_the_longest_span() {
        let together = timeline(&[("a", 0, 100), ("b", 0, 100), ("c", 1, 101)]);
        let found = ran_concurrently(&together).expect("overlapping spans");
        assert!(
            found.starts_with("101.0 ms for 300.0 ms of work"),
            "{found}"
        );
        let serial = timeline(&[("a", 0, 200), ("b", 200, 400), ("c", 400, 612)]);
        assert_eq!(
            ran_concurrently(&serial).unwrap_err(),
            "your version took 612.0 ms for 612.0 ms of work: they still run one after another"
        );
        // Unequal spans: all at once is the longest one, not a fraction of the sum.
        assert!(ran_concurrently(&timeline(&[("long", 0, 100), ("short", 0, 10)])).is_ok());
        assert!(ran_concurrently(&timeline(&[("alone", 0, 100)]))
            .unwrap_err()
            .contains("1 span(s)"));
    }

    #[test]
    fn one_after_another_and_at_most_n_count_overlaps() {
        let serial = timeline(&[("a", 0, 10), ("b", 10, 20)]);
        let three = timeline(&[("a", 0, 10), ("b", 0, 10), ("c", 5, 15)]);
        assert!(ran_one_after_another(&serial).is_ok());
        assert_eq!(
            ran_one_after_another(&three).unwrap_err(),
            "3 spans ran at the same time, but they should run one after another"
        );
        assert!(at_most_at_once(&three, 3).is_ok());
        assert_eq!(
            at_most_at_once(&three, 2).unwrap_err(),
            "at most 2 should run at once, but your version had 3 running at the same time"
        );
        assert!(at_most_at_once(&Timeline::default(), 2).is_err());
    }

    #[test]
    fn orders_name_the_first_difference() {
        let events = ["enter", "exit", "body"];
        assert_eq!(
            in_order(&events, &["enter", "body", "exit"]).unwrap_err(),
            "the events came as enter → exit → body, but should come as enter → body → exit: \
             event 2 is \"exit\" where \"body\" should be"
        );
        assert!(in_order(&["a".to_string()], &["a", "b"])
            .unwrap_err()
            .ends_with("\"b\" (event 2) never happened"));
        assert!(in_order(&events, &["enter", "exit", "body"]).is_ok());
        assert!(happened_before(&events, "enter", "body").is_ok());
        assert!(happened_before(&events, "body", "exit")
            .unwrap_err()
            .starts_with("\"exit\" happened before \"body\""));
        assert!(happened_before(&events, "enter", "close")
            .unwrap_err()
            .starts_with("\"close\" never happened"));
    }

    #[test]
    fn durations_and_real_timelines() {
        assert_eq!(
            finished_within("the request", ms(2000), ms(100)).unwrap_err(),
            "the request took 2000.0 ms; it should finish within 100.0 ms"
        );
        let verdict = check(
            "naps",
            || {
                let recorder = Recorder::new();
                let nap = |name| recorder.time(name, tokio::time::sleep(ms(40)));
                crate::run(async { tokio::join!(nap("a"), nap("b")) });
                recorder.timeline()
            },
            |timeline| ran_concurrently(&timeline),
        );
        assert!(verdict.is_correct(), "{verdict}");
    }
}
