//! Every checker rejects the naive versions of its pattern, each on the guarantee its bug breaks,
//! and accepts the correct naive version on every guarantee.

use async_patterns_conformance::zoo::{lock as naive_lock, semaphore as naive};
use async_patterns_conformance::{Config, Report, lock, semaphore};

/// The guarantees the report found violated.
fn violated(report: &Report) -> Vec<&'static str> {
    let names = report.findings.iter().filter(|f| !f.verdict.holds());
    names.map(|f| f.guarantee).collect()
}

fn rejects(report: &Report, guarantee: &str) {
    println!("{report}");
    assert!(
        violated(report).contains(&guarantee),
        "the checker did not catch the bug in {}: {guarantee} holds",
        report.implementation
    );
}

#[test]
fn semaphore_checker_accepts_the_correct_naive_semaphore() {
    let report = semaphore::check::<naive::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
    assert_eq!(report.findings.len(), 6);
}

#[test]
fn semaphore_checker_rejects_a_leak_on_cancel_after_grant() {
    let report = semaphore::check::<naive::LeakOnCancelAfterGrant>("leak", &Config::quick());
    rejects(&report, "cancel_safe");
}

#[test]
fn semaphore_checker_rejects_lifo() {
    rejects(
        &semaphore::check::<naive::Lifo>("lifo", &Config::quick()),
        "fifo",
    );
}

#[test]
fn semaphore_checker_rejects_a_lost_wakeup() {
    let report = semaphore::check::<naive::LostWakeup>("lost wakeup", &Config::quick());
    rejects(&report, "no_lost_wakeup");
}

#[test]
fn semaphore_checker_rejects_a_stale_waker() {
    let report = semaphore::check::<naive::StaleWaker>("stale waker", &Config::quick());
    rejects(&report, "new_waker_woken");
}

#[test]
fn semaphore_checker_rejects_a_close_that_wakes_nobody() {
    let report = semaphore::check::<naive::CloseWakesNone>("close", &Config::quick());
    rejects(&report, "close_wakes_all");
}

#[test]
fn semaphore_checker_rejects_barging() {
    rejects(
        &semaphore::check::<naive::Barging>("barging", &Config::quick()),
        "fifo",
    );
}

#[test]
fn lock_checker_accepts_the_correct_naive_rwlock() {
    let report = lock::check::<naive_lock::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn lock_checker_rejects_a_writer_beside_a_reader() {
    let report = lock::check::<naive_lock::WriterTakesOneTooFew>("one too few", &Config::quick());
    rejects(&report, "mutual_exclusion");
}

#[test]
fn lock_checker_rejects_readers_overtaking_a_waiting_writer() {
    let report = lock::check::<naive_lock::ReadersOvertakeWriters>("overtake", &Config::quick());
    rejects(&report, "fifo");
}

#[test]
fn token_checker_accepts_the_correct_naive_token() {
    use async_patterns_conformance::{token, zoo::token as naive};
    let report = token::check::<naive::CorrectToken>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn token_checker_rejects_a_stale_waker() {
    use async_patterns_conformance::{token, zoo::token as naive};
    let report = token::check::<naive::StaleWakerToken>("stale", &Config::quick());
    rejects(&report, "new_waker_woken");
}

#[test]
fn token_checker_rejects_an_uncancelled_late_child() {
    use async_patterns_conformance::{token, zoo::token as naive};
    let report = token::check::<naive::LateChildToken>("late child", &Config::quick());
    rejects(&report, "tree_cancelled");
}

#[test]
fn token_checker_rejects_a_cancel_that_wakes_only_its_own_waits() {
    use async_patterns_conformance::{token, zoo::token as naive};
    let report = token::check::<naive::ShallowWakeToken>("shallow", &Config::quick());
    rejects(&report, "cancel_wakes_all");
}

#[test]
fn tracker_checker_accepts_the_correct_naive_tracker() {
    use async_patterns_conformance::{tracker, zoo::token as naive};
    let report = tracker::check::<naive::CorrectTracker>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn tracker_checker_rejects_a_dropped_task_counted_live() {
    use async_patterns_conformance::{tracker, zoo::token as naive};
    let report = tracker::check::<naive::LeakyTracker>("leaky", &Config::quick());
    rejects(&report, "wait_woken");
}

#[test]
fn tracker_checker_rejects_a_wait_that_ignores_close() {
    use async_patterns_conformance::{tracker, zoo::token as naive};
    let report = tracker::check::<naive::OpenWaitTracker>("open", &Config::quick());
    rejects(&report, "wait_until_all_finished");
}

#[test]
fn rate_checker_accepts_the_correct_naive_limiter() {
    use async_patterns_conformance::{rate, zoo::rate as naive};
    let report = rate::check::<naive::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn rate_checker_rejects_a_fixed_window() {
    use async_patterns_conformance::{rate, zoo::rate as naive};
    let report = rate::check::<naive::FixedWindow>("fixed window", &Config::quick());
    rejects(&report, "window_bound");
}

#[test]
fn rate_checker_rejects_a_bucket_that_saves_while_idle() {
    use async_patterns_conformance::{rate, zoo::rate as naive};
    let report = rate::check::<naive::UncappedBucket>("uncapped", &Config::quick());
    rejects(&report, "no_burst_after_idle");
}

#[test]
fn rate_checker_rejects_a_short_hint() {
    use async_patterns_conformance::{rate, zoo::rate as naive};
    let report = rate::check::<naive::HalfHint>("half hint", &Config::quick());
    rejects(&report, "retry_hint_exact");
}

#[test]
fn rate_checker_rejects_lifo_patient_callers() {
    use async_patterns_conformance::{rate, zoo::rate as naive};
    let report = rate::check::<naive::Lifo>("lifo", &Config::quick());
    rejects(&report, "fifo_patient");
}

#[test]
fn channel_checker_accepts_the_correct_naive_channel() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
    assert_eq!(report.findings.len(), 8);
}

#[test]
fn channel_checker_rejects_a_value_lost_with_a_cancelled_recv() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::LoseOnRecvCancel>("lose", &Config::quick());
    rejects(&report, "recv_cancel_safe");
}

#[test]
fn channel_checker_rejects_lifo_delivery() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::Lifo>("lifo", &Config::quick());
    rejects(&report, "per_sender_fifo");
}

#[test]
fn channel_checker_rejects_a_receiver_never_woken() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::NeverWakesReceiver>("never wakes", &Config::quick());
    rejects(&report, "no_lost_wakeup");
}

#[test]
fn channel_checker_rejects_a_cancelled_send_delivered() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::DeliversCancelledSend>("delivers", &Config::quick());
    rejects(&report, "send_cancel_safe");
}

#[test]
fn channel_checker_rejects_a_close_that_wakes_no_receiver() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::CloseWakesNoReceiver>("close", &Config::quick());
    rejects(&report, "close_semantics");
}

#[test]
fn channel_checker_rejects_a_capacity_off_by_one() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::CapacityOffByOne>("off by one", &Config::quick());
    rejects(&report, "capacity");
}

#[test]
fn channel_checker_rejects_a_stale_waker() {
    use async_patterns_conformance::{channel, zoo::channel as naive};
    let report = channel::check::<naive::StaleWaker>("stale waker", &Config::quick());
    rejects(&report, "new_waker_woken");
}

#[test]
fn pool_checker_accepts_the_correct_naive_pool() {
    use async_patterns_conformance::{conn_pool, zoo::conn_pool as naive};
    let report = conn_pool::check::<naive::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn pool_checker_rejects_a_slot_leaked_by_a_cancelled_get() {
    use async_patterns_conformance::{conn_pool, zoo::conn_pool as naive};
    let report = conn_pool::check::<naive::LeakOnCancel>("leak", &Config::quick());
    rejects(&report, "cancel_safe");
}

#[test]
fn pool_checker_rejects_reusing_a_broken_connection() {
    use async_patterns_conformance::{conn_pool, zoo::conn_pool as naive};
    let report = conn_pool::check::<naive::ReusesBroken>("reuses broken", &Config::quick());
    rejects(&report, "broken_discarded");
}

#[test]
fn pool_checker_rejects_a_return_that_wakes_nobody() {
    use async_patterns_conformance::{conn_pool, zoo::conn_pool as naive};
    let report = conn_pool::check::<naive::NoWakeOnReturn>("no wake", &Config::quick());
    rejects(&report, "no_wedge");
}

#[test]
fn pool_checker_rejects_one_connection_too_many() {
    use async_patterns_conformance::{conn_pool, zoo::conn_pool as naive};
    let report = conn_pool::check::<naive::OneTooMany>("one too many", &Config::quick());
    rejects(&report, "max_size");
}

#[test]
fn worker_pool_checker_accepts_the_correct_naive_pool() {
    use async_patterns_conformance::{worker_pool, zoo::worker_pool as naive};
    let report = worker_pool::check::<naive::Correct>("naive", &Config::quick());
    assert!(violated(&report).is_empty(), "{report}");
}

#[test]
fn worker_pool_checker_rejects_a_task_per_job() {
    use async_patterns_conformance::{worker_pool, zoo::worker_pool as naive};
    let report = worker_pool::check::<naive::TaskPerJob>("task per job", &Config::quick());
    rejects(&report, "at_most_n_running");
}

#[test]
fn worker_pool_checker_rejects_a_shutdown_that_drops_the_queue() {
    use async_patterns_conformance::{worker_pool, zoo::worker_pool as naive};
    let report = worker_pool::check::<naive::DropsQueuedOnShutdown>("drops", &Config::quick());
    rejects(&report, "drain_on_shutdown");
}

#[test]
fn worker_pool_checker_rejects_a_handle_resolved_before_its_job_ran() {
    use async_patterns_conformance::{worker_pool, zoo::worker_pool as naive};
    let report = worker_pool::check::<naive::EagerHandle>("eager", &Config::quick());
    rejects(&report, "exactly_once");
}
