//! Timing recorder: what ran when, from many tasks and threads at once.
//!
//! The notebooks' central claim is about *time*: concurrent requests overlap, a blocking sleep
//! serialises them. A [`Recorder`] is a clock plus a list of named spans; clones share both, so
//! each task or thread gets a cheap handle. Recording a span costs two `Instant::now()` calls
//! and one short mutex push at its end. A lock-free log would be faster, but the survey records
//! at most a few thousand spans and a `Mutex<Vec>` keeps the code obvious.
//!
//! A [`Timeline`] is a snapshot of the spans. It answers the questions the notebooks assert on
//! (wall time, sum of span durations, how many spans overlapped) and shows itself as a Gantt chart in
//! Jupyter or as a text timeline in a terminal.

use crate::lock::lock;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One recorded interval: `row` names the task (a Gantt row), times are relative to the
/// recorder's creation. A span with `start == end` is a point event (see [`Recorder::mark`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub row: String,
    pub start: Duration,
    pub end: Duration,
}

impl Span {
    /// How long the span lasted (zero for a point event).
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Whether this is a point event (a tick, a message) rather than an interval.
    pub fn is_point(&self) -> bool {
        self.start == self.end
    }
}

/// A shared clock and span log. Clone it into every task or thread that should record.
#[derive(Clone, Debug)]
pub struct Recorder {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    t0: Instant,
    spans: Mutex<Vec<Span>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            inner: Arc::new(Inner {
                t0: Instant::now(),
                spans: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Time since the recorder was created.
    pub fn elapsed(&self) -> Duration {
        self.inner.t0.elapsed()
    }

    /// Starts a span on `row`; it ends when the guard is dropped or [`SpanGuard::finish`]ed.
    ///
    /// Ending on drop matters for async code: a future that is cancelled (dropped part-way)
    /// still records the part that ran.
    pub fn start(&self, row: impl Into<String>) -> SpanGuard {
        SpanGuard {
            recorder: self.clone(),
            row: row.into(),
            start: self.elapsed(),
        }
    }

    /// Wraps `future` so that the time from its first poll to its completion is recorded as a
    /// span on `row`.
    ///
    /// The returned future owns a clone of the recorder and borrows nothing, so it can be
    /// handed straight to `tokio::spawn`: `tokio::spawn(recorder.time("fetch", fetch()))`.
    /// The span starts when the future first runs, not when it is created, so a spawned task
    /// waiting for a worker does not look busy.
    pub fn time<F: Future>(
        &self,
        row: impl Into<String>,
        future: F,
    ) -> impl Future<Output = F::Output> {
        let recorder = self.clone();
        let row = row.into();
        async move {
            let _span = recorder.start(row);
            future.await
        }
    }

    /// Runs the blocking closure `work` and records the time it took as a span on `row`.
    pub fn time_blocking<R>(&self, row: impl Into<String>, work: impl FnOnce() -> R) -> R {
        let _span = self.start(row);
        work()
    }

    /// Records a point event (a tick, a message) on `row`, drawn as a dot.
    pub fn mark(&self, row: impl Into<String>) {
        let now = self.elapsed();
        self.push(Span {
            row: row.into(),
            start: now,
            end: now,
        });
    }

    /// A snapshot of everything recorded so far, ordered by start time.
    pub fn timeline(&self) -> Timeline {
        let spans = lock(&self.inner.spans).clone();
        Timeline::from_spans(spans)
    }

    fn push(&self, span: Span) {
        lock(&self.inner.spans).push(span);
    }
}

/// An open span; recorded when dropped.
#[must_use = "the span ends when this guard is dropped"]
#[derive(Debug)]
pub struct SpanGuard {
    recorder: Recorder,
    row: String,
    start: Duration,
}

impl SpanGuard {
    /// Ends the span now (the same as dropping the guard, but easier to read).
    pub fn finish(self) {}
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let end = self.recorder.elapsed();
        self.recorder.push(Span {
            row: std::mem::take(&mut self.row),
            start: self.start,
            end,
        });
    }
}

/// A snapshot of recorded spans, with the numbers the notebooks assert on.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    title: String,
    spans: Vec<Span>,
}

impl Timeline {
    /// A timeline of the given spans (any order).
    pub fn from_spans(mut spans: Vec<Span>) -> Timeline {
        spans.sort_by_key(|span| (span.start, span.end));
        Timeline {
            title: String::new(),
            spans,
        }
    }

    /// The same timeline with a title, shown above the chart.
    pub fn titled(mut self, title: impl Into<String>) -> Timeline {
        self.title = title.into();
        self
    }

    /// The title (empty if none was given).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The spans, ordered by start time.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// The first span recorded on `row`, if any.
    pub fn span(&self, row: &str) -> Option<&Span> {
        self.spans.iter().find(|span| span.row == row)
    }

    /// Row names in the order they first started: the Gantt chart's rows, top to bottom.
    pub fn rows(&self) -> Vec<&str> {
        let mut rows: Vec<&str> = Vec::new();
        for span in &self.spans {
            if !rows.contains(&span.row.as_str()) {
                rows.push(&span.row);
            }
        }
        rows
    }

    /// From the earliest start to the latest end: what a stopwatch around the work shows.
    pub fn wall(&self) -> Duration {
        let first_start = self.spans.iter().map(|s| s.start).min();
        let last_end = self.spans.iter().map(|s| s.end).max();
        match (first_start, last_end) {
            (Some(start), Some(end)) => end - start,
            _ => Duration::ZERO,
        }
    }

    /// The latest end, measured from the recorder's creation: the chart's time axis.
    pub fn end(&self) -> Duration {
        self.spans.iter().map(|s| s.end).max().unwrap_or_default()
    }

    /// The sum of all span durations: how long the work would take one after the other.
    pub fn sum_of_spans(&self) -> Duration {
        self.spans.iter().map(Span::duration).sum()
    }

    /// `sum_of_spans / wall`: about 1 when the spans ran one after another, about N when N overlapped.
    pub fn concurrency(&self) -> f64 {
        let wall = self.wall().as_secs_f64();
        if wall == 0.0 {
            return 0.0;
        }
        self.sum_of_spans().as_secs_f64() / wall
    }

    /// The largest number of spans that were running at the same instant.
    pub fn max_overlap(&self) -> usize {
        // Sweep over start (+1) and end (-1) events; at equal times process ends first, so
        // back-to-back spans do not count as overlapping.
        let mut events: Vec<(Duration, i32)> = self
            .spans
            .iter()
            .filter(|span| !span.is_point())
            .flat_map(|span| [(span.start, 1), (span.end, -1)])
            .collect();
        events.sort();
        let mut running = 0;
        let mut peak = 0;
        for (_, change) in events {
            running += change;
            peak = peak.max(running);
        }
        peak as usize
    }

    /// One line: span count, wall time, sum of spans and concurrency factor (point events are
    /// counted apart: they take no time).
    pub fn summary(&self) -> String {
        let points = self.spans.iter().filter(|span| span.is_point()).count();
        let intervals = self.spans.len() - points;
        let events = match points {
            0 => String::new(),
            1 => ", 1 point event".to_string(),
            n => format!(", {n} point events"),
        };
        if intervals == 0 {
            let noun = if points == 1 {
                "point event"
            } else {
                "point events"
            };
            return format!("{points} {noun} over {}", format_ms(self.wall()));
        }
        let noun = if intervals == 1 { "span" } else { "spans" };
        format!(
            "{intervals} {noun}: wall {}, sum of spans {}, concurrency {:.2}x, at most {} at once{events}",
            format_ms(self.wall()),
            format_ms(self.sum_of_spans()),
            self.concurrency(),
            self.max_overlap(),
        )
    }

    /// A plain-text timeline, one line per row, for terminals and text exports.
    pub fn to_text(&self) -> String {
        const WIDTH: usize = 48;
        let rows = self.rows();
        let name_width = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0);
        let end = self.end().as_secs_f64().max(f64::EPSILON);
        let column = |t: Duration| ((t.as_secs_f64() / end) * WIDTH as f64) as usize;

        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&self.title);
            out.push('\n');
        }
        for row in &rows {
            let mut cells = vec![' '; WIDTH + 1];
            let mut first_start = None;
            let mut last_end = Duration::ZERO;
            for span in self.spans.iter().filter(|s| s.row == *row) {
                let (from, to) = (column(span.start), column(span.end));
                if span.is_point() {
                    cells[from] = '|';
                } else {
                    cells[from..=to.max(from)].fill('█');
                }
                first_start.get_or_insert(span.start);
                last_end = last_end.max(span.end);
            }
            let bar: String = cells.into_iter().collect();
            let first_start = first_start.unwrap_or_default();
            out.push_str(&format!(
                "{row:<name_width$} {bar} {:>4}–{} ms\n",
                first_start.as_millis(),
                last_end.as_millis()
            ));
        }
        out.push_str(&format!(
            "{:<name_width$} 0 ms{:>width$}\n",
            "",
            format!("{} ms", self.end().as_millis()),
            width = WIDTH - 3
        ));
        out.push_str(&self.summary());
        out
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Milliseconds with one decimal, the unit every notebook talks in.
pub fn format_ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
impl Span {
    /// A span from `start` to `end` milliseconds on `row`: the tests' shorthand.
    pub(crate) fn from_ms(row: &str, start: u64, end: u64) -> Span {
        Span {
            row: row.into(),
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn span(row: &str, start: u64, end: u64) -> Span {
        Span::from_ms(row, start, end)
    }

    #[test]
    fn sequential_spans_have_concurrency_one() {
        let timeline = Timeline::from_spans(vec![span("a", 0, 100), span("b", 100, 200)]);
        assert_eq!(timeline.wall(), ms(200));
        assert_eq!(timeline.sum_of_spans(), ms(200));
        assert!((timeline.concurrency() - 1.0).abs() < 1e-9);
        assert_eq!(timeline.max_overlap(), 1);
    }

    #[test]
    fn overlapping_spans_count_as_concurrent() {
        let timeline = Timeline::from_spans(vec![
            span("a", 10, 110),
            span("b", 10, 110),
            span("c", 20, 60),
        ]);
        assert_eq!(timeline.wall(), ms(100));
        assert_eq!(timeline.sum_of_spans(), ms(240));
        assert!((timeline.concurrency() - 2.4).abs() < 1e-9);
        assert_eq!(timeline.max_overlap(), 3);
    }

    #[test]
    fn rows_follow_first_start_and_points_do_not_overlap() {
        let timeline = Timeline::from_spans(vec![
            span("late", 50, 60),
            span("early", 0, 10),
            span("early", 70, 70),
        ]);
        assert_eq!(timeline.rows(), vec!["early", "late"]);
        assert_eq!(timeline.max_overlap(), 1);
        assert!(timeline.spans()[2].is_point());
    }

    #[test]
    fn summary_counts_point_events_apart() {
        let points = Timeline::from_spans(vec![span("tick", 10, 10), span("tick", 30, 30)]);
        assert_eq!(points.summary(), "2 point events over 20.0 ms");
        let mixed = Timeline::from_spans(vec![span("work", 0, 40), span("tick", 10, 10)]);
        assert!(mixed.summary().starts_with("1 span: wall 40.0 ms"));
        assert!(mixed.summary().ends_with(", 1 point event"));
    }

    #[test]
    fn empty_timeline_is_all_zero() {
        let timeline = Timeline::default();
        assert_eq!(timeline.wall(), Duration::ZERO);
        assert_eq!(timeline.concurrency(), 0.0);
        assert_eq!(timeline.max_overlap(), 0);
        assert!(timeline.to_text().contains("0 point events over 0.0 ms"));
    }

    #[test]
    fn guard_records_on_drop_even_when_the_future_is_cancelled() {
        let recorder = Recorder::new();
        crate::run(async {
            let never = recorder.time("cancelled", std::future::pending::<()>());
            let timed_out = tokio::time::timeout(ms(20), never).await;
            assert!(timed_out.is_err());
        });
        let timeline = recorder.timeline();
        let cancelled = timeline.span("cancelled").expect("span recorded on drop");
        assert!(cancelled.duration() >= ms(20));
    }

    #[test]
    fn timed_futures_can_be_spawned_and_start_when_first_polled() {
        let recorder = Recorder::new();
        // An async block: `tokio::time::sleep` itself needs a runtime when it is created.
        let timed = recorder.time("spawned", async { tokio::time::sleep(ms(10)).await });
        std::thread::sleep(ms(30)); // created long before it runs
        crate::run(async { tokio::spawn(timed).await.expect("task") });
        let span = recorder
            .timeline()
            .span("spawned")
            .cloned()
            .expect("recorded");
        assert!(span.start >= ms(30), "started at {:?}", span.start);
        assert!(span.duration() >= ms(10));
    }

    #[test]
    fn clones_record_into_one_log_from_many_threads() {
        let recorder = Recorder::new();
        std::thread::scope(|scope| {
            for i in 0..8 {
                let recorder = recorder.clone();
                scope.spawn(move || recorder.time_blocking(format!("t{i}"), || ()));
            }
        });
        recorder.mark("done");
        let timeline = recorder.timeline();
        assert_eq!(timeline.spans().len(), 9);
        assert_eq!(timeline.rows().len(), 9);
    }

    #[test]
    fn text_timeline_shows_every_row_and_the_summary() {
        let timeline = Timeline::from_spans(vec![span("fetch 1", 0, 100), span("fetch 2", 0, 200)])
            .titled("two fetches");
        let text = timeline.to_text();
        assert!(text.starts_with("two fetches\n"));
        let fetch_2 = text
            .lines()
            .find(|l| l.starts_with("fetch 2"))
            .expect("row");
        let fetch_1 = text
            .lines()
            .find(|l| l.starts_with("fetch 1"))
            .expect("row");
        // The longer span draws the longer bar.
        assert!(fetch_2.matches('█').count() > fetch_1.matches('█').count());
        assert!(fetch_2.ends_with("0–200 ms"));
        assert!(text.ends_with(&timeline.summary()));
    }
}
