//! The rate checker's state machine: tries, bursts, patient callers and the passing of time on a
//! paused tokio clock; every admission's instant is recorded and every window checked.

use std::marker::PhantomData;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::{Guarantee, RateLimiterUnderTest};
use crate::rng::Rng;
use crate::run::{Failure, Property, failure, paused_runtime};
use crate::waker::Polled;

/// The quota's period in every case.
const PER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// `try_acquire`, `n` times back to back.
    Try(u32),
    /// A patient caller: `acquire`, polled once.
    Acquire,
    /// Let this many eighths of the emission interval (`per / max`) pass.
    Advance(u32),
    /// Stay idle for this many periods.
    Idle(u32),
    /// Try; on a refusal with a hint, retry 1 ms before the hint and at it.
    TryAtHint,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup {
    /// Admissions per second.
    max: u32,
}

pub(crate) struct Machine<R> {
    target: Guarantee,
    waits: bool,
    _limiter: PhantomData<fn() -> R>,
}

impl<R> Machine<R> {
    pub(crate) fn new(target: Guarantee, waits: bool) -> Self {
        Machine {
            target,
            waits,
            _limiter: PhantomData,
        }
    }
}

/// Whether `R` can wait (asked once, on a runtime, since making a limiter may need one).
pub(crate) fn can_wait<R: RateLimiterUnderTest>() -> bool {
    paused_runtime().block_on(async { R::new(1, PER).acquire().is_some() })
}

impl<R: RateLimiterUnderTest> Property for Machine<R> {
    type Setup = Setup;
    type Op = Op;

    fn generate(&self, rng: &mut Rng, max_steps: usize) -> (Setup, Vec<Op>) {
        let max = rng.pick(&[1, 2, 3, 5]);
        let len = 1 + rng.index(max_steps);
        let ops = (0..len)
            .map(|_| match (self.target, rng.below(100)) {
                (Guarantee::RetryHintExact, 0..=39) => Op::TryAtHint,
                (Guarantee::FifoPatient, 0..=39) if self.waits => Op::Acquire,
                (Guarantee::NoBurstAfterIdle, 0..=19) => Op::Idle(1 + rng.below(20) as u32),
                (_, 0..=34) => Op::Try(1 + rng.below(u64::from(max) + 2) as u32),
                (_, 35..=44) if self.waits => Op::Acquire,
                (_, 45..=84) => Op::Advance(rng.pick(&[1, 2, 4, 8, 8, 12, 16])),
                (_, 85..=94) => Op::Idle(1 + rng.below(4) as u32),
                _ => Op::Try(1),
            })
            .collect();
        (Setup { max }, ops)
    }

    fn run(&self, setup: &Setup, ops: &[Op]) -> Result<(), Failure> {
        let target = self.target;
        paused_runtime().block_on(async move {
            let mut run = Run {
                limiter: R::new(setup.max, PER),
                target,
                max: setup.max,
                step: 0,
                admitted: Vec::new(),
                patient: Vec::new(),
                next_patient: 0,
            };
            for (step, op) in ops.iter().enumerate() {
                run.step = step;
                run.apply(*op).await?;
                run.check_windows()?;
            }
            Ok(())
        })
    }
}

struct Patient {
    id: usize,
    future: Polled<()>,
}

struct Run<R> {
    limiter: R,
    target: Guarantee,
    max: u32,
    step: usize,
    /// When each admission happened.
    admitted: Vec<Instant>,
    /// Pending patient callers, in call order.
    patient: Vec<Patient>,
    next_patient: usize,
}

impl<R: RateLimiterUnderTest> Run<R> {
    fn fail(&self, guarantee: Guarantee, message: String) -> Result<(), Failure> {
        failure(self.target, guarantee, self.step, message)
    }

    fn interval(&self) -> Duration {
        PER / self.max
    }

    async fn advance(&mut self, by: Duration) -> Result<(), Failure> {
        self.limiter.advance(by);
        tokio::time::advance(by).await;
        self.poll_patient()
    }

    /// Polls the woken patient callers, in call order.
    fn poll_patient(&mut self) -> Result<(), Failure> {
        let mut k = 0;
        while k < self.patient.len() {
            if !self.patient[k].future.is_woken() {
                k += 1;
                continue;
            }
            if let Poll::Ready(()) = self.patient[k].future.poll() {
                let done = self.patient.remove(k);
                self.admitted.push(Instant::now());
                if let Some(earlier) = self.patient[..k].first() {
                    self.fail(
                        Guarantee::FifoPatient,
                        format!(
                            "patient caller {} was admitted while caller {}, who called first, \
                             still waits",
                            done.id, earlier.id
                        ),
                    )?;
                }
            } else {
                k += 1;
            }
        }
        Ok(())
    }

    async fn apply(&mut self, op: Op) -> Result<(), Failure> {
        match op {
            Op::Try(n) => {
                for _ in 0..n {
                    if self.limiter.try_acquire().is_ok() {
                        self.admitted.push(Instant::now());
                    }
                }
            }
            Op::Acquire => {
                if let Some(future) = self.limiter.acquire() {
                    let mut future = Polled::new(future);
                    if future.poll().is_ready() {
                        self.admitted.push(Instant::now());
                    } else {
                        let id = self.next_patient;
                        self.next_patient += 1;
                        self.patient.push(Patient { id, future });
                    }
                }
            }
            Op::Advance(eighths) => self.advance(self.interval() * eighths / 8).await?,
            Op::Idle(periods) => self.advance(PER * periods).await?,
            Op::TryAtHint => self.try_at_hint().await?,
        }
        Ok(())
    }

    async fn try_at_hint(&mut self) -> Result<(), Failure> {
        let hint = match self.limiter.try_acquire() {
            Ok(()) => {
                self.admitted.push(Instant::now());
                return Ok(());
            }
            Err(None) => return Ok(()),
            Err(Some(hint)) => hint,
        };
        // Others waiting go first: the hint is then only a lower bound.
        if !self.patient.is_empty() {
            return Ok(());
        }
        let early = hint.saturating_sub(Duration::from_millis(1));
        self.advance(early).await?;
        if self.limiter.try_acquire().is_ok() {
            self.admitted.push(Instant::now());
            return self.fail(
                Guarantee::RetryHintExact,
                format!("refused with a hint of {hint:?}, but admitted 1 ms before it"),
            );
        }
        self.advance(hint - early).await?;
        match self.limiter.try_acquire() {
            Ok(()) => {
                self.admitted.push(Instant::now());
                Ok(())
            }
            Err(again) => self.fail(
                Guarantee::RetryHintExact,
                format!("refused with a hint of {hint:?}, and refused again at it ({again:?})"),
            ),
        }
    }

    /// The busiest windows of one instant and of one period against the stated bounds.
    fn check_windows(&self) -> Result<(), Failure> {
        for (window, guarantee) in [
            (Duration::from_nanos(1), Guarantee::NoBurstAfterIdle),
            (PER, Guarantee::WindowBound),
        ] {
            let bound = R::bound(self.max, PER, window);
            let (count, start) = busiest(&self.admitted, window);
            if count as u64 > bound {
                let at = start.map_or(Duration::ZERO, |s| s - self.admitted[0]);
                self.fail(
                    guarantee,
                    format!(
                        "{count} admissions in the window of {window:?} starting {at:?} after the \
                         first admission; the stated bound for {} per {PER:?} is {bound}",
                        self.max
                    ),
                )?;
            }
        }
        Ok(())
    }
}

/// The most admissions in any half-open window `[a, a + len)`, and where it starts (a window can
/// always slide right to start at an admission without losing any).
fn busiest(times: &[Instant], len: Duration) -> (usize, Option<Instant>) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = (0, None);
    let mut end = 0;
    for (start, &a) in sorted.iter().enumerate() {
        while end < sorted.len() && sorted[end] < a + len {
            end += 1;
        }
        if end - start > best.0 {
            best = (end - start, Some(a));
        }
    }
    best
}
